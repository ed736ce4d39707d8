/* A secure channel with Alice's identity in a PKCS#11 token (SoftHSM2) and
 * Bob's in a file vault, on each crypto backend: the channel opens and
 * carries a round trip; Alice rotates, the new key is made in the token and
 * the old one destroyed there, and a new channel opens; her history
 * verifies on software vaults of both backends; she opens again from the
 * token alone.  The same with Alice's identity P-256 (rotating to Ed25519
 * and back in the token), and on a token without CKM_EDDSA.  Skipped (77)
 * only when SoftHSM2 is not installed. */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "assert_error.h"
#include "backends.h"
#include "test_vault_pkcs11.h"
#include "world.h"

static char chdir_[] = "/tmp/veil-p11ch-XXXXXX";

/* Where the secret labelled label lives in v (VEIL_KEY_IN_*), -1 if none. */
static int location_of(veil_vault *v, const char *label)
{
    veil_secret s;
    int loc;
    if (veil_vault_find_by_label(v, label, &s) < 0)
        return -1;
    assert_int_equal(veil_vault_key_location(v, s, &loc, NULL, 0), 0);
    return loc;
}

/* Alice's history verifies on a software vault of each backend, with
 * events events and her current key. */
static void history_verifies(const veil_entity *alice, size_t events)
{
    static const char *const be[] = { "openssl", "sodium" };
    size_t len;
    const uint8_t *h = veil_entity_history(alice, &len);
    uint8_t pub[VEIL_IDENTITY_KEY_MAX_BYTES];
    size_t pub_len;
    int type;
    assert_int_equal(veil_entity_public_key(alice, &type, pub, &pub_len), 0);
    for (size_t i = 0; i < 2; i++) {
        pkt s;
        veil_history_info info;
        assert_int_equal(pkt_open_plugin(&s, "software", be[i], ""), 0);
        assert_int_equal(veil_history_verify(s.v, h, len, &info), 0);
        assert_int_equal(info.events, events);
        assert_int_equal(info.key_type, type);
        assert_int_equal(info.key_len, pub_len);
        assert_memory_equal(info.current_key, pub, pub_len);
        assert_string_equal(info.identifier, veil_entity_identifier(alice));
        pkt_close(&s);
    }
}

static void open_channel(veil_node *node, veil_context *app, veil_entity *alice,
                         veil_entity *bob, const char *text)
{
    veil_route r = route_of("bob");
    veil_address ch;
    assert_int_equal(veil_secure_channel_open(alice, &r, trust_only(node, bob), &ch), 0);
    round_trip(app, &ch, text);
}

static void test_token_channel(void **state)
{
    const char *backend = *state;
    char text[2048], vpath[64];
    veil_node *node;
    veil_context *app;
    veil_vault *tv;
    veil_entity *alice, *bob;
    echo_state echo;
    memset(&echo, 0, sizeof echo);
    snprintf(vpath, sizeof vpath, "%s/bob.vault", chdir_);
    unlink(vpath);
    setenv("VEIL_TEST_P11CH_PASS", "bob's passphrase", 1);
    snprintf(text, sizeof text,
             "[vault]\nplugin = file\ncrypto = %s\npath = %s\npassphrase_env = "
             "VEIL_TEST_P11CH_PASS\nkdf_n = 1024\nkdf_r = 1\n"
             "[vault.token]\nplugin = pkcs11\ncrypto = %s\n" PKT_TOKEN, backend, vpath, backend);
    node_from(text, &node, &app);
    assert_int_equal(veil_ctx_start_worker(app, "echoer", &echo_ops, &echo), 0);
    if (veil_vault_open(node, "vault.token", &tv) != 0)
        fail_msg("opening the token vault: %s", veil_last_error());
    assert_int_equal(veil_entity_open(node, tv, "alice", VEIL_ENTITY_CREATE, &alice), 0);
    assert_int_equal(veil_entity_open(node, NULL, "bob", VEIL_ENTITY_CREATE, &bob), 0);
    /* The split: Alice's identity key in the token, her static key in software. */
    assert_int_equal(location_of(tv, "veil.entity.alice.key.0"), VEIL_KEY_IN_TOKEN);
    assert_int_equal(location_of(tv, "veil.entity.alice.ka.0"), VEIL_KEY_IN_SOFTWARE);
    assert_int_equal(location_of(veil_entity_vault(bob), "veil.entity.bob.key.0"),
                     VEIL_KEY_IN_SOFTWARE);
    /* The same through the entity (what a tool showing an identity asks). */
    int kl, sl;
    char kw[256], sw[256];
    assert_int_equal(veil_entity_key_location(alice, &kl, &sl, kw, sw, sizeof kw), 0);
    assert_int_equal(kl, VEIL_KEY_IN_TOKEN);
    assert_int_equal(sl, VEIL_KEY_IN_SOFTWARE);
    assert_non_null(strstr(kw, "pkcs11 token '" P11T_LABEL "' (serial "));
    assert_non_null(strstr(kw, ", module " P11T_MODULE));
    snprintf(text, sizeof text, "pkcs11 vault's software half (%s), in memory", backend);
    assert_string_equal(sw, text);
    assert_int_equal(veil_entity_key_location(bob, &kl, &sl, kw, sw, sizeof kw), 0);
    assert_int_equal(kl, VEIL_KEY_IN_SOFTWARE);
    snprintf(text, sizeof text, "file vault (%s, software)", backend);
    assert_string_equal(kw, text);
    assert_error(veil_entity_key_location(bob, &kl, &sl, NULL, sw, sizeof sw), VEIL_EINVAL,
                 "veil_entity_key_location: key_where is NULL");
    assert_int_equal(veil_secure_channel_listener_open(bob, "bob", trust_only(node, alice)), 0);
    open_channel(node, app, alice, bob, "from the token");
    assert_string_equal(echo.last_payload, "from the token");
    assert_string_equal(echo.last_info.peer_identifier, veil_entity_identifier(alice));
    history_verifies(alice, 1);
    /* Rotation: key 1 made in the token, key 0 destroyed there. */
    const char *id = veil_entity_identifier(alice);
    char id0[VEIL_IDENTIFIER_LEN + 1];
    snprintf(id0, sizeof id0, "%s", id);
    assert_int_equal(veil_entity_rotate(alice), 0);
    assert_int_equal(location_of(tv, "veil.entity.alice.key.1"), VEIL_KEY_IN_TOKEN);
    assert_int_equal(location_of(tv, "veil.entity.alice.key.0"), -1);
    assert_string_equal(veil_entity_identifier(alice), id0);
    open_channel(node, app, alice, bob, "after the rotation");
    assert_string_equal(echo.last_payload, "after the rotation");
    history_verifies(alice, 2);
    /* The token alone brings Alice back: her key and history are there. */
    veil_entity_close(alice);
    veil_vault_close(tv);
    assert_int_equal(veil_vault_open(node, "vault.token", &tv), 0);
    assert_int_equal(veil_entity_open(node, tv, "alice", 0, &alice), 0);
    assert_string_equal(veil_entity_identifier(alice), id0);
    history_verifies(alice, 2);
    open_channel(node, app, alice, bob, "reopened");
    veil_entity_close(alice);
    veil_entity_close(bob);
    veil_vault_close(tv);
    assert_int_equal(veil_node_free(node), 0);
    unlink(vpath);
    strcat(vpath, ".lock");
    unlink(vpath);
}

/* A node with Bob's file vault ([vault]) and the token ([vault.token]),
 * on backend, with extra configuration lines; the echoer runs. */
static void p256_node(const char *backend, const char *extra, char *vpath, veil_node **node,
                      veil_context **app, echo_state *echo)
{
    char text[2048];
    snprintf(vpath, 64, "%s/bob.vault", chdir_);
    unlink(vpath);
    setenv("VEIL_TEST_P11CH_PASS", "bob's passphrase", 1);
    snprintf(text, sizeof text,
             "[vault]\nplugin = file\ncrypto = %s\npath = %s\npassphrase_env = "
             "VEIL_TEST_P11CH_PASS\nkdf_n = 1024\nkdf_r = 1\n"
             "[vault.token]\nplugin = pkcs11\ncrypto = %s\n" PKT_TOKEN "%s", backend, vpath,
             backend, extra);
    node_from(text, node, app);
    memset(echo, 0, sizeof *echo);
    assert_int_equal(veil_ctx_start_worker(*app, "echoer", &echo_ops, echo), 0);
}

static void p256_node_free(veil_node *node, char *vpath)
{
    assert_int_equal(veil_node_free(node), 0);
    unlink(vpath);
    strcat(vpath, ".lock");
    unlink(vpath);
}

static void key_type_is(const veil_entity *e, int want)
{
    uint8_t key[VEIL_IDENTITY_KEY_MAX_BYTES];
    size_t n;
    int type;
    assert_int_equal(veil_entity_public_key(e, &type, key, &n), 0);
    assert_int_equal(type, want);
}

/* Alice's P-256 identity in the token, Bob's Ed25519 one in the file
 * vault; Alice rotates p256 -> ed25519 -> p256, each key made in the
 * token, one identifier throughout. */
static void test_token_channel_p256(void **state)
{
    const char *backend = *state;
    char vpath[64];
    veil_node *node;
    veil_context *app;
    veil_vault *tv;
    veil_entity *alice, *bob;
    echo_state echo;
    p256_node(backend, "", vpath, &node, &app, &echo);
    assert_int_equal(veil_vault_open(node, "vault.token", &tv), 0);
    veil_key_times p256 = { 0, 0, VEIL_SECRET_P256 }, ed = { 0, 0, VEIL_SECRET_ED25519 };
    assert_int_equal(veil_entity_open_with(node, tv, "alice", VEIL_ENTITY_CREATE, &p256, &alice),
                     0);
    assert_int_equal(veil_entity_open(node, NULL, "bob", VEIL_ENTITY_CREATE, &bob), 0);
    key_type_is(alice, VEIL_SECRET_P256);
    assert_int_equal(location_of(tv, "veil.entity.alice.key.0"), VEIL_KEY_IN_TOKEN);
    assert_int_equal(veil_secure_channel_listener_open(bob, "bob", trust_only(node, alice)), 0);
    open_channel(node, app, alice, bob, "p256 from the token");
    assert_string_equal(echo.last_info.peer_identifier, veil_entity_identifier(alice));
    history_verifies(alice, 1);
    char id0[VEIL_IDENTIFIER_LEN + 1];
    snprintf(id0, sizeof id0, "%s", veil_entity_identifier(alice));
    assert_int_equal(veil_entity_rotate_with(alice, &ed), 0);
    key_type_is(alice, VEIL_SECRET_ED25519);
    assert_int_equal(location_of(tv, "veil.entity.alice.key.1"), VEIL_KEY_IN_TOKEN);
    assert_int_equal(location_of(tv, "veil.entity.alice.key.0"), -1);
    open_channel(node, app, alice, bob, "ed25519 from the token");
    assert_int_equal(veil_entity_rotate_with(alice, &p256), 0);
    key_type_is(alice, VEIL_SECRET_P256);
    assert_int_equal(location_of(tv, "veil.entity.alice.key.2"), VEIL_KEY_IN_TOKEN);
    open_channel(node, app, alice, bob, "p256 again");
    assert_string_equal(echo.last_payload, "p256 again");
    assert_string_equal(veil_entity_identifier(alice), id0);
    history_verifies(alice, 3);
    veil_entity_close(alice);
    veil_entity_close(bob);
    veil_vault_close(tv);
    p256_node_free(node, vpath);
}

/* A token with ECDSA and no EdDSA (as PIV cards and TPM 2.0): with
 * [identity] key_type = p256 Alice's identity lives there and channels
 * open; a rotation to Ed25519 is refused, naming the mechanism, and
 * changes nothing. */
static void test_token_without_eddsa(void **state)
{
    const char *backend = *state;
    char vpath[64];
    veil_node *node;
    veil_context *app;
    veil_vault *tv;
    veil_entity *alice, *bob;
    echo_state echo;
    p11t_token_free(&tok);
    p11t_token_new(&tok, "slots.mechanisms = CKM_EC_KEY_PAIR_GEN,CKM_ECDSA\n");
    p256_node(backend, "[identity]\nkey_type = p256\n", vpath, &node, &app, &echo);
    assert_int_equal(veil_vault_open(node, "vault.token", &tv), 0);
    assert_int_equal(veil_entity_open(node, tv, "alice", VEIL_ENTITY_CREATE, &alice), 0);
    veil_key_times ed = { 0, 0, VEIL_SECRET_ED25519 };
    assert_int_equal(veil_entity_open_with(node, NULL, "bob", VEIL_ENTITY_CREATE, &ed, &bob), 0);
    key_type_is(alice, VEIL_SECRET_P256);
    key_type_is(bob, VEIL_SECRET_ED25519);
    assert_int_equal(location_of(tv, "veil.entity.alice.key.0"), VEIL_KEY_IN_TOKEN);
    assert_int_equal(veil_secure_channel_listener_open(bob, "bob", trust_only(node, alice)), 0);
    open_channel(node, app, alice, bob, "no eddsa here");
    size_t len0, len1;
    veil_entity_history(alice, &len0);
    assert_error_contains(veil_entity_rotate_with(alice, &ed), VEIL_EUNSUPPORTED,
                          "no Ed25519 keys in this token (it can hold P-256 ones: [identity] "
                          "key_type = p256)");
    veil_entity_history(alice, &len1);
    assert_int_equal(len0, len1);
    assert_int_equal(location_of(tv, "veil.entity.alice.key.1"), -1);
    assert_int_equal(veil_entity_rotate(alice), 0);          /* p256 -> p256 */
    key_type_is(alice, VEIL_SECRET_P256);
    open_channel(node, app, alice, bob, "rotated in the token");
    history_verifies(alice, 2);
    veil_entity_close(alice);
    veil_entity_close(bob);
    veil_vault_close(tv);
    p256_node_free(node, vpath);
}

#define CHANNEL_TESTS(b) \
    cmocka_unit_test_prestate_setup_teardown(test_token_channel, pkt_up, pkt_down, b), \
    cmocka_unit_test_prestate_setup_teardown(test_token_channel_p256, pkt_up, pkt_down, b), \
    cmocka_unit_test_prestate_setup_teardown(test_token_without_eddsa, pkt_up, pkt_down, b)

int main(void)
{
    p11t_require_module();
    if (mkdtemp(chdir_) == NULL)
        return 1;
    const struct CMUnitTest tests[] = { FOR_EACH_BACKEND(CHANNEL_TESTS) };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(chdir_);
    return rc;
}
