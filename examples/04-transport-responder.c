/* Example 04 (responder): a node that listens on TCP and runs an echoer —
 * the C version of the responder of Ockam's getting-started "Transports"
 * chapter:
 *
 *   let tcp = TcpTransport::create(&ctx).await?;
 *   tcp.listen("127.0.0.1:4000").await?;
 *   ctx.start_worker("echoer", Echoer).await?;
 *
 * Usage: 04-transport-responder [HOST:PORT]   (default 127.0.0.1:4000;
 * port 0 picks a free port).  Runs until SIGINT or SIGTERM, then stops the
 * node and exits 0.
 *
 * Contract (checked by tests/system/multinode-echo.sh): prints
 *   Listening on 1#HOST:PORT
 * then, for each message the echoer gets,
 *   Address: echoer, Received: <payload>
 * and replies with the same payload along the message's return route,
 * which the TCP transport made lead back over the connection it came in
 * on.  The transport comes from [transport.tcp] when configured, else the
 * tcp plugin with its defaults. */
#include <veil/veil.h>

#include "example_args.h"

#include <stdio.h>

#include "example_env.h"
#include "example_tcp.h"

static int echoer_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    size_t len;
    const uint8_t *data = veil_message_payload(msg, &len);
    printf("Address: %s, Received: %.*s\n", veil_ctx_address(ctx)->bytes, (int)len,
           (const char *)data);
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

/* The echoer serves other nodes over plain TCP: it must say so.  Workers
 * are local only by default; a network-facing one takes what any TCP peer
 * sends (docs/ARCHITECTURE.md, "Access control"). */
static int echoer_start(veil_context *ctx, void *state)
{
    (void)state;
    return veil_ctx_set_network_facing(ctx, NULL);
}

static const veil_worker_ops echoer_ops = {
    .size = sizeof(veil_worker_ops),
    .start = echoer_start,
    .handle_message = echoer_handle,
};

static const char usage[] =
    " [HOST:PORT]\n"
    "  Listen on TCP at HOST:PORT (default 127.0.0.1:4000; port 0 picks a free\n"
    "  port) and echo every message back, until SIGINT or SIGTERM.\n";

int main(int argc, char **argv)
{
    example_args(argc, argv, usage, 1);
    const char *where = argc > 1 ? argv[1] : "127.0.0.1:4000";
    example_env_init();
    example_line_buffered();
    veil_node *node;
    veil_context *app;
    int rc = veil_node_new(&node, &app, NULL);
    if (rc < 0)
        return example_fail("04-transport-responder", "veil_node_new", rc);
    if ((rc = veil_ctx_start_worker(app, "echoer", &echoer_ops, NULL)) < 0)
        example_fail("04-transport-responder", "starting the echoer", rc);
    else if ((rc = example_listen(node, where)) < 0)
        example_fail("04-transport-responder", where, rc);
    else if ((rc = example_run_until_signal(node)) < 0)
        example_fail("04-transport-responder", "running the node", rc);
    (void)veil_node_free(node);
    return rc < 0 ? 1 : 0;
}
