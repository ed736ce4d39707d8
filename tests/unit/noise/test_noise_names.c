/* Noise plugin: the protocol-name parser (every malformed name refused with
 * its reason, every supported one parsed) and the pattern table (each
 * pattern's tokens only use keys both sides have by then). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include "config.h"
#include "noise.h"

#include <stdio.h>
#include <string.h>

/* ---- name parser --------------------------------------------------- */

static void parse_fails(const char *name, const char *needle)
{
    noise_protocol p;
    assert_error_contains(noise_protocol_parse(name, &p), VEIL_EINVAL, needle);
}

static void test_parse_errors(void **state)
{
    (void)state;
    parse_fails("Nois_XX_25519_AESGCM_SHA256", "must start with 'Noise_'");
    parse_fails("Noise_QQ_25519_AESGCM_SHA256", "unknown handshake pattern 'QQ'");
    parse_fails("Noise_QQ_25519_AESGCM_SHA256", "accepted: N K X NN");
    parse_fails("Noise_XX_25518_AESGCM_SHA256", "unknown DH function '25518' (accepted: 25519, 448)");
    parse_fails("Noise_XX_25519_AES_SHA256", "unknown cipher 'AES' (accepted: AESGCM, ChaChaPoly)");
    parse_fails("Noise_XX_25519_AESGCM_SHA384", "unknown hash 'SHA384'");
    parse_fails("Noise_XX_25519_AESGCM_blake2b", "unknown hash 'blake2b'");
    parse_fails("Noise_XX_25519_AESGCM", "has 4 parts");
    parse_fails("Noise_XX_25519_AESGCM_SHA256_X", "too many");
    parse_fails("Noise__25519_AESGCM_SHA256", "empty part 2");
    parse_fails("Noise_XXfallback_25519_AESGCM_SHA256", "unknown pattern modifier 'fallback'");
    parse_fails("Noise_XXpsk4_25519_AESGCM_SHA256", "'psk4' out of range");
    parse_fails("Noise_XXpsk10_25519_AESGCM_SHA256", "'psk10' out of range");
    parse_fails("Noise_XXpsk1+psk1_25519_AESGCM_SHA256", "duplicate pattern modifier 'psk1'");
    parse_fails("Noise_NNpsk3_25519_AESGCM_SHA256", "psk3 needs message 3 but pattern NN has 2");
    parse_fails("Noise_Npsk2_25519_AESGCM_SHA256", "pattern N has 1 message");
    parse_fails("Noise_XXpsk0+_25519_AESGCM_SHA256", "empty pattern modifier");
    parse_fails("Noise_xx_25519_AESGCM_SHA256", "unknown handshake pattern ''");
    char longname[200];
    memset(longname, 'A', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    parse_fails(longname, "limit");
}

static void test_parse_ok(void **state)
{
    (void)state;
    noise_protocol p;
    assert_int_equal(noise_protocol_parse("Noise_XXpsk0+psk3_448_ChaChaPoly_BLAKE2b", &p), 0);
    assert_int_equal(p.dh_type, VEIL_SECRET_X448);
    assert_int_equal(p.dhlen, 56);
    assert_int_equal(p.cipher_type, VEIL_SECRET_CHACHAPOLY);
    assert_int_equal(p.nonce_format, VEIL_NONCE_ZERO32_LE64);
    assert_int_equal(p.hash_alg, VEIL_HASH_BLAKE2B);
    assert_int_equal(p.hashlen, 64);
    /* §9: psk0 first in message 1, psk3 last in message 3. */
    assert_int_equal(p.pattern.n_psks, 2);
    assert_int_equal(p.pattern.tokens[0][0], NOISE_TOK_PSK);
    assert_int_equal(p.pattern.tokens[0][1], NOISE_TOK_E);
    assert_int_equal(p.pattern.tokens[2][p.pattern.n_tokens[2] - 1], NOISE_TOK_PSK);
    assert_true(p.pattern.has_psk);
    assert_int_equal(noise_protocol_parse("Noise_NK1_25519_AESGCM_SHA512", &p), 0);
    assert_int_equal(p.nonce_format, VEIL_NONCE_ZERO32_BE64);
    assert_int_equal(p.hashlen, 64);
    assert_int_equal(noise_protocol_parse("Noise_Xpsk1_25519_AESGCM_BLAKE2s", &p), 0);
    assert_true(p.pattern.one_way);
    assert_int_equal(p.hashlen, 32);
}

/* The spec's 38 base patterns: 3 one-way, 12 fundamental, 23 deferred;
 * each one's tokens are consistent (every DH token after both keys). */
static void test_pattern_table(void **state)
{
    (void)state;
    assert_int_equal(noise_pattern_count(), 38);
    for (size_t i = 0; i < noise_pattern_count(); i++) {
        const noise_pattern_def *d = noise_pattern_at(i);
        noise_pattern p;
        assert_int_equal(noise_pattern_build(d, 0, &p), 0);
        bool have[2][2] = { { p.n_pre_init > 0, false }, { p.n_pre_resp > 0, false } };
        for (unsigned m = 0; m < p.n_messages; m++) {
            int who = p.one_way ? 0 : (int)(m % 2);
            for (unsigned t = 0; t < p.n_tokens[m]; t++) {
                int tok = p.tokens[m][t];
                if (tok == NOISE_TOK_E)
                    have[who][1] = true;
                else if (tok == NOISE_TOK_S)
                    have[who][0] = true;
                else if (tok == NOISE_TOK_EE)
                    assert_true(have[0][1] && have[1][1]);
                else if (tok == NOISE_TOK_ES)
                    assert_true(have[0][1] && have[1][0]);
                else if (tok == NOISE_TOK_SE)
                    assert_true(have[0][0] && have[1][1]);
                else if (tok == NOISE_TOK_SS)
                    assert_true(have[0][0] && have[1][0]);
            }
        }
        assert_ptr_equal(noise_pattern_find(d->name, strlen(d->name)), d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_pattern_table),
    };
    return cmocka_run_group_tests_name("noise_names", tests, NULL, NULL);
}
