/* The initiator's side of the prekey service (docs/X3DH.md, "Prekey
 * service"): the key agreement's peer_resolve (key_agreement.h), which a
 * secure channel calls before handshake message 1.  One FETCH goes to the
 * prekey service; the bundle it returns is the peer material the channel
 * hands to session_new as veil_ka_params.peer_bundle.
 *
 *  - Route to the service: [prekeys] route when set (e.g. a directory on a
 *    third node), else the route to the listener with its last address
 *    (the listener's) replaced by the service address ([prekeys] address,
 *    default "prekeys"): the service on the listener's own node.  The name
 *    asked for is the listener's address (the last address of the route).
 *  - Each fetch is a worker of its own at a fresh address (the request's
 *    return route, where the reply comes back) and a timer for the
 *    channel's handshake timeout; whichever ends it — the reply, the
 *    timer, or the node stopping the worker — answers the channel once and
 *    the worker stops. */
#include "x3dh_prekeys.h"

#include <veil/config.h>
#include <veil/log.h>
#include <veil/message.h>

#include <stdio.h>
#include <stdlib.h>

#define PK_VERSION 2u
#define PK_FETCH 0x01u
#define PK_REPLY 0x80u
#define PK_DEFAULT_ADDRESS "prekeys"
/* The largest reply body taken as a bundle (the session refuses anything
 * but a 136- or 173-byte one, with its own reason). */
#define FETCH_BUNDLE_MAX 1024u

static const char *const prekeys_keys[] = {
    "address", "route", "directory_route", "spk_rotate_s", "spk_grace_s", "opk_count",
    "opk_low_water", "opk_hold_s", "opk_issued_max", "publish_interval_s", "request_rate",
    "request_burst", "request_sources", "directory_names", "directory_open",
    "directory_names_max", "directory_opk_max", NULL
};

int x3dh_prekeys_check(const veil_config *cfg)
{
    if (!veil_config_has_section(cfg, "prekeys"))
        return 0;
    return veil_config_check_keys(cfg, "prekeys", prekeys_keys);
}

typedef struct x3dh_fetch {
    veil_node *node;
    veil_context *ctx;                /* the fetch's worker */
    veil_address addr;                /* ... and its address */
    veil_timer *timer;
    veil_ka_resolved_fn done;         /* NULL once answered */
    void *arg;
    uint64_t timeout_ms;
    char where[256];                  /* the service's route, for messages */
    char name[VEIL_ADDRESS_MAX + 1];
} x3dh_fetch;

/* Route to the prekey service and the name to ask for. */
static int service_route(veil_node *node, const veil_route *route, veil_route *out,
                         veil_address *name)
{
    const veil_config *cfg = veil_node_config(node);
    size_t n = veil_route_count(route);
    int rc = n > 0 ? veil_route_get(route, n - 1u, name) : VEIL_EINVAL;
    if (rc < 0 || name->type != VEIL_ADDRESS_TYPE_LOCAL || name->len == 0)
        return veil_error_set(VEIL_EINVAL, "secure channel: with prekeys the route must end "
                              "with the listener's (local) address, which names the bundle");
    const char *text = veil_config_get(cfg, "prekeys", "route");
    if (text != NULL && text[0] != '\0') {
        if ((rc = veil_route_parse(out, text)) < 0)
            return veil_error_wrap(VEIL_ECONFIG, "%s: [prekeys] route '%s'",
                                   veil_config_origin(cfg, "prekeys", "route"), text);
        return 0;
    }
    const char *addr = veil_config_get(cfg, "prekeys", "address");
    veil_address a;
    veil_route_init(out);
    for (size_t i = 0; i + 1u < n && rc == 0; i++)
        if ((rc = veil_route_get(route, i, &a)) == 0)
            rc = veil_route_append(out, &a);
    if (rc == 0)
        rc = veil_route_append_str(out, addr && addr[0] ? addr : PK_DEFAULT_ADDRESS);
    return rc;
}

/* Why the service refused: it answers strangers with a code only (no
 * detail, docs/X3DH.md), so the explanation is ours. */
static const char *refusal_reason(int code)
{
    switch (code) {
    case VEIL_ENOTFOUND:
        return "no bundle under that name";
    case VEIL_EAGAIN:
        return "no one-time prekey can be handed out and the responder requires one "
               "(require_opk)";
    case VEIL_EBUSY:
        return "too many requests from this source (per-source request limit)";
    case VEIL_EVERSION:
        return "it speaks another version of the prekey protocol";
    case VEIL_EFORMAT:
        return "it could not parse the request";
    default:
        return veil_strerror(code);
    }
}

/* Answer the channel (once), and stop the fetch's worker, which frees f:
 * f is gone when this returns. */
static void finish(x3dh_fetch *f, int rc, const uint8_t *bundle, size_t len)
{
    veil_ka_resolved_fn done = f->done;
    f->done = NULL;
    if (f->timer != NULL) {
        veil_node_timer_cancel(f->timer);
        f->timer = NULL;
    }
    done(f->arg, rc, bundle, len);
    char addr[VEIL_ADDRESS_MAX + 1];
    memcpy(addr, f->addr.bytes, sizeof addr);
    if (veil_ctx_stop_worker(f->ctx, addr) < 0)
        veil_log(VEIL_LOG_ERROR, "x3dh", "prekey fetch %s: could not stop: %s", addr,
                 veil_last_error());
}

/* The service's reply: the bundle, or its refusal code. */
static int fetch_reply(veil_context *ctx, void *state, veil_message *msg)
{
    (void)ctx;
    x3dh_fetch *f = state;
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    if (f->done == NULL || len < 3u || p[0] != PK_VERSION || p[1] != (PK_FETCH | PK_REPLY))
        return 0; /* not the answer: dropped */
    int rc = 0;
    if (p[2] != 0)
        rc = veil_error_set(-(int)p[2], "prekey service at '%s' refused the bundle for '%s': "
                            "%s", f->where, f->name, refusal_reason(-(int)p[2]));
    else if (len - 3u > FETCH_BUNDLE_MAX)
        rc = veil_error_set(VEIL_ELIMIT, "prekey service at '%s': a %zu-byte bundle (limit "
                            "%u)", f->where, len - 3u, FETCH_BUNDLE_MAX);
    finish(f, rc, rc == 0 ? p + 3 : NULL, rc == 0 ? len - 3u : 0);
    return 0;
}

static void fetch_timeout(veil_node *node, void *arg)
{
    (void)node;
    x3dh_fetch *f = arg;
    f->timer = NULL; /* fired: the loop frees it */
    finish(f, veil_error_set(VEIL_ETIMEDOUT, "secure channel: no bundle from the prekey "
                             "service at '%s' within handshake_timeout_ms = %llu", f->where,
                             (unsigned long long)f->timeout_ms), NULL, 0);
}

static int fetch_start(veil_context *ctx, void *state)
{
    ((x3dh_fetch *)state)->ctx = ctx;
    return 0;
}

/* Whatever stops the worker (the answer, or the node stopping first). */
static void fetch_stop(veil_context *ctx, void *state)
{
    (void)ctx;
    x3dh_fetch *f = state;
    if (f->done != NULL) {
        if (f->timer != NULL)
            veil_node_timer_cancel(f->timer);
        veil_ka_resolved_fn done = f->done;
        f->done = NULL;
        done(f->arg, veil_error_set(VEIL_ECLOSED, "secure channel: the prekey fetch from '%s' "
                                    "stopped before its answer (its worker was stopped, as "
                                    "when the node stops)", f->where),
             NULL, 0);
    }
    free(f);
}

static const veil_worker_ops fetch_ops = {
    .size = sizeof(veil_worker_ops),
    .start = fetch_start,
    .handle_message = fetch_reply,
    .stop = fetch_stop,
};

int x3dh_peer_resolve(void *inst, veil_node *node, const veil_route *route, uint64_t timeout_ms,
                      veil_ka_resolved_fn done, void *arg)
{
    (void)inst;
    veil_route r;
    veil_address name;
    if (node == NULL || route == NULL || done == NULL)
        return veil_error_set(VEIL_EINVAL, "x3dh: peer_resolve: node, route and done must be set");
    int rc = x3dh_prekeys_check(veil_node_config(node));
    if (rc == 0)
        rc = service_route(node, route, &r, &name);
    if (rc < 0)
        return rc;
    x3dh_fetch *f = calloc(1, sizeof *f);
    if (f == NULL)
        return veil_error_set(VEIL_ENOMEM, "x3dh: out of memory for a prekey fetch");
    f->node = node;
    f->timeout_ms = timeout_ms;
    veil_route_format(&r, f->where, sizeof f->where);
    memcpy(f->name, name.bytes, name.len + 1u);
    uint8_t req[3u + VEIL_ADDRESS_MAX];
    req[0] = PK_VERSION;
    req[1] = PK_FETCH;
    req[2] = name.len;
    memcpy(req + 3, name.bytes, name.len);
    if ((rc = veil_address_random(&f->addr, "app_")) < 0 ||
        (rc = veil_ctx_start_worker_addrs(veil_node_context(node), &f->addr, 1, &fetch_ops,
                                          f)) < 0) {
        free(f);
        return rc;
    }
    /* From here the worker owns f: a failure stops it (no answer: done
     * must not be called when peer_resolve fails). */
    f->done = done;
    f->arg = arg;
    if ((rc = veil_ctx_send(f->ctx, &r, req, 3u + name.len)) < 0)
        veil_error_wrap(rc, "secure channel: sending the prekey fetch to '%s'", f->where);
    else if ((rc = veil_node_timer_add(node, timeout_ms, fetch_timeout, f, &f->timer)) < 0)
        veil_error_wrap(rc, "x3dh: a timer for the prekey fetch");
    if (rc < 0) {
        char keep[512];
        snprintf(keep, sizeof keep, "%s", veil_last_error());
        f->done = NULL;
        char addr[VEIL_ADDRESS_MAX + 1];
        memcpy(addr, f->addr.bytes, sizeof addr);
        if (veil_ctx_stop_worker(f->ctx, addr) < 0)
            veil_log(VEIL_LOG_ERROR, "x3dh", "prekey fetch %s: could not stop: %s", addr,
                     veil_last_error());
        return veil_error_set(rc, "%s", keep);
    }
    return 0;
}
