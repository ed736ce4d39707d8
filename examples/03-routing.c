/* Example 03: routing through hop workers.  Three hop workers h1, h2, h3
 * pass every message on (veil_ctx_forward_next: drop themselves from the
 * onward route, add themselves to the return route); an "echoer" replies.
 * The application sends "Hello Ockam!" on h1 => h2 => h3 => echoer; the
 * reply retraces the path backwards through h3, h2, h1.
 *
 * Contract (checked by tests/system/examples.sh): prints, in this order,
 *   h1 forwarding: Hello Ockam!      (out: h1, h2, h3)
 *   h2 forwarding: Hello Ockam!
 *   h3 forwarding: Hello Ockam!
 *   h3 forwarding: Hello Ockam!      (back: h3, h2, h1)
 *   h2 forwarding: Hello Ockam!
 *   h1 forwarding: Hello Ockam!
 *   App Received: Hello Ockam!
 *   Return route: h1 => h2 => h3 => echoer
 * and exits 0; it exits 1 if the reply's return route is not exactly that
 * path (the way back to the echoer). */
#include <veil/veil.h>

#include "example_args.h"

#include <stdio.h>
#include <string.h>

static int hop_handle(veil_context *ctx, void *state, veil_message *msg)
{
    size_t len;
    const uint8_t *data = veil_message_payload(msg, &len);
    (void)state;
    printf("%s forwarding: %.*s\n", veil_ctx_address(ctx)->bytes, (int)len,
           (const char *)data);
    return veil_ctx_forward_next(ctx, msg);
}

static int echoer_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

static const veil_worker_ops hop_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = hop_handle,
};
static const veil_worker_ops echoer_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = echoer_handle,
};

static int check_return_route(veil_message *reply)
{
    veil_route expect;
    char text[256];
    veil_route_format(veil_message_return_const(reply), text, sizeof text);
    printf("Return route: %s\n", text);
    veil_route_init(&expect);
    if (veil_route_parse(&expect, "h1 => h2 => h3 => echoer") < 0)
        return 1;
    if (!veil_route_equal(&expect, veil_message_return_const(reply))) {
        fprintf(stderr, "return route is '%s', expected 'h1 => h2 => h3 => echoer'\n", text);
        return 1;
    }
    return 0;
}

static const char usage[] =
    "\n"
    "  Send \"Hello Ockam!\" through hop workers h1, h2, h3 to an echoer and\n"
    "  print the reply and its return route.\n";

int main(int argc, char **argv)
{
    example_args(argc, argv, usage, 0);
    veil_node *node;
    veil_context *app;
    veil_route route;
    veil_message *reply = NULL;
    int rc = veil_node_new(&node, &app, NULL);
    if (rc < 0) {
        fprintf(stderr, "veil_node_new: %s (%s)\n", veil_strerror(rc), veil_last_error());
        return 1;
    }
    static const char *const hops[] = {"h1", "h2", "h3"};
    for (size_t i = 0; i < 3 && rc == 0; i++)
        rc = veil_ctx_start_worker(app, hops[i], &hop_ops, NULL);
    if (rc == 0)
        rc = veil_ctx_start_worker(app, "echoer", &echoer_ops, NULL);
    veil_route_init(&route);
    if (rc == 0)
        rc = veil_route_parse(&route, "h1 => h2 => h3 => echoer");
    if (rc == 0)
        rc = veil_ctx_send(app, &route, "Hello Ockam!", 12);
    if (rc == 0)
        rc = veil_ctx_receive(app, &reply, 1000);
    int status = 1;
    if (rc < 0) {
        fprintf(stderr, "example 03: %s (%s)\n", veil_strerror(rc), veil_last_error());
    } else {
        size_t len;
        const uint8_t *data = veil_message_payload(reply, &len);
        printf("App Received: %.*s\n", (int)len, (const char *)data);
        status = check_return_route(reply);
        veil_message_free(reply);
    }
    (void)veil_node_free(node);
    return status;
}
