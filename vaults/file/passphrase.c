/* Passphrase sources (passphrase.h).  The bytes go straight into guarded
 * memory from the backend and are wiped as soon as the file key is derived.
 * (An environment variable's own copy in the process environment cannot be
 * wiped by us; docs/VAULT-FILE.md says so.) */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <veil/error.h>
#include <veil/log.h>

#include "passphrase.h"

static const char *origin(const veil_config_scope *s, const char *key)
{
    const char *o = veil_config_scope_origin(s, key);
    return o != NULL ? o : "<config>";
}

static int put(fv_passphrase *p, const void *src, size_t len, const char *what)
{
    if (len == 0)
        return veil_error_set(VEIL_ECONFIG, "vault file: the passphrase from %s is empty", what);
    if (len > FV_PASSPHRASE_MAX)
        return veil_error_set(VEIL_ECONFIG, "vault file: the passphrase from %s is %zu bytes "
                                            "(at most %u)", what, len, FV_PASSPHRASE_MAX);
    memcpy(p->bytes, src, len);
    p->len = len;
    return 0;
}

/* Read the passphrase from fd to its end (at most FV_PASSPHRASE_MAX bytes;
 * one trailing newline cut); what names the source in errors. */
static int read_fd(fv_passphrase *p, int fd, const char *what)
{
    /* Read one byte more than allowed to detect an over-long source. */
    size_t got = 0;
    ssize_t n = 0;
    while (got <= FV_PASSPHRASE_MAX &&
           ((n = read(fd, p->bytes + got, FV_PASSPHRASE_MAX + 1 - got)) > 0 ||
            (n < 0 && errno == EINTR)))
        got += n > 0 ? (size_t)n : 0;
    if (n < 0)
        return veil_error_set(VEIL_EIO, "%s: %s", what, strerror(errno));
    if (got > FV_PASSPHRASE_MAX)
        return veil_error_set(VEIL_ECONFIG, "%s is longer than %u bytes", what,
                              FV_PASSPHRASE_MAX);
    /* One trailing newline (what `echo` and editors add) is not part of it. */
    if (got > 0 && p->bytes[got - 1] == '\n')
        got--;
    if (got > 0 && p->bytes[got - 1] == '\r')
        got--;
    if (got == 0)
        return veil_error_set(VEIL_ECONFIG, "%s is empty", what);
    p->len = got;
    return 0;
}

static int from_file(fv_passphrase *p, const char *path, const char *where)
{
    struct stat st;
    char what[512];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return veil_error_set(VEIL_ECONFIG, "%s: passphrase_file %s: %s", where, path,
                              strerror(errno));
    if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
        veil_log(VEIL_LOG_WARN, "vault.file",
                 "passphrase_file %s has mode %04o: group/other may read the passphrase", path,
                 (unsigned)(st.st_mode & 07777));
    snprintf(what, sizeof what, "%s: passphrase_file %s", where, path);
    int rc = read_fd(p, fd, what);
    close(fd);
    return rc;
}

/* passphrase_fd: an inherited descriptor, read to its end, left open. */
static int from_fd(fv_passphrase *p, const veil_config_scope *scope)
{
    char what[512];
    long long fd;
    int rc = veil_config_scope_get_int(scope, "passphrase_fd", -1, 0, INT_MAX, &fd);
    if (rc != 0)
        return rc;
    snprintf(what, sizeof what, "%s: passphrase_fd %lld", origin(scope, "passphrase_fd"), fd);
    if (fcntl((int)fd, F_GETFD) < 0)
        return veil_error_set(VEIL_ECONFIG, "%s: %s", what, strerror(errno));
    return read_fd(p, (int)fd, what);
}

static int check_mode(const veil_config_scope *scope, bool *none, int sources)
{
    const char *mode = veil_config_scope_get(scope, "passphrase_mode");
    *none = false;
    if (mode == NULL || strcmp(mode, "passphrase") == 0) {
        if (sources != 1)
            return veil_error_set(VEIL_ECONFIG,
                                  "[%s]: the file vault needs exactly one of passphrase_env, "
                                  "passphrase_file, passphrase_fd, passphrase (found %d), or "
                                  "passphrase_mode = none",
                                  scope != NULL && scope->section ? scope->section : "vault",
                                  sources);
        return 0;
    }
    if (strcmp(mode, "none") != 0)
        return veil_error_set(VEIL_ECONFIG, "%s: unknown passphrase_mode '%s' (accepted: "
                                            "passphrase, none)", origin(scope, "passphrase_mode"),
                              mode);
    if (sources != 0)
        return veil_error_set(VEIL_ECONFIG, "%s: passphrase_mode = none, but a passphrase "
                                            "source is configured too",
                              origin(scope, "passphrase_mode"));
    *none = true;
    return 0;
}

int fv_passphrase_load(const veil_config_scope *scope, const vc_backend *be, fv_passphrase *out)
{
    const char *env = veil_config_scope_get(scope, "passphrase_env");
    const char *file = veil_config_scope_get(scope, "passphrase_file");
    const char *fd = veil_config_scope_get(scope, "passphrase_fd");
    const char *text = veil_config_scope_get(scope, "passphrase");
    int rc = check_mode(scope, &out->none,
                        (env != NULL) + (file != NULL) + (fd != NULL) + (text != NULL));
    out->be = be;
    out->bytes = NULL;
    out->len = 0;
    if (rc != 0 || out->none)
        return rc;
    out->bytes = be->secure_alloc(FV_PASSPHRASE_MAX + 1);
    if (out->bytes == NULL)
        return veil_error_set(VEIL_ENOMEM, "vault file: out of guarded memory for the passphrase");
    if (env != NULL) {
        const char *val = getenv(env);
        rc = val == NULL ? veil_error_set(VEIL_ECONFIG, "%s: passphrase_env names %s, which is "
                                                        "not set in the environment",
                                          origin(scope, "passphrase_env"), env)
                         : put(out, val, strlen(val), env);
    } else if (file != NULL) {
        rc = from_file(out, file, origin(scope, "passphrase_file"));
    } else if (fd != NULL) {
        rc = from_fd(out, scope);
    } else {
        veil_log(VEIL_LOG_WARN, "vault.file",
                 "%s: the vault passphrase is written in the configuration file; anyone who "
                 "can read that file can open the vault (prefer passphrase_env or "
                 "passphrase_file)",
                 origin(scope, "passphrase"));
        rc = put(out, text, strlen(text), origin(scope, "passphrase"));
    }
    if (rc != 0)
        fv_passphrase_wipe(out);
    return rc;
}

void fv_passphrase_wipe(fv_passphrase *p)
{
    if (p->bytes != NULL)
        p->be->secure_free(p->bytes, FV_PASSPHRASE_MAX + 1); /* wipes */
    p->bytes = NULL;
    p->len = 0;
}
