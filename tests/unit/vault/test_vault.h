/* Shared by the vault conformance suite's two files: the fixture each test
 * receives, helpers, and the known-answer tests of tests/kat/test_vault_kat_*.c. */
#ifndef VEIL_TEST_VAULT_H
#define VEIL_TEST_VAULT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/error.h>
#include <veil/key_agreement.h>
#include <veil/node.h>
#include <veil/plugin.h>
#include <veil/vault.h>

typedef struct vault_case {
    const char *plugin;
    const char *config;   /* the [vault] section's text */
    bool has_x448;
} vault_case;

typedef struct fixture {
    const vault_case *vc;
    veil_config *cfg;
    veil_plugin *plugin;
    veil_vault *v;
} fixture;

#define V(state) (((fixture *)*(state))->v)

size_t unhex(const char *hex, uint8_t *out, size_t cap);
veil_secret_attrs attrs_of(int type, uint16_t len, bool exportable);
veil_secret import_hex(veil_vault *v, int type, const char *hex, bool exportable);
void assert_secret_hex(veil_vault *v, veil_secret s, const char *hex);
/* The thread's error detail mentions needle (fails the test otherwise). */
bool is_zero(const uint8_t *p, size_t n);

/* tests/kat/test_vault_kat_{hash,dh,aead}.c */
void test_hash_abc(void **state);
void test_hash_streaming(void **state);
void test_hmac_rfc4231(void **state);
void test_hkdf_rfc5869(void **state);
void test_hkdf_typed_outputs(void **state);
void test_x25519_rfc7748_vectors(void **state);
void test_x25519_rfc7748_iterated(void **state);
void test_x25519_rfc7748_dh(void **state);
void test_x25519_low_order(void **state);
void test_x448(void **state);
void test_ed25519_rfc8032(void **state);
void test_ed25519_strict(void **state);
void test_xeddsa_sign_verify(void **state);
void test_xeddsa_vectors(void **state);
void test_chachapoly_rfc8439(void **state);
void test_aesgcm_spec(void **state);
void test_aead_many_keys(void **state);
/* tests/kat/test_vault_kat_p256.c */
void test_p256_rfc6979(void **state);
void test_p256_generate_sign(void **state);
void test_p256_strict(void **state);

/* test_vault_records.c */
void test_records_basic(void **state);
void test_records_arguments(void **state);
void test_records_limits(void **state);
void test_records_persist(void **state);

#endif
