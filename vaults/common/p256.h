/* ECDSA P-256 with SHA-256 from OpenSSL, for every vault and both crypto
 * backends (libsodium has no P-256: the sodium backend takes it from
 * OpenSSL, as it takes BLAKE2s).  docs/PROTOCOL.md, "Identity key types",
 * is the normative text of the encodings:
 *   private key  32-byte big-endian scalar d, 1 <= d < n
 *   public key   33-byte SEC1 compressed point (0x02 | 0x03) || x
 *   signature    r || s, 32 bytes each, big-endian, 1 <= r < n and
 *                1 <= s <= (n-1)/2 ("low S": signers normalise, verifiers
 *                refuse the other half, so a signature is not malleable)
 * Every function sets the error detail on failure. */
#ifndef VEIL_VAULT_P256_H
#define VEIL_VAULT_P256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <veil/vault.h>

#define VC_P256_HIDDEN __attribute__((visibility("hidden")))
#define VC_P256_SCALAR_BYTES 32u
/* Largest SEC1 point accepted from a token (uncompressed, 0x04 || x || y). */
#define VC_P256_SEC1_MAX 65u

/* 1 <= d < n. */
VC_P256_HIDDEN bool vc_p256_scalar_valid(const uint8_t d[VC_P256_SCALAR_BYTES]);
/* pub = compressed d*G; VEIL_EINVAL when d is out of range. */
VC_P256_HIDDEN int vc_p256_public(const uint8_t d[VC_P256_SCALAR_BYTES],
                                  uint8_t pub[VEIL_P256_PUBLIC_BYTES]);
/* ECDSA over SHA-256(msg), random nonce (OpenSSL's), low S. */
VC_P256_HIDDEN int vc_p256_sign(const uint8_t d[VC_P256_SCALAR_BYTES],
                                const uint8_t pub[VEIL_P256_PUBLIC_BYTES], const uint8_t *msg,
                                size_t len, uint8_t sig[VEIL_SIGNATURE_BYTES]);
/* 0 valid; VEIL_EFORMAT when pub is not a compressed point of the curve;
 * VEIL_EAUTH for a signature out of range (r or s zero or >= n, high S) or
 * that does not verify. */
VC_P256_HIDDEN int vc_p256_verify(const uint8_t *pub, size_t pub_len, const uint8_t *msg,
                                  size_t len, const uint8_t sig[VEIL_SIGNATURE_BYTES]);
/* A signature r || s made elsewhere (a token's CKM_ECDSA): checked to be
 * in range and normalised to low S in place (VEIL_EAUTH when out of range). */
VC_P256_HIDDEN int vc_p256_sig_normalize(uint8_t sig[VEIL_SIGNATURE_BYTES]);
/* A SEC1 point (compressed or uncompressed, as tokens give it), checked
 * to be on the curve and not the point at infinity, compressed into out
 * (VEIL_EFORMAT otherwise). */
VC_P256_HIDDEN int vc_p256_compress(const uint8_t *point, size_t len,
                                    uint8_t out[VEIL_P256_PUBLIC_BYTES]);

#endif
