/* The prekey service (docs/X3DH.md, "Prekey service"): one worker per node
 * and address (default "prekeys") that answers FETCH requests with one
 * bundle each, for every name registered with it: the listeners of this
 * node (each backed by its prekey store, x3dh_store.c) and, when the
 * service is a directory, what responders on other nodes published to it
 * (x3dh_directory.c).
 *
 * x3dh_prekey_start (behind the key agreement's listener_start, which the
 * secure channel calls when a listener starts) opens the listener's store, registers the listener's
 * address with the node's service (starting the worker the first time),
 * arms a timer for the store's next SPK rotation / expiry, and, with
 * [prekeys] directory_route, publishes to a directory and keeps it topped
 * up.  x3dh_prekey_stop undoes it.  The worker itself lives until the node
 * stops; a registration keeps the service's state alive past that (the
 * order in which a stopping node stops workers is not ours to choose).
 *
 * Every request is charged to its source first (x3dh_limit.c): a source
 * over its limit gets VEIL_EBUSY and nothing else.  Fetch refusals carry
 * a code only: the service answers strangers without internal detail. */
#include "x3dh_service.h"

#include <veil/log.h>
#include <veil/message.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define PK_DEFAULT_ADDRESS "prekeys"

/* A node's services (by address), kept as its extension "x3dh.prekeys":
 * each service leaves the list when its worker stops, so the node frees
 * an empty list when it stops (after its workers). */
#define SERVICES_EXTENSION "x3dh.prekeys"

typedef struct prekey_services {
    prekey_service *head;
} prekey_services;

static void services_gone(veil_node *node, void *data)
{
    (void)node;
    free(data);
}

prekey_entry *prekey_find(prekey_service *svc, const char *name)
{
    for (prekey_entry *e = svc->entries; e != NULL; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

void prekey_entry_free(prekey_entry *e)
{
    veil__memzero(e, sizeof *e);
    free(e);
}

static void unlink_entry(prekey_service *svc, prekey_entry *e)
{
    for (prekey_entry **pp = &svc->entries; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            return;
        }
    }
}

int prekey_reply(veil_context *ctx, veil_message *msg, uint8_t op, int status, const uint8_t *body,
             size_t len)
{
    uint8_t buf[3u + 1u + PK_NAME_MAX + PK_NONCE_BYTES + PK_DETAIL_MAX + X3DH_BUNDLE_MAX];
    if (len > sizeof buf - 3u)
        len = sizeof buf - 3u;
    buf[0] = PK_VERSION;
    buf[1] = (uint8_t)(op | PK_REPLY);
    buf[2] = (uint8_t)(status < 0 ? -status : 0);
    if (len > 0)
        memcpy(buf + 3, body, len);
    return veil_ctx_reply_message(ctx, msg, buf, 3u + len);
}

/* FETCH body: name_len:u8 | name.  Reply: the bundle, or a status alone
 * (the detail stays in this node's debug log). */
static int fetch(prekey_service *svc, veil_context *ctx, veil_message *msg, const uint8_t *body,
                 size_t len)
{
    char name[PK_NAME_MAX + 1];
    x3dh_bundle b;
    int rc = 0;
    if (len < 2u || len != 1u + body[0] || memchr(body + 1, 0, body[0]) != NULL)
        rc = veil_error_set(VEIL_EFORMAT, "prekey service '%s': a fetch request must be "
                            "name_len:u8 | name (1..255 bytes, no NUL); got %zu bytes",
                            svc->address, len);
    if (rc == 0) {
        memcpy(name, body + 1, body[0]);
        name[body[0]] = '\0';
        prekey_entry *e = prekey_find(svc, name);
        if (e != NULL && e->store != NULL)
            rc = x3dh_store_bundle(e->store, &b);
        else
            rc = svc->dir_vault != NULL ? prekey_dir_bundle(svc, name, &b) : VEIL_ENOTFOUND;
        if (rc == VEIL_ENOTFOUND)
            rc = veil_error_set(VEIL_ENOTFOUND, "prekey service '%s': no bundle for '%s' (no "
                                "listener with prekeys at that address on this node, and "
                                "nothing published under it)", svc->address, name);
    }
    uint8_t out[X3DH_BUNDLE_MAX];
    size_t n = 0;
    if (rc == 0)
        rc = x3dh_bundle_encode(&b, out, sizeof out, &n);
    if (rc < 0) {
        veil_log(VEIL_LOG_DEBUG, "x3dh", "prekey service: refused a fetch: %s",
                 veil_last_error());
        return prekey_reply(ctx, msg, PK_FETCH, rc, NULL, 0);
    }
    svc->fetches++;
    return prekey_reply(ctx, msg, PK_FETCH, 0, out, n);
}

/* A request the service does not take (over the source's limit, another
 * version, publication to a non-directory): the code, and for a
 * publication the name and nonce it carried. */
static int refuse(veil_context *ctx, veil_message *msg, const uint8_t *p, size_t len, int rc)
{
    if (p[1] == PK_PUBLISH)
        return prekey_dir_reply(ctx, msg, rc, p + 2, len - 2u, NULL, 0);
    return prekey_reply(ctx, msg, p[1], rc, NULL, 0);
}

static int svc_handle(veil_context *ctx, void *state, veil_message *msg)
{
    prekey_service *svc = state;
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    if (len < 2u || (p[1] & PK_REPLY)) {
        if (len >= 2u && p[0] == PK_VERSION && p[1] == (PK_PUBLISH | PK_REPLY))
            p11_pub_ack(svc, msg, p + 2, len - 2u);
        else
            veil_log(VEIL_LOG_DEBUG, "x3dh", "prekey service '%s': dropped a %zu-byte message "
                     "that is no request", svc->address, len);
        return 0;
    }
    if (p[1] != PK_FETCH && p[1] != PK_PUBLISH) {
        veil_log(VEIL_LOG_DEBUG, "x3dh", "prekey service '%s': dropped unknown op 0x%02x",
                 svc->address, p[1]);
        return 0;
    }
    if (!prekey_limit_take(&svc->limit, veil_message_return_const(msg), veil_node_now_ms(svc->node))) {
        svc->refused_busy++;
        veil_log(VEIL_LOG_DEBUG, "x3dh", "prekey service '%s': a request over its source's "
                 "limit (%llu refused)", svc->address, (unsigned long long)svc->refused_busy);
        return refuse(ctx, msg, p, len, VEIL_EBUSY);
    }
    if (p[0] != PK_VERSION)
        return refuse(ctx, msg, p, len, veil_error_set(VEIL_EVERSION, "prekey service '%s': "
                      "request version %u (this service speaks %u)", svc->address, p[0],
                      PK_VERSION));
    if (p[1] == PK_FETCH)
        return fetch(svc, ctx, msg, p + 2, len - 2u);
    if (svc->dir_vault == NULL)
        return refuse(ctx, msg, p, len, veil_error_set(VEIL_EPERM, "prekey service '%s' is "
                      "not a directory (publications refused)", svc->address));
    return prekey_dir_publish(svc, ctx, msg, p + 2, len - 2u);
}

static void svc_unref(prekey_service *svc)
{
    if (--svc->refs > 0)
        return;
    while (svc->entries != NULL) {
        prekey_entry *e = svc->entries;
        svc->entries = e->next;
        prekey_entry_free(e);
    }
    prekey_limit_free(&svc->limit);
    free(svc);
}

static int svc_start(veil_context *ctx, void *state)
{
    ((prekey_service *)state)->ctx = ctx;
    /* Fetches and publications come from other nodes: network-facing
     * (docs/ARCHITECTURE.md, "Access control"). */
    return veil_ctx_set_network_facing(ctx, NULL);
}

static void svc_stop(veil_context *ctx, void *state)
{
    (void)ctx;
    prekey_service *svc = state;
    prekey_services *all = veil_node_extension_get(svc->node, SERVICES_EXTENSION);
    for (prekey_service **pp = all != NULL ? &all->head : NULL; pp != NULL && *pp != NULL;
         pp = &(*pp)->next) {
        if (*pp == svc) {
            *pp = svc->next;
            break;
        }
    }
    svc->ctx = NULL;
    svc_unref(svc);
}

static const veil_worker_ops svc_ops = {
    .size = sizeof(veil_worker_ops),
    .start = svc_start,
    .handle_message = svc_handle,
    .stop = svc_stop,
};

static int get_s(const veil_config_scope *sc, const char *key, long long def, long long min,
                 long long max, uint64_t *out)
{
    long long v;
    int rc = veil_config_scope_get_int(sc, key, def, min, max, &v);
    if (rc == 0)
        *out = (uint64_t)v;
    return rc;
}

/* [prekeys] request_rate, request_burst, request_sources. */
static int limit_init(prekey_service *svc, const veil_ka_prekey_params *p)
{
    uint64_t rate = 0, burst = 0, sources = 0;
    uint8_t seed[4] = { 0 };
    int rc = get_s(&p->scope, "request_rate", PK_REQUEST_RATE_DEFAULT, 1, 1000000, &rate);
    if (rc == 0)
        rc = get_s(&p->scope, "request_burst", PK_REQUEST_BURST_DEFAULT, 1, 1000000, &burst);
    if (rc == 0)
        rc = get_s(&p->scope, "request_sources", PK_REQUEST_SOURCES_DEFAULT, 1, 65536, &sources);
    if (rc == 0 && (rc = veil_vault_random(p->vault, seed, sizeof seed)) < 0)
        veil_error_wrap(rc, "prekey service: random seed");
    if (rc == 0)
        rc = prekey_limit_init(&svc->limit, (unsigned)sources, (unsigned)rate, (unsigned)burst,
                           veil__load_be32(seed));
    return rc;
}

/* The node's list of services, made on first use. */
static int services_of(veil_node *node, prekey_services **out)
{
    if ((*out = veil_node_extension_get(node, SERVICES_EXTENSION)) != NULL)
        return 0;
    prekey_services *all = calloc(1, sizeof *all);
    if (all == NULL)
        return veil_error_set(VEIL_ENOMEM, "prekey service: out of memory");
    int rc = veil_node_extension_add(node, SERVICES_EXTENSION, all, services_gone);
    if (rc < 0) {
        free(all);
        return rc;
    }
    *out = all;
    return 0;
}

/* The node's service at address (a reference), started when absent. */
static int service_get(const veil_ka_prekey_params *p, const char *address, prekey_service **out)
{
    veil_node *node = veil_ctx_node(p->ctx);
    prekey_services *all;
    int rc = services_of(node, &all);
    if (rc < 0)
        return rc;
    prekey_service *svc = all->head;
    while (svc != NULL && strcmp(svc->address, address) != 0)
        svc = svc->next;
    if (svc != NULL) {
        svc->refs++;
        *out = svc;
        return 0;
    }
    if ((svc = calloc(1, sizeof *svc)) == NULL)
        return veil_error_set(VEIL_ENOMEM, "prekey service: out of memory");
    svc->node = node;
    svc->refs = 2; /* the worker's and the caller's */
    snprintf(svc->address, sizeof svc->address, "%s", address);
    rc = limit_init(svc, p);
    if (rc == 0 && (rc = veil_ctx_start_worker(p->ctx, address, &svc_ops, svc)) < 0)
        veil_error_wrap(rc, "prekey service: starting the worker at '%s'", address);
    if (rc < 0) {
        prekey_limit_free(&svc->limit);
        free(svc);
        return rc;
    }
    svc->next = all->head;
    all->head = svc;
    *out = svc;
    return 0;
}

/* ---- registrations ----------------------------------------------------- */

static int read_config(const veil_ka_prekey_params *p, x3dh_store_config *c, uint64_t *publish_s)
{
    const veil_config_scope *sc = &p->scope;
    uint64_t count = 0, low = 0, issued = 0;
    int rc = get_s(sc, "spk_rotate_s", X3DH_SPK_ROTATE_S_DEFAULT, 1, 10LL * 365 * 86400,
                   &c->spk_rotate_ms);
    if (rc == 0)
        rc = get_s(sc, "spk_grace_s", X3DH_SPK_GRACE_S_DEFAULT, 0, 10LL * 365 * 86400,
                   &c->spk_grace_ms);
    if (rc == 0)
        rc = get_s(sc, "opk_count", X3DH_OPK_COUNT_DEFAULT, 0, X3DH_OPK_COUNT_MAX, &count);
    if (rc == 0)
        rc = get_s(sc, "opk_low_water", X3DH_OPK_LOW_WATER_DEFAULT, 0, X3DH_OPK_COUNT_MAX, &low);
    if (rc == 0)
        rc = get_s(sc, "opk_hold_s", X3DH_OPK_HOLD_S_DEFAULT, 1, 86400, &c->opk_hold_ms);
    if (rc == 0)
        rc = get_s(sc, "opk_issued_max", X3DH_OPK_ISSUED_MAX_DEFAULT, 1,
                   X3DH_OPK_ISSUED_MAX_MAX, &issued);
    if (rc == 0)
        rc = get_s(sc, "publish_interval_s", 60, 1, 86400, publish_s);
    if (rc == 0 && sc->config != NULL)
        rc = veil_config_get_bool(sc->config, "key_agreement", "require_opk", false,
                                  &c->require_opk);
    c->spk_rotate_ms *= 1000u;
    c->spk_grace_ms *= 1000u;
    c->opk_hold_ms *= 1000u;
    c->opk_issued_max = (unsigned)issued;
    c->opk_count = (unsigned)count;
    c->opk_low_water = (unsigned)low;
    return rc;
}

static void reg_arm(prekey_reg *reg, uint64_t next_ms);

/* Maintain the store (rotation, expiry, refill) and keep a directory
 * current: each publish_interval a signed publication with the current
 * SPK, topped up with OPKs when the directory last reported fewer than
 * opk_low_water (its acknowledgement carries the count it holds). */
static void reg_tick(veil_node *node, void *arg)
{
    (void)node;
    prekey_reg *reg = arg;
    reg->timer = NULL;
    uint64_t next = 0;
    if (x3dh_store_maintain(reg->store, &next) < 0)
        veil_log(VEIL_LOG_WARN, "x3dh", "prekey store of '%s': %s", reg->entry->name,
                 veil_last_error());
    if (reg->publish_ms > 0) {
        /* Every tick: the current SPK, plus a top-up when the last
         * acknowledged count was below the low-water mark (so the count
         * the directory reports is at most one interval old), up to
         * opk_count (none when the directory holds that many already: a
         * low-water mark above opk_count acts as opk_count). */
        unsigned n = 0;
        if (!reg->dir_sent)
            n = reg->cfg.opk_count;
        else if (reg->dir_acked && reg->dir_held < reg->cfg.opk_low_water &&
                 reg->dir_held < reg->cfg.opk_count)
            n = reg->cfg.opk_count - reg->dir_held;
        reg->dir_acked = false;
        if (p11_pub_send(reg, n) < 0)
            veil_log(VEIL_LOG_WARN, "x3dh", "publishing '%s': %s", reg->entry->name,
                     veil_last_error());
        if (next > reg->publish_ms)
            next = reg->publish_ms;
    }
    reg_arm(reg, next);
}

static void reg_arm(prekey_reg *reg, uint64_t next_ms)
{
    if (next_ms == 0)
        next_ms = 1;
    if (veil_node_timer_add(reg->svc->node, next_ms, reg_tick, reg, &reg->timer) < 0)
        veil_log(VEIL_LOG_ERROR, "x3dh", "prekeys of '%s': no timer (%s): SPK rotation now "
                 "happens only when a bundle is fetched", reg->entry->name, veil_last_error());
}

static int reg_entry(prekey_reg *reg, const char *name)
{
    if (strlen(name) == 0 || strlen(name) > PK_NAME_MAX)
        return veil_error_set(VEIL_EINVAL, "prekeys: name must be 1..%u bytes", PK_NAME_MAX);
    if (prekey_find(reg->svc, name) != NULL)
        return veil_error_set(VEIL_EEXIST, "prekey service '%s' already serves bundles for '%s'",
                              reg->svc->address, name);
    prekey_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return veil_error_set(VEIL_ENOMEM, "prekeys: out of memory");
    snprintf(e->name, sizeof e->name, "%s", name);
    e->store = reg->store;
    e->owner = reg;
    e->next = reg->svc->entries;
    reg->svc->entries = e;
    reg->entry = e;
    return 0;
}

static int reg_directory(prekey_reg *reg, const veil_ka_prekey_params *p, uint64_t publish_s)
{
    const char *text = veil_config_scope_get(&p->scope, "directory_route");
    if (text == NULL || text[0] == '\0')
        return 0;
    int rc = veil_route_parse(&reg->dir_route, text);
    if (rc < 0 || veil_route_count(&reg->dir_route) == 0)
        return veil_error_wrap(VEIL_ECONFIG, "%s: [prekeys] directory_route '%s'",
                               veil_config_scope_origin(&p->scope, "directory_route"), text);
    if (!VEIL_ABI_HAS(p, entity) || p->entity == NULL)
        return veil_error_set(VEIL_EINVAL, "x3dh: prekey_start: publishing to a directory needs "
                              "the listener's entity (its identity proof names the publisher)");
    reg->entity = p->entity;
    reg->tag = x3dh_store_new_tag(reg->store);
    reg->vault = p->vault;
    reg->publish_ms = publish_s * 1000u;
    return 0;
}

void x3dh_prekey_stop(void *handle, bool touch_vault)
{
    prekey_reg *reg = handle;
    if (reg == NULL)
        return;
    if (reg->timer != NULL)
        veil_node_timer_cancel(reg->timer);
    if (reg->entry != NULL) {
        unlink_entry(reg->svc, reg->entry);
        prekey_entry_free(reg->entry);
    }
    x3dh_store_close(reg->store, touch_vault);
    svc_unref(reg->svc);
    veil__memzero(reg, sizeof *reg);
    free(reg);
}

/* Where a listener's prekeys are kept (docs/X3DH.md, "Prekeys across
 * restarts"): the node's store, when the vault keeps X25519 secrets across
 * restarts (any vault but software, which keeps nothing, and pkcs11, which
 * makes a new static key - a new IK - at every open) and the store persists
 * (any store but memory); else NULL. */
static int kept_store(const veil_ka_prekey_params *p, veil_store **out)
{
    *out = NULL;
    const char *vp = veil_vault_plugin_name(p->vault);
    if (vp == NULL || strcmp(vp, "software") == 0 || strcmp(vp, "pkcs11") == 0)
        return 0;
    veil_store *st;
    int rc = veil_node_store(veil_ctx_node(p->ctx), &st);
    if (rc < 0)
        return veil_error_wrap(rc, "prekeys: the node's store (where a listener's prekeys are "
                               "kept)");
    if (strcmp(veil_store_plugin_name(st), "memory") != 0)
        *out = st;
    return 0;
}

int x3dh_prekey_start(void *inst, const veil_ka_prekey_params *p, void **handle)
{
    (void)inst; /* nothing here depends on the instance (it may go first) */
    if (p == NULL || handle == NULL || p->size < sizeof *p || p->ctx == NULL || p->vault == NULL)
        return veil_error_set(VEIL_EINVAL, "x3dh: prekey_start: params (of at least %zu bytes) "
                              "with ctx and vault, and handle, must be set", sizeof *p);
    const char *address = veil_config_scope_get(&p->scope, "address");
    if (address == NULL || address[0] == '\0')
        address = PK_DEFAULT_ADDRESS;
    *handle = NULL;
    prekey_service *svc;
    if (p->local_static == 0) { /* a directory: the worker's reference keeps it */
        int rc = service_get(p, address, &svc);
        if (rc == 0) {
            rc = prekey_dir_configure(svc, p);
            svc_unref(svc);
        }
        return rc;
    }
    if (p->name == NULL)
        return veil_error_set(VEIL_EINVAL, "x3dh: prekey_start: a listener needs a name");
    prekey_reg *reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        return veil_error_set(VEIL_ENOMEM, "prekeys: out of memory");
    uint64_t publish_s = 0;
    int rc = read_config(p, &reg->cfg, &publish_s);
    veil_store *kept = NULL;
    if (rc == 0)
        rc = kept_store(p, &kept);
    if (rc == 0)
        rc = x3dh_store_open_kept(p->vault, p->local_static, &reg->cfg, kept, &reg->store);
    if (rc == 0 && (rc = service_get(p, address, &reg->svc)) < 0)
        x3dh_store_close(reg->store, true);
    if (rc < 0) {
        free(reg);
        return rc;
    }
    if ((rc = reg_entry(reg, p->name)) == 0 && (rc = reg_directory(reg, p, publish_s)) == 0)
        reg_tick(reg->svc->node, reg);
    if (rc < 0) {
        x3dh_prekey_stop(reg, true);
        return rc;
    }
    *handle = reg;
    return 0;
}
