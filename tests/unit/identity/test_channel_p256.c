/* Secure channels between identities of different key types, on each
 * crypto backend: Alice's identity is ECDSA P-256 in a file vault, Bob's
 * Ed25519 in another; channels both ways, a public-key policy pinning
 * Alice's P-256 key (and refusing an Ed25519 pin of the same bytes), and
 * Alice rotating p256 -> ed25519 -> p256 under one identifier with Bob's
 * contacts following.  A new node on the same vault files brings the P-256
 * key back. */
#include "config.h"

#include "backends.h"
#include "world.h"
#include "assert_error.h"

#include <unistd.h>

static char dir[] = "/tmp/veil-p256ch-XXXXXX";

static veil_trust_policy *pin_key(veil_node *node, const veil_entity *peer, bool as_ed25519)
{
    uint8_t key[VEIL_IDENTITY_KEY_MAX_BYTES];
    char hex[2 * VEIL_IDENTITY_KEY_MAX_BYTES + 1];
    size_t n;
    int type;
    veil_trust_policy *p;
    assert_int_equal(veil_entity_public_key(peer, &type, key, &n), 0);
    if (as_ed25519)
        n = 32;                        /* the point's first 32 bytes as an Ed25519 key */
    for (size_t i = 0; i < n; i++)
        sprintf(hex + 2 * i, "%02x", key[i]);
    const char *kv[] = { "public_key", hex, NULL };
    assert_int_equal(veil_trust_policy_new(node, "public-key", kv, &p), 0);
    return p;
}

static int channel_to(veil_entity *from, const char *route, veil_trust_policy *trust,
                      veil_address *ch)
{
    veil_route r;
    assert_int_equal(veil_route_parse(&r, route), 0);
    return veil_secure_channel_open(from, &r, trust, ch);
}

static void key_type_is(const veil_entity *e, int want)
{
    uint8_t key[VEIL_IDENTITY_KEY_MAX_BYTES];
    size_t n;
    int type;
    assert_int_equal(veil_entity_public_key(e, &type, key, &n), 0);
    assert_int_equal(type, want);
    assert_int_equal(n, want == VEIL_SECRET_P256 ? 33 : 32);
}

static void test_mixed_channels(void **state)
{
    const char *backend = *state;
    char text[1024], apath[128], bpath[128];
    veil_node *node;
    veil_context *app;
    veil_vault *av;
    veil_entity *alice, *bob;
    veil_address ch;
    echo_state echo;
    memset(&echo, 0, sizeof echo);
    snprintf(apath, sizeof apath, "%s/alice-%s.vault", dir, backend);
    snprintf(bpath, sizeof bpath, "%s/bob-%s.vault", dir, backend);
    setenv("VEIL_TEST_P256_PASS", "p256 passphrase", 1);
    snprintf(text, sizeof text,
             "[vault]\nplugin = file\ncrypto = %s\npath = %s\npassphrase_env = "
             "VEIL_TEST_P256_PASS\nkdf_n = 1024\nkdf_r = 1\n"
             "[vault.alice]\nplugin = file\ncrypto = %s\npath = %s\npassphrase_env = "
             "VEIL_TEST_P256_PASS\nkdf_n = 1024\nkdf_r = 1\n",
             backend, bpath, backend, apath);
    node_from(text, &node, &app);
    assert_int_equal(veil_ctx_start_worker(app, "echoer", &echo_ops, &echo), 0);
    assert_int_equal(veil_vault_open(node, "vault.alice", &av), 0);
    veil_key_times p256 = { 0, 0, VEIL_SECRET_P256 }, ed = { 0, 0, VEIL_SECRET_ED25519 };
    assert_int_equal(veil_entity_open_with(node, av, "alice", VEIL_ENTITY_CREATE, &p256, &alice),
                     0);
    assert_int_equal(veil_entity_open(node, NULL, "bob", VEIL_ENTITY_CREATE, &bob), 0);
    key_type_is(alice, VEIL_SECRET_P256);
    key_type_is(bob, VEIL_SECRET_ED25519);
    assert_int_equal(veil_secure_channel_listener_open(bob, "bob", trust_only(node, alice)), 0);
    assert_int_equal(veil_secure_channel_listener_open(alice, "alice", trust_only(node, bob)), 0);

    /* Both ways. */
    assert_int_equal(channel_to(alice, "bob", trust_only(node, bob), &ch), 0);
    round_trip(app, &ch, "p256 to ed25519");
    assert_string_equal(echo.last_info.peer_identifier, veil_entity_identifier(alice));
    assert_int_equal(channel_to(bob, "alice", trust_only(node, alice), &ch), 0);
    round_trip(app, &ch, "ed25519 to p256");
    assert_string_equal(echo.last_info.peer_identifier, veil_entity_identifier(bob));
    /* Pinning her P-256 key allows; the same bytes as an Ed25519 key do not. */
    assert_int_equal(channel_to(bob, "alice", pin_key(node, alice, false), &ch), 0);
    round_trip(app, &ch, "pinned p256");
    int before = (int)echo.count;
    assert_error_contains(channel_to(bob, "alice", pin_key(node, alice, true), &ch), VEIL_EDENIED,
                          "refused by policy 'public-key'");
    assert_int_equal((int)echo.count, before);         /* nothing delivered */

    /* Rotations across types: one identifier, Bob's contacts follow. */
    char id[VEIL_IDENTIFIER_LEN + 1];
    snprintf(id, sizeof id, "%s", veil_entity_identifier(alice));
    assert_int_equal(veil_entity_rotate_with(alice, &ed), 0);
    key_type_is(alice, VEIL_SECRET_ED25519);
    assert_int_equal(channel_to(alice, "bob", trust_only(node, bob), &ch), 0);
    round_trip(app, &ch, "after p256 -> ed25519");
    assert_int_equal(veil_entity_rotate_with(alice, &p256), 0);
    key_type_is(alice, VEIL_SECRET_P256);
    assert_int_equal(channel_to(alice, "bob", trust_only(node, bob), &ch), 0);
    round_trip(app, &ch, "after ed25519 -> p256");
    assert_string_equal(veil_entity_identifier(alice), id);
    veil_contacts *c;
    veil_contact_info info;
    assert_int_equal(veil_contacts_of(node, &c), 0);
    assert_int_equal(veil_contacts_get(c, id, &info), 0);
    assert_int_equal(info.history.events, 3);
    assert_int_equal(info.history.key_type, VEIL_SECRET_P256);

    veil_entity_close(alice);
    veil_entity_close(bob);
    veil_vault_close(av);
    assert_int_equal(veil_node_free(node), 0);

    /* The file vaults bring both back (a new node: the channels held the
     * vaults open until the node stopped). */
    node_from(text, &node, &app);
    assert_int_equal(veil_ctx_start_worker(app, "echoer", &echo_ops, &echo), 0);
    assert_int_equal(veil_vault_open(node, "vault.alice", &av), 0);
    assert_int_equal(veil_entity_open(node, av, "alice", 0, &alice), 0);
    assert_int_equal(veil_entity_open(node, NULL, "bob", 0, &bob), 0);
    assert_string_equal(veil_entity_identifier(alice), id);
    key_type_is(alice, VEIL_SECRET_P256);
    assert_int_equal(veil_secure_channel_listener_open(bob, "bob", trust_only(node, alice)), 0);
    assert_int_equal(channel_to(alice, "bob", trust_only(node, bob), &ch), 0);
    round_trip(app, &ch, "reopened");
    veil_entity_close(alice);
    veil_entity_close(bob);
    veil_vault_close(av);
    assert_int_equal(veil_node_free(node), 0);
    const char *files[] = { apath, bpath };
    for (size_t i = 0; i < 2; i++) {
        unlink(files[i]);
        snprintf(text, sizeof text, "%s.lock", files[i]);
        unlink(text);
    }
}

#define MIXED(b) cmocka_unit_test_prestate(test_mixed_channels, b)

int main(void)
{
    if (mkdtemp(dir) == NULL)
        return 1;
    const struct CMUnitTest tests[] = { FOR_EACH_BACKEND(MIXED) };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(dir);
    return rc;
}
