/* Secure channel listeners: a worker at the listener's address that turns
 * each first handshake message into a responder channel
 * (channel_handshake.c), after admission: under load (channel_pending.c)
 * only an HS1 with a valid cookie is served, the others get a COOKIE
 * (channel_cookie.c); the caps on pending handshakes make room by stopping
 * the oldest.  The listener's state is shared with its responders
 * (reference counted), so it outlives the worker while they run. */
#include "channel_internal.h"

#include <veil/error.h>
#include <veil/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void veil__ch_listener_unref(veil_ch_listener *l)
{
    if (--l->refs > 0)
        return;
    veil__ch_ka_unlisten(l);
    veil__ch_cookie_forget(l);    /* the entity still holds the vault */
    veil_trust_policy_free(l->policy);
    if (l->ka_inst != NULL)
        l->ka->instance_free(l->ka_inst);
    free(l->prologue);
    veil__ch_allow_free(l->allowed);
    veil_entity_close(l->entity);   /* our reference */
    free(l);
}

static int listener_start(veil_context *ctx, void *state)
{
    ((veil_ch_listener *)state)->ctx = ctx;
    /* First handshake messages come from the network. */
    return veil_ctx_set_network_facing(ctx, NULL);
}

static int listener_handle(veil_context *ctx, void *state, veil_message *msg)
{
    veil_ch_listener *l = state;
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    veil_ch_frame f;
    int rc = veil__ch_frame_parse(p, len, &f);
    if (rc < 0 && len > 0 && p[len - 1] == VEIL_CH_HS1) {
        /* No valid protocol name: most likely an initiator of channel
         * handshake version 2 or older; tell it at once.  (Such an
         * initiator never gets as far as HS1_COOKIE.) */
        l->stats.first_messages++;
        l->stats.failed++;
        veil__ch_warn(l, "listener '%s': refused a first handshake message: %s", l->name,
                      veil_last_error());
        veil__ch_hserr_reply(l, msg, VEIL_EVERSION);
        return 0;
    }
    if (rc < 0 || (f.type != VEIL_CH_HS1 && f.type != VEIL_CH_HS1_COOKIE)) {
        veil_log(VEIL_LOG_DEBUG, "channel", "listener '%s': dropped a message that is not a "
                 "first handshake message", veil_ctx_address(ctx)->bytes);
        return 0;
    }
    l->stats.first_messages++;
    if (veil__ch_protocol_refused(l, msg, &f))
        return 0;
    if (f.type == VEIL_CH_HS1_COOKIE && veil__ch_cookie_ok(l, msg, f.cookie)) {
        l->stats.cookies_accepted++;
    } else if (veil__ch_under_load(l)) {
        veil__ch_cookie_reply(l, msg);
        return 0;
    }
    veil__ch_make_room(l);
    return veil__ch_responder_begin(l, msg, &f);
}

static void listener_stop(veil_context *ctx, void *state)
{
    (void)ctx;
    veil_ch_listener *l = state;
    l->ctx = NULL;
    veil__ch_listener_unref(l);
}

static const veil_worker_ops listener_ops = {
    .size = sizeof(veil_worker_ops),
    .start = listener_start,
    .handle_message = listener_handle,
    .stop = listener_stop,
};

/* Everything the listener needs before its worker starts. */
static int listener_setup(veil_ch_listener *l, veil_node *node, const char *address)
{
    veil_ch_local local;
    veil_address a;
    char fallback[160];
    uint8_t prologue[VEIL_CH_PROLOGUE_MAX];
    int rc = veil_address_parse(&a, address);
    if (rc < 0)
        return veil_error_wrap(rc, "secure channel listener address '%s'", address);
    snprintf(l->name, sizeof l->name, "%s", address);
    if ((rc = veil__ch_settings(node, &l->set)) < 0 ||
        (rc = veil__ch_ka_instance(node, &l->ka, &l->ka_inst, fallback, sizeof fallback)) < 0 ||
        (rc = veil__ch_node_get(node, &l->set, &l->shared)) < 0 ||
        (rc = veil__ch_allow_from_config(node, &l->allowed)) < 0 ||
        /* make the static key and attestation now: errors show here */
        (rc = veil__ch_local_get(l->entity, &local)) < 0)
        return rc;
    rc = veil__ch_prologue(l->ka, l->ka_inst, fallback, veil_entity_vault(l->entity), &a,
                           prologue, sizeof prologue, &l->prologue_len);
    if (rc == 0 && (l->prologue = malloc(l->prologue_len)) == NULL)
        rc = veil_error_set(VEIL_ENOMEM, "secure channel listener: out of memory");
    if (rc < 0)
        return rc;
    memcpy(l->prologue, prologue, l->prologue_len);
    veil_ka_description d;
    if ((rc = veil__ch_ka_describe(l->ka, l->ka_inst, fallback, &d)) < 0)
        return rc;
    snprintf(l->protocol, sizeof l->protocol, "%s", d.protocol);
    return veil__ch_ka_listen(l, node, address, &local);
}

int veil_secure_channel_listener_open_with(veil_entity *e, const char *address,
                                           veil_trust_policy *policy,
                                           const veil_secure_channel_listener_options *opts)
{
    veil_node *node = e ? veil_entity_node(e) : NULL;
    if (node == NULL || address == NULL || policy == NULL ||
        (opts != NULL && !VEIL_ABI_HAS(opts, user))) {
        veil_trust_policy_free(policy);
        return veil_error_set(VEIL_EINVAL, "veil_secure_channel_listener_open: %s",
                              e == NULL ? "entity is NULL" : node == NULL
                              ? "the entity has no node" : address == NULL ? "address is NULL"
                              : policy == NULL
                              ? "policy is NULL (a listener must have a trust policy)"
                              : "options size is too small (set it to "
                                "sizeof(veil_secure_channel_listener_options))");
    }
    veil_ch_listener *l = calloc(1, sizeof *l);
    if (l == NULL) {
        veil_trust_policy_free(policy);
        return veil_error_set(VEIL_ENOMEM, "secure channel listener: out of memory");
    }
    l->refs = 1;
    l->entity = veil__entity_ref(e);
    l->policy = policy;
    if (opts != NULL)
        memcpy(&l->opts, opts, opts->size < sizeof l->opts ? opts->size : sizeof l->opts);
    int rc = listener_setup(l, node, address);
    if (rc == 0)
        rc = veil_ctx_start_worker(veil_node_context(node), address, &listener_ops, l);
    if (rc < 0) {
        int keep = rc;
        veil__ch_listener_unref(l);
        return keep;
    }
    return 0;
}

int veil__ch_listener_find(veil_node *node, const char *address, veil_ch_listener **out)
{
    veil_address a;
    *out = veil_address_parse(&a, address) == 0 ? veil_node_worker_state(node, &a, &listener_ops)
                                                 : NULL;
    if (*out == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no secure channel listener at address '%s'",
                              address);
    return 0;
}

int veil_secure_channel_listener_open(veil_entity *e, const char *address,
                                      veil_trust_policy *policy)
{
    return veil_secure_channel_listener_open_with(e, address, policy, NULL);
}

/* ---- callbacks ---------------------------------------------------------- */

static void tell(veil_channel *ch, veil_secure_channel_event_fn fn, int reason, const char *detail)
{
    veil_ch_listener *l = ch->listener;
    veil_address addr;
    veil__ch_public(ch, &addr);
    veil_secure_channel_event ev = {
        &addr, ch->stats.peer_identifier, l->protocol, reason, detail,
        fn == l->opts.on_open ? VEIL_SECURE_CHANNEL_OPENED : VEIL_SECURE_CHANNEL_CLOSED,
    };
    ch->refs++; /* the callback may close it */
    fn(ch->node, &ev, l->opts.user);
    veil__ch_unref(ch);
}

void veil__ch_tell_open(veil_channel *ch)
{
    veil__ch_keep_name(ch);
    ch->announced = true;
    ch->told_open = ch->listener->opts.on_close != NULL;
    if (ch->listener->opts.on_open != NULL)
        tell(ch, ch->listener->opts.on_open, 0, "");
}

void veil__ch_close_cause(veil_channel *ch, int reason, const char *detail)
{
    if (ch->close_known)
        return;
    ch->close_known = true;
    ch->close_reason = reason;
    ch->close_detail = strdup(detail); /* NULL: told without the detail */
}

void veil__ch_close_cause_default(veil_channel *ch)
{
    if (!ch->close_known)
        veil__ch_close_cause(ch, veil__node_stopping(ch->node) ? VEIL_ESTOPPED : 0,
                             veil__node_stopping(ch->node) ? "the node stopped"
                                                           : "closed locally");
}

void veil__ch_tell_close(veil_channel *ch)
{
    if (!ch->told_open)
        return;
    ch->told_open = false;
    veil__ch_close_cause_default(ch);
    tell(ch, ch->listener->opts.on_close, ch->close_reason,
         ch->close_detail != NULL ? ch->close_detail : "");
}

/* Stops the listener worker: new handshakes to address find no worker.
 * Channels it already opened hold their own reference and keep running. */
int veil_secure_channel_listener_close(veil_node *node, const char *address)
{
    veil_address a;
    if (node == NULL || address == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_secure_channel_listener_close: node and "
                              "address must not be NULL");
    if (veil_address_parse(&a, address) < 0 || veil_node_worker_state(node, &a, &listener_ops) == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no secure channel listener at address '%s'",
                              address);
    return veil_ctx_stop_worker(veil_node_context(node), address);
}

int veil_secure_channel_listener_stats(veil_node *node, const char *address,
                                       veil_listener_stats *out)
{
    veil_ch_listener *l;
    if (node == NULL || address == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_secure_channel_listener_stats: node, address "
                              "and out must not be NULL");
    int rc = veil__ch_listener_find(node, address, &l);
    if (rc < 0)
        return rc;
    *out = l->stats;
    out->pending = l->pending.count;
    out->node_pending = l->shared->pending.count;
    return 0;
}
