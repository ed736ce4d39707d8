/* Shared by the XEdDSA tests (test_xeddsa, tests/kat/test_xeddsa_kat,
 * tests/interop/test_xeddsa_interop): the two backends' hooks straight on
 * their libraries, the hooks of the running test, and the test's own
 * libsodium-based references (clamping, X25519 and Edwards keys, scalar
 * reduction, libxeddsa's signer variant). */
#ifndef VEIL_TESTS_XEDDSA_TEST_H
#define VEIL_TESTS_XEDDSA_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <veil/error.h>
#include "ed25519_checks.h"
#include "xeddsa.h"

#define ORACLE_ROUNDS 1000

/* p = 2^255 - 19 and L, little-endian. */
extern const uint8_t P_BYTES[32], L_BYTES[32];

extern const veil_xeddsa_hooks sodium_hooks, openssl_hooks;
/* The hooks of the test running (its prestate: see BOTH). */
extern const veil_xeddsa_hooks *hk;
void use_hooks(void **state);

/* A test run once per backend's hooks. */
#define BOTH(f)                                                         \
    { #f " (sodium)", f, NULL, NULL, (void *)&sodium_hooks },           \
    { #f " (openssl)", f, NULL, NULL, (void *)&openssl_hooks }

int sodium_sha512(void *ctx, const veil_iovec *parts, size_t n, uint8_t out[64]);
int failing_sha512(void *ctx, const veil_iovec *parts, size_t n, uint8_t out[64]);
int failing_verify(void *ctx, const uint8_t sig[64], const uint8_t A[32], const uint8_t *m,
                   size_t len);
/* 1 when OpenSSL's Ed25519 accepts, 0 when not. */
int openssl_ed25519_ok(const uint8_t sig[64], const uint8_t A[32], const uint8_t *m, size_t len);

void add256(uint8_t out[32], const uint8_t a[32], const uint8_t b[32]);
void clamp(uint8_t k[32]);
void our_x25519_public(uint8_t u[32], const uint8_t priv[32]);
void edwards_of(uint8_t E[32], const uint8_t priv[32]);
int ed_sign_bit(const uint8_t priv[32]);
void reduce32(uint8_t out[32], const uint8_t in[32]);
/* veil_xeddsa_verify with the running test's hooks. */
int verify(const uint8_t pub[32], const uint8_t *m, size_t len, const uint8_t sig[64]);
/* rc is VEIL_EAUTH with a detail containing detail. */
void assert_rejected(int rc, const char *detail);
/* libxeddsa's signer (see xeddsa_test.c). */
void sign_libxeddsa_variant(const uint8_t priv[32], const uint8_t *m, size_t len,
                            const uint8_t z[64], uint8_t sig[64]);

/* A random key, message of len bytes and nonce, signed with our signer and
 * the running hooks. */
typedef struct case_t {
    uint8_t priv[32], pub[32], msg[80], z[64], sig[64];
    size_t len;
} case_t;
void make_case(case_t *c, size_t len);

#endif
