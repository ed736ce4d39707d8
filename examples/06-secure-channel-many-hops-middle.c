/* Example 06 (middle): the node between Alice and Bob in Ockam's
 * getting-started chapter "Secure Channel over many transport hops":
 *
 *   tcp.listen("127.0.0.1:3000").await?;
 *   tcp.connect("127.0.0.1:4000").await?;
 *
 * It holds no key of the end-to-end channel: it only moves frames from one
 * TCP connection to the other.  Relaying is an explicit role: the node is
 * made with [node] relay = true and runs a relay ("hop",
 * veil_ctx_start_relay), which forwards (pops itself from the onward
 * route, pushes itself on the return route, so replies come back through
 * it too); to show what it sees, its observer prints every payload it
 * relays in hex.
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

/* The relay's observer: print every payload it relays, in hex. */
static void print_relayed(void *arg, const veil_message *msg)
{
    (void)arg;
    size_t len;
    const uint8_t *data = veil_message_payload(msg, &len);
    printf("Middle relayed %zu bytes: ", len);
    for (size_t i = 0; i < len; i++)
        printf("%02x", data[i]);
    printf("\n");
}

static int setup(veil_node *node, veil_context *app, const char *where, const char *responder,
                 veil_entity **self)
{
    veil_trust_policy *policy;
    int rc = veil_entity_open(node, NULL, NULL, VEIL_ENTITY_CREATE, self);
    if (rc < 0)
        return example_fail(who, "creating the middle's entity", rc), rc;
    printf("Middle identifier: %s\n", veil_entity_identifier(*self));
    /* The relay role (the node was made with [node] relay = true): "hop"
     * is network-facing and forwards.  vouch_replies: with --nested, what
     * Bob sends back reaches "hop" from the network and must go on into
     * the outer channel to Alice, whose end would attribute it to this
     * node; the relay vouches for exactly the replies from connections it
     * relayed channel traffic to, nothing else from the network
     * (veil/access.h, docs/CONFIG.md "[node] relay"). */
    veil_relay_options ro = {.size = sizeof ro, .vouch_replies = true,
                             .observe = print_relayed};
    if ((rc = veil_ctx_start_relay(app, "hop", &ro)) < 0)
        return example_fail(who, "starting the relay", rc), rc;
    if ((rc = example_listener_policy(node, &policy)) < 0)
        return example_fail(who, "trust policy", rc), rc;
    if ((rc = veil_secure_channel_listener_open(*self, "middle_listener", policy)) < 0)
        return example_fail(who, "secure channel listener", rc), rc;
    /* The outer channel's peer may reach the relay, nothing else here. */
    static const char *const allowed[] = {"hop"};
    if ((rc = veil_secure_channel_listener_allow(node, "middle_listener", allowed, 1)) < 0)
        return example_fail(who, "allowed workers", rc), rc;
    if (responder != NULL && (rc = veil_node_transport_connect(node, "tcp", responder, NULL)) < 0)
        return example_fail(who, responder, rc), rc;
    if ((rc = example_listen(node, where)) < 0)
        return example_fail(who, where, rc), rc;
    return 0;
}

/* $VEIL_CONF (or defaults) plus the relay role: [node] relay = true, and
 * without RESPONDER the transport dials onward hops on first use
 * ([transport.tcp] auto_connect = true). */
static int relay_config(const char *responder, veil_node_options *o)
{
    veil_config *cfg = NULL;
    int rc = veil_config_new_from_env(&cfg);
    if (rc == VEIL_ENOTFOUND)
        rc = veil_config_new(&cfg);
    if (rc == 0)
        rc = veil_config_set(cfg, "node", "relay", "true");
    if (rc == 0 && responder == NULL)
        rc = veil_config_set(cfg, "transport.tcp", "auto_connect", "true");
    if (rc < 0) {
        veil_config_free(cfg);
        return example_fail(who, "configuration", rc), rc;
    }
    o->config = cfg;
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
    veil_node_options o = {.size = sizeof o};
    int rc = relay_config(responder, &o);
    if (rc == 0)
        rc = veil_node_new(&node, &app, &o);
    veil_config_free((veil_config *)o.config);
    if (rc < 0)
        return example_fail(who, "veil_node_new", rc);
    if ((rc = setup(node, app, where, responder, &self)) == 0 &&
        (rc = example_run_until_signal(node)) < 0)
        example_fail(who, "running the node", rc);
    veil_entity_close(self);
    (void)veil_node_free(node);
    return rc < 0 ? 1 : 0;
}
