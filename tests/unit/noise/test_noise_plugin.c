/* The noise plugin as a plugin: loaded through the real loader, configured
 * from a [key_agreement] section, driven only through
 * veil_key_agreement_ops (what the secure channel does). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include "noise-vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static noise_test_vault tv;

static const veil_key_agreement_ops *load(const char *text, veil_config **cfg, veil_plugin **p)
{
    assert_int_equal(veil_config_new_from_text(cfg, text, "<test>"), 0);
    if (veil_plugin_open(*cfg, "key_agreement", VEIL_PLUGIN_KEY_AGREEMENT, NULL, p) != 0)
        fail_msg("load noise: %s", veil_last_error());
    const veil_plugin_descriptor *d = veil_plugin_descriptor_of(*p);
    assert_string_equal(d->name, "noise");
    assert_int_equal(d->kind, VEIL_PLUGIN_KEY_AGREEMENT);
    const veil_key_agreement_ops *ops = d->ops;
    assert_true(ops->size >= sizeof(veil_key_agreement_ops));
    return ops;
}

static void test_bad_protocol_config(void **state)
{
    (void)state;
    veil_config *cfg = NULL;
    veil_plugin *p = NULL;
    const veil_key_agreement_ops *ops =
        load("[key_agreement]\nplugin = noise\nprotocol = Noise_XX_25519_AESGCM_SHA384\n", &cfg, &p);
    void *inst = NULL;
    veil_config_scope scope = { cfg, "key_agreement" };
    assert_error_contains(ops->instance_new(veil_plugin_state(p), &scope, &inst), VEIL_EINVAL,
                          "<test>:3");
    assert_last_error_contains("unknown hash 'SHA384'");
    assert_null(inst);
    veil_plugin_close(p);
    veil_config_free(cfg);
}

typedef struct peer {
    void *session;
    veil_ka_result res;
    veil_secret s;
} peer;

/* Both sides of an XX exchange through the ops (one-byte payloads), then
 * split; the handshake hashes must agree. */
static void drive_xx(const veil_key_agreement_ops *ops, peer *pe)
{
    uint8_t buf[512], pl[512];
    size_t n = 0, pn = 0;
    int turns = 0;
    while (ops->next_action(pe[0].session) != VEIL_KA_DONE) {
        int w = ops->next_action(pe[0].session) == VEIL_KA_WRITE ? 0 : 1;
        assert_int_equal(ops->next_action(pe[w].session), VEIL_KA_WRITE);
        assert_int_equal(ops->next_action(pe[1 - w].session), VEIL_KA_READ);
        assert_int_equal(ops->write_message(pe[w].session, (const uint8_t *)"p", 1, buf, sizeof(buf), &n), 0);
        assert_int_equal(ops->read_message(pe[1 - w].session, buf, n, pl, sizeof(pl), &pn), 0);
        assert_int_equal(pn, 1);
        turns++;
    }
    assert_int_equal(turns, 3);                        /* XX */
    assert_int_equal(ops->next_action(pe[1].session), VEIL_KA_DONE);
    for (int i = 0; i < 2; i++)
        assert_int_equal(ops->split(pe[i].session, &pe[i].res), 0);
    assert_int_equal(pe[0].res.handshake_hash_len, 32);
    assert_memory_equal(pe[0].res.handshake_hash, pe[1].res.handshake_hash, 32);
}

static void test_handshake_through_ops(void **state)
{
    (void)state;
    veil_config *cfg = NULL;
    veil_plugin *p = NULL;
    const veil_key_agreement_ops *ops =
        load("[key_agreement]\nplugin = noise\nprologue = veil-test\n", &cfg, &p);
    void *inst = NULL;
    veil_config_scope scope = { cfg, "key_agreement" };
    assert_int_equal(ops->instance_new(veil_plugin_state(p), &scope, &inst), 0);
    peer pe[2];
    memset(pe, 0, sizeof(pe));
    for (int i = 0; i < 2; i++) {
        veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
        assert_int_equal(veil_vault_generate(tv.vault, &a, &pe[i].s), 0);
        /* protocol NULL: the configured default, Noise_XX_25519_AESGCM_SHA256. */
        veil_ka_params prm = { .size = sizeof(prm), .role = i ? VEIL_KA_RESPONDER : VEIL_KA_INITIATOR,
                               .vault = tv.vault, .local_static = pe[i].s };
        assert_int_equal(ops->session_new(inst, &prm, &pe[i].session), 0);
    }
    drive_xx(ops, pe);
    uint8_t buf[512];
    assert_int_equal(pe[0].res.nonce_format, VEIL_NONCE_ZERO32_BE64);
    /* Each side's remote static is the other's public key. */
    uint8_t pub[32];
    size_t len = 0;
    assert_int_equal(veil_vault_public_key(tv.vault, pe[1].s, pub, sizeof(pub), &len), 0);
    assert_memory_equal(pe[0].res.remote_static, pub, 32);
    /* Transport through the vault, then ops->rekey on both sides. */
    uint8_t nonce[12];
    for (int round = 0; round < 2; round++) {
        memcpy(buf, "data", 4);
        veil_nonce_encode(pe[0].res.nonce_format, 0, nonce);
        assert_int_equal(veil_vault_aead_encrypt(tv.vault, pe[0].res.send_key, nonce, NULL, 0, buf, 4), 0);
        assert_int_equal(veil_vault_aead_decrypt(tv.vault, pe[1].res.recv_key, nonce, NULL, 0, buf, 20), 0);
        assert_memory_equal(buf, "data", 4);
        veil_secret k1 = 0, k2 = 0;
        assert_int_equal(ops->rekey(inst, tv.vault, pe[0].res.send_key, &k1), 0);
        assert_int_equal(ops->rekey(inst, tv.vault, pe[1].res.recv_key, &k2), 0);
        assert_int_equal(veil_vault_secret_destroy(tv.vault, pe[0].res.send_key), 0);
        assert_int_equal(veil_vault_secret_destroy(tv.vault, pe[1].res.recv_key), 0);
        pe[0].res.send_key = k1;
        pe[1].res.recv_key = k2;
    }
    for (int i = 0; i < 2; i++) {
        ops->session_free(pe[i].session);
        assert_int_equal(veil_vault_secret_destroy(tv.vault, pe[i].res.send_key), 0);
        assert_int_equal(veil_vault_secret_destroy(tv.vault, pe[i].res.recv_key), 0);
        assert_int_equal(veil_vault_secret_destroy(tv.vault, pe[i].s), 0);
    }
    ops->instance_free(inst);
    veil_plugin_close(p);
    veil_config_free(cfg);
}

/* An ABI 1.0 caller's veil_ka_params ends before peer_bundle: the plugin
 * must accept that size and read nothing past it (the initiator's params
 * sit in a heap block of exactly that size, so ASan/valgrind see any
 * over-read); one byte less is refused with the size named. */
static void test_abi_1_0_params(void **state)
{
    (void)state;
    const size_t v1 = offsetof(veil_ka_params, peer_bundle);
    veil_config *cfg = NULL;
    veil_plugin *p = NULL;
    const veil_key_agreement_ops *ops = load("[key_agreement]\nplugin = noise\n", &cfg, &p);
    void *inst = NULL;
    veil_config_scope scope = { cfg, "key_agreement" };
    assert_int_equal(ops->instance_new(veil_plugin_state(p), &scope, &inst), 0);
    peer pe[2];
    memset(pe, 0, sizeof(pe));
    veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
    for (int i = 0; i < 2; i++)
        assert_int_equal(veil_vault_generate(tv.vault, &a, &pe[i].s), 0);
    veil_ka_params full = { .size = sizeof(full), .role = VEIL_KA_INITIATOR, .vault = tv.vault,
                            .local_static = pe[0].s };
    unsigned char *old = malloc(v1); /* set through memcpy: it is no whole struct */
    assert_non_null(old);
    memcpy(old, &full, v1);
    size_t sz = v1 - 1;
    memcpy(old + offsetof(veil_ka_params, size), &sz, sizeof sz);
    void *s = (void *)1;
    assert_int_equal(ops->session_new(inst, (const veil_ka_params *)(void *)old, &s), VEIL_EINVAL);
    char want[64];
    snprintf(want, sizeof want, "veil_ka_params.size is %zu, expected at least %zu", v1 - 1, v1);
    assert_last_error_contains(want);
    assert_ptr_equal(s, (void *)1);
    sz = v1;
    memcpy(old + offsetof(veil_ka_params, size), &sz, sizeof sz);
    assert_int_equal(ops->session_new(inst, (const veil_ka_params *)(void *)old, &pe[0].session), 0);
    free(old);
    full.role = VEIL_KA_RESPONDER;
    full.local_static = pe[1].s;
    assert_int_equal(ops->session_new(inst, &full, &pe[1].session), 0);
    drive_xx(ops, pe);
    for (int i = 0; i < 2; i++) {
        ops->session_free(pe[i].session);
        assert_int_equal(veil_vault_secret_destroy(tv.vault, pe[i].res.send_key), 0);
        assert_int_equal(veil_vault_secret_destroy(tv.vault, pe[i].res.recv_key), 0);
        assert_int_equal(veil_vault_secret_destroy(tv.vault, pe[i].s), 0);
    }
    ops->instance_free(inst);
    veil_plugin_close(p);
    veil_config_free(cfg);
}

static int setup(void **state)
{
    (void)state;
    if (noise_test_vault_open(&tv, "openssl") == 0 || noise_test_vault_open(&tv, "sodium") == 0)
        return 0;
    fprintf(stderr, "no software vault: %s\n", veil_last_error());
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    noise_test_vault_close(&tv);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_protocol_config),
        cmocka_unit_test(test_handshake_through_ops),
        cmocka_unit_test(test_abi_1_0_params),
    };
    return cmocka_run_group_tests_name("noise plugin", tests, setup, teardown);
}
