/* Example 06 (responder): Bob's node in Ockam's getting-started chapter
 * "Secure Channel over many transport hops" — a TCP listener, an echoer
 * and a secure channel listener:
 *
 *   ctx.start_worker("echoer", Echoer).await?;
 *   tcp.listen("127.0.0.1:4000").await?;
 *   bob.create_secure_channel_listener("bob_listener", TrustEveryonePolicy)?;
 *
 * Usage: 06-secure-channel-many-hops-responder [HOST:PORT]  (default
 * 127.0.0.1:4000; port 0 picks a free port).  Runs until SIGINT/SIGTERM.
 * Trust policy: [policy] when configured, else every authenticated peer;
 * vault, crypto backend and key agreement from the configuration
 * ($VEIL_CONF) as in example 05a.
 *
 * Contract (checked by tests/system/multinode-channel.sh): prints
 *   Responder identifier: P<64 hex>
 *   Listening on 1#HOST:PORT
 * then, for each message the echoer gets,
 *   Echoer received: <payload> (through a secure channel from P<64 hex>)
 * naming the peer the channel authenticated (or "(not through a secure
 * channel)"), and echoes it back along its return route: through the
 * channel, so the reply is encrypted again. */
#include <veil/veil.h>

#include "example_args.h"

#include <stdio.h>

#include "example_env.h"
#include "example_tcp.h"

static const char who[] = "06-secure-channel-many-hops-responder";

static int echoer_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    size_t len;
    const uint8_t *data = veil_message_payload(msg, &len);
    const veil_local_info *info = veil_message_local_info(msg);
    if (info->via_channel)
        printf("Echoer received: %.*s (through a secure channel from %s)\n", (int)len,
               (const char *)data, info->peer_identifier);
    else
        printf("Echoer received: %.*s (not through a secure channel)\n", (int)len,
               (const char *)data);
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

static const veil_worker_ops echoer_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = echoer_handle,
};

static int setup(veil_node *node, veil_context *app, const char *where, veil_entity **bob)
{
    veil_trust_policy *policy;
    int rc = veil_entity_open(node, NULL, NULL, VEIL_ENTITY_CREATE, bob);
    if (rc < 0)
        return example_fail(who, "creating Bob's entity", rc), rc;
    printf("Responder identifier: %s\n", veil_entity_identifier(*bob));
    if ((rc = veil_ctx_start_worker(app, "echoer", &echoer_ops, NULL)) < 0)
        return example_fail(who, "starting the echoer", rc), rc;
    if ((rc = example_listener_policy(node, &policy)) < 0)
        return example_fail(who, "trust policy", rc), rc;
    if ((rc = veil_secure_channel_listener_open(*bob, "bob_listener", policy)) < 0)
        return example_fail(who, "secure channel listener", rc), rc;
    /* Flow control: what Alice sends through her channel may reach the
     * echoer, and nothing else on this node (docs/ARCHITECTURE.md,
     * "Access control"). */
    static const char *const allowed[] = {"echoer"};
    if ((rc = veil_secure_channel_listener_allow(node, "bob_listener", allowed, 1)) < 0)
        return example_fail(who, "allowed workers", rc), rc;
    if ((rc = example_listen(node, where)) < 0)
        return example_fail(who, where, rc), rc;
    return 0;
}

static const char usage[] =
    " [HOST:PORT]\n"
    "  Listen on TCP at HOST:PORT (default 127.0.0.1:4000; port 0 picks a free\n"
    "  port) with a secure channel listener \"bob_listener\" and an echoer, until\n"
    "  SIGINT or SIGTERM.\n";

int main(int argc, char **argv)
{
    example_args(argc, argv, usage, 1);
    const char *where = argc > 1 ? argv[1] : "127.0.0.1:4000";
    example_env_init();
    example_line_buffered();
    veil_node *node;
    veil_context *app;
    veil_entity *bob = NULL;
    int rc = veil_node_new(&node, &app, NULL);
    if (rc < 0)
        return example_fail(who, "veil_node_new", rc);
    if ((rc = setup(node, app, where, &bob)) == 0 && (rc = example_run_until_signal(node)) < 0)
        example_fail(who, "running the node", rc);
    /* The entity (and the vault it opened) before the node. */
    veil_entity_close(bob);
    (void)veil_node_free(node);
    return rc < 0 ? 1 : 0;
}
