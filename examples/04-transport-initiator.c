/* Example 04 (initiator): send "Hello Ockam!" to the echoer of another
 * node over TCP and print the reply — the C version of the initiator of
 * Ockam's getting-started "Transports" chapter:
 *
 *   let tcp = TcpTransport::create(&ctx).await?;
 *   tcp.connect("127.0.0.1:4000").await?;
 *   let r = route![(TCP, "127.0.0.1:4000"), "echoer"];
 *   ctx.send(r, "Hello Ockam!".to_string()).await?;
 *   let reply = ctx.receive::<String>().await?;
 *
 * Usage: 04-transport-initiator [HOST:PORT]   (the responder; default
 * 127.0.0.1:4000).
 *
 * The route is [1#HOST:PORT, "echoer"]: the TCP transport takes the first
 * hop (strips it and sends the rest over the connection), the responder's
 * transport puts the connection's address in front of the return route,
 * and the echoer's reply follows that route back to our "app" context.
 *
 * Contract (checked by tests/system/multinode-echo.sh): prints exactly one line,
 *   App Received: Hello Ockam!
 * and exits 0; without a responder it exits 1 with the transport's error
 * (e.g. connection refused) on stderr. */
#include <veil/veil.h>

#include "example_args.h"

#include <stdio.h>
#include <string.h>

#include "example_env.h"
#include "example_tcp.h"

static const char usage[] =
    " [HOST:PORT]\n"
    "  Send \"Hello Ockam!\" over TCP to the echoer of 04-transport-responder at\n"
    "  HOST:PORT (default 127.0.0.1:4000) and print the reply.\n";

int main(int argc, char **argv)
{
    example_args(argc, argv, usage, 1);
    const char *where = argc > 1 ? argv[1] : "127.0.0.1:4000";
    example_env_init();
    veil_node *node;
    veil_context *app;
    veil_address responder;
    veil_route route;
    veil_message *reply;
    int rc = veil_node_new(&node, &app, NULL);
    if (rc < 0)
        return example_fail("04-transport-initiator", "veil_node_new", rc);
    /* The connection first (as Ockam's tcp.connect), so a refused or
     * unreachable responder is reported here with its reason. */
    if ((rc = veil_node_transport_connect(node, "tcp", where, &responder)) < 0) {
        example_fail("04-transport-initiator", where, rc);
        goto out;
    }
    veil_route_init(&route);
    if ((rc = veil_route_append(&route, &responder)) < 0 ||
        (rc = veil_route_append_str(&route, "echoer")) < 0 ||
        (rc = veil_ctx_send(app, &route, "Hello Ockam!", strlen("Hello Ockam!"))) < 0 ||
        (rc = veil_ctx_receive(app, &reply, 5000)) < 0) {
        example_fail("04-transport-initiator", "sending to the echoer", rc);
        goto out;
    }
    size_t len;
    const uint8_t *data = veil_message_payload(reply, &len);
    printf("App Received: %.*s\n", (int)len, (const char *)data);
    veil_message_free(reply);
out:
    (void)veil_node_free(node);
    return rc < 0 ? 1 : 0;
}
