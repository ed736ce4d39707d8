/* The registrant side of relays (veil/relay.h): keep a name registered at
 * a relay over this node's outbound connection.
 *
 *   WAIT --timer--> OPENING (dial, open a channel) --opened--> REGISTERING
 *   REGISTERING --OK--> REGISTERED --keep-alive timer--> REGISTERING ...
 *   any failure (refusal, no answer in reply_timeout_ms, lost connection,
 *   failed open) --> close the channel, WAIT a jittered backoff that
 *   doubles from backoff_min_ms to backoff_max_ms (reset by an OK).
 *
 * The keep-alive is the REGISTER request itself (idempotent for the
 * owner): it proves the channel and the relay's registration alive, and
 * a relay that restarted (and forgot the name) takes it again. */
#include "channel_internal.h"
#include "relay_internal.h"

#include "core/util.h"

#include <veil/error.h>
#include <veil/log.h>
#include <veil/transport.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXT "veil.relay_register"

enum { R_WAIT, R_OPENING, R_REGISTERING, R_REGISTERED };

typedef struct reg {
    struct reg *next;
    veil_node *node;
    veil_entity *e;
    char where[VEIL_ADDRESS_MAX + 1];
    char listener[VEIL_ADDRESS_TEXT_MAX];
    char relay_id[VEIL_IDENTIFIER_TEXT_MAX];
    char name[VEIL_RELAY_NAME_MAX + 1];
    char me[VEIL_ADDRESS_TEXT_MAX];      /* the worker answers come to */
    veil_address registry, conn, channel;
    veil_relay_register_options o;
    veil_context *ctx;                   /* the worker's */
    veil_timer *timer;
    int state;
    bool registered;
    unsigned registrations, delay_ms;
    uint64_t jitter;                     /* xorshift state (not a secret) */
} reg;

typedef struct regs {
    reg *head;
} regs;

static regs *regs_of(veil_node *node)
{
    return veil_node_extension_get(node, EXT);
}

static void attempt(veil_node *node, void *arg);
static void send_register(veil_node *node, void *arg);
static void no_answer(veil_node *node, void *arg);

/* The one timer of r: cancel what it was set to do, do fn after ms. */
static void arm(reg *r, uint64_t ms, veil_timer_fn fn)
{
    if (r->timer != NULL)
        veil_node_timer_cancel(r->timer);
    r->timer = NULL;
    if (veil_node_timer_add(r->node, ms, fn, r, &r->timer) < 0) {
        r->timer = NULL;
        veil_log(VEIL_LOG_ERROR, "relay", "name '%s': no timer (%s); registration stopped",
                 r->name, veil_last_error());
    }
}

static void notify(reg *r, int rc, const char *detail)
{
    if (rc < 0)
        veil_log(VEIL_LOG_WARN, "relay", "name '%s' at %s: not registered: %s", r->name, r->where, detail);
    else
        veil_log(VEIL_LOG_INFO, "relay", "name '%s' registered at %s", r->name, r->where);
    if (r->o.on_state != NULL)
        r->o.on_state(r->node, r->name, rc, detail, r->o.arg);
}

static void close_channel(reg *r)
{
    int rc = 0;
    if (r->state == R_OPENING)
        rc = veil_secure_channel_open_cancel(r->node, &r->channel);
    else if (r->state != R_WAIT)
        rc = veil_secure_channel_close(r->node, &r->channel);
    if (rc < 0) /* already gone (its connection was lost) */
        veil_log(VEIL_LOG_DEBUG, "relay", "name '%s': closing its channel: %s", r->name, veil_last_error());
    r->state = R_WAIT;
}

/* Give up on this channel; try again after the jittered backoff. */
static void fail(reg *r, int rc, const char *detail)
{
    r->registered = false;
    close_channel(r);
    notify(r, rc, detail);
    r->jitter ^= r->jitter << 13;
    r->jitter ^= r->jitter >> 7;
    r->jitter ^= r->jitter << 17;
    uint64_t delay = r->delay_ms + r->jitter % (r->delay_ms / 2u + 1u);
    r->delay_ms = r->delay_ms > r->o.backoff_max_ms / 2u ? r->o.backoff_max_ms : r->delay_ms * 2u;
    arm(r, delay, attempt);
}

static void opened(veil_node *node, int rc, const veil_address *channel, const char *detail, void *user)
{
    (void)node, (void)channel;
    reg *r = user;
    if (rc < 0) {
        r->state = R_WAIT; /* the channel is gone */
        fail(r, rc, detail);
        return;
    }
    r->state = R_REGISTERING;
    send_register(r->node, r);
}

static void attempt(veil_node *node, void *arg)
{
    reg *r = arg;
    r->timer = NULL;
    veil_trust_policy *policy = NULL;
    const char *ids[] = { r->relay_id };
    veil_route route;
    veil_route_init(&route);
    int rc = veil_node_transport_connect(node, "tcp", r->where, &r->conn);
    if (rc == 0)
        rc = veil_route_append(&route, &r->conn);
    if (rc == 0)
        rc = veil_route_append_str(&route, r->listener);
    if (rc == 0)
        rc = veil_trust_policy_new_identifier(node, ids, 1, &policy);
    if (rc == 0) {
        rc = veil_secure_channel_open_async(r->e, &route, policy, opened, r, &r->channel);
        if (rc == 0)
            r->state = R_OPENING;
    }
    if (rc < 0)
        fail(r, rc, veil_last_error());
}

static void send_register(veil_node *node, void *arg)
{
    (void)node;
    reg *r = arg;
    r->timer = NULL;
    veil_relay_msg m = { .version = VEIL_RELAY_VERSION, .type = VEIL_RELAY_REGISTER };
    memcpy(m.name, r->name, sizeof m.name);
    uint8_t buf[VEIL_RELAY_MSG_MAX];
    int n = veil__relay_encode(&m, buf, sizeof buf);
    veil_route route;
    veil_route_init(&route);
    int rc = n < 0 ? n : veil_route_append(&route, &r->channel);
    if (rc >= 0)
        rc = veil_route_append(&route, &r->registry);
    if (rc >= 0)
        rc = veil_ctx_send(r->ctx, &route, buf, (size_t)n);
    if (rc < 0) {
        fail(r, rc, veil_last_error());
        return;
    }
    r->state = r->registered ? R_REGISTERED : R_REGISTERING;
    arm(r, r->o.reply_timeout_ms, no_answer);
}

static void no_answer(veil_node *node, void *arg)
{
    (void)node;
    reg *r = arg;
    r->timer = NULL;
    char d[128];
    snprintf(d, sizeof d, "the relay did not answer within %u ms", r->o.reply_timeout_ms);
    fail(r, VEIL_ETIMEDOUT, d);
}

static int answer(veil_context *ctx, void *state, veil_message *msg)
{
    (void)ctx;
    reg *r = state;
    const veil_local_info *li = veil_message_local_info(msg);
    if (r->state == R_WAIT || r->state == R_OPENING || !li->via_channel ||
        !veil_address_equal(&li->channel, &r->channel))
        return 0; /* not from the current registration channel: ignored */
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    veil_relay_msg m;
    int rc = veil__relay_decode(p, len, &m);
    if (rc < 0 || m.type != VEIL_RELAY_RESULT) {
        fail(r, rc < 0 ? rc : VEIL_EFORMAT, "the relay's answer is malformed");
        return 0;
    }
    if (m.code != VEIL_RELAY_OK) {
        char d[160];
        snprintf(d, sizeof d, "the relay refused: %s (code %u)", veil_relay_code_name(m.code), m.code);
        fail(r, veil_relay_code_error(m.code), d);
        return 0;
    }
    r->delay_ms = r->o.backoff_min_ms;
    if (!r->registered) {
        r->registered = true;
        r->registrations++;
        notify(r, 0, "registered");
    }
    r->state = R_REGISTERED;
    arm(r, r->o.keepalive_ms, send_register);
    return 0;
}

static int answer_start(veil_context *ctx, void *state)
{
    ((reg *)state)->ctx = ctx;
    return 0;
}

static const veil_worker_ops answer_ops = {
    .size = sizeof(veil_worker_ops),
    .start = answer_start,
    .handle_message = answer,
};

/* The connection went: its channel goes with it; start over. */
static void lost(veil_node *node, const veil_address *peer, int reason, const char *detail, void *arg)
{
    regs *all = arg;
    (void)node;
    for (reg *r = all->head; r != NULL; r = r->next)
        if (r->state != R_WAIT && r->state != R_OPENING && veil_address_equal(peer, &r->conn)) {
            char d[300];
            snprintf(d, sizeof d, "connection to the relay lost: %s", detail != NULL ? detail : "");
            fail(r, reason < 0 ? reason : VEIL_ECLOSED, d);
        }
}

static void reg_free(reg *r)
{
    if (r->timer != NULL)
        veil_node_timer_cancel(r->timer);
    veil_entity_close(r->e); /* the reference register_start took */
    free(r);
}

static void destroy(veil_node *node, void *data)
{
    regs *all = data;
    veil_node_off_route_lost(node, lost, all);
    while (all->head != NULL) {
        reg *r = all->head;
        all->head = r->next;
        reg_free(r);
    }
    free(all);
}

static int regs_get(veil_node *node, regs **out)
{
    if ((*out = regs_of(node)) != NULL)
        return 0;
    regs *all = calloc(1, sizeof *all);
    if (all == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory registering a relay name");
    int rc = veil_node_extension_add(node, EXT, all, destroy);
    if (rc < 0) {
        free(all);
        return rc;
    }
    if ((rc = veil_node_on_route_lost(node, lost, all)) < 0) {
        (void)veil_node_extension_remove(node, EXT);
        return rc;
    }
    *out = all;
    return 0;
}

static reg *find(regs *all, const char *name, reg ***link)
{
    for (reg **l = &all->head; *l != NULL; l = &(*l)->next)
        if (strcmp((*l)->name, name) == 0) {
            if (link != NULL)
                *link = l;
            return *l;
        }
    return NULL;
}

static void defaults(reg *r, const veil_relay_register_options *opts)
{
    if (opts != NULL)
        memcpy(&r->o, opts, opts->size < sizeof r->o ? opts->size : sizeof r->o);
    r->o.keepalive_ms = r->o.keepalive_ms != 0 ? r->o.keepalive_ms : 10000u;
    r->o.reply_timeout_ms = r->o.reply_timeout_ms != 0 ? r->o.reply_timeout_ms : 5000u;
    r->o.backoff_min_ms = r->o.backoff_min_ms != 0 ? r->o.backoff_min_ms : 250u;
    r->o.backoff_max_ms = r->o.backoff_max_ms != 0 ? r->o.backoff_max_ms : 30000u;
    if (r->o.backoff_max_ms < r->o.backoff_min_ms)
        r->o.backoff_max_ms = r->o.backoff_min_ms;
    r->delay_ms = r->o.backoff_min_ms;
}

static int reg_fill(reg *r, const char *where, const char *listener, const char *relay_id,
                    const char *name)
{
    if (!veil_relay_name_valid(name))
        return veil_error_set(VEIL_EINVAL, "relay name '%s': not 1..%u bytes of [A-Za-z0-9._-]",
                              name, VEIL_RELAY_NAME_MAX);
    if (veil__strlcpy(r->where, where, sizeof r->where) >= sizeof r->where ||
        veil__strlcpy(r->listener, listener, sizeof r->listener) >= sizeof r->listener ||
        veil__strlcpy(r->relay_id, relay_id, sizeof r->relay_id) >= sizeof r->relay_id)
        return veil_error_set(VEIL_ELIMIT, "relay registration: address or identifier too long");
    veil__strlcpy(r->name, name, sizeof r->name);
    const char *registry = r->o.registry != NULL ? r->o.registry : "relay_registry";
    int rc = veil_address_parse(&r->registry, registry);
    if (rc < 0)
        return veil_error_wrap(rc, "relay registry address '%s'", registry);
    veil_address me;
    if ((rc = veil_address_random(&me, "relay_reg_")) < 0)
        return rc;
    veil_address_format(&me, r->me, sizeof r->me);
    r->jitter = veil_node_now_ms(r->node) ^ (uint64_t)(uintptr_t)r ^ 0x9e3779b97f4a7c15ull;
    return 0;
}

int veil_relay_register_start(veil_entity *e, const char *where, const char *listener,
                              const char *relay_identifier, const char *name,
                              const veil_relay_register_options *opts)
{
    if (e == NULL || where == NULL || listener == NULL || relay_identifier == NULL || name == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_relay_register_start: NULL argument");
    veil_node *node = veil_entity_node(e);
    regs *all;
    int rc = regs_get(node, &all);
    if (rc < 0)
        return rc;
    if (find(all, name, NULL) != NULL)
        return veil_error_set(VEIL_EEXIST, "relay name '%s': this node registers it already", name);
    reg *r = calloc(1, sizeof *r);
    if (r == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory registering relay name '%s'", name);
    r->node = node;
    defaults(r, opts);
    if ((rc = reg_fill(r, where, listener, relay_identifier, name)) < 0 ||
        (rc = veil_ctx_start_worker(veil_node_context(node), r->me, &answer_ops, r)) < 0) {
        free(r);
        return rc;
    }
    r->e = veil__entity_ref(e); /* it opens channels as e until stopped */
    r->next = all->head;
    all->head = r;
    arm(r, 0, attempt);
    return 0;
}

int veil_relay_register_stop(veil_node *node, const char *name)
{
    regs *all = node != NULL && name != NULL ? regs_of(node) : NULL;
    reg **link = NULL;
    reg *r = all != NULL ? find(all, name, &link) : NULL;
    if (r == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "relay name '%s': not registered by this node",
                              name != NULL ? name : "(null)");
    close_channel(r);
    *link = r->next;
    if (veil_ctx_stop_worker(veil_node_context(node), r->me) < 0)
            veil_log(VEIL_LOG_DEBUG, "relay", "stop: %s", veil_last_error());
    reg_free(r);
    return 0;
}

int veil_relay_register_status(veil_node *node, const char *name, bool *registered,
                               unsigned *registrations)
{
    regs *all = node != NULL && name != NULL ? regs_of(node) : NULL;
    reg *r = all != NULL ? find(all, name, NULL) : NULL;
    if (r == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "relay name '%s': not registered by this node",
                              name != NULL ? name : "(null)");
    if (registered != NULL)
        *registered = r->registered;
    if (registrations != NULL)
        *registrations = r->registrations;
    return 0;
}
