/* State stores: instances of store plugins, and the checks every store
 * gets before its plugin sees a call (namespaces, keys, value lengths:
 * veil/store.h).  Which plugin [store] means when it names none: sqlite
 * when a path or [node] state_dir is configured, memory otherwise. */
#include <veil/error.h>
#include <veil/plugin.h>
#include <veil/store.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "upper.h"
#include "util.h"

#define STATE_DB "state.db"
#define NODE_STORE "veil.store"

struct veil_store {
    const veil_store_ops *ops;
    void *inst;
    veil_plugin *owned_plugin;     /* veil_store_new only */
    veil_config *owned_config;     /* veil_store_new, or the state_dir default */
    char name[VEIL_CONFIG_NAME_MAX + 1];
};

void veil_store_close(veil_store *s)
{
    if (s == NULL)
        return;
    if (s->ops != NULL)
        s->ops->instance_free(s->inst);
    veil_plugin_close(s->owned_plugin);
    veil_config_free(s->owned_config);
    free(s);
}

const char *veil_store_plugin_name(const veil_store *s)
{
    return s != NULL ? s->name : NULL;
}

static int make_instance(veil_store *s, veil_plugin *p, const veil_config_scope *scope)
{
    const veil_plugin_descriptor *d = veil_plugin_descriptor_of(p);
    veil__strlcpy(s->name, d->name, sizeof s->name);
    void *inst = NULL;
    int rc = ((const veil_store_ops *)d->ops)->instance_new(veil_plugin_state(p), scope, &inst);
    if (rc < 0)
        return veil_error_wrap(rc, "store '%s' ([%s]) could not be opened", s->name,
                               scope->section);
    s->ops = d->ops;
    s->inst = inst;
    return 0;
}

/* [store] without a plugin key: sqlite at [store] path or at
 * [node] state_dir/state.db (set into a copy of the configuration, which
 * the store keeps), memory when neither is set. */
static int default_plugin(veil_store *s, const veil_config *cfg, const char *section,
                          const veil_config **use, const char **name)
{
    const char *dir = veil_config_get(cfg, "node", "state_dir");
    *use = cfg;
    *name = "memory";
    if (veil_config_get(cfg, section, "path") != NULL) {
        *name = "sqlite";
        return 0;
    }
    if (dir == NULL || dir[0] == '\0')
        return 0;
    char path[VEIL_CONFIG_VALUE_MAX + 1];
    if ((size_t)snprintf(path, sizeof path, "%s/" STATE_DB, dir) >= sizeof path)
        return veil_error_set(VEIL_ECONFIG, "[node] state_dir '%s' is too long for the path "
                              "of its state store", dir);
    int rc = veil_config_new_copy(&s->owned_config, cfg);
    if (rc == 0)
        rc = veil_config_set(s->owned_config, section, "path", path);
    *use = s->owned_config;
    *name = "sqlite";
    return rc;
}

int veil_store_open(veil_node *node, const char *section, veil_store **out)
{
    if (node == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_store_open: %s is NULL",
                              node == NULL ? "node" : "out");
    section = section != NULL ? section : "store";
    veil_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return veil_error_set(VEIL_ENOMEM, "veil_store_open: out of memory");
    const veil_config *cfg = veil_node_config(node);
    const char *name = veil_config_get(cfg, section, "plugin");
    veil_plugin *p = NULL;
    int rc = 0;
    if (name == NULL)
        rc = default_plugin(s, cfg, section, &cfg, &name);
    if (rc == 0)
        rc = veil__node_plugin(node, section, VEIL_PLUGIN_STORE, name, &p);
    veil_config_scope scope = { cfg, section };
    if (rc == 0)
        rc = make_instance(s, p, &scope);
    if (rc < 0) {
        veil_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void node_store_gone(veil_node *node, void *data)
{
    (void)node;
    veil_store_close(data);
}

int veil_node_store(veil_node *node, veil_store **out)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    if (node == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_node_store: %s is NULL",
                              node == NULL ? "node" : "out");
    pthread_mutex_lock(&lock);
    int rc = 0;
    veil_store *s = veil_node_extension_get(node, NODE_STORE);
    if (s == NULL && (rc = veil_store_open(node, "store", &s)) == 0 &&
        (rc = veil_node_extension_add(node, NODE_STORE, s, node_store_gone)) < 0) {
        veil_store_close(s);
        s = NULL;
    }
    pthread_mutex_unlock(&lock);
    *out = s;
    return rc;
}

static int set_keys(veil_config *cfg, const char *section, const char *const *kv)
{
    for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2) {
        if (kv[i + 1] == NULL)
            return veil_error_set(VEIL_EINVAL, "store: key '%s' has no value (key_values is a "
                                  "NULL-terminated list of key, value pairs)", kv[i]);
        int rc = veil_config_set(cfg, section, kv[i], kv[i + 1]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int veil_store_new(const char *name, const char *const *key_values, veil_store **out)
{
    static atomic_uint counter;
    char section[VEIL_CONFIG_NAME_MAX + 1];
    if (name == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_store_new: %s is NULL",
                              name == NULL ? "name" : "out");
    veil_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return veil_error_set(VEIL_ENOMEM, "veil_store_new: out of memory");
    snprintf(section, sizeof section, "store.program%u", atomic_fetch_add(&counter, 1u));
    int rc = veil_config_new(&s->owned_config);
    if (rc == 0)
        rc = set_keys(s->owned_config, section, key_values);
    if (rc == 0)
        rc = veil_plugin_open_named(name, s->owned_config, section, VEIL_PLUGIN_STORE, NULL,
                                    &s->owned_plugin);
    veil_config_scope scope = { s->owned_config, section };
    if (rc == 0)
        rc = make_instance(s, s->owned_plugin, &scope);
    if (rc < 0) {
        veil_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ---- argument checks ---------------------------------------------------- */

static int check_ns(const char *fn, const char *ns)
{
    size_t n = ns != NULL ? strnlen(ns, VEIL_STORE_NS_MAX + 1) : 0;
    if (n == 0 || n > VEIL_STORE_NS_MAX)
        return veil_error_set(VEIL_EINVAL, "%s: namespace must be 1..%u characters (got %s)",
                              fn, VEIL_STORE_NS_MAX, ns == NULL ? "NULL" : n == 0 ? "\"\""
                                                                              : "more");
    for (size_t i = 0; i < n; i++) {
        char c = ns[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return veil_error_set(VEIL_EINVAL, "%s: namespace '%s': byte %zu (0x%02x) is not "
                                  "one of [a-z0-9._-]", fn, ns, i, (unsigned char)c);
    }
    return 0;
}

static int check_key(const char *fn, const char *key, bool empty_ok)
{
    size_t n = key != NULL ? strnlen(key, VEIL_STORE_KEY_MAX + 1) : 0;
    if (key == NULL || (n == 0 && !empty_ok) || n > VEIL_STORE_KEY_MAX)
        return veil_error_set(VEIL_EINVAL, "%s: key must be %u..%u bytes (got %s)", fn,
                              empty_ok ? 0u : 1u, VEIL_STORE_KEY_MAX,
                              key == NULL ? "NULL" : n == 0 ? "\"\"" : "more");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] < 0x21 || (unsigned char)key[i] > 0x7e)
            return veil_error_set(VEIL_EINVAL, "%s: key byte %zu (0x%02x) is not printable "
                                  "ASCII other than space", fn, i, (unsigned char)key[i]);
    return 0;
}

static int check_common(const char *fn, const veil_store *s, const char *ns, const char *key,
                        bool empty_ok)
{
    if (s == NULL)
        return veil_error_set(VEIL_EINVAL, "%s: store is NULL", fn);
    int rc = check_ns(fn, ns);
    return rc < 0 ? rc : check_key(fn, key, empty_ok);
}

int veil_store_get(veil_store *s, const char *ns, const char *key, uint8_t *value, size_t cap,
                   size_t *len, uint64_t *version)
{
    static const char fn[] = "veil_store_get";
    uint64_t v;
    int rc = check_common(fn, s, ns, key, false);
    if (rc == 0 && (len == NULL || (value == NULL && cap > 0)))
        rc = veil_error_set(VEIL_EINVAL, "%s: %s is NULL", fn, len == NULL ? "len" : "value");
    if (rc == 0)
        rc = s->ops->get(s->inst, ns, key, value, cap, len, version != NULL ? version : &v);
    return rc;
}

int veil_store_put(veil_store *s, const char *ns, const char *key, const uint8_t *value,
                   size_t len, uint64_t expected, uint64_t *version)
{
    static const char fn[] = "veil_store_put";
    uint64_t v;
    int rc = check_common(fn, s, ns, key, false);
    if (rc == 0 && value == NULL && len > 0)
        rc = veil_error_set(VEIL_EINVAL, "%s: value is NULL", fn);
    if (rc == 0 && len > VEIL_STORE_VALUE_MAX)
        rc = veil_error_set(VEIL_ELIMIT, "%s: value of %zu bytes for %s/%s is over "
                            "VEIL_STORE_VALUE_MAX (%u)", fn, len, ns, key, VEIL_STORE_VALUE_MAX);
    if (rc == 0)
        rc = s->ops->put(s->inst, ns, key, value, len, expected, version != NULL ? version : &v);
    return rc;
}

/* A store without batches (an older table, or none) answers 0. */
static int batch_op(veil_store *s, bool commit, const char *fn)
{
    if (s == NULL || s->ops == NULL)
        return veil_error_set(VEIL_EINVAL, "%s: store is NULL", fn);
    if (!VEIL_ABI_HAS(s->ops, batch_commit))
        return 0;
    int (*op)(void *) = commit ? s->ops->batch_commit : s->ops->batch_begin;
    return op != NULL ? op(s->inst) : 0;
}

int veil_store_batch_begin(veil_store *s)
{
    return batch_op(s, false, "veil_store_batch_begin");
}

int veil_store_batch_commit(veil_store *s)
{
    return batch_op(s, true, "veil_store_batch_commit");
}

int veil_store_delete(veil_store *s, const char *ns, const char *key, uint64_t expected)
{
    int rc = check_common("veil_store_delete", s, ns, key, false);
    return rc < 0 ? rc : s->ops->del(s->inst, ns, key, expected);
}

int veil_store_take(veil_store *s, const char *ns, const char *key, unsigned flags,
                    char key_out[VEIL_STORE_KEY_MAX + 1], uint8_t *value, size_t cap,
                    size_t *len)
{
    static const char fn[] = "veil_store_take";
    bool prefix = (flags & VEIL_STORE_PREFIX) != 0;
    int rc = check_common(fn, s, ns, key, prefix);
    if (rc == 0 && (flags & ~VEIL_STORE_PREFIX) != 0)
        rc = veil_error_set(VEIL_EINVAL, "%s: unknown flags 0x%x", fn, flags);
    if (rc == 0 && (key_out == NULL || len == NULL || (value == NULL && cap > 0)))
        rc = veil_error_set(VEIL_EINVAL, "%s: %s is NULL", fn,
                            key_out == NULL ? "key_out" : len == NULL ? "len" : "value");
    if (rc == 0)
        rc = s->ops->take(s->inst, ns, key, flags, key_out, value, cap, len);
    return rc;
}

int veil_store_list(veil_store *s, const char *ns, const char *prefix, veil_store_fn fn,
                    void *arg)
{
    int rc = check_common("veil_store_list", s, ns, prefix != NULL ? prefix : "", true);
    if (rc == 0 && fn == NULL)
        rc = veil_error_set(VEIL_EINVAL, "veil_store_list: fn is NULL");
    return rc < 0 ? rc : s->ops->list(s->inst, ns, prefix != NULL ? prefix : "", fn, arg);
}

/* [store] / [store.NAME] at node creation: load the plugin it will use
 * now, so a misspelt key or an unknown plugin fails veil_node_new.
 * Nothing is opened (no database file is made). */
int veil__config_check_store(veil_node *node, const veil_config *cfg, const char *section)
{
    veil_plugin *p;
    if (node == NULL)
        return 0;
    const char *name = veil_config_get(cfg, section, "plugin");
    if (name == NULL)
        name = veil_config_get(cfg, section, "path") != NULL ||
                       veil_config_get(cfg, "node", "state_dir") != NULL
                   ? "sqlite"
                   : "memory";
    return veil__node_plugin(node, section, VEIL_PLUGIN_STORE, name, &p);
}
