/* Incoming access control of local addresses (veil/access.h): the
 * control objects, the built-ins of the core, the router's slow path at
 * delivery (flow control for what transports deliver, then the address's
 * control), the relay rule and the transport reply path.
 *
 * The core interprets only generic local info: from_transport and the
 * connection, via_channel, admitted.  Controls that need identities are
 * made by the channel layer through veil_access_control_new. */
#include "runtime.h"

#include <veil/error.h>
#include <veil/log.h>
#include <veil/plugin.h> /* VEIL_ABI_HAS */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static veil_access_control local_only = {.kind = VEIL_AC_LOCAL_ONLY, .name = "local only"};
static veil_access_control local_senders = {.kind = VEIL_AC_LOCAL_SENDERS,
                                            .name = "local senders"};
static veil_access_control network_facing = {.kind = VEIL_AC_NETWORK, .name = "network-facing"};

static int builtin(veil_access_control *ac, veil_access_control **out)
{
    if (out == NULL)
        return veil_error_set(VEIL_EINVAL, "access control: out must not be NULL");
    *out = ac;
    return 0;
}

int veil_access_control_local_only(veil_access_control **out)
{
    return builtin(&local_only, out);
}

int veil_access_control_local_senders(veil_access_control **out)
{
    return builtin(&local_senders, out);
}

int veil_access_control_network_facing(veil_access_control **out)
{
    return builtin(&network_facing, out);
}

int veil_access_control_new(const veil_access_control_ops *ops, void *state, const char *name,
                            veil_access_control **out)
{
    veil_access_control *ac = NULL;
    int rc = 0;
    if (ops == NULL || out == NULL || !VEIL_ABI_HAS(ops, check) || ops->check == NULL ||
        name == NULL)
        rc = veil_error_set(VEIL_EINVAL, "veil_access_control_new: ops (with size and check), "
                            "name and out must be set");
    else if ((ac = calloc(1, sizeof *ac)) == NULL)
        rc = veil_error_set(VEIL_ENOMEM, "out of memory making an access control");
    if (rc < 0) {
        if (ops != NULL && VEIL_ABI_HAS(ops, free) && ops->free != NULL)
            ops->free(state);
        return rc;
    }
    memcpy(&ac->ops, ops, ops->size < sizeof ac->ops ? ops->size : sizeof ac->ops);
    ac->kind = VEIL_AC_CUSTOM;
    ac->refs = 1;
    ac->state = state;
    snprintf(ac->name, sizeof ac->name, "%s", name);
    *out = ac;
    return 0;
}

void veil__access_ref(veil_access_control *ac)
{
    if (ac != NULL && ac->kind == VEIL_AC_CUSTOM)
        ac->refs++;
}

void veil_access_control_free(veil_access_control *ac)
{
    if (ac == NULL || ac->kind != VEIL_AC_CUSTOM || --ac->refs > 0)
        return;
    if (VEIL_ABI_HAS(&ac->ops, free) && ac->ops.free != NULL)
        ac->ops.free(ac->state);
    free(ac);
}

const char *veil_access_control_name(const veil_access_control *ac)
{
    return ac != NULL ? ac->name : local_only.name;
}

/* Does ac admit info, given whether flow control found it a reply? */
static int decide(const veil_access_control *ac, const veil_local_info *li, bool reply)
{
    switch (ac != NULL ? ac->kind : VEIL_AC_LOCAL_ONLY) {
    case VEIL_AC_NETWORK:
        return 0;
    case VEIL_AC_LOCAL_SENDERS:
        return li->from_transport && !reply ? VEIL_EDENIED : 0;
    case VEIL_AC_LOCAL_ONLY:
        if (li->from_transport)
            return reply ? 0 : VEIL_EDENIED;
        return li->via_channel && !li->admitted ? VEIL_EDENIED : 0;
    default:
        return ac->ops.check(ac->state, li) == 0 ? 0 : VEIL_EDENIED;
    }
}

int veil_access_control_check(const veil_access_control *ac, const veil_local_info *info)
{
    if (info == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_access_control_check: info must not be NULL");
    if (decide(ac, info, false) < 0)
        return veil_error_set(VEIL_EDENIED, "refused by the access control '%s'",
                              veil_access_control_name(ac));
    return 0;
}

/* ---- guarding addresses ------------------------------------------------ */

static int owned(veil_context *ctx, const veil_address *a)
{
    if (a->type != VEIL_ADDRESS_TYPE_LOCAL ||
        veil__router_lookup(ctx->node, (const uint8_t *)a->bytes, a->len) != ctx) {
        char text[VEIL_ADDRESS_TEXT_MAX + 1];
        veil_address_format(a, text, sizeof text);
        return veil_error_set(VEIL_ENOTFOUND, "address '%s' is not one of this context's", text);
    }
    return 0;
}

int veil_ctx_set_access_control(veil_context *ctx, const veil_address *a, veil_access_control *ac)
{
    if (ctx == NULL || ac == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_ctx_set_access_control: ctx and ac must not be "
                              "NULL");
    if (ctx->stopping)
        return veil_error_set(VEIL_ESTOPPED, "the context is stopping");
    if (a != NULL) {
        int rc = owned(ctx, a);
        return rc < 0 ? rc : veil__router_set_access(ctx->node, a, ac);
    }
    for (size_t i = 0; i < ctx->naddrs; i++) {
        int rc = veil__router_set_access(ctx->node, &ctx->addrs[i], ac);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int veil_ctx_set_network_facing(veil_context *ctx, const veil_address *a)
{
    return veil_ctx_set_access_control(ctx, a, &network_facing);
}

int veil_ctx_set_local_only(veil_context *ctx, const veil_address *a)
{
    if (a == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_ctx_set_local_only: ctx and address must not be "
                              "NULL");
    return veil_ctx_set_access_control(ctx, a, &local_senders);
}

/* ---- the transport reply path ------------------------------------------ */

void veil__access_sent(veil_context *ctx, uint8_t type, const uint8_t *bytes, size_t len)
{
    for (unsigned i = 0; i < ctx->n_sent_to && i < VEIL_CTX_SENT_TO; i++) {
        const veil_address *s = &ctx->sent_to[i];
        if (s->type == type && s->len == len && memcmp(s->bytes, bytes, len) == 0)
            return;
    }
    if (ctx->sent_to == NULL && (ctx->sent_to = calloc(VEIL_CTX_SENT_TO, sizeof *ctx->sent_to)) ==
                                    NULL)
        return; /* replies will be refused: fail closed */
    veil_address *slot = &ctx->sent_to[ctx->n_sent_to++ % VEIL_CTX_SENT_TO];
    if (veil_address_set(slot, type, bytes, len) < 0)
        slot->len = 0;
}

static bool sent_over(const veil_context *ctx, const veil_address *conn)
{
    if (conn->len == 0)
        return false;
    for (unsigned i = 0; i < ctx->n_sent_to && i < VEIL_CTX_SENT_TO; i++)
        if (veil_address_equal(&ctx->sent_to[i], conn))
            return true;
    return false;
}

/* ---- refusals ----------------------------------------------------------- */

/* Where msg came from, for the log, and its hash for "once per source". */
static uint32_t source(const veil_message *msg, char *out, size_t cap)
{
    const veil_local_info *li = &msg->info;
    char text[VEIL_ADDRESS_TEXT_MAX + 1] = "this node";
    uint8_t type;
    const uint8_t *bytes;
    size_t len;
    veil_address a;
    if (li->from_transport && li->connection.len > 0) {
        veil_address_format(&li->connection, text, sizeof text);
        snprintf(out, cap, "connection '%s'", text);
    } else if (li->via_channel) {
        snprintf(out, cap, "secure channel '%s' (peer %s)", li->channel.bytes,
                 li->peer_identifier[0] != '\0' ? li->peer_identifier : "unknown");
    } else {
        if (veil_route_front(veil_message_return_const(msg), &type, &bytes, &len) &&
            veil_address_set(&a, type, bytes, len) == 0)
            veil_address_format(&a, text, sizeof text);
        snprintf(out, cap, "'%s'", text);
    }
    return veil__router_hash(out, strlen(out)) | 1u; /* 0 marks an empty ring entry */
}

__attribute__((noinline)) static void refuse(veil_node *node, veil_message *msg,
                                            const char *what, const char *why)
{
    char from[VEIL_ADDRESS_TEXT_MAX + 120], to[VEIL_ADDRESS_TEXT_MAX + 1] = "";
    uint8_t type;
    const uint8_t *bytes;
    size_t len;
    veil_address a;
    node->stats.dropped_access++;
    if (!veil__router_refused_before(node, source(msg, from, sizeof from))) {
        if (veil_route_front(veil_message_onward_const(msg), &type, &bytes, &len) &&
            veil_address_set(&a, type, bytes, len) == 0)
            veil_address_format(&a, to, sizeof to);
        veil_log(VEIL_LOG_WARN, "node", "refused a message %s '%s' from %s: %s; further ones "
                 "from there are only counted", what, to, from, why);
    }
    if (node->current_msg == msg)
        node->current_msg = NULL;
    veil_message_free(msg);
}

/* Refused by ac: the reason names it. */
__attribute__((noinline)) static void refuse_by(veil_node *node, veil_message *msg,
                                               const veil_access_control *ac)
{
    char why[VEIL_AC_NAME_MAX + 64];
    snprintf(why, sizeof why, "refused by its access control '%s'", veil_access_control_name(ac));
    refuse(node, msg, "for", why);
}

int veil__access_admit(veil_node *node, veil_context *ctx, const veil_access_control *ac,
                       veil_message *msg)
{
    veil_local_info *li = &msg->info;
    bool reply = false;
    if (li->from_transport && (ac == NULL || ac->kind != VEIL_AC_NETWORK)) {
        reply = sent_over(ctx, &li->connection);
        if (!reply) {
            node->stats.dropped_local_only++;
            refuse(node, msg, "for", "a transport delivered it, and the address is not "
                   "network-facing (nor did it send anything over that connection)");
            return VEIL_EDENIED;
        }
    }
    if (decide(ac, li, reply) < 0) {
        refuse_by(node, msg, ac);
        return VEIL_EDENIED;
    }
    li->admitted = false;
    return 0;
}

int veil__access_relay(veil_node *node, veil_message *msg, uint8_t type, const uint8_t *bytes,
                       size_t len)
{
    const veil_address *c = &msg->info.connection;
    if (msg->info.from_transport && c->type == type && c->len == len &&
        memcmp(c->bytes, bytes, len) == 0)
        return 0; /* back where it came from: a reply */
    refuse(node, msg, "to", "it came from another node and this node does not relay "
           "([node] relay = false)");
    return veil_error_set(VEIL_EDENIED, "this node does not relay ([node] relay = false): a "
                          "message from another node goes back only over the connection it came "
                          "over");
}
