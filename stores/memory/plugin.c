/* Store "memory": records in a sorted array, for nodes that persist
 * nothing (the default when no [store] path or [node] state_dir is set).
 * What it holds is lost when the instance is freed, exactly as the
 * in-memory contacts and prekeys were before the store kind.
 *
 *   [store]
 *   plugin = memory
 *
 * One mutex per instance makes every op atomic, take included; records
 * are kept sorted by (namespace, key), so a lookup is a binary search and
 * a prefix take finds the lowest matching key directly. */
#include <veil/error.h>
#include <veil/plugin.h>
#include <veil/store.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store_common.h"

typedef struct record {
    char *ns;
    char *key;
    uint8_t *value;
    size_t len;
    uint64_t version;
} record;

typedef struct memory_store {
    pthread_mutex_t lock;
    record *r;
    size_t n, cap;
} memory_store;

static const char *const config_keys[] = { NULL };

static void record_free(record *r)
{
    free(r->ns);
    free(r->key);
    free(r->value);
}

static void instance_free(void *inst)
{
    memory_store *m = inst;
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++)
        record_free(&m->r[i]);
    free(m->r);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static int instance_new(void *plugin_state, const veil_config_scope *scope, void **inst)
{
    (void)plugin_state;
    (void)scope;
    memory_store *m = calloc(1, sizeof *m);
    if (m == NULL)
        return veil_error_set(VEIL_ENOMEM, "memory store: out of memory");
    pthread_mutex_init(&m->lock, NULL);
    *inst = m;
    return 0;
}

static int cmp(const record *r, const char *ns, const char *key)
{
    int c = strcmp(r->ns, ns);
    return c != 0 ? c : strcmp(r->key, key);
}

/* Index of the first record >= (ns, key); *found when it is equal. */
static size_t lower_bound(const memory_store *m, const char *ns, const char *key, bool *found)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp(&m->r[mid], ns, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < m->n && cmp(&m->r[lo], ns, key) == 0;
    return lo;
}

static bool has_prefix(const record *r, const char *ns, const char *prefix)
{
    return strcmp(r->ns, ns) == 0 && strncmp(r->key, prefix, strlen(prefix)) == 0;
}

static void remove_at(memory_store *m, size_t i)
{
    record_free(&m->r[i]);
    memmove(&m->r[i], &m->r[i + 1], (m->n - i - 1) * sizeof *m->r);
    m->n--;
}

static int get(void *inst, const char *ns, const char *key, uint8_t *value, size_t cap,
               size_t *len, uint64_t *version)
{
    memory_store *m = inst;
    bool found;
    int rc;
    pthread_mutex_lock(&m->lock);
    size_t i = lower_bound(m, ns, key, &found);
    if (!found) {
        rc = veil_error_set(VEIL_ENOTFOUND, "memory store: no record %s/%s", ns, key);
    } else {
        rc = store_copy_out("memory store", ns, m->r[i].key, m->r[i].value, m->r[i].len, value,
                            cap, len);
        *version = m->r[i].version;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int insert_at(memory_store *m, size_t i, const char *ns, const char *key, uint8_t *v,
                     size_t len)
{
    if (m->n == m->cap) {
        size_t cap = m->cap != 0 ? m->cap * 2 : 64;
        record *r = realloc(m->r, cap * sizeof *r);
        if (r == NULL)
            return veil_error_set(VEIL_ENOMEM, "memory store: out of memory");
        m->r = r;
        m->cap = cap;
    }
    record nr = { strdup(ns), strdup(key), v, len, 1 };
    if (nr.ns == NULL || nr.key == NULL) {
        free(nr.ns);
        free(nr.key);
        return veil_error_set(VEIL_ENOMEM, "memory store: out of memory");
    }
    memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof *m->r);
    m->r[i] = nr;
    m->n++;
    return 0;
}

static int put(void *inst, const char *ns, const char *key, const uint8_t *value, size_t len,
               uint64_t expected, uint64_t *version)
{
    memory_store *m = inst;
    bool found;
    uint8_t *v = malloc(len > 0 ? len : 1);
    if (v == NULL)
        return veil_error_set(VEIL_ENOMEM, "memory store: out of memory");
    if (len > 0)
        memcpy(v, value, len);
    pthread_mutex_lock(&m->lock);
    size_t i = lower_bound(m, ns, key, &found);
    int rc = store_check_version(ns, key, found, found ? m->r[i].version : 0, expected);
    if (rc == 0 && found) {
        free(m->r[i].value);
        m->r[i].value = v;
        m->r[i].len = len;
        *version = ++m->r[i].version;
        v = NULL;
    } else if (rc == 0) {
        rc = insert_at(m, i, ns, key, v, len);
        *version = 1;
        if (rc == 0)
            v = NULL;
    }
    pthread_mutex_unlock(&m->lock);
    free(v);
    return rc;
}

static int del(void *inst, const char *ns, const char *key, uint64_t expected)
{
    memory_store *m = inst;
    bool found;
    int rc;
    pthread_mutex_lock(&m->lock);
    size_t i = lower_bound(m, ns, key, &found);
    if (!found)
        rc = veil_error_set(VEIL_ENOTFOUND, "memory store: no record %s/%s", ns, key);
    else
        rc = store_check_version(ns, key, true, m->r[i].version, expected);
    if (rc == 0)
        remove_at(m, i);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int take(void *inst, const char *ns, const char *key, unsigned flags, char *key_out,
                uint8_t *value, size_t cap, size_t *len)
{
    memory_store *m = inst;
    bool found;
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    size_t i = lower_bound(m, ns, key, &found);
    if ((flags & VEIL_STORE_PREFIX) != 0)
        found = i < m->n && has_prefix(&m->r[i], ns, key);
    if (!found)
        rc = veil_error_set(VEIL_ENOTFOUND, "memory store: no record %s/%s%s", ns, key,
                            (flags & VEIL_STORE_PREFIX) != 0 ? "*" : "");
    if (rc == 0)
        rc = store_copy_out("memory store", ns, m->r[i].key, m->r[i].value, m->r[i].len, value,
                            cap, len);
    if (rc == 0) {
        memcpy(key_out, m->r[i].key, strlen(m->r[i].key) + 1);
        remove_at(m, i);
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int list(void *inst, const char *ns, const char *prefix, veil_store_fn fn, void *arg)
{
    memory_store *m = inst;
    bool found;
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    for (size_t i = lower_bound(m, ns, prefix, &found);
         rc == 0 && i < m->n && has_prefix(&m->r[i], ns, prefix); i++)
        rc = fn(arg, m->r[i].key, m->r[i].value, m->r[i].len, m->r[i].version);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static const veil_store_ops ops = {
    .size = sizeof ops,
    .instance_new = instance_new,
    .instance_free = instance_free,
    .get = get,
    .put = put,
    .del = del,
    .take = take,
    .list = list,
};

static const veil_plugin_descriptor descriptor = {
    VEIL_PLUGIN_ABI,
    .kind = VEIL_PLUGIN_STORE,
    .name = "memory",
    .version = "1.0",
    .description = "state store in memory (nothing persists)",
    .config_keys = config_keys,
    .ops = &ops,
};

VEIL_PLUGIN_ENTRY(descriptor)
