/* Relay registrations kept in the node's store (docs/PROTOCOL.md, "Relay
 * registration", "Across a relay restart"): which identity holds which
 * name, so that after a restart a name stays bound to its owner while the
 * owner re-dials (nobody else can take it), for restart_hold_ms.  The
 * route is not kept: it is the owner's connection, which a restart ends;
 * the owner's next REGISTER teaches it again.
 *
 *   veil.relay / NAME    version:u8 (1) | identifier ("P" + 64 hex)
 *
 * Written when a name is first bound to an identity, deleted when the
 * binding expires (its connection lost, its channel closed, its hold
 * after a restart over); refreshes and moves write nothing.  With the
 * memory store (no [store], no [node] state_dir) nothing is kept. */
#include "relay_internal.h"

#include <veil/entity.h>
#include <veil/error.h>
#include <veil/log.h>
#include <veil/store.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS "veil.relay"
#define REC_VERSION 1u
#define REC_LEN (1u + VEIL_IDENTIFIER_LEN)

/* The node's store when it keeps anything, else NULL (an error to open it
 * is logged: registrations then live in memory only, as before). */
static veil_store *kept(veil_node *node)
{
    veil_store *s = NULL;
    if (veil_node_store(node, &s) < 0) {
        veil_log(VEIL_LOG_WARN, "relay", "registrations are not kept: the node's store: %s",
                 veil_last_error());
        return NULL;
    }
    return strcmp(veil_store_plugin_name(s), "memory") == 0 ? NULL : s;
}

static bool identifier_ok(const char *id, size_t len)
{
    if (len != VEIL_IDENTIFIER_LEN || id[0] != 'P')
        return false;
    for (size_t i = 1; i < len; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

void veil__relay_persist_bind(veil_node *node, const char *name, const char *owner)
{
    veil_store *s = kept(node);
    size_t n = strlen(owner);
    if (s == NULL || !identifier_ok(owner, n))
        return;
    uint8_t v[REC_LEN];
    uint64_t ver;
    v[0] = REC_VERSION;
    memcpy(v + 1, owner, n);
    if (veil_store_put(s, NS, name, v, sizeof v, VEIL_STORE_ANY, &ver) < 0)
        veil_log(VEIL_LOG_WARN, "relay", "name '%s' of %s is not kept across a restart (the "
                 "node's store: %s)", name, owner, veil_last_error());
}

void veil__relay_persist_unbind(veil_node *node, const char *name)
{
    veil_store *s = kept(node);
    int rc = s != NULL ? veil_store_delete(s, NS, name, VEIL_STORE_ANY) : 0;
    if (rc < 0 && rc != VEIL_ENOTFOUND)
        veil_log(VEIL_LOG_WARN, "relay", "name '%s' expired but its record stays in the node's "
                 "store (held again for restart_hold_ms after a restart): %s", name,
                 veil_last_error());
}

typedef struct kept_name {
    char name[VEIL_RELAY_NAME_MAX + 1];
    char owner[VEIL_IDENTIFIER_LEN + 1];
} kept_name;

/* The records read (fn is called after the walk: it may write the store). */
typedef struct load_arg {
    kept_name *v;
    size_t n, cap;
} load_arg;

static int load_one(void *arg, const char *key, const uint8_t *value, size_t len,
                    uint64_t version)
{
    (void)version;
    load_arg *a = arg;
    if (!veil_relay_name_valid(key) || len != REC_LEN || value[0] != REC_VERSION ||
        !identifier_ok((const char *)value + 1, len - 1u)) {
        veil_log(VEIL_LOG_WARN, "relay", "store record " NS "/%s is not a version-1 "
                 "registration (a valid name, then an identifier): ignored", key);
        return 0;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2u : 16u;
        kept_name *v = realloc(a->v, cap * sizeof *v);
        if (v == NULL)
            return veil_error_set(VEIL_ENOMEM, "relay registry: out of memory reading kept "
                                  "names");
        a->v = v;
        a->cap = cap;
    }
    kept_name *k = &a->v[a->n++];
    snprintf(k->name, sizeof k->name, "%s", key);
    memcpy(k->owner, value + 1, len - 1u);
    k->owner[len - 1u] = '\0';
    return 0;
}

int veil__relay_persist_load(veil_node *node, veil__relay_restore_fn fn, void *arg)
{
    veil_store *s = kept(node);
    load_arg a = { 0 };
    int rc = s != NULL ? veil_store_list(s, NS, "", load_one, &a) : 0;
    for (size_t i = 0; rc == 0 && i < a.n; i++)
        fn(arg, a.v[i].name, a.v[i].owner);
    free(a.v);
    return rc < 0 ? veil_error_wrap(rc, "relay registry: reading the names kept in the node's "
                                    "store (namespace " NS ")")
                  : 0;
}
