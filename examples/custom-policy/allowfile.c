/* allowfile — a complete trust policy plugin, built out of tree.
 *
 * Allows the peers whose identifiers are listed in a file, one per line
 * ('#' starts a comment line, blank lines are ignored):
 *
 *   [policy]
 *   plugin = /usr/local/lib/veil/plugins/allowfile.so   (or just: allowfile)
 *   file = /etc/veil/allowed-peers
 *
 * The file is read when the instance is made and read again at the next
 * check after it changes (device, inode, size or modification time), so an
 * administrator can edit it — or atomically replace it with rename(2) —
 * while channels are being set up.  Fail closed: if the file cannot be
 * read or has a bad line, checks deny until it is fixed.
 *
 * Like every plugin it links libveil and uses only its public API
 * (veil_config_scope_get, veil_error_set, veil_log, veil_identifier_parse,
 * veil_memcmp_ct): docs/PLUGINS.md, "The host contract" and "Writing a
 * trust policy plugin". */
#include <veil/entity.h>
#include <veil/error.h>
#include <veil/log.h>
#include <veil/plugin.h>
#include <veil/trust_policy.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct allowfile {
    char *path;
    struct stat seen;        /* the file as it was when last read */
    uint8_t (*ids)[32];      /* identifier digests */
    size_t n, cap;
} allowfile;

static const char *const config_keys[] = { "file", NULL };

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static int add_id(allowfile *af, const uint8_t d[32])
{
    if (af->n == af->cap) {
        size_t cap = af->cap ? af->cap * 2 : 16;
        void *t = realloc(af->ids, cap * sizeof *af->ids);
        if (t == NULL)
            return veil_error_set(VEIL_ENOMEM, "allowfile: out of memory");
        af->ids = t;
        af->cap = cap;
    }
    memcpy(af->ids[af->n++], d, 32);
    return 0;
}

/* Read the whole file into af (replacing the list) and remember st. */
static int load(allowfile *af, const struct stat *st)
{
    FILE *f = fopen(af->path, "r");
    if (f == NULL)
        return veil_error_set(VEIL_EIO, "allowfile: cannot open '%s': %s", af->path,
                              strerror(errno));
    char line[512];
    unsigned lineno = 0;
    int rc = 0;
    af->n = 0;
    while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        char *s = trim(line);
        uint8_t d[32];
        if (*s == '\0' || *s == '#')
            continue;
        if (veil_identifier_parse(s, d) < 0)
            rc = veil_error_set(VEIL_ECONFIG, "%s:%u: not an identifier (expected P followed "
                                "by 64 hex digits)", af->path, lineno);
        else
            rc = add_id(af, d);
    }
    if (rc == 0 && ferror(f))
        rc = veil_error_set(VEIL_EIO, "allowfile: reading '%s' failed", af->path);
    fclose(f);
    if (rc < 0) {
        af->n = 0;               /* a half-read list must not allow anyone */
        memset(&af->seen, 0, sizeof af->seen);
        return rc;
    }
    af->seen = *st;
    veil_log(VEIL_LOG_INFO, "allowfile", "read %zu identifiers from %s", af->n, af->path);
    return 0;
}

/* Re-read the file if it is not the one read last time. */
static int refresh(allowfile *af)
{
    struct stat st;
    if (stat(af->path, &st) != 0)
        return veil_error_set(VEIL_EIO, "allowfile: cannot stat '%s': %s", af->path,
                              strerror(errno));
    if (af->seen.st_ino != 0 && same_file(&st, &af->seen))
        return 0;
    return load(af, &st);
}

static void instance_free(void *inst)
{
    allowfile *af = inst;
    if (af == NULL)
        return;
    free(af->path);
    free(af->ids);
    free(af);
}

static int instance_new(void *plugin_state, const veil_config_scope *scope, void **inst)
{
    (void)plugin_state;
    const char *path = veil_config_scope_get(scope, "file");
    if (path == NULL || path[0] == '\0')
        return veil_error_set(VEIL_ECONFIG, "[%s]: allowfile needs the key 'file' (a file of "
                              "allowed identifiers, one per line)", scope->section);
    allowfile *af = calloc(1, sizeof *af);
    if (af == NULL || (af->path = strdup(path)) == NULL) {
        free(af);
        return veil_error_set(VEIL_ENOMEM, "allowfile: out of memory");
    }
    int rc = refresh(af);
    if (rc < 0) {
        instance_free(af);
        return rc;
    }
    *inst = af;
    return 0;
}

/* 0 allow, VEIL_EDENIED deny; any other error denies too (fail closed). */
static int check(void *inst, const veil_trust_info *info)
{
    allowfile *af = inst;
    uint8_t peer[32];
    int rc = refresh(af);
    if (rc < 0)
        return rc;
    if (veil_identifier_parse(info->peer_identifier, peer) < 0)
        return veil_error_set(VEIL_EFORMAT, "allowfile: malformed peer identifier");
    unsigned match = 0;
    for (size_t i = 0; i < af->n; i++)   /* no early exit: constant time */
        match |= (unsigned)(veil_memcmp_ct(peer, af->ids[i], 32) == 0);
    return match != 0 ? 0 : VEIL_EDENIED;
}

static const veil_trust_policy_ops ops = {
    .size = sizeof ops,
    .instance_new = instance_new,
    .instance_free = instance_free,
    .check = check,
};

static const veil_plugin_descriptor descriptor = {
    VEIL_PLUGIN_ABI,
    .kind = VEIL_PLUGIN_TRUST_POLICY,
    .name = "allowfile",            /* must match the file name allowfile.so */
    .version = "1.0",
    .description = "allow identifiers listed in a file, re-read when it changes",
    .config_keys = config_keys,
    .ops = &ops,
};

VEIL_PLUGIN_ENTRY(descriptor)
