/* Example 02: a worker.  An "echoer" worker replies to every message with
 * the same payload; the application sends "Hello Ockam!" on the route
 * ["echoer"], waits for the reply and prints it.
 *
 * Contract (checked by tests/system/examples.sh): prints exactly one line,
 *   App Received: Hello Ockam!
 * and exits 0. */
#include <veil/veil.h>

#include "example_args.h"

#include <stdio.h>

static int echoer_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    /* Zero-copy reply: the message goes back along its return route. */
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

static const veil_worker_ops echoer_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = echoer_handle,
};

static int fail(const char *what, int rc)
{
    fprintf(stderr, "%s: %s (%s)\n", what, veil_strerror(rc), veil_last_error());
    return 1;
}

static const char usage[] =
    "\n"
    "  Start an \"echoer\" worker, send it \"Hello Ockam!\" and print the reply.\n";

int main(int argc, char **argv)
{
    example_args(argc, argv, usage, 0);
    veil_node *node;
    veil_context *app;
    veil_route route;
    veil_message *reply;
    int rc = veil_node_new(&node, &app, NULL);
    if (rc < 0)
        return fail("veil_node_new", rc);
    if ((rc = veil_ctx_start_worker(app, "echoer", &echoer_ops, NULL)) < 0)
        goto out;
    veil_route_init(&route);
    if ((rc = veil_route_append_str(&route, "echoer")) < 0 ||
        (rc = veil_ctx_send(app, &route, "Hello Ockam!", 12)) < 0 ||
        (rc = veil_ctx_receive(app, &reply, 1000)) < 0)
        goto out;
    size_t len;
    const uint8_t *data = veil_message_payload(reply, &len);
    printf("App Received: %.*s\n", (int)len, (const char *)data);
    veil_message_free(reply);
out:
    if (rc < 0)
        fail("example 02", rc);
    (void)veil_node_free(node);
    return rc < 0 ? 1 : 0;
}
