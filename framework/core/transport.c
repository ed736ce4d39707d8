/* Transports seen from the node: instances of transport plugins, the
 * listen/connect/stats entry points applications use, lost-route
 * notifications, and prepoll hooks (transport.h).
 *
 * A transport plugin is loaded for a [transport.NAME] section (at node
 * creation when the section has `plugin = ...`, else on first use with
 * plugin NAME and defaults).  Its ops.instance_new runs once per node; the
 * instance registers its address type with the router itself.  Instances
 * are freed at node stop after the workers stopped and before the plugins
 * are unloaded. */
#include "runtime.h"
#include "upper.h"

#include <veil/error.h>
#include <veil/transport.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTION_PREFIX "transport."

typedef struct tp_instance {
    char section[VEIL_CONFIG_NAME_MAX + 1];
    const veil_transport_ops *ops;
    void *inst;
} tp_instance;

typedef struct tp_sub {
    veil_route_lost_fn fn;
    void *arg;
    bool removed;
} tp_sub;

typedef struct tp_hook {
    veil_prepoll_fn fn;
    void *arg;
} tp_hook;

struct veil_transports {
    tp_instance *inst;
    size_t ninst;
    tp_sub *subs;
    size_t nsubs;
    int notifying;             /* >0: removals only mark, compacted after */
    tp_hook *hooks;
    size_t nhooks;
};

static int state_of(veil_node *node, struct veil_transports **out)
{
    /* After the stop the table is gone for good: one made now would leak. */
    if (node->stopping)
        return veil_error_set(VEIL_ESTOPPED, "node is stopping: no transports, hooks or "
                              "route-lost subscribers any more");
    if (node->transports == NULL) {
        node->transports = calloc(1, sizeof *node->transports);
        if (node->transports == NULL)
            return veil_error_set(VEIL_ENOMEM, "out of memory for the node's transport table");
    }
    *out = node->transports;
    return 0;
}

/* ---- instances ---------------------------------------------------------- */

static int instantiate(veil_node *node, const char *section, veil_plugin *p, tp_instance **out)
{
    struct veil_transports *t = NULL;
    int rc = state_of(node, &t);
    if (rc < 0)
        return rc;
    const veil_plugin_descriptor *d = veil_plugin_descriptor_of(p);
    const veil_transport_ops *ops = d->ops;
    tp_instance *grown = realloc(t->inst, (t->ninst + 1) * sizeof *grown);
    if (grown == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory adding transport [%s]", section);
    t->inst = grown;
    tp_instance *ti = &t->inst[t->ninst];
    memset(ti, 0, sizeof *ti);
    snprintf(ti->section, sizeof ti->section, "%s", section);
    ti->ops = ops;
    veil_config_scope scope = {node->config, ti->section};
    rc = ops->instance_new(veil_plugin_state(p), node, &scope, &ti->inst);
    if (rc < 0)
        return veil_error_wrap(rc, "transport [%s] (plugin '%s') failed to start", section,
                               d->name);
    t->ninst++;
    *out = ti;
    return 0;
}

static int find_instance(veil_node *node, const char *name, tp_instance **out);

/* Every [transport.NAME] section starts a transport with the node: the
 * plugin its `plugin` key names (already loaded by node.c), else plugin
 * NAME (so "[transport.tcp]\nlisten = ..." is enough). */
int veil__transports_init(veil_node *node)
{
    tp_instance *ti;
    for (size_t i = 0; i < node->nplugins; i++) {
        veil_node_plugin_slot *s = &node->plugins[i];
        if (s->kind != VEIL_PLUGIN_TRANSPORT)
            continue;
        int rc = instantiate(node, s->section, s->plugin, &ti);
        if (rc < 0)
            return rc;
    }
    size_t n = veil_config_section_count(node->config);
    for (size_t i = 0; i < n; i++) {
        const char *section = veil_config_section_name(node->config, i);
        size_t plen = sizeof SECTION_PREFIX - 1;
        if (section == NULL || strncmp(section, SECTION_PREFIX, plen) != 0 ||
            section[plen] == '\0' || veil_config_get(node->config, section, "plugin") != NULL)
            continue;
        int rc = find_instance(node, section + plen, &ti);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void veil__transports_fini(veil_node *node)
{
    struct veil_transports *t = node->transports;
    if (t == NULL)
        return;
    /* Last started, first freed. */
    while (t->ninst > 0) {
        tp_instance *ti = &t->inst[--t->ninst];
        if (ti->ops->instance_free != NULL)
            ti->ops->instance_free(ti->inst);
    }
    free(t->inst);
    free(t->subs);
    free(t->hooks);
    free(t);
    node->transports = NULL;
}

static int find_instance(veil_node *node, const char *name, tp_instance **out)
{
    char section[VEIL_CONFIG_NAME_MAX + 1];
    if (node == NULL || name == NULL || name[0] == '\0')
        return veil_error_set(VEIL_EINVAL, "transport: node and name must not be NULL or empty");
    int n = snprintf(section, sizeof section, SECTION_PREFIX "%s", name);
    if (n < 0 || (size_t)n >= sizeof section)
        return veil_error_set(VEIL_EINVAL, "transport name '%s' is too long (at most %zu bytes)",
                              name, sizeof section - sizeof SECTION_PREFIX);
    struct veil_transports *t = node->transports;
    for (size_t i = 0; t != NULL && i < t->ninst; i++) {
        if (strcmp(t->inst[i].section, section) == 0) {
            *out = &t->inst[i];
            return 0;
        }
    }
    veil_plugin *p;
    int rc = veil__node_plugin(node, section, VEIL_PLUGIN_TRANSPORT, name, &p);
    if (rc < 0)
        return rc;
    return instantiate(node, section, p, out);
}

int veil_node_transport_start(veil_node *node, const char *name)
{
    tp_instance *ti;
    return find_instance(node, name, &ti);
}

int veil_node_transport_listen(veil_node *node, const char *name, const char *where,
                               veil_address *bound)
{
    tp_instance *ti;
    veil_address dummy;
    if (where == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_node_transport_listen: where must not be NULL");
    int rc = find_instance(node, name, &ti);
    if (rc < 0)
        return rc;
    if (ti->ops->listen == NULL)
        return veil_error_set(VEIL_EUNSUPPORTED, "transport '%s' cannot listen", name);
    return ti->ops->listen(ti->inst, where, bound != NULL ? bound : &dummy);
}

int veil_node_transport_connect(veil_node *node, const char *name, const char *where,
                                veil_address *peer)
{
    tp_instance *ti;
    veil_address dummy;
    if (where == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_node_transport_connect: where must not be NULL");
    int rc = find_instance(node, name, &ti);
    if (rc < 0)
        return rc;
    if (ti->ops->connect == NULL)
        return veil_error_set(VEIL_EUNSUPPORTED, "transport '%s' cannot connect", name);
    return ti->ops->connect(ti->inst, where, peer != NULL ? peer : &dummy);
}

/* The started transport of peer's address type (what dial and drop use). */
static int instance_for(veil_node *node, const veil_address *peer, const char *fn,
                        const tp_instance **out)
{
    struct veil_transports *t = node != NULL ? node->transports : NULL;
    if (peer == NULL || peer->type == VEIL_ADDRESS_TYPE_LOCAL)
        return veil_error_set(VEIL_EINVAL, "%s: a transport address is needed", fn);
    for (size_t i = 0; t != NULL && i < t->ninst; i++)
        if (t->inst[i].ops->address_type == peer->type) {
            *out = &t->inst[i];
            return 0;
        }
    return veil_error_set(VEIL_ENOROUTE, "%s: no started transport has address type %u", fn,
                          peer->type);
}

int veil_node_transport_dial(veil_node *node, const veil_address *peer)
{
    const tp_instance *ti;
    veil_address dummy;
    int rc = instance_for(node, peer, "veil_node_transport_dial", &ti);
    if (rc < 0)
        return rc;
    if (ti->ops->connect == NULL)
        return veil_error_set(VEIL_EUNSUPPORTED, "the transport of address type %u cannot "
                              "connect", peer->type);
    return ti->ops->connect(ti->inst, peer->bytes, &dummy);
}

int veil_node_transport_drop(veil_node *node, const veil_address *peer, uint64_t quiet_ms,
                             const char *why)
{
    const tp_instance *ti;
    int rc = instance_for(node, peer, "veil_node_transport_drop", &ti);
    if (rc < 0)
        return rc;
    if (!VEIL_ABI_HAS(ti->ops, drop) || ti->ops->drop == NULL)
        return veil_error_set(VEIL_EUNSUPPORTED, "the transport of address type %u cannot "
                              "drop a connection (plugin ABI before 4.5)", peer->type);
    return ti->ops->drop(ti->inst, peer, quiet_ms, why != NULL ? why : "dropped");
}

int veil_node_transport_stats(veil_node *node, const char *name, veil_transport_stats *out)
{
    tp_instance *ti;
    if (out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_node_transport_stats: out must not be NULL");
    int rc = find_instance(node, name, &ti);
    if (rc < 0)
        return rc;
    if (!VEIL_ABI_HAS(ti->ops, stats) || ti->ops->stats == NULL)
        return veil_error_set(VEIL_EUNSUPPORTED, "transport '%s' keeps no statistics", name);
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    return ti->ops->stats(ti->inst, out);
}

int veil_node_transport_connections(veil_node *node, const char *name,
                                    veil_transport_conn_fn fn, void *arg)
{
    tp_instance *ti;
    if (fn == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_node_transport_connections: fn must not be NULL");
    int rc = find_instance(node, name, &ti);
    if (rc < 0)
        return rc;
    if (!VEIL_ABI_HAS(ti->ops, connections) || ti->ops->connections == NULL)
        return veil_error_set(VEIL_EUNSUPPORTED, "transport '%s' cannot list its connections",
                              name);
    return ti->ops->connections(ti->inst, fn, arg);
}

/* ---- lost routes -------------------------------------------------------- */

int veil_node_on_route_lost(veil_node *node, veil_route_lost_fn fn, void *arg)
{
    struct veil_transports *t = NULL;
    if (node == NULL || fn == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_node_on_route_lost: node and fn must not be NULL");
    int rc = state_of(node, &t);
    if (rc < 0)
        return rc;
    tp_sub *grown = realloc(t->subs, (t->nsubs + 1) * sizeof *grown);
    if (grown == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory adding a route-lost subscriber");
    t->subs = grown;
    t->subs[t->nsubs++] = (tp_sub){fn, arg, false};
    return 0;
}

static void compact_subs(struct veil_transports *t)
{
    size_t j = 0;
    for (size_t i = 0; i < t->nsubs; i++)
        if (!t->subs[i].removed)
            t->subs[j++] = t->subs[i];
    t->nsubs = j;
}

void veil_node_off_route_lost(veil_node *node, veil_route_lost_fn fn, void *arg)
{
    struct veil_transports *t = node != NULL ? node->transports : NULL;
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nsubs; i++)
        if (t->subs[i].fn == fn && t->subs[i].arg == arg && !t->subs[i].removed) {
            t->subs[i].removed = true;
            break;
        }
    if (t->notifying == 0)
        compact_subs(t);
}

void veil_node_route_lost(veil_node *node, const veil_address *peer, int reason,
                          const char *detail)
{
    struct veil_transports *t = node != NULL ? node->transports : NULL;
    if (t == NULL || peer == NULL || node->stopping)
        return;
    /* Subscribers added meanwhile wait for the next loss. */
    size_t n = t->nsubs;
    t->notifying++;
    node->dispatch_depth++; /* subscribers must not run the loop */
    for (size_t i = 0; i < n; i++) {
        tp_sub s = t->subs[i];
        if (!s.removed)
            s.fn(node, peer, reason, detail != NULL ? detail : "", s.arg);
    }
    node->dispatch_depth--;
    if (--t->notifying == 0)
        compact_subs(t);
}

/* ---- prepoll hooks ------------------------------------------------------ */

int veil_node_prepoll_add(veil_node *node, veil_prepoll_fn fn, void *arg)
{
    struct veil_transports *t = NULL;
    if (node == NULL || fn == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_node_prepoll_add: node and fn must not be NULL");
    int rc = state_of(node, &t);
    if (rc < 0)
        return rc;
    tp_hook *grown = realloc(t->hooks, (t->nhooks + 1) * sizeof *grown);
    if (grown == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory adding a prepoll hook");
    t->hooks = grown;
    t->hooks[t->nhooks++] = (tp_hook){fn, arg};
    return 0;
}

void veil_node_prepoll_remove(veil_node *node, veil_prepoll_fn fn, void *arg)
{
    struct veil_transports *t = node != NULL ? node->transports : NULL;
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nhooks; i++) {
        if (t->hooks[i].fn == fn && t->hooks[i].arg == arg) {
            memmove(&t->hooks[i], &t->hooks[i + 1], (t->nhooks - i - 1) * sizeof *t->hooks);
            t->nhooks--;
            return;
        }
    }
}

void veil__transports_prepoll(veil_node *node)
{
    struct veil_transports *t = node->transports;
    /* A hook may remove itself: walk by index, re-checking the bound. */
    for (size_t i = 0; t != NULL && i < t->nhooks; i++) {
        tp_hook h = t->hooks[i];
        h.fn(node, h.arg);
        if (i < t->nhooks && (t->hooks[i].fn != h.fn || t->hooks[i].arg != h.arg))
            i--; /* removed: the next one moved into slot i */
        t = node->transports;
    }
}
