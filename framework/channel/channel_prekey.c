/* Secure channels over a key agreement with prekeys (X3DH; docs/X3DH.md,
 * "Prekey service"; settings: [prekeys] in docs/CONFIG.md).
 *
 *  - listener: the key agreement's prekey_start serves bundles for the
 *    listener's static key under the listener's address, from the node's
 *    prekey service (a worker at [prekeys] address, default "prekeys"),
 *    and publishes them to a directory when [prekeys] directory_route is
 *    set.  prekey_stop when the listener's state goes.
 *  - initiator: before handshake message 1, one FETCH to the prekey
 *    service; the bundle it returns becomes params.peer_bundle.  Route to
 *    the service: [prekeys] route when set (e.g. a directory on a third
 *    node), else the route to the listener with its last address (the
 *    listener's) replaced by the service address — the service on the
 *    listener's own node.  The name asked for is the listener's address
 *    (the last address of the route).
 *
 * The fetch runs inside veil_secure_channel_create, which blocks anyway:
 * a detached mailbox sends the request and waits for the reply (at most
 * handshake_timeout_ms), so the channel's state machine is the one Noise
 * uses, unchanged. */
#include "channel_internal.h"
#include "core/upper.h"

#include <veil/error.h>
#include <veil/log.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PK_VERSION 2u
#define PK_FETCH 0x01u
#define PK_REPLY 0x80u
#define PK_DEFAULT_ADDRESS "prekeys"

struct veil_ch_prekey {
    const veil_key_agreement_ops *ka;
    void *handle;
    veil_node *node;
};

static const char *const prekeys_keys[] = {
    "address", "route", "directory_route", "spk_rotate_s", "spk_grace_s", "opk_count",
    "opk_low_water", "opk_hold_s", "opk_issued_max", "publish_interval_s", "request_rate",
    "request_burst", "request_sources", "directory_names", "directory_open",
    "directory_names_max", "directory_opk_max", NULL
};

bool veil__ch_ka_has_prekeys(const veil_key_agreement_ops *ka)
{
    return ka->size >= offsetof(veil_key_agreement_ops, prekey_stop) + sizeof ka->prekey_stop &&
           ka->prekey_start != NULL && ka->prekey_stop != NULL;
}

static int check_keys(veil_node *node)
{
    const veil_config *cfg = veil_node_config(node);
    if (!veil_config_has_section(cfg, "prekeys"))
        return 0;
    return veil_config_check_keys(cfg, "prekeys", prekeys_keys);
}

static void params_init(veil_ka_prekey_params *p, veil_node *node, veil_vault *v)
{
    memset(p, 0, sizeof *p);
    p->size = sizeof *p;
    p->ctx = veil_node_context(node);
    p->vault = v;
    p->scope.config = veil_node_config(node);
    p->scope.section = "prekeys";
}

int veil__ch_prekey_listen(veil_ch_listener *l, veil_node *node, const char *address,
                           const veil_ch_local *loc)
{
    if (!veil__ch_ka_has_prekeys(l->ka))
        return 0;
    int rc = check_keys(node);
    if (rc < 0)
        return rc;
    struct veil_ch_prekey *pk = calloc(1, sizeof *pk);
    if (pk == NULL)
        return veil_error_set(VEIL_ENOMEM, "secure channel listener: out of memory");
    veil_ka_prekey_params p;
    params_init(&p, node, veil_entity_vault(l->entity));
    p.local_static = loc->static_key;
    p.name = address;
    p.entity = l->entity;
    if ((rc = l->ka->prekey_start(l->ka_inst, &p, &pk->handle)) < 0) {
        free(pk);
        return veil_error_wrap(rc, "secure channel listener '%s': prekeys", address);
    }
    pk->ka = l->ka;
    pk->node = node;
    l->prekey = pk;
    return 0;
}

void veil__ch_prekey_unlisten(veil_ch_listener *l)
{
    struct veil_ch_prekey *pk = l->prekey;
    if (pk == NULL)
        return;
    /* The listener's entity reference keeps the vault open until after
     * this (veil__ch_listener_unref), so the prekeys die in the vault. */
    pk->ka->prekey_stop(pk->handle, true);
    free(pk);
    l->prekey = NULL;
}

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

/* The reply's status, or the bundle into out. */
static int parse_reply(const uint8_t *p, size_t len, const char *where, const char *name,
                       uint8_t *out, size_t cap, size_t *out_len)
{
    if (p[2] != 0)
        return veil_error_set(-(int)p[2], "prekey service at '%s' refused the bundle for '%s': "
                              "%s", where, name, refusal_reason(-(int)p[2]));
    if (len - 3u > cap)
        return veil_error_set(VEIL_ELIMIT, "prekey service at '%s': a %zu-byte bundle (limit "
                              "%zu)", where, len - 3u, cap);
    memcpy(out, p + 3, len - 3u);
    *out_len = len - 3u;
    return 0;
}

static int exchange(veil_context *c, const veil_route *r, const uint8_t *req, size_t rlen,
                    uint64_t timeout_ms, const char *where, const char *name, uint8_t *out,
                    size_t cap, size_t *out_len)
{
    veil_node *node = veil_ctx_node(c);
    uint64_t end = veil_node_now_ms(node) + timeout_ms;
    int rc = veil_ctx_send(c, r, req, rlen);
    if (rc < 0)
        return veil_error_wrap(rc, "secure channel: sending the prekey fetch to '%s'", where);
    for (;;) {
        uint64_t now = veil_node_now_ms(node);
        veil_message *m;
        if (now >= end || (rc = veil_ctx_receive(c, &m, (int)(end - now))) == VEIL_ETIMEDOUT)
            return veil_error_set(VEIL_ETIMEDOUT, "secure channel: no bundle from the prekey "
                                  "service at '%s' within handshake_timeout_ms = %llu", where,
                                  (unsigned long long)timeout_ms);
        if (rc < 0)
            return rc;
        size_t len;
        const uint8_t *p = veil_message_payload(m, &len);
        if (len >= 3u && p[0] == PK_VERSION && p[1] == (PK_FETCH | PK_REPLY)) {
            rc = parse_reply(p, len, where, name, out, cap, out_len);
            veil_message_free(m);
            return rc;
        }
        veil_message_free(m);
    }
}

int veil__ch_prekey_fetch(veil_channel *ch, const veil_route *route, uint8_t *out, size_t cap,
                          size_t *out_len)
{
    veil_route r;
    veil_address name;
    char where[256];
    veil_context *c = NULL;
    int rc = check_keys(ch->node);
    if (rc == 0)
        rc = service_route(ch->node, route, &r, &name);
    if (rc < 0)
        return rc;
    veil_route_format(&r, where, sizeof where);
    uint8_t req[3u + VEIL_ADDRESS_MAX];
    req[0] = PK_VERSION;
    req[1] = PK_FETCH;
    req[2] = name.len;
    memcpy(req + 3, name.bytes, name.len);
    if ((rc = veil_ctx_new_detached(ch->node, NULL, &c)) < 0)
        return rc;
    rc = exchange(c, &r, req, 3u + name.len, ch->set.handshake_timeout_ms, where, name.bytes,
                  out, cap, out_len);
    veil_ctx_free(c);
    return rc;
}

int veil_identity_proof(veil_entity *e, veil_secret *static_key, uint8_t **proof, size_t *len)
{
    veil_ch_local loc;
    if (e == NULL || static_key == NULL || proof == NULL || len == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_identity_proof: entity, static_key, proof and "
                              "len must be set");
    *proof = NULL;
    *len = 0;
    int rc = veil__ch_local_get(e, &loc);
    if (rc == 0)
        rc = veil__ch_proof_make(e, &loc, proof, len);
    if (rc == 0)
        *static_key = loc.static_key;
    return rc;
}

int veil_identity_proof_verify(veil_vault *v, const uint8_t *proof, size_t len,
                               const uint8_t *static_pub, size_t static_len,
                               veil_history_info *out)
{
    veil_ch_proof p;
    veil_history_view view;
    veil_identity_settings defaults;
    veil_history_clock clock;
    if (v == NULL || proof == NULL || static_pub == NULL || out == NULL ||
        static_len != VEIL_X25519_KEY_BYTES)
        return veil_error_set(VEIL_EINVAL, "veil_identity_proof_verify: vault, proof, static_pub "
                              "(%u bytes, X25519) and out must be set", VEIL_X25519_KEY_BYTES);
    /* No node here: the clock check uses the [identity] defaults. */
    veil__identity_defaults(&defaults);
    veil__identity_clock(&defaults, &clock);
    int rc = veil__ch_proof_parse(proof, len, &p);
    if (rc == 0)
        rc = veil__ch_peer_verify(v, &p, static_pub, static_len, &clock, &view);
    if (rc == 0)
        *out = view.info;
    return rc;
}

int veil_prekey_directory_start(veil_node *node, veil_vault *vault)
{
    if (node == NULL || vault == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_prekey_directory_start: node and vault must "
                              "be set");
    const veil_key_agreement_ops *ka;
    void *inst;
    int rc = veil__ch_ka_instance(node, &ka, &inst, NULL, 0);
    if (rc < 0)
        return rc;
    if (!veil__ch_ka_has_prekeys(ka))
        rc = veil_error_set(VEIL_EUNSUPPORTED, "veil_prekey_directory_start: the configured key "
                            "agreement has no prekeys (set [key_agreement] plugin = x3dh)");
    if (rc == 0)
        rc = check_keys(node);
    void *h = NULL;
    veil_ka_prekey_params p;
    params_init(&p, node, vault);
    if (rc == 0 && (rc = ka->prekey_start(inst, &p, &h)) < 0)
        veil_error_wrap(rc, "veil_prekey_directory_start");
    if (h != NULL) /* a directory keeps no handle (the op contract) */
        ka->prekey_stop(h, true);
    ka->instance_free(inst);
    return rc;
}
