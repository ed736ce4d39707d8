/* The versioned plugin loader (docs/PLUGINS.md).
 *
 * Only the plugin a configuration names is ever opened; no directory is
 * scanned.  Search order: registered built-ins; an absolute path (that file
 * only); each absolute directory of $VEIL_PLUGIN_PATH (secure_getenv, so
 * ignored in setuid programs); the compiled-in plugin directory.  Every check that can
 * refuse a plugin runs before its init(), and every refusal dlcloses what
 * was opened, so a failed load leaves nothing behind. */
#include <veil/plugin.h>
#include <veil/error.h>
#include <veil/log.h>

#include "config_internal.h"
#include "upper.h"
#include "util.h"
#include "veil_paths.h" /* VEIL_PLUGIN_DIR, generated (Makefile.am) */

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef VEIL_PLUGIN_DIR
#error "VEIL_PLUGIN_DIR must be defined by build-aux/veil_paths.h (see Makefile.am)"
#endif

#define PLUGIN_NAME_MAX 64u     /* bare plugin names */
#define BUILTIN_MAX 32u         /* registered built-ins */
#define CONFIG_KEYS_MAX 256u    /* bound on a descriptor's key list */
#define SEARCHED_MAX 800u       /* room for the "searched:" list in errors */


struct veil_plugin {
    void *dl;                         /* NULL for built-ins */
    const veil_plugin_descriptor *desc;
    void *state;                      /* what init() returned */
    char *path;                       /* file loaded, or "builtin" */
    char *section;                    /* copy; NULL when loaded without one */
    veil_node *node;
    /* Handed to init(); plugins may keep the pointer, so it lives here.  The
     * configuration it points to must outlive the plugin. */
    veil_config_scope scope;
    atomic_uint refs;                 /* holders; 1 at load (veil__plugin_ref) */
};

/* One load request, carried through the checks so every message can name
 * what was asked for and where. */
struct load_req {
    const char *name;         /* as configured: bare name or absolute path */
    const char *origin;       /* "file:line" of the plugin key, or NULL */
    char want[PLUGIN_NAME_MAX + 1]; /* name the descriptor must carry */
    const veil_config *cfg;
    const char *section;
    int kind;
    veil_node *node;
};

static pthread_mutex_t builtin_lock = PTHREAD_MUTEX_INITIALIZER;
static const veil_plugin_descriptor *builtins[BUILTIN_MAX];

const char *veil_plugin_dir(void)
{
    return VEIL_PLUGIN_DIR;
}

/* The smallest ops table of kind (0: no such kind). */
static size_t ops_min_size(int kind)
{
    const veil_plugin_kind_info *k = veil__plugin_kind(kind);
    return k != NULL ? k->ops_min : 0;
}

/* [A-Za-z0-9_-]+, bounded: a bare name can never climb out of a directory. */
static bool valid_bare_name(const char *name)
{
    size_t n = 0;
    for (; name[n] != '\0'; n++) {
        char c = name[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok || n >= PLUGIN_NAME_MAX)
            return false;
    }
    return n > 0;
}

/* The frozen prefix (abi_major, abi_minor, struct_size) is readable in every
 * ABI version; nothing beyond it is read until it has been accepted. */
static int check_prefix(const veil_plugin_descriptor *d, const char *name,
                        const char *path)
{
    if (d == NULL)
        return veil_error_set(VEIL_EPLUGIN_ABI, "plugin '%s' (%s): %s returned NULL "
                              "instead of a descriptor", name, path,
                              VEIL_PLUGIN_ENTRY_SYMBOL);
    if (d->abi_major != VEIL_PLUGIN_ABI_MAJOR)
        return veil_error_set(VEIL_EPLUGIN_ABI, "plugin '%s' (%s): plugin ABI %u.%u, "
                              "host ABI %u.%u (major versions differ: rebuild the "
                              "plugin against this veil)", name, path,
                              (unsigned)d->abi_major, (unsigned)d->abi_minor,
                              VEIL_PLUGIN_ABI_MAJOR, VEIL_PLUGIN_ABI_MINOR);
    if (d->abi_minor > VEIL_PLUGIN_ABI_MINOR)
        return veil_error_set(VEIL_EPLUGIN_ABI, "plugin '%s' (%s): plugin ABI %u.%u, "
                              "host ABI %u.%u (the plugin needs a newer veil)", name,
                              path, (unsigned)d->abi_major, (unsigned)d->abi_minor,
                              VEIL_PLUGIN_ABI_MAJOR, VEIL_PLUGIN_ABI_MINOR);
    if (d->struct_size < VEIL_ABI_SIZE(veil_plugin_descriptor, ops))
        return veil_error_set(VEIL_EPLUGIN_ABI, "plugin '%s' (%s): descriptor "
                              "struct_size %u is smaller than the ABI 1.0 descriptor "
                              "(%zu bytes)", name, path, (unsigned)d->struct_size,
                              VEIL_ABI_SIZE(veil_plugin_descriptor, ops));
    return 0;
}

/* Everything after the prefix: kind, name, ops table. */
static int check_descriptor(const veil_plugin_descriptor *d,
                            const struct load_req *rq, const char *path)
{
    int rc = check_prefix(d, rq->name, path);
    if (rc < 0)
        return rc;
    if (d->kind != rq->kind)
        return veil_error_set(VEIL_EPLUGIN_KIND, "plugin '%s' (%s) is a %s plugin "
                              "(kind %d) but [%s] needs a %s plugin (kind %d)",
                              rq->name, path, veil_plugin_kind_name(d->kind), d->kind,
                              rq->section ? rq->section : "(no section)",
                              veil_plugin_kind_name(rq->kind), rq->kind);
    if (d->name == NULL || strcmp(d->name, rq->want) != 0)
        return veil_error_set(VEIL_EPLUGIN_NAME, "plugin file %s was requested as "
                              "'%s' but its descriptor is named '%s'", path, rq->want,
                              d->name ? d->name : "(null)");
    if (d->ops == NULL)
        return veil_error_set(VEIL_EPLUGIN_ABI, "plugin '%s' (%s) has no %s ops table",
                              rq->name, path, veil_plugin_kind_name(d->kind));
    /* Every ops table begins with a size_t holding its own size. */
    size_t ops_size;
    memcpy(&ops_size, d->ops, sizeof ops_size);
    if (ops_size < ops_min_size(d->kind))
        return veil_error_set(VEIL_EPLUGIN_ABI, "plugin '%s' (%s): %s ops table size "
                              "%zu is smaller than the ABI 1.0 table (%zu bytes)",
                              rq->name, path, veil_plugin_kind_name(d->kind), ops_size,
                              ops_min_size(d->kind));
    return 0;
}

/* The section may hold "plugin" and the descriptor's config_keys, nothing
 * else: a typo must not silently fall back to a default. */
static int check_keys(const veil_plugin_descriptor *d, const struct load_req *rq,
                      const char *path)
{
    size_t n = 0, i;
    const char **allowed;
    int rc;

    if (rq->cfg == NULL || rq->section == NULL ||
        !veil_config_has_section(rq->cfg, rq->section))
        return 0;
    while (d->config_keys != NULL && d->config_keys[n] != NULL) {
        if (++n > CONFIG_KEYS_MAX)
            return veil_error_set(VEIL_EPLUGIN_ABI, "plugin '%s' (%s): config_keys "
                                  "has more than %u entries (missing NULL terminator?)",
                                  rq->name, path, CONFIG_KEYS_MAX);
    }
    allowed = calloc(n + 2, sizeof *allowed);
    if (allowed == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory checking keys of [%s]",
                              rq->section);
    allowed[0] = "plugin";
    for (i = 0; i < n; i++)
        allowed[i + 1] = d->config_keys[i];
    rc = veil_config_check_keys(rq->cfg, rq->section, allowed);
    free(allowed);
    if (rc < 0)
        return veil_error_wrap(rc, "plugin '%s' (%s) refused its configuration",
                               rq->name, path);
    return 0;
}

/* ---- built-ins -------------------------------------------------------- */

static const veil_plugin_descriptor *find_builtin(const char *name)
{
    const veil_plugin_descriptor *d = NULL;
    pthread_mutex_lock(&builtin_lock);
    for (size_t i = 0; i < BUILTIN_MAX && d == NULL; i++)
        if (builtins[i] != NULL && strcmp(builtins[i]->name, name) == 0)
            d = builtins[i];
    pthread_mutex_unlock(&builtin_lock);
    return d;
}

int veil_plugin_register_builtin(const veil_plugin_descriptor *d)
{
    size_t free_slot = BUILTIN_MAX;
    int rc;

    if (d == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_plugin_register_builtin: NULL descriptor");
    rc = check_prefix(d, "(built-in)", "builtin");
    if (rc < 0)
        return rc;
    if (d->name == NULL || !valid_bare_name(d->name))
        return veil_error_set(VEIL_EINVAL, "built-in plugin name '%s' is not a bare "
                              "name ([A-Za-z0-9_-]{1,%u})", d->name ? d->name : "(null)",
                              PLUGIN_NAME_MAX);
    pthread_mutex_lock(&builtin_lock);
    for (size_t i = 0; i < BUILTIN_MAX; i++) {
        if (builtins[i] == NULL) {
            if (free_slot == BUILTIN_MAX)
                free_slot = i;
        } else if (strcmp(builtins[i]->name, d->name) == 0) {
            pthread_mutex_unlock(&builtin_lock);
            return veil_error_set(VEIL_EEXIST, "a built-in plugin named '%s' is "
                                  "already registered", d->name);
        }
    }
    if (free_slot < BUILTIN_MAX)
        builtins[free_slot] = d;
    pthread_mutex_unlock(&builtin_lock);
    if (free_slot == BUILTIN_MAX)
        return veil_error_set(VEIL_ELIMIT, "cannot register built-in plugin '%s': "
                              "all %u slots are taken", d->name, BUILTIN_MAX);
    return 0;
}

void veil_plugin_unregister_builtin(const char *name)
{
    if (name == NULL)
        return;
    pthread_mutex_lock(&builtin_lock);
    for (size_t i = 0; i < BUILTIN_MAX; i++)
        if (builtins[i] != NULL && strcmp(builtins[i]->name, name) == 0)
            builtins[i] = NULL;
    pthread_mutex_unlock(&builtin_lock);
}

/* ---- finding and opening files --------------------------------------- */

/* The list of paths tried, for the not-found message. */
struct searched {
    char buf[SEARCHED_MAX];
    size_t len;
};

static void searched_add(struct searched *s, const char *path, const char *note)
{
    int n;
    if (s->len >= sizeof s->buf - 1)
        return;
    n = snprintf(s->buf + s->len, sizeof s->buf - s->len, "%s%s%s%s%s",
                 s->len ? ", " : "", path, note ? " (" : "", note ? note : "",
                 note ? ")" : "");
    if (n < 0 || (size_t)n >= sizeof s->buf - s->len) {
        /* Keep the message honest about being cut short. */
        memcpy(s->buf + sizeof s->buf - 5, " ...", 5);
        s->len = sizeof s->buf - 1;
        return;
    }
    s->len += (size_t)n;
}

/* Does path exist?  Records it as searched when it does not. */
static bool candidate_exists(struct searched *s, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return true;
    searched_add(s, path, (errno == ENOENT || errno == ENOTDIR) ? NULL : strerror(errno));
    return false;
}

/* Try <dir>/<name>.so; true (path filled) when the file exists. */
static bool try_dir(struct searched *s, const char *dir, size_t dirlen,
                    const char *name, char *path, size_t cap)
{
    int n = snprintf(path, cap, "%.*s/%s.so", (int)dirlen, dir, name);
    if (n < 0 || (size_t)n >= cap) {
        searched_add(s, dir, "directory name too long");
        return false;
    }
    return candidate_exists(s, path);
}

/* "; did you mean 'software'?" naming the nearest built-in or plugin file
 * in the searched directories, or "" (bare names only). */
static void nearest_hint(const char *name, char *out, size_t cap)
{
    veil_nearest n = { .dist = 0 };
    out[0] = '\0';
    if (name[0] == '/')
        return;
    pthread_mutex_lock(&builtin_lock);
    for (size_t i = 0; i < BUILTIN_MAX; i++)
        if (builtins[i] != NULL)
            veil__nearest_consider(&n, name, builtins[i]->name, strlen(builtins[i]->name));
    pthread_mutex_unlock(&builtin_lock);
    for (const char *env = secure_getenv("VEIL_PLUGIN_PATH"); env != NULL && *env != '\0';) {
        const char *end = strchr(env, ':');
        size_t len = end ? (size_t)(end - env) : strlen(env);
        if (len > 0 && env[0] == '/')
            veil__nearest_scan_dir(&n, name, env, len);
        env = end ? end + 1 : NULL;
    }
    veil__nearest_scan_dir(&n, name, VEIL_PLUGIN_DIR, strlen(VEIL_PLUGIN_DIR));
    if (n.name[0] != '\0')
        snprintf(out, cap, "; did you mean '%s'?", n.name);
}

/* Find the file for a request.  0 with path filled, or
 * VEIL_EPLUGIN_NOTFOUND listing every path tried. */
static int locate(const struct load_req *rq, char *path, size_t cap)
{
    struct searched s = { .len = 0 };
    const char *env;

    s.buf[0] = '\0';
    if (rq->name[0] == '/') {
        if (veil__strlcpy(path, rq->name, cap) >= cap)
            return veil_error_set(VEIL_EINVAL, "plugin path too long: %.200s...", rq->name);
        if (candidate_exists(&s, path))
            return 0;
    } else {
        env = secure_getenv("VEIL_PLUGIN_PATH");
        while (env != NULL && *env != '\0') {
            const char *end = strchr(env, ':');
            size_t len = end ? (size_t)(end - env) : strlen(env);
            /* A relative entry would make the plugin depend on the current
             * directory: listed as ignored, never tried. */
            if (len > 0 && env[0] != '/') {
                char rel[PATH_MAX];
                snprintf(rel, sizeof rel, "%.*s", (int)len, env);
                searched_add(&s, rel, "ignored: not an absolute directory");
            } else if (len > 0 && try_dir(&s, env, len, rq->name, path, cap)) {
                return 0;
            }
            env = end ? end + 1 : NULL;
        }
        if (try_dir(&s, VEIL_PLUGIN_DIR, strlen(VEIL_PLUGIN_DIR), rq->name, path, cap))
            return 0;
    }
    char hint[VEIL_CONFIG_NAME_MAX + 24];
    nearest_hint(rq->name, hint, sizeof hint);
    return veil_error_set(VEIL_EPLUGIN_NOTFOUND, "plugin '%s'%s%s%s not found; "
                          "searched: %s%s", rq->name, rq->origin ? " (" : "",
                          rq->origin ? rq->origin : "", rq->origin ? ")" : "", s.buf, hint);
}

/* dlopen the file and fetch its descriptor (not yet checked). */
static int open_file(const struct load_req *rq, const char *path, void **dl,
                     const veil_plugin_descriptor **desc)
{
    veil_plugin_entry_fn entry;
    void *sym;
    const char *err;

    *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (*dl == NULL) {
        err = dlerror();
        return veil_error_set(VEIL_EIO, "plugin '%s': cannot load %s: %s", rq->name,
                              path, err ? err : "unknown dlopen error");
    }
    (void)dlerror();
    sym = dlsym(*dl, VEIL_PLUGIN_ENTRY_SYMBOL);
    if (sym == NULL) {
        /* dlerror's text lives in the loader's memory: format it before
         * dlclose can free it. */
        err = dlerror();
        veil_error_set(VEIL_EPLUGIN_NOENTRY, "%s is not a veil plugin: it exports "
                       "no symbol '%s' (%s)", path, VEIL_PLUGIN_ENTRY_SYMBOL,
                       err ? err : "symbol is NULL");
        dlclose(*dl);
        *dl = NULL;
        return VEIL_EPLUGIN_NOENTRY;
    }
    /* POSIX guarantees data and function pointers convert through dlsym. */
    memcpy(&entry, &sym, sizeof entry);
    *desc = entry();
    return 0;
}

/* ---- loading ---------------------------------------------------------- */

/* Everything is checked; make the handle and run init. */
static int instantiate(const struct load_req *rq, const veil_plugin_descriptor *d,
                       void *dl, const char *path, veil_plugin **out)
{
    veil_plugin *p = calloc(1, sizeof *p);
    int rc;

    if (p == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory loading plugin '%s'", rq->name);
    p->path = strdup(path);
    p->section = rq->section ? strdup(rq->section) : NULL;
    if (p->path == NULL || (rq->section != NULL && p->section == NULL)) {
        rc = veil_error_set(VEIL_ENOMEM, "out of memory loading plugin '%s'", rq->name);
        goto fail;
    }
    atomic_init(&p->refs, 1u);
    p->desc = d;
    p->node = rq->node;
    p->scope.config = rq->cfg;
    p->scope.section = p->section;
    if (d->init != NULL) {
        /* Start from an empty detail so a silent failure is not blamed on
         * whatever failed earlier on this thread. */
        veil_error_set(VEIL_OK, "%s", "");
        rc = d->init(&p->scope, &p->state);
        if (rc < 0) {
            if (veil_last_error()[0] == '\0')
                veil_error_set(rc, "returned %d (%s) without a detail", rc,
                               veil_strerror(rc));
            rc = veil_error_wrap(VEIL_EPLUGIN_INIT, "plugin '%s' (%s) init failed",
                                 rq->name, path);
            goto fail;
        }
    }
    p->dl = dl;
    veil_log(VEIL_LOG_DEBUG, "loader", "loaded %s plugin '%s' %s from %s for [%s]",
             veil_plugin_kind_name(d->kind), d->name, d->version ? d->version : "",
             path, rq->section ? rq->section : "");
    *out = p;
    return 0;
fail:
    free(p->path);
    free(p->section);
    free(p);
    return rc;
}

static int load_file(const struct load_req *rq, veil_plugin **out)
{
    char path[PATH_MAX];
    void *dl = NULL;
    const veil_plugin_descriptor *d = NULL;
    int rc;

    rc = locate(rq, path, sizeof path);
    if (rc < 0)
        return rc;
    rc = open_file(rq, path, &dl, &d);
    if (rc < 0)
        return rc;
    rc = check_descriptor(d, rq, path);
    if (rc == 0)
        rc = check_keys(d, rq, path);
    if (rc == 0)
        rc = instantiate(rq, d, dl, path, out);
    if (rc < 0)
        dlclose(dl);
    return rc;
}

/* The name a file-loaded descriptor must carry: the bare name itself, or
 * the file name of an absolute path without its ".so". */
static int wanted_name(struct load_req *rq)
{
    const char *base = rq->name;
    size_t len;

    if (rq->name[0] == '/') {
        base = strrchr(rq->name, '/') + 1;
        len = strlen(base);
        if (len > 3 && strcmp(base + len - 3, ".so") == 0)
            len -= 3;
    } else {
        if (!valid_bare_name(rq->name))
            return veil_error_set(VEIL_EINVAL, "%s%splugin name '%s' is neither a bare "
                                  "name ([A-Za-z0-9_-]{1,%u}) nor an absolute path",
                                  rq->origin ? rq->origin : "", rq->origin ? ": " : "",
                                  rq->name, PLUGIN_NAME_MAX);
        len = strlen(rq->name);
    }
    if (len == 0 || len > PLUGIN_NAME_MAX)
        return veil_error_set(VEIL_EINVAL, "%s%splugin path '%s' does not end in a "
                              "plugin file name of 1 to %u characters",
                              rq->origin ? rq->origin : "", rq->origin ? ": " : "",
                              rq->name, PLUGIN_NAME_MAX);
    memcpy(rq->want, base, len);
    rq->want[len] = '\0';
    return 0;
}

static int load_impl(struct load_req *rq, veil_plugin **out)
{
    const veil_plugin_descriptor *d;
    int rc;

    if (out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_plugin_open: out must be non-NULL");
    *out = NULL;
    if (ops_min_size(rq->kind) == 0)
        return veil_error_set(VEIL_EINVAL, "veil_plugin_open: unknown plugin kind %d "
                              "expected for [%s]", rq->kind,
                              rq->section ? rq->section : "(no section)");
    rc = wanted_name(rq);
    if (rc < 0)
        return rc;
    if (rq->name[0] != '/' && (d = find_builtin(rq->name)) != NULL) {
        rc = check_descriptor(d, rq, "builtin");
        if (rc == 0)
            rc = check_keys(d, rq, "builtin");
        return rc < 0 ? rc : instantiate(rq, d, NULL, "builtin", out);
    }
    return load_file(rq, out);
}

int veil_plugin_open_named(const char *name, const veil_config *cfg,
                           const char *section, int expected_kind, veil_node *node,
                           veil_plugin **out)
{
    struct load_req rq = { .name = name, .cfg = cfg, .section = section,
                           .kind = expected_kind, .node = node };
    if (name == NULL) {
        if (out != NULL)
            *out = NULL;
        return veil_error_set(VEIL_EINVAL, "veil_plugin_open_named: NULL plugin name");
    }
    return load_impl(&rq, out);
}

int veil_plugin_open(const veil_config *cfg, const char *section, int expected_kind,
                     veil_node *node, veil_plugin **out)
{
    struct load_req rq = { .cfg = cfg, .section = section, .kind = expected_kind,
                           .node = node };
    if (out != NULL)
        *out = NULL;
    if (cfg == NULL || section == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_plugin_open: configuration and "
                              "section must be non-NULL");
    rq.name = veil_config_get(cfg, section, "plugin");
    if (rq.name == NULL && !veil_config_has_section(cfg, section))
        return veil_error_set(VEIL_ECONFIG, "the configuration has no section [%s] "
                              "(it needs a 'plugin' key naming the %s plugin to load)",
                              section, veil_plugin_kind_name(expected_kind));
    if (rq.name == NULL)
        return veil_error_set(VEIL_ECONFIG, "configuration section [%s] has no "
                              "'plugin' key naming the %s plugin to load", section,
                              veil_plugin_kind_name(expected_kind));
    rq.origin = veil_config_origin(cfg, section, "plugin");
    return load_impl(&rq, out);
}

void veil__plugin_ref(veil_plugin *p)
{
    if (p != NULL)
        atomic_fetch_add(&p->refs, 1u);
}

int veil__plugin_check_section(const veil_plugin *p, const veil_config *cfg, const char *section)
{
    if (p == NULL)
        return veil_error_set(VEIL_EINVAL, "veil__plugin_check_section: NULL plugin");
    struct load_req rq = { .name = p->desc->name, .cfg = cfg, .section = section,
                           .kind = p->desc->kind, .node = p->node };
    return check_keys(p->desc, &rq, p->path);
}

void veil_plugin_close(veil_plugin *p)
{
    if (p == NULL)
        return;
    if (atomic_fetch_sub(&p->refs, 1u) != 1u)
        return; /* another holder keeps it (veil__plugin_ref) */
    if (p->desc->fini != NULL)
        p->desc->fini(p->state);
    if (p->dl != NULL)
        dlclose(p->dl);
    free(p->path);
    free(p->section);
    free(p);
}

const veil_plugin_descriptor *veil_plugin_descriptor_of(const veil_plugin *p)
{
    return p ? p->desc : NULL;
}

void *veil_plugin_state(const veil_plugin *p)
{
    return p ? p->state : NULL;
}

const char *veil_plugin_path(const veil_plugin *p)
{
    return p ? p->path : NULL;
}

veil_node *veil_plugin_node(const veil_plugin *p)
{
    return p ? p->node : NULL;
}
