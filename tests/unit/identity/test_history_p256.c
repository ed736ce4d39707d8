/* ECDSA P-256 identity keys in the change history (docs/PROTOCOL.md,
 * "Identity key types"): entities of either type and rotations between
 * them, verified on both crypto backends; the identifier rule; and
 * hand-made histories (layout read from the document, P-256 key records
 * of 33 bytes) refused with their exact codes: bad points, a signature
 * cut short, a signature of the other type, the version rules. */
#include "test_identity.h"
#include "assert_error.h"

/* A P-256 event: the key is 33 bytes, so everything after it moves by 1. */
#define PEV_BODY 84u
#define PEV_SIG_NEW 84u
#define PEV_SIG_PREV 148u
#define PCREATE_LEN 148u
#define PROTATE_LEN 212u

static const char CONFIG[] =
    "[vault]\nplugin = software\ncrypto = openssl\n"
    "[vault.sodium]\nplugin = software\ncrypto = sodium\n";

static int setup(void **state)
{
    return world_setup(state, CONFIG);
}

static veil_key_times of_type(int type)
{
    veil_key_times t = { 0, 0, type };
    return t;
}

/* The history verifies on the sodium vault too, to the same info. */
static void verifies_on_sodium(world *w, const uint8_t *h, size_t len,
                               const veil_history_info *want)
{
    veil_vault *s;
    veil_history_info got;
    assert_int_equal(veil_vault_open(w->node, "vault.sodium", &s), 0);
    assert_int_equal(veil_history_verify(s, h, len, &got), 0);
    assert_string_equal(got.identifier, want->identifier);
    assert_int_equal(got.key_type, want->key_type);
    assert_int_equal(got.key_len, want->key_len);
    assert_memory_equal(got.current_key, want->current_key, want->key_len);
    veil_vault_close(s);
}

static void test_p256_entity(void **state)
{
    world *w = *state;
    veil_entity *e;
    veil_key_times t = of_type(VEIL_SECRET_P256);
    assert_int_equal(veil_entity_open_with(w->node, w->v, "p", VEIL_ENTITY_CREATE, &t, &e), 0);
    size_t len, klen;
    int type;
    uint8_t key[VEIL_IDENTITY_KEY_MAX_BYTES], digest[32], tagged[34];
    const uint8_t *h = veil_entity_history(e, &len);
    assert_int_equal(len, HDR + PCREATE_LEN);
    assert_int_equal(h[0], 3);                         /* version 3: a P-256 key */
    assert_int_equal(h[HDR + EV_KEY_TYPE], 2);
    assert_int_equal(veil_entity_public_key(e, &type, key, &klen), 0);
    assert_int_equal(type, VEIL_SECRET_P256);
    assert_int_equal(klen, 33);
    assert_true(key[0] == 2 || key[0] == 3);
    assert_memory_equal(h + HDR + EV_KEY, key, 33);
    /* Identifier: SHA-256(key_type 2 || key). */
    tagged[0] = 2;
    memcpy(tagged + 1, key, 33);
    sha256(w->v, tagged, sizeof tagged, digest);
    char want[VEIL_IDENTIFIER_LEN + 1];
    want[0] = 'P';
    hexof(digest, 32, want + 1);
    assert_string_equal(veil_entity_identifier(e), want);
    veil_history_info info;
    assert_int_equal(veil_history_verify(w->v, h, len, &info), 0);
    verifies_on_sodium(w, h, len, &info);
    /* Application signatures by the P-256 key verify under it only. */
    uint8_t sig[64];
    assert_int_equal(veil_entity_sign(e, "app.v1", (const uint8_t *)"hi", 2, sig), 0);
    assert_int_equal(veil_identity_verify(w->v, VEIL_SECRET_P256, key, 33, "app.v1",
                                          (const uint8_t *)"hi", 2, sig), 0);
    assert_error_contains(veil_identity_verify(w->v, VEIL_SECRET_P256, key, 33, "app.v2",
                                               (const uint8_t *)"hi", 2, sig), VEIL_EAUTH,
                          "not a signature by this key in context 'app.v2'");
    assert_error_contains(veil_identity_verify(w->v, VEIL_SECRET_ED25519, key + 1, 32, "app.v1",
                                               (const uint8_t *)"hi", 2, sig), VEIL_EAUTH,
                          "not a signature by this key");
    assert_error_contains(veil_identity_verify(w->v, VEIL_SECRET_X25519, key + 1, 32, "app.v1",
                                               (const uint8_t *)"hi", 2, sig), VEIL_EINVAL,
                          "identity key of type x25519 (expected ed25519 or p256)");
    veil_entity_close(e);
    /* Open again from the vault: the stored key is the history's. */
    assert_int_equal(veil_entity_open(w->node, w->v, "p", 0, &e), 0);
    assert_string_equal(veil_entity_identifier(e), want);
    veil_entity_close(e);
}

/* ed25519 -> p256 -> ed25519: one identifier, versions 2, 3, 3. */
static void test_rotate_between_types(void **state)
{
    world *w = *state;
    veil_entity *e;
    veil_history_event ev[3];
    size_t len, n;
    veil_key_times p = of_type(VEIL_SECRET_P256), ed = of_type(VEIL_SECRET_ED25519);
    assert_int_equal(veil_entity_open(w->node, w->v, "mix", VEIL_ENTITY_CREATE, &e), 0);
    char id[VEIL_IDENTIFIER_LEN + 1];
    strcpy(id, veil_entity_identifier(e));
    assert_int_equal(veil_entity_history(e, &len)[0], 2);
    assert_int_equal(veil_entity_rotate_with(e, &p), 0);
    const uint8_t *h = veil_entity_history(e, &len);
    assert_int_equal(h[0], 3);
    assert_int_equal(len, HDR + CREATE_LEN + PROTATE_LEN);
    assert_int_equal(veil_entity_rotate_with(e, &ed), 0);
    h = veil_entity_history(e, &len);
    assert_int_equal(h[0], 3);                         /* it held a P-256 key */
    assert_int_equal(len, HDR + CREATE_LEN + PROTATE_LEN + ROTATE_LEN);
    assert_string_equal(veil_entity_identifier(e), id);
    assert_int_equal(veil_history_events(w->v, h, len, ev, 3, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ev[0].key_type, VEIL_SECRET_ED25519);
    assert_int_equal(ev[0].key_len, 32);
    assert_int_equal(ev[1].key_type, VEIL_SECRET_P256);
    assert_int_equal(ev[1].key_len, 33);
    assert_memory_equal(ev[1].key, h + HDR + CREATE_LEN + EV_KEY, 33);
    assert_int_equal(ev[2].key_type, VEIL_SECRET_ED25519);
    veil_history_info info;
    assert_int_equal(veil_history_verify(w->v, h, len, &info), 0);
    assert_int_equal(info.key_type, VEIL_SECRET_ED25519);
    verifies_on_sodium(w, h, len, &info);
    veil_entity_close(e);
    assert_int_equal(veil_entity_open(w->node, w->v, "mix", 0, &e), 0);
    assert_string_equal(veil_entity_identifier(e), id);
    veil_entity_close(e);
    /* No other type is an identity key. */
    veil_key_times x = of_type(VEIL_SECRET_X25519);
    assert_error_contains(veil_entity_open_with(w->node, w->v, "x", VEIL_ENTITY_CREATE, &x, &e),
                          VEIL_EINVAL, "key type 4 (x25519) cannot be an identity key");
}

/* [identity] key_type: p256 for new entities; an unknown value fails the
 * node. */
static void test_config_key_type(void **state)
{
    (void)state;
    veil_config *cfg;
    veil_node *node;
    veil_context *app;
    veil_entity *e;
    assert_int_equal(veil_config_new_from_text(&cfg, "[vault]\nplugin = software\n"
                                               "[identity]\nkey_type = p256\n", "<t>"), 0);
    veil_node_options o = { sizeof o, cfg, NULL };
    assert_int_equal(veil_node_new(&node, &app, &o), 0);
    veil_config_free(cfg);
    assert_int_equal(veil_entity_open(node, NULL, "c", VEIL_ENTITY_CREATE, &e), 0);
    size_t len;
    assert_int_equal(veil_entity_history(e, &len)[HDR + EV_KEY_TYPE], 2);
    veil_entity_close(e);
    assert_int_equal(veil_node_free(node), 0);
    assert_int_equal(veil_config_new_from_text(&cfg, "[vault]\nplugin = software\n"
                                               "[identity]\nkey_type = p384\n", "<t>"), 0);
    o.config = cfg;
    assert_error_contains(veil_node_new(&node, &app, &o), VEIL_ECONFIG,
                          "<t>:4: [identity] key_type 'p384' is not known (expected ed25519 or "
                          "p256)");
    veil_config_free(cfg);
}

/* ---- hand-made histories ---------------------------------------------- */

static veil_secret p256_key(veil_vault *v, uint8_t pub[33])
{
    veil_secret_attrs a;
    veil_secret k;
    size_t n;
    memset(&a, 0, sizeof a);
    a.type = VEIL_SECRET_P256;
    assert_int_equal(veil_vault_generate(v, &a, &k), 0);
    assert_int_equal(veil_vault_public_key(v, k, pub, 33, &n), 0);
    return k;
}

/* A one-event history (version ver) whose key record is tag || key
 * (klen bytes), signed by signer.  Returns its length. */
static size_t spec_create(veil_vault *v, unsigned ver, unsigned tag, const uint8_t *key,
                          size_t klen, veil_secret signer, uint8_t *out)
{
    static const uint8_t zero[32];
    uint8_t *e = out + HDR;
    out[0] = (uint8_t)ver, out[1] = 1;
    e[0] = 1, e[1] = 0;
    memcpy(e + EV_PREV, zero, 32);
    put64(e + EV_CREATED, 1000);
    put64(e + EV_EXPIRES, 0);
    e[EV_KEY_TYPE] = (uint8_t)tag;
    memcpy(e + EV_KEY, key, klen);
    size_t body = EV_KEY + klen;
    spec_sign(v, signer, EVENT_DOMAIN, e, body, e + body);
    return HDR + body + 64;
}

static void test_refusals(void **state)
{
    world *w = *state;
    uint8_t pub[33], ed_pub[32], h[512], bad[33];
    veil_history_info info;
    veil_secret k = p256_key(w->v, pub), ek = test_key(w->v, ed_pub);
    size_t n = spec_create(w->v, 3, 2, pub, 33, k, h);
    assert_int_equal(n, HDR + PCREATE_LEN);
    assert_int_equal(veil_history_verify_at(w->v, h, n, NULL, &info), 0);   /* the baseline */
    /* Bad points. */
    memcpy(bad, pub, 33);
    bad[0] = 4;
    n = spec_create(w->v, 3, 2, bad, 33, k, h);
    assert_error_contains(veil_history_verify_at(w->v, h, n, NULL, &info), VEIL_EFORMAT,
                          "field 'key' at byte 53 starts 0x04, expected 0x02 or 0x03");
    memset(bad, 0, 33);
    bad[0] = 2, bad[32] = 1;                            /* x = 1: not on the curve */
    n = spec_create(w->v, 3, 2, bad, 33, k, h);
    assert_error_contains(veil_history_verify_at(w->v, h, n, NULL, &info), VEIL_EFORMAT,
                          "field 'key' is not a P-256 public key");
    assert_last_error_contains("not a point of the curve");
    /* A signature cut short, or one byte too long. */
    n = spec_create(w->v, 3, 2, pub, 33, k, h);
    assert_error(veil_history_verify_at(w->v, h, n - 1, NULL, &info), VEIL_ETRUNCATED,
                 "history: event 0 (byte 2): field 'sig_new' at byte 86 needs 64 bytes, only 63 "
                 "left");
    h[n] = 0;
    assert_error_contains(veil_history_verify_at(w->v, h, n + 1, NULL, &info), VEIL_ETRAILING,
                          "1 bytes left over");
    /* A signature of the other type: P-256 record signed by an Ed25519
     * key, Ed25519 record signed by a P-256 key. */
    n = spec_create(w->v, 3, 2, pub, 33, ek, h);
    assert_error_contains(veil_history_verify_at(w->v, h, n, NULL, &info), VEIL_EAUTH,
                          "field 'sig_new' at byte 86 is not a valid signature by the event's key");
    n = spec_create(w->v, 2, 1, ed_pub, 32, k, h);
    assert_error_contains(veil_history_verify_at(w->v, h, n, NULL, &info), VEIL_EAUTH,
                          "field 'sig_new' at byte 85 is not a valid signature by the event's key");
    /* The high-S twin of a valid signature (n - s) is refused. */
    n = spec_create(w->v, 3, 2, pub, 33, k, h);
    static const uint8_t order[32] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51 };
    uint8_t *s = h + HDR + PEV_SIG_NEW + 32;
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = order[i] - s[i] - borrow;
        borrow = d < 0;
        s[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    assert_error_contains(veil_history_verify_at(w->v, h, n, NULL, &info), VEIL_EAUTH,
                          "field 'sig_new' at byte 86 is not a valid signature");
    /* Versions: a P-256 key needs 3; 3 needs a P-256 key; no key_type 3. */
    n = spec_create(w->v, 2, 2, pub, 33, k, h);
    assert_error(veil_history_verify_at(w->v, h, n, NULL, &info), VEIL_EFORMAT,
                 "history: event 0 (byte 2): field 'key_type' at byte 52 is 2, expected 1 "
                 "(Ed25519) (2, P-256, needs history version 3)");
    n = spec_create(w->v, 3, 1, ed_pub, 32, ek, h);
    assert_error(veil_history_verify_at(w->v, h, n, NULL, &info), VEIL_EFORMAT,
                 "history: field 'version' at byte 0 is 3 but every key is Ed25519 (version 2: "
                 "a history has one encoding)");
    n = spec_create(w->v, 3, 3, pub, 33, k, h);
    assert_error(veil_history_verify_at(w->v, h, n, NULL, &info), VEIL_EFORMAT,
                 "history: event 0 (byte 2): field 'key_type' at byte 52 is 3, expected 1 "
                 "(Ed25519) or 2 (P-256)");
    h[0] = 4;
    assert_error(veil_history_verify_at(w->v, h, n, NULL, &info), VEIL_EVERSION,
                 "history: field 'version' at byte 0 is 4, expected 2 or 3");
    assert_int_equal(veil_vault_secret_destroy(w->v, k), 0);
    assert_int_equal(veil_vault_secret_destroy(w->v, ek), 0);
}

/* Same key bytes cannot make two identifiers collide: an Ed25519 history
 * hashes the key, a P-256 one tag || key. */
static void test_identifier_rule(void **state)
{
    world *w = *state;
    uint8_t pub[33], ed_pub[32], h[512], digest[32];
    veil_history_info info;
    veil_secret k = p256_key(w->v, pub), ek = test_key(w->v, ed_pub);
    size_t n = spec_create(w->v, 2, 1, ed_pub, 32, ek, h);
    assert_int_equal(veil_history_verify_at(w->v, h, n, NULL, &info), 0);
    sha256(w->v, ed_pub, 32, digest);
    char want[VEIL_IDENTIFIER_LEN + 1];
    want[0] = 'P';
    hexof(digest, 32, want + 1);
    assert_string_equal(info.identifier, want);        /* Ed25519: unchanged rule */
    n = spec_create(w->v, 3, 2, pub, 33, k, h);
    assert_int_equal(veil_history_verify_at(w->v, h, n, NULL, &info), 0);
    sha256(w->v, pub, 33, digest);
    hexof(digest, 32, want + 1);
    assert_string_not_equal(info.identifier, want);    /* not SHA-256(key) */
    assert_int_equal(veil_vault_secret_destroy(w->v, k), 0);
    assert_int_equal(veil_vault_secret_destroy(w->v, ek), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p256_entity),
        cmocka_unit_test(test_rotate_between_types),
        cmocka_unit_test(test_config_key_type),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_identifier_rule),
    };
    return cmocka_run_group_tests(tests, setup, world_teardown);
}
