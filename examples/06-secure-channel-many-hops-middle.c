/* Example 06 (middle): the node between Alice and Bob in Ockam's
 * getting-started chapter "Secure Channel over many transport hops":
 *
 *   tcp.listen("127.0.0.1:3000").await?;
 *   tcp.connect("127.0.0.1:4000").await?;
 *
 * It holds no key of the end-to-end channel: it only moves frames from one
 * TCP connection to the other.  To show what it sees, messages are routed
 * through its "hop" worker, which prints every payload it relays in hex and
 * forwards it (pop itself from the onward route, push itself on the return
 * route, so replies come back through it too).
 *
 * For a channel through another channel (initiator --nested), it also
 * runs a secure channel listener "middle_listener": the outer channel
 * ends here, the inner one still goes end to end, so what "hop" prints is
 * then the inner channel's ciphertext, taken out of the outer channel.
 *
 * Usage: 06-secure-channel-many-hops-middle [HOST:PORT [RESPONDER]]
 * (default 127.0.0.1:3000; port 0 picks a free port; with RESPONDER it
 * connects there first, as Ockam's middle does; otherwise the transport
 * dials on the first message for it).  Runs until SIGINT/SIGTERM.
 *
 * Contract (checked by tests/system/multinode-channel.sh): prints
 *   Middle identifier: P<64 hex>
 *   Listening on 1#HOST:PORT
 * then, per relayed message,
 *   Middle relayed N bytes: <hex>
 * and never a decrypted payload of the end-to-end channel. */
#include <veil/veil.h>

#include "example_args.h"

#include <stdio.h>

#include "example_env.h"
#include "example_tcp.h"

static const char who[] = "06-secure-channel-many-hops-middle";

/* With --nested, what Bob sends back (the prekey fetch's reply with X3DH,
 * then the inner channel's frames) reaches "hop" from the network and goes
 * on into the outer channel to Alice.  A channel's public address refuses
 * what a transport delivered: the peer would attribute it to this node
 * (docs/PROTOCOL.md, "Security properties and limits").  So the hop
 * vouches for such a message explicitly (clears from_transport) and
 * narrowly: only when it goes into a secure channel of this node and
 * comes back over a connection the hop itself relayed channel traffic to
 * (the replies to what it relayed).  Anything else from the network stays
 * out of the channel. */
#define RELAYED_MAX 16
static veil_address relayed[RELAYED_MAX]; /* connections channel traffic went to */
static size_t n_relayed;

static void remember_relay(veil_message *msg)
{
    veil_address next;
    if (!veil_message_local_info(msg)->via_channel ||
        veil_route_get(veil_message_onward_const(msg), 1, &next) < 0 ||
        next.type == VEIL_ADDRESS_TYPE_LOCAL)
        return;
    for (size_t i = 0; i < n_relayed; i++)
        if (veil_address_equal(&relayed[i], &next))
            return;
    relayed[n_relayed++ % RELAYED_MAX] = next;
}

static void vouch_for_replies(veil_context *ctx, veil_message *msg)
{
    const veil_local_info *li = veil_message_local_info(msg);
    veil_address from, next;
    veil_channel_stats st;
    if (!li->from_transport || veil_route_get(veil_message_return_const(msg), 0, &from) < 0 ||
        veil_route_get(veil_message_onward_const(msg), 1, &next) < 0 ||
        veil_secure_channel_stats(veil_ctx_node(ctx), &next, &st) < 0)
        return;
    for (size_t i = 0; i < n_relayed && i < RELAYED_MAX; i++) {
        if (veil_address_equal(&relayed[i], &from)) {
            veil_local_info vouched = *li;
            vouched.from_transport = false;
            veil_message_set_local_info(msg, &vouched);
            return;
        }
    }
}

static int hop_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    size_t len;
    const uint8_t *data = veil_message_payload(msg, &len);
    printf("Middle relayed %zu bytes: ", len);
    for (size_t i = 0; i < len; i++)
        printf("%02x", data[i]);
    printf("\n");
    remember_relay(msg);
    vouch_for_replies(ctx, msg);
    return veil_ctx_forward_next(ctx, msg);
}

static const veil_worker_ops hop_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = hop_handle,
};

static int setup(veil_node *node, veil_context *app, const char *where, const char *responder,
                 veil_entity **self)
{
    veil_trust_policy *policy;
    int rc = veil_entity_open(node, NULL, NULL, VEIL_ENTITY_CREATE, self);
    if (rc < 0)
        return example_fail(who, "creating the middle's entity", rc), rc;
    printf("Middle identifier: %s\n", veil_entity_identifier(*self));
    if ((rc = veil_ctx_start_worker(app, "hop", &hop_ops, NULL)) < 0)
        return example_fail(who, "starting the hop worker", rc), rc;
    if ((rc = example_listener_policy(node, &policy)) < 0)
        return example_fail(who, "trust policy", rc), rc;
    if ((rc = veil_secure_channel_listener_open(*self, "middle_listener", policy)) < 0)
        return example_fail(who, "secure channel listener", rc), rc;
    if (responder != NULL && (rc = veil_node_transport_connect(node, "tcp", responder, NULL)) < 0)
        return example_fail(who, responder, rc), rc;
    if ((rc = example_listen(node, where)) < 0)
        return example_fail(who, where, rc), rc;
    return 0;
}

static const char usage[] =
    " [HOST:PORT [RESPONDER]]\n"
    "  Listen on TCP at HOST:PORT (default 127.0.0.1:3000; port 0 picks a free\n"
    "  port) and relay frames towards the responder through a \"hop\" worker,\n"
    "  printing each relayed payload in hex, until SIGINT or SIGTERM.\n";

int main(int argc, char **argv)
{
    example_args(argc, argv, usage, 2);
    const char *where = argc > 1 ? argv[1] : "127.0.0.1:3000";
    const char *responder = argc > 2 ? argv[2] : NULL;
    example_env_init();
    example_line_buffered();
    veil_node *node;
    veil_context *app;
    veil_entity *self = NULL;
    int rc = veil_node_new(&node, &app, NULL);
    if (rc < 0)
        return example_fail(who, "veil_node_new", rc);
    if ((rc = setup(node, app, where, responder, &self)) == 0 &&
        (rc = example_run_until_signal(node)) < 0)
        example_fail(who, "running the node", rc);
    veil_entity_close(self);
    (void)veil_node_free(node);
    return rc < 0 ? 1 : 0;
}
