/* Example 05a: a secure channel between two entities — the C version of
 * Ockam's "Secure Channel" getting-started program:
 *
 *   ctx.start_worker("echoer", Echoer)
 *   bob = Entity::create(); alice = Entity::create()
 *   bob_trust_policy = IdentifierTrustPolicy::new(alice.identifier())
 *   alice_trust_policy = IdentifierTrustPolicy::new(bob.identifier())
 *   bob.create_secure_channel_listener("bob_secure_channel_listener", bob_trust_policy)
 *   channel_to_bob = alice.create_secure_channel("bob_secure_channel_listener", alice_trust_policy)
 *   ctx.send([channel_to_bob, "echoer"], "Hello Ockam!")
 *   reply = ctx.receive(); println!("App Received: {}", reply)
 *
 * The message is encrypted entering the channel and decrypted leaving it;
 * the echoer's reply travels back through the channel.  Vaults, crypto
 * backend and key agreement come from the configuration ($VEIL_CONF, e.g.
 * `[vault] plugin = file`); the defaults need none.
 *
 * Contract (checked by tests/system/examples.sh and tests/system/example-05a.sh): prints
 * exactly one line,
 *   App Received: Hello Ockam!
 * and exits 0. */
#include <veil/veil.h>

#include "example_args.h"

#include <stdio.h>
#include <string.h>

#include "example_env.h"

static int echoer_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

static const veil_worker_ops echoer_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = echoer_handle,
};

/* Each entity's vault: [vault.bob] / [vault.alice] when configured (e.g.
 * different crypto backends), else the one default vault ([vault]) opened
 * once and shared (a file vault can be opened only once at a time). */
static int open_vault(veil_node *node, const char *section, veil_vault **shared,
                      veil_vault **own, veil_vault **out)
{
    int rc = 0;
    if (veil_config_has_section(veil_node_config(node), section)) {
        rc = veil_vault_open(node, section, own);
        *out = *own;
    } else {
        if (*shared == NULL)
            rc = veil_vault_open(node, NULL, shared);
        *out = *shared;
    }
    return rc;
}

static int trust_only(veil_node *node, veil_entity *peer, veil_trust_policy **out)
{
    const char *id = veil_entity_identifier(peer);
    return veil_trust_policy_new_identifier(node, &id, 1, out);
}

static const char usage[] =
    "\n"
    "  Two entities, a secure channel between them, an echoer behind it: prints\n"
    "  \"App Received: Hello Ockam!\".  Vaults, crypto backend and key agreement\n"
    "  come from the configuration file named by $VEIL_CONF (optional).\n";

int main(int argc, char **argv)
{
    example_args(argc, argv, usage, 0);
    example_env_init();
    veil_node *node;
    veil_context *app;
    veil_entity *bob = NULL, *alice = NULL;
    veil_vault *shared = NULL, *bob_own = NULL, *alice_own = NULL, *bob_vault, *alice_vault;
    veil_trust_policy *bob_trust_policy, *alice_trust_policy;
    veil_address channel_to_bob;
    veil_route route;
    veil_message *reply;
    int rc = veil_node_new(&node, &app, NULL);
    if (rc < 0) {
        fprintf(stderr, "veil_node_new: %s (%s)\n", veil_strerror(rc), veil_last_error());
        return 1;
    }
    if ((rc = veil_ctx_start_worker(app, "echoer", &echoer_ops, NULL)) < 0 ||
        (rc = open_vault(node, "vault.bob", &shared, &bob_own, &bob_vault)) < 0 ||
        (rc = open_vault(node, "vault.alice", &shared, &alice_own, &alice_vault)) < 0 ||
        (rc = veil_entity_open(node, bob_vault, NULL, VEIL_ENTITY_CREATE, &bob)) < 0 ||
        (rc = veil_entity_open(node, alice_vault, NULL, VEIL_ENTITY_CREATE, &alice)) < 0)
        goto out;
    /* Bob trusts only Alice; Alice trusts only Bob. */
    if ((rc = trust_only(node, alice, &bob_trust_policy)) < 0)
        goto out;
    if ((rc = trust_only(node, bob, &alice_trust_policy)) < 0) {
        veil_trust_policy_free(bob_trust_policy);
        goto out;
    }
    if ((rc = veil_secure_channel_listener_open(bob, "bob_secure_channel_listener",
                                                bob_trust_policy)) < 0) {
        veil_trust_policy_free(alice_trust_policy);
        goto out;
    }
    /* What comes out of Bob's channels may reach the echoer only. */
    static const char *const allowed[] = {"echoer"};
    if ((rc = veil_secure_channel_listener_allow(node, "bob_secure_channel_listener", allowed,
                                                 1)) < 0) {
        veil_trust_policy_free(alice_trust_policy);
        goto out;
    }
    veil_route_init(&route);
    if ((rc = veil_route_append_str(&route, "bob_secure_channel_listener")) < 0 ||
        (rc = veil_secure_channel_open(alice, &route, alice_trust_policy,
                                       &channel_to_bob)) < 0)
        goto out;
    /* [channel_to_bob, "echoer"]: encrypted entering the channel,
     * decrypted leaving it. */
    veil_route_init(&route);
    if ((rc = veil_route_append(&route, &channel_to_bob)) < 0 ||
        (rc = veil_route_append_str(&route, "echoer")) < 0 ||
        (rc = veil_ctx_send(app, &route, "Hello Ockam!", strlen("Hello Ockam!"))) < 0 ||
        (rc = veil_ctx_receive(app, &reply, 5000)) < 0)
        goto out;
    size_t len;
    const uint8_t *data = veil_message_payload(reply, &len);
    printf("App Received: %.*s\n", (int)len, (const char *)data);
    veil_message_free(reply);
out:
    if (rc < 0)
        fprintf(stderr, "example 05a: %s (%s)\n", veil_strerror(rc), veil_last_error());
    /* Entities (and the vaults they use) go before the node: the node owns
     * the vault plugins.  Channels still open are stopped with the node. */
    veil_entity_close(alice);
    veil_entity_close(bob);
    veil_vault_close(alice_own);
    veil_vault_close(bob_own);
    veil_vault_close(shared);
    (void)veil_node_free(node);
    return rc < 0 ? 1 : 0;
}
