/* The relay role's hop worker (veil/access.h, docs/CONFIG.md "[node]
 * relay"): network-facing, pops itself off the onward route, pushes itself
 * on the return route, forwards.  Starting one needs `[node] relay = true`;
 * what it forwards from one node to another passes the router's relay rule
 * because of that setting, not because of the worker.
 *
 * vouch_replies: it remembers the connections it forwarded channel traffic
 * to (messages a secure channel of this node decrypted, going on over a
 * transport), and a message that then comes back over one of them towards
 * a local next hop is passed on as made here (from_transport cleared): it
 * may then enter this node's secure channels, whose far ends attribute it
 * to this node.  Nothing else from the network is vouched for. */
#include "runtime.h"

#include <veil/error.h>

#include <stdlib.h>
#include <string.h>

#define RELAY_REMEMBERED 16u

typedef struct relay {
    veil_relay_options opts;
    veil_address to[RELAY_REMEMBERED]; /* connections channel traffic went to */
    unsigned n;
} relay;

/* The onward route's second address: where the message goes after us. */
static bool next_hop(const veil_message *msg, veil_address *out)
{
    return veil_route_get(veil_message_onward_const(msg), 1, out) == 0;
}

static bool remembered(const relay *r, const veil_address *a)
{
    for (unsigned i = 0; i < r->n && i < RELAY_REMEMBERED; i++)
        if (veil_address_equal(&r->to[i], a))
            return true;
    return false;
}

static void vouch(relay *r, veil_message *msg)
{
    veil_local_info *li = &msg->info;
    veil_address next;
    if (!next_hop(msg, &next))
        return;
    if (li->via_channel && next.type != VEIL_ADDRESS_TYPE_LOCAL && !remembered(r, &next)) {
        r->to[r->n++ % RELAY_REMEMBERED] = next;
    } else if (li->from_transport && next.type == VEIL_ADDRESS_TYPE_LOCAL &&
               remembered(r, &li->connection)) {
        li->from_transport = false;
        li->transport_type = 0;
        li->connection.len = 0;
        li->connection.bytes[0] = '\0';
    }
}

static int relay_handle(veil_context *ctx, void *state, veil_message *msg)
{
    relay *r = state;
    if (r->opts.observe != NULL)
        r->opts.observe(r->opts.arg, msg);
    if (r->opts.vouch_replies)
        vouch(r, msg);
    return veil_ctx_forward_next(ctx, msg);
}

static int relay_start(veil_context *ctx, void *state)
{
    (void)state;
    return veil_ctx_set_network_facing(ctx, NULL);
}

static void relay_stop(veil_context *ctx, void *state)
{
    (void)ctx;
    free(state);
}

static const veil_worker_ops relay_ops = {
    .size = sizeof(veil_worker_ops),
    .start = relay_start,
    .handle_message = relay_handle,
    .stop = relay_stop,
};

int veil_ctx_start_relay(veil_context *ctx, const char *address, const veil_relay_options *opts)
{
    if (ctx == NULL || address == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_ctx_start_relay: ctx and address must not be NULL");
    if (!ctx->node->relay)
        return veil_error_set(VEIL_EDENIED, "relay '%s': this node does not relay ([node] relay "
                              "= false; docs/CONFIG.md)", address);
    relay *r = calloc(1, sizeof *r);
    if (r == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory starting relay '%s'", address);
    if (opts != NULL)
        memcpy(&r->opts, opts, opts->size < sizeof r->opts ? opts->size : sizeof r->opts);
    int rc = veil_ctx_start_worker(ctx, address, &relay_ops, r);
    if (rc < 0)
        free(r);
    return rc;
}
