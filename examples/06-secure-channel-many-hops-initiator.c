/* Example 06 (initiator): Alice's node in Ockam's getting-started chapter
 * "Secure Channel over many transport hops": an end-to-end secure channel
 * to Bob's listener through a middle node, over two TCP hops:
 *
 *   let route = route![(TCP, "127.0.0.1:3000"), (TCP, "127.0.0.1:4000"), "bob_listener"];
 *   let channel = alice.create_secure_channel(route, TrustEveryonePolicy)?;
 *   ctx.send(route![channel, "echoer"], "Hello Ockam!".to_string()).await?;
 *
 * Usage: 06-secure-channel-many-hops-initiator [--nested] [--message TEXT]
 *        MIDDLE RESPONDER [RESPONDER_IDENTIFIER [MIDDLE_IDENTIFIER]]
 * MIDDLE and RESPONDER are HOST:PORT.  The channel's route is
 * [1#MIDDLE, "hop", 1#RESPONDER, "bob_listener"]: the middle's transport
 * and its "hop" worker relay the frames, which are ciphertext after the
 * handshake.  With RESPONDER_IDENTIFIER Alice trusts exactly that
 * identifier (what the responder printed), else every authenticated peer.
 *
 * --nested: a channel through another channel across nodes.  First an
 * outer channel to the middle's "middle_listener" (trusting
 * MIDDLE_IDENTIFIER when given), then the end-to-end channel to Bob
 * through it: route [outer, "hop", 1#RESPONDER, "bob_listener"].  Between
 * Alice and the middle every frame of the inner channel is encrypted
 * twice; the middle removes the outer layer and sees only inner
 * ciphertext.
 *
 * --message TEXT sends TEXT instead of "Hello Ockam!" (tests/system/netns-*.sh
 * uses a distinctive payload to look for in a packet capture).
 *
 * Contract (checked by tests/system/multinode-channel.sh): prints
 *   Initiator identifier: P<64 hex>
 *   [Middle authenticated as: P<64 hex>]          (--nested only)
 *   Responder authenticated as: P<64 hex>
 *   App Received: Hello Ockam!        (or the --message TEXT)
 * and exits 0; errors (refused, unreachable, timed out) go to stderr with
 * exit status 1. */
#include <veil/veil.h>

#include "example_args.h"

#include <stdio.h>
#include <string.h>

#include "example_env.h"
#include "example_tcp.h"

static const char who[] = "06-secure-channel-many-hops-initiator";

typedef struct args {
    bool nested;
    const char *message;
    const char *middle, *responder, *responder_id, *middle_id;
} args;

static const char usage[] =
    " [--nested] [--message TEXT] MIDDLE_HOST:PORT RESPONDER_HOST:PORT\n"
    "         [RESPONDER_IDENTIFIER [MIDDLE_IDENTIFIER]]\n"
    "  Open a secure channel to the responder through the middle node (--nested:\n"
    "  through an outer channel to the middle) and send \"Hello Ockam!\" (or TEXT).\n";

static void parse_args(int argc, char **argv, args *a)
{
    int i = 1;
    memset(a, 0, sizeof *a);
    a->message = "Hello Ockam!";
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--nested") == 0)
            a->nested = true;
        else if (strcmp(argv[i], "--message") == 0 && i + 1 < argc)
            a->message = argv[++i];
        else
            break;
    }
    example_positional(argc, argv, i, usage, 2, 4);
    a->middle = argv[i];
    a->responder = argv[i + 1];
    a->responder_id = argc - i > 2 ? argv[i + 2] : NULL;
    a->middle_id = argc - i > 3 ? argv[i + 3] : NULL;
}

/* "1#" + host:port as a route entry. */
static int append_tcp(veil_route *r, const char *where)
{
    char text[VEIL_ADDRESS_TEXT_MAX + 1];
    snprintf(text, sizeof text, "1#%s", where);
    return veil_route_append_str(r, text);
}

/* Open a channel along route, trusting `identifier` (or everyone), and
 * print the peer it authenticated. */
static int open_channel(veil_entity *alice, const veil_route *route, const char *identifier,
                        const char *label, veil_address *out)
{
    veil_node *node = veil_entity_node(alice);
    veil_trust_policy *policy;
    veil_channel_stats st;
    int rc = example_peer_policy(node, identifier, &policy);
    if (rc == 0)
        rc = veil_secure_channel_open(alice, route, policy, out);
    if (rc == 0)
        rc = veil_secure_channel_stats(node, out, &st);
    if (rc == 0)
        printf("%s authenticated as: %s\n", label, st.peer_identifier);
    return rc;
}

static int run(veil_node *node, veil_context *app, veil_entity *alice, const args *a)
{
    veil_address outer, channel;
    veil_route route;
    veil_message *reply;
    /* The connection to the middle first: transports dial only when told
     * to (auto_connect is off by default, docs/CONFIG.md). */
    int rc = veil_node_transport_connect(node, "tcp", a->middle, NULL);
    if (rc < 0)
        return example_fail(who, a->middle, rc), rc;
    veil_route_init(&route);
    if (a->nested) {
        if ((rc = append_tcp(&route, a->middle)) < 0 ||
            (rc = veil_route_append_str(&route, "middle_listener")) < 0 ||
            (rc = open_channel(alice, &route, a->middle_id, "Middle", &outer)) < 0)
            return example_fail(who, "outer channel to the middle", rc), rc;
        veil_route_init(&route);
        rc = veil_route_append(&route, &outer);
    } else {
        rc = append_tcp(&route, a->middle);
    }
    if (rc < 0 || (rc = veil_route_append_str(&route, "hop")) < 0 ||
        (rc = append_tcp(&route, a->responder)) < 0 ||
        (rc = veil_route_append_str(&route, "bob_listener")) < 0 ||
        (rc = open_channel(alice, &route, a->responder_id, "Responder", &channel)) < 0)
        return example_fail(who, "channel to the responder", rc), rc;
    veil_route_init(&route);
    if ((rc = veil_route_append(&route, &channel)) < 0 ||
        (rc = veil_route_append_str(&route, "echoer")) < 0 ||
        (rc = veil_ctx_send(app, &route, a->message, strlen(a->message))) < 0 ||
        (rc = veil_ctx_receive(app, &reply, 10000)) < 0)
        return example_fail(who, "sending through the channel", rc), rc;
    size_t len;
    const uint8_t *data = veil_message_payload(reply, &len);
    printf("App Received: %.*s\n", (int)len, (const char *)data);
    veil_message_free(reply);
    /* Close both ends of each channel now (a close frame each), inner
     * first, and let its frame leave through the outer channel before
     * that one closes too. */
    if ((rc = veil_secure_channel_close(node, &channel)) == 0 &&
        (rc = veil_node_run(node, 50)) == 0 && a->nested &&
        (rc = veil_secure_channel_close(node, &outer)) == 0)
        rc = veil_node_run(node, 50);
    return rc;
}

int main(int argc, char **argv)
{
    example_help(argc, argv, usage);
    args a;
    parse_args(argc, argv, &a);
    example_env_init();
    example_line_buffered();
    veil_node *node;
    veil_context *app;
    veil_entity *alice = NULL;
    int rc = veil_node_new(&node, &app, NULL);
    if (rc < 0)
        return example_fail(who, "veil_node_new", rc);
    if ((rc = veil_entity_open(node, NULL, NULL, VEIL_ENTITY_CREATE, &alice)) < 0)
        example_fail(who, "creating Alice's entity", rc);
    else {
        printf("Initiator identifier: %s\n", veil_entity_identifier(alice));
        rc = run(node, app, alice, &a);
    }
    veil_entity_close(alice);
    (void)veil_node_free(node);
    return rc < 0 ? 1 : 0;
}
