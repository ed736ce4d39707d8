/* veil — XEdDSA over Curve25519 (Signal's "The XEdDSA and VXEdDSA Signature
 * Schemes", revision 1, 2016-10-20, section 3; VXEdDSA is not implemented).
 *
 * Signs with an X25519 private key and verifies with an X25519 public key,
 * producing signatures any Ed25519 verifier accepts under the converted
 * key.  The construction is ours; every operation under it comes from a
 * library: the edwards25519 group and scalar operations of signing from
 * libsodium (whichever backend the vault uses: OpenSSL exposes none),
 * SHA-512 and the Ed25519 verification from the calling vault's backend
 * (hooks below), and the Montgomery-to-Edwards conversion of the public
 * key from OpenSSL's BIGNUM.  Both backends produce identical bytes.  See
 * docs/XEDDSA.md. */
#ifndef VEIL_XEDDSA_H
#define VEIL_XEDDSA_H

#include <veil/vault.h>

/* What XEdDSA takes from the calling vault.  Each returns 0 or a negative
 * VEIL_E* code with a detail set. */
typedef struct veil_xeddsa_hooks {
    /* SHA-512 of the concatenation of parts[0..n) (signing). */
    int (*sha512)(void *ctx, const veil_iovec *parts, size_t n, uint8_t out[64]);
    /* RFC 8032 Ed25519 verification of sig over msg under the Edwards
     * public key A (verification): VEIL_EAUTH when it fails. */
    int (*ed25519_verify)(void *ctx, const uint8_t sig[64], const uint8_t A[32],
                          const uint8_t *msg, size_t len);
    void *ctx;
} veil_xeddsa_hooks;

/* xeddsa_sign(k, M, Z): k is the X25519 private key (clamped here the way
 * X25519 clamps it), Z is 64 bytes of fresh random data.  Constant time in
 * the key and nonce (libsodium's group and scalar code); every secret
 * intermediate is wiped.  Returns 0, VEIL_EINVAL for NULL arguments, the
 * sha512 hook's error, or VEIL_EUNSUPPORTED when libsodium cannot be
 * initialised; sig is written only on success. */
int veil_xeddsa_sign(const uint8_t x25519_private[32], const uint8_t *msg, size_t len,
                     const uint8_t random64[64], const veil_xeddsa_hooks *hooks,
                     uint8_t sig[64]);

/* xeddsa_verify(u, M, R || s): 0 when valid; VEIL_EAUTH when not, with a
 * detail naming the failed check ("u >= p", "R.y not canonical",
 * "s >= 2^253", "s >= L", "A not on curve", "A has small order",
 * "R has small order", "signature mismatch"); VEIL_EINVAL for NULL
 * arguments; VEIL_ENOMEM; or the ed25519_verify hook's other errors.
 * Variable time (all inputs are public). */
int veil_xeddsa_verify(const uint8_t x25519_public[32], const uint8_t *msg, size_t len,
                       const uint8_t sig[64], const veil_xeddsa_hooks *hooks);

/* The spec's convert_mont(u) for a canonical u (< p, bit 255 clear): the
 * Edwards encoding with y = (u - 1) / (u + 1) mod p (inv(0) = 0, so u = -1
 * gives y = 0) and sign bit 0, computed with OpenSSL's BIGNUM.  0, or
 * VEIL_EAUTH "u >= p" / "A not on curve" (no x satisfies the curve
 * equation for that y: u is a point of the twist), or VEIL_ENOMEM. */
int veil_xeddsa_convert_mont(uint8_t A[32], const uint8_t u[32]);

#endif
