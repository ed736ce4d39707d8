/* X3DH codecs, configuration and the plugin's ops table:
 *  - Encode(PK) and key checks (type byte, low-order, non-canonical);
 *  - bundle and initial-message decoders at every boundary (truncated,
 *    trailing, version, flags, each key field) with exact codes;
 *  - AD layout (the spec's Encode(IK_A) || Encode(IK_B) || appendix);
 *  - [key_agreement] keys, read strictly;
 *  - the module loaded by name, and a handshake between its ops table
 *    and this program's own copy of the protocol.
 * Messages 2 and 3 and the session parameters: test_x3dh_sessions.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include "config.h"

/* The crypto backend of the session tests: whichever this build has. */
#ifdef VEIL_HAVE_OPENSSL
#define TEST_CRYPTO "openssl"
#else
#define TEST_CRYPTO "sodium"
#endif
#include "noise-vault.h"
#include "test_x3dh_store.h"

#include <veil/plugin.h>

#include <stdio.h>
#include <string.h>

static void test_keys(void **state)
{
    (void)state;
    uint8_t pub[32], enc[33], out[32];
    memset(pub, 0x11, sizeof pub);
    x3dh_encode_key(pub, enc);
    assert_int_equal(enc[0], 0x05);
    assert_memory_equal(enc + 1, pub, 32);
    assert_int_equal(x3dh_decode_key(enc, "K", out), 0);
    assert_memory_equal(out, pub, 32);
    enc[0] = 0x00;
    assert_error_contains(x3dh_decode_key(enc, "K", out), VEIL_EFORMAT,
                          "K: key type byte 0x00, expected 0x05");
    enc[0] = 0x05;
    enc[32] = 0x80; /* bit 255 */
    assert_error(x3dh_decode_key(enc, "K", out), VEIL_EFORMAT,
                 "x3dh: K: u has bit 255 set (not a canonical X25519 public key)");
    memset(pub, 0, sizeof pub);
    assert_error(x3dh_check_key(pub, "zero"), VEIL_ELOWORDER,
                 "x3dh: zero is a low-order X25519 point (DH with it does not depend on the "
                 "private key)");
    pub[0] = 1;
    assert_int_equal(x3dh_check_key(pub, "one"), VEIL_ELOWORDER);
    /* p - 1, p, p + 1 are low order; p + 2 is merely non-canonical. */
    memset(pub, 0xff, sizeof pub);
    pub[31] = 0x7f;
    for (uint8_t lo = 0xec; lo <= 0xee; lo++) {
        pub[0] = lo;
        assert_int_equal(x3dh_check_key(pub, "p"), VEIL_ELOWORDER);
    }
    pub[0] = 0xef;
    assert_error(x3dh_check_key(pub, "p+2"), VEIL_EFORMAT,
                 "x3dh: p+2: u >= 2^255 - 19 (not a canonical X25519 public key)");
    pub[0] = 0xeb; /* p - 2: an ordinary (twist) u, accepted here */
    assert_int_equal(x3dh_check_key(pub, "p-2"), 0);
    static const uint8_t order8[32] = {
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57 };
    assert_int_equal(x3dh_check_key(order8, "o8"), VEIL_ELOWORDER);
}

static void sample(x3dh_bundle *b, bool opk)
{
    memset(b, 0, sizeof *b);
    memset(b->ik, 0x21, 32);
    b->spk_id = 0x01020304;
    memset(b->spk, 0x22, 32);
    memset(b->spk_sig, 0x33, 64);
    b->has_opk = opk;
    b->opk_id = 0xa0b0c0d0;
    memset(b->opk, 0x24, 32);
}

static void test_bundle_codec(void **state)
{
    (void)state;
    x3dh_bundle b, d;
    uint8_t buf[200];
    size_t n = 0;
    sample(&b, true);
    assert_error(x3dh_bundle_encode(&b, buf, 172, &n), VEIL_ELIMIT,
                 "x3dh: bundle needs 173 bytes, buffer has 172");
    assert_int_equal(x3dh_bundle_encode(&b, buf, sizeof buf, &n), 0);
    assert_int_equal(n, 173);
    /* Field offsets as docs/X3DH.md gives them. */
    static const uint8_t head[] = { 1, 1, 5, 0x21 };
    assert_memory_equal(buf, head, 4);
    static const uint8_t ids[] = { 1, 2, 3, 4, 5, 0x22 };
    assert_memory_equal(buf + 35, ids, 6);
    assert_int_equal(buf[72], 0x33);
    static const uint8_t opk[] = { 0xa0, 0xb0, 0xc0, 0xd0, 5, 0x24 };
    assert_memory_equal(buf + 136, opk, 6);
    assert_int_equal(x3dh_bundle_decode(buf, n, &d), 0);
    assert_memory_equal(&d, &b, sizeof d);
    assert_error_contains(x3dh_bundle_decode(buf, 172, &d), VEIL_ETRUNCATED,
                          "OPK id and key are cut off");
    assert_error(x3dh_bundle_decode(buf, 174, &d), VEIL_ETRAILING,
                 "x3dh: bundle is 174 bytes, expected 173 (1 trailing bytes)");
    for (size_t off = 0; off < 173; off += 35) /* 0, 35, 70, 105, 140 */
        assert_true(x3dh_bundle_decode(buf, off, &d) == VEIL_ETRUNCATED);
    assert_int_equal(x3dh_bundle_decode(NULL, 0, &d), VEIL_ETRUNCATED);
    assert_error_contains(x3dh_bundle_decode(NULL, 5, &d), VEIL_EINVAL,
                          "bundle is NULL with length 5");
    const struct { size_t off; uint8_t val; int rc; const char *what; } bad[] = {
        { 0, 2, VEIL_EVERSION, "bundle version 2" },
        { 1, 3, VEIL_EFORMAT, "flags 0x03" },
        { 2, 6, VEIL_EFORMAT, "bundle IK: key type byte 0x06" },
        { 39, 4, VEIL_EFORMAT, "bundle SPK: key type byte 0x04" },
        { 140, 0, VEIL_EFORMAT, "bundle OPK: key type byte 0x00" },
        { 34, 0xff, VEIL_EFORMAT, "bundle IK: u has bit 255" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t t[200];
        memcpy(t, buf, n);
        t[bad[i].off] = bad[i].val;
        assert_int_equal(x3dh_bundle_decode(t, n, &d), bad[i].rc);
        assert_last_error_contains(bad[i].what);
    }
    /* Without an OPK: 136 bytes, nothing may follow. */
    sample(&b, false);
    assert_int_equal(x3dh_bundle_encode(&b, buf, sizeof buf, &n), 0);
    assert_int_equal(n, 136);
    assert_int_equal(buf[1], 0);
    assert_int_equal(x3dh_bundle_decode(buf, 136, &d), 0);
    assert_false(d.has_opk);
    assert_int_equal(x3dh_bundle_decode(buf, 173, &d), VEIL_ETRAILING);
    assert_error(x3dh_bundle_decode(buf, 135, &d), VEIL_ETRUNCATED,
                 "x3dh: bundle is 135 bytes, shorter than the smallest valid one (136)");
    memset(buf + 40, 0, 32); /* SPK = 0 */
    assert_error_contains(x3dh_bundle_decode(buf, 136, &d), VEIL_ELOWORDER,
                          "bundle SPK is a low-order");
}

static void test_initial_codec(void **state)
{
    (void)state;
    x3dh_initial m, d;
    uint8_t buf[200];
    size_t n = 0;
    memset(&m, 0, sizeof m);
    memset(m.ik, 0x41, 32);
    memset(m.ek, 0x42, 32);
    m.spk_id = 9;
    m.has_opk = true;
    m.opk_id = 77;
    assert_int_equal(x3dh_initial_encode_header(&m, buf, 75, &n), VEIL_ELIMIT);
    assert_int_equal(x3dh_initial_encode_header(&m, buf, sizeof buf, &n), 0);
    assert_int_equal(n, 76);
    static const uint8_t ids[] = { 0, 0, 0, 9, 0, 0, 0, 77 };
    assert_memory_equal(buf + 68, ids, 8);
    memset(buf + 76, 0xee, 20);
    assert_int_equal(x3dh_initial_decode(buf, 96, &d), 0);
    assert_memory_equal(d.ik, m.ik, 32);
    assert_memory_equal(d.ek, m.ek, 32);
    assert_int_equal(d.spk_id, 9);
    assert_true(d.has_opk);
    assert_int_equal(d.opk_id, 77);
    assert_ptr_equal(d.ct, buf + 76);
    assert_int_equal(d.ct_len, 20);
    assert_error(x3dh_initial_decode(buf, 91, &d), VEIL_ETRUNCATED,
                 "x3dh: initial message with an OPK id is 91 bytes, needs at least 92 (header 76 "
                 "+ tag 16)");
    assert_int_equal(x3dh_initial_decode(buf, 87, &d), VEIL_ETRUNCATED);
    buf[1] = 0x80;
    assert_error_contains(x3dh_initial_decode(buf, 96, &d), VEIL_EFORMAT,
                          "initial message flags 0x80 have unknown bits set");
    buf[1] = 0;
    assert_int_equal(x3dh_initial_decode(buf, 88, &d), 0); /* 72 + 16, no OPK id */
    assert_false(d.has_opk);
    assert_int_equal(d.ct_len, 16);
    buf[0] = 0;
    assert_int_equal(x3dh_initial_decode(buf, 88, &d), VEIL_EVERSION);
    assert_error_contains(x3dh_initial_decode(NULL, 5, &d), VEIL_EINVAL,
                          "initial message is NULL with length 5");
    /* One byte over the key agreement message limit. */
    static uint8_t big[VEIL_KA_MESSAGE_MAX + 1];
    assert_int_equal(x3dh_initial_encode_header(&m, big, sizeof big, &n), 0);
    assert_error_contains(x3dh_initial_decode(big, sizeof big, &d), VEIL_ELIMIT,
                          "initial message is 65536 bytes (limit 65535)");
}

static void test_ad(void **state)
{
    (void)state;
    uint8_t a[32], b[32], ad[X3DH_AD_MAX + 1], app[X3DH_APPENDIX_MAX + 1];
    size_t n = 0;
    memset(a, 0xaa, sizeof a);
    memset(b, 0xbb, sizeof b);
    memset(app, 0, sizeof app);
    memcpy(app, "v=1", 3);
    assert_int_equal(x3dh_make_ad(a, b, app, 3, ad, sizeof ad, &n), 0);
    assert_int_equal(n, 69);
    assert_int_equal(ad[0], 5);
    assert_memory_equal(ad + 1, a, 32);
    assert_int_equal(ad[33], 5);
    assert_memory_equal(ad + 34, b, 32);
    assert_memory_equal(ad + 66, "v=1", 3); /* IK_A || IK_B || appendix */
    assert_int_equal(x3dh_make_ad(a, b, app, X3DH_APPENDIX_MAX + 1, ad, sizeof ad, &n), VEIL_ELIMIT);
    assert_int_equal(x3dh_make_ad(a, b, NULL, 0, ad, 65, &n), VEIL_ELIMIT);
}

static int read_cfg(veil_config *cfg, x3dh_config *out)
{
    veil_config_scope s = { cfg, "key_agreement" };
    return x3dh_config_read(out, &s);
}

static void test_config(void **state)
{
    (void)state;
    veil_config *cfg = NULL;
    x3dh_config c;
    assert_int_equal(veil_config_new(&cfg), 0);
    assert_int_equal(read_cfg(cfg, &c), 0);
    assert_int_equal(c.info_len, strlen(X3DH_DEFAULT_INFO));
    assert_memory_equal(c.info, X3DH_DEFAULT_INFO, c.info_len);
    assert_int_equal(c.cipher_type, VEIL_SECRET_AES256GCM);
    assert_false(c.require_opk);
    assert_int_equal(veil_config_set(cfg, "key_agreement", "info", "MyProtocol"), 0);
    assert_int_equal(veil_config_set(cfg, "key_agreement", "cipher", "ChaChaPoly"), 0);
    assert_int_equal(veil_config_set(cfg, "key_agreement", "require_opk", "true"), 0);
    assert_int_equal(veil_config_set(cfg, "key_agreement", "ad_appendix", "app"), 0);
    assert_int_equal(read_cfg(cfg, &c), 0);
    assert_memory_equal(c.info, "MyProtocol", 10);
    assert_int_equal(c.info_len, 10);
    assert_int_equal(c.cipher_type, VEIL_SECRET_CHACHAPOLY);
    assert_true(c.require_opk);
    assert_int_equal(c.appendix_len, 3);
    assert_int_equal(veil_config_set(cfg, "key_agreement", "cipher", "AES128"), 0);
    assert_error_contains(read_cfg(cfg, &c), VEIL_ECONFIG, "cipher 'AES128' is unknown");
    assert_int_equal(veil_config_set(cfg, "key_agreement", "cipher", "aesgcm"), 0);
    assert_int_equal(veil_config_set(cfg, "key_agreement", "info", ""), 0);
    assert_error(read_cfg(cfg, &c), VEIL_ECONFIG,
                 "set by program: [key_agreement] info is 0 bytes, expected 1..255");
    assert_int_equal(veil_config_set(cfg, "key_agreement", "info", "i"), 0);
    assert_int_equal(veil_config_set(cfg, "key_agreement", "require_opk", "perhaps"), 0);
    assert_error(read_cfg(cfg, &c), VEIL_ECONFIG,
                 "set by program: [key_agreement] require_opk = 'perhaps': expected a boolean "
                 "(true/false, yes/no, on/off, 1/0)");
    assert_int_equal(veil_config_set(cfg, "key_agreement", "require_opk", "no"), 0);
    char longtext[X3DH_APPENDIX_MAX + 2];
    memset(longtext, 'a', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    assert_int_equal(veil_config_set(cfg, "key_agreement", "ad_appendix", longtext), 0);
    assert_error(read_cfg(cfg, &c), VEIL_ECONFIG,
                 "set by program: [key_agreement] ad_appendix is 1025 bytes (at most 1024)");
    longtext[X3DH_INFO_MAX + 1] = '\0';
    assert_int_equal(veil_config_unset(cfg, "key_agreement", "ad_appendix"), 0);
    assert_int_equal(veil_config_set(cfg, "key_agreement", "info", longtext), 0);
    assert_error(read_cfg(cfg, &c), VEIL_ECONFIG,
                 "set by program: [key_agreement] info is 256 bytes, expected 1..255");
    veil_config_free(cfg);
}

/* The module x3dh.so loaded by name (VEIL_PLUGIN_PATH): strict keys, and
 * its initiator (through veil_key_agreement_ops) against this program's
 * responder session (libx3dh-core and the in-test store) — two copies of
 * the code meeting through the wire format, the way two nodes do. */
static void test_plugin_ops(void **state)
{
    (void)state;
    noise_test_vault tv;
    veil_config *cfg = NULL;
    veil_plugin *p = NULL;
    assert_int_equal(noise_test_vault_open(&tv, TEST_CRYPTO), 0);
    veil_vault *v = tv.vault;
    assert_int_equal(veil_config_new(&cfg), 0);
    assert_int_equal(veil_config_set(cfg, "key_agreement", "plugin", "x3dh"), 0);
    assert_int_equal(veil_config_set(cfg, "key_agreement", "infos", "x"), 0);
    assert_error_contains(veil_plugin_open(cfg, "key_agreement", VEIL_PLUGIN_KEY_AGREEMENT, NULL, &p),
                          VEIL_ECONFIG, "unknown key 'infos'");
    assert_int_equal(veil_config_unset(cfg, "key_agreement", "infos"), 0);
    assert_int_equal(veil_config_set(cfg, "key_agreement", "cipher", "ChaChaPoly"), 0);
    if (veil_plugin_open(cfg, "key_agreement", VEIL_PLUGIN_KEY_AGREEMENT, NULL, &p) < 0)
        fail_msg("loading x3dh.so: %s", veil_last_error());
    const veil_key_agreement_ops *ops = veil_plugin_descriptor_of(p)->ops;
    veil_config_scope scope = { cfg, "key_agreement" };
    void *inst = NULL, *si = NULL;
    assert_int_equal(veil_config_set(cfg, "key_agreement", "cipher", "DES"), 0);
    assert_error_contains(ops->instance_new(veil_plugin_state(p), &scope, &inst), VEIL_ECONFIG,
                          "cipher 'DES'");
    assert_int_equal(veil_config_set(cfg, "key_agreement", "cipher", "ChaChaPoly"), 0);
    assert_int_equal(ops->instance_new(veil_plugin_state(p), &scope, &inst), 0);

    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = VEIL_SECRET_X25519;
    veil_secret ik_a = 0, ik_b = 0, spk = 0;
    assert_int_equal(veil_vault_generate(v, &a, &ik_a), 0);
    assert_int_equal(veil_vault_generate(v, &a, &ik_b), 0);
    assert_int_equal(veil_vault_generate(v, &a, &spk), 0);
    x3dh_bundle b;
    uint8_t bun[X3DH_BUNDLE_MAX], m[256], pl[256];
    size_t n = 0, got = 0;
    memset(&b, 0, sizeof b);
    b.spk_id = 3;
    assert_int_equal(veil_vault_public_key(v, spk, b.spk, 32, &n), 0);
    assert_int_equal(x3dh_bundle_sign(v, ik_b, &b), 0);
    assert_int_equal(x3dh_bundle_encode(&b, bun, sizeof bun, &n), 0);
    tstore_reset();
    assert_int_equal(tstore_add_spk(v, b.ik, 3, spk, false), 0);

    veil_ka_params pi, pr;
    memset(&pi, 0, sizeof pi);
    pi.size = sizeof pi;
    pi.role = VEIL_KA_INITIATOR;
    pi.vault = v;
    pi.local_static = ik_a;
    pi.peer_bundle = bun;
    pi.peer_bundle_len = n;
    pr = pi;
    pr.role = VEIL_KA_RESPONDER;
    pr.local_static = ik_b;
    pr.peer_bundle = NULL;
    pr.peer_bundle_len = 0;
    x3dh_config c;
    x3dh_config_default(&c);
    c.cipher_type = VEIL_SECRET_CHACHAPOLY;
    x3dh_session *sr = NULL;
    assert_int_equal(ops->session_new(inst, &pi, &si), 0);
    assert_int_equal(x3dh_session_new(&c, &pr, &sr), 0);
    assert_int_equal(ops->write_message(si, NULL, 0, m, sizeof m, &n), 0);
    assert_int_equal(x3dh_session_read(sr, m, n, m, n, &got), 0); /* in place */
    assert_int_equal(x3dh_session_write(sr, (const uint8_t *)"r", 1, m, sizeof m, &n), 0);
    assert_int_equal(ops->next_action(si), VEIL_KA_READ);
    assert_int_equal(ops->read_message(si, m, n, m, n, &got), 0);
    assert_int_equal(got, 1);
    assert_int_equal(ops->write_message(si, (const uint8_t *)"ii", 2, m, sizeof m, &n), 0);
    assert_int_equal(x3dh_session_read(sr, m, n, pl, sizeof pl, &got), 0);
    assert_memory_equal(pl, "ii", 2);
    assert_int_equal(ops->next_action(si), VEIL_KA_DONE);
    veil_ka_result ri, rr;
    assert_int_equal(ops->split(si, &ri), 0);
    assert_int_equal(x3dh_session_split(sr, &rr), 0);
    assert_int_equal(ri.nonce_format, VEIL_NONCE_ZERO32_LE64);
    assert_memory_equal(ri.handshake_hash, rr.handshake_hash, 32);
    assert_int_equal(ops->split(si, &ri), VEIL_ESTATE);
    /* Rekey through the module and here give the same key. */
    veil_secret k1 = 0, k2 = 0;
    assert_error_contains(ops->rekey(inst, NULL, ri.send_key, &k1), VEIL_EINVAL,
                          "rekey: vault, key and out must be set");
    assert_error_contains(ops->session_new(inst, &pi, NULL), VEIL_EINVAL,
                          "session_new: NULL argument");
    assert_int_equal(ops->rekey(inst, v, ri.send_key, &k1), 0);
    assert_int_equal(veil_key_agreement_rekey(NULL, v, rr.recv_key, &k2), 0);
    uint8_t nonce[VEIL_AEAD_NONCE_BYTES];
    veil_nonce_encode(ri.nonce_format, 1, nonce);
    memcpy(pl, "hi", 2);
    assert_int_equal(veil_vault_aead_encrypt(v, k1, nonce, NULL, 0, pl, 2), 0);
    assert_int_equal(veil_vault_aead_decrypt(v, k2, nonce, NULL, 0, pl, 18), 0);
    assert_memory_equal(pl, "hi", 2);
    assert_int_equal(tstore_open_refs(), 0);
    ops->session_free(si);
    x3dh_session_free(sr);
    ops->instance_free(inst);
    veil_plugin_close(p);
    veil_config_free(cfg);
    noise_test_vault_close(&tv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_bundle_codec),
        cmocka_unit_test(test_initial_codec),
        cmocka_unit_test(test_ad),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_plugin_ops),
    };
    return cmocka_run_group_tests_name("x3dh_codec", tests, NULL, NULL);
}
