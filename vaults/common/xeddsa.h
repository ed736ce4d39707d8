/* veil — XEdDSA over Curve25519 (Signal's "The XEdDSA and VXEdDSA Signature
 * Schemes", revision 1, 2016-10-20, section 3; VXEdDSA is not implemented).
 *
 * Signs with an X25519 private key and verifies with an X25519 public key,
 * producing signatures any Ed25519 verifier accepts under the converted
 * key.  SHA-512 comes from the calling vault backend (libsodium or
 * OpenSSL) through veil_sha512_fn; the group arithmetic is ed25519_ge.c, so
 * both backends produce identical bytes.  See docs/XEDDSA.md. */
#ifndef VEIL_XEDDSA_H
#define VEIL_XEDDSA_H

#include <veil/vault.h>

/* SHA-512 of the concatenation of parts[0..n); 0 on success, a negative
 * VEIL_E* code (with a detail set) on failure. */
typedef int (*veil_sha512_fn)(void *ctx, const veil_iovec *parts, size_t n,
                              uint8_t out[64]);

/* xeddsa_sign(k, M, Z): k is the X25519 private key (clamped here the way
 * X25519 clamps it), Z is 64 bytes of fresh random data.  Constant time in
 * the key and nonce; every secret intermediate is wiped.  Returns 0, or
 * VEIL_EINVAL for NULL arguments, or the hash callback's error. */
int veil_xeddsa_sign(const uint8_t x25519_private[32], const uint8_t *msg,
                     size_t len, const uint8_t random64[64], veil_sha512_fn sha512,
                     void *sha_ctx, uint8_t sig[64]);

/* xeddsa_verify(u, M, R || s): 0 when valid; VEIL_EAUTH when not, with a
 * detail naming the failed check ("u >= p", "R.y not canonical",
 * "s >= 2^253", "s >= L", "A not on curve", "A has small order",
 * "signature mismatch"); VEIL_EINVAL for NULL arguments; or the hash
 * callback's error.  Variable time (all inputs are public). */
int veil_xeddsa_verify(const uint8_t x25519_public[32], const uint8_t *msg,
                       size_t len, const uint8_t sig[64], veil_sha512_fn sha512,
                       void *sha_ctx);

#endif
