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
 * Contract (checked by tests/multinode-channel.sh): prints
 *   Middle identifier: P<64 hex>
 *   Listening on 1#HOST:PORT
 * then, per relayed message,
 *   Middle relayed N bytes: <hex>
 * and never a decrypted payload of the end-to-end channel. */
#include <veil/veil.h>

#include <stdio.h>

#include "example_env.h"
#include "example_tcp.h"

static const char who[] = "06-secure-channel-many-hops-middle";

static int hop_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    size_t len;
    const uint8_t *data = veil_message_payload(msg, &len);
    printf("Middle relayed %zu bytes: ", len);
    for (size_t i = 0; i < len; i++)
        printf("%02x", data[i]);
    printf("\n");
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
    int rc = veil_entity_create(node, NULL, NULL, self);
    if (rc < 0)
        return example_fail(who, "creating the middle's entity", rc), rc;
    printf("Middle identifier: %s\n", veil_entity_identifier(*self));
    if ((rc = veil_ctx_start_worker(app, "hop", &hop_ops, NULL)) < 0)
        return example_fail(who, "starting the hop worker", rc), rc;
    if ((rc = example_listener_policy(node, &policy)) < 0)
        return example_fail(who, "trust policy", rc), rc;
    if ((rc = veil_secure_channel_listener_create(*self, "middle_listener", policy)) < 0)
        return example_fail(who, "secure channel listener", rc), rc;
    if (responder != NULL && (rc = veil_node_transport_connect(node, "tcp", responder, NULL)) < 0)
        return example_fail(who, responder, rc), rc;
    if ((rc = example_listen(node, where)) < 0)
        return example_fail(who, where, rc), rc;
    return 0;
}

int main(int argc, char **argv)
{
    const char *where = argc > 1 ? argv[1] : "127.0.0.1:3000";
    const char *responder = argc > 2 ? argv[2] : NULL;
    example_env_init();
    example_line_buffered();
    veil_node *node;
    veil_context *app;
    veil_entity *self = NULL;
    int rc = veil_node_create(&node, &app, NULL);
    if (rc < 0)
        return example_fail(who, "veil_node_create", rc);
    if ((rc = setup(node, app, where, responder, &self)) == 0 &&
        (rc = example_run_until_signal(node)) < 0)
        example_fail(who, "running the node", rc);
    veil_entity_free(self);
    (void)veil_node_stop(node);
    return rc < 0 ? 1 : 0;
}
