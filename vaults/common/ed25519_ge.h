/* veil — GF(2^255-19), edwards25519 group and scalars mod L.
 *
 * Written for XEdDSA (see docs/XEDDSA.md): OpenSSL exposes no edwards25519
 * point arithmetic, so both vault backends share this one implementation.
 *
 * Field elements use radix 2^51 (five 64-bit limbs, 128-bit products).
 * Every function that may see secret data runs in constant time: no branch
 * and no memory index depends on a secret.  Functions marked "variable
 * time" are only for public data (signature verification).
 *
 * Internal to the vault plugins: nothing here is exported from libveil. */
#ifndef VEIL_ED25519_GE_H
#define VEIL_ED25519_GE_H

#include <stdint.h>
#include <stddef.h>

/* An element of GF(p), p = 2^255 - 19: value = sum v[i] * 2^(51 i).
 * Limbs may exceed 2^51 slightly between operations (see ed25519_ge.c). */
typedef struct veil_fe {
    uint64_t v[5];
} veil_fe;

/* A point of edwards25519 -x^2 + y^2 = 1 + d x^2 y^2 in extended
 * coordinates: x = X/Z, y = Y/Z, x*y = T/Z. */
typedef struct veil_ge {
    veil_fe X, Y, Z, T;
} veil_ge;

/* ---- field ------------------------------------------------------------ */
void veil_fe_0(veil_fe *h);
void veil_fe_1(veil_fe *h);
void veil_fe_copy(veil_fe *h, const veil_fe *f);
void veil_fe_add(veil_fe *h, const veil_fe *f, const veil_fe *g);
void veil_fe_sub(veil_fe *h, const veil_fe *f, const veil_fe *g);
void veil_fe_neg(veil_fe *h, const veil_fe *f);
void veil_fe_mul(veil_fe *h, const veil_fe *f, const veil_fe *g);
void veil_fe_sq(veil_fe *h, const veil_fe *f);
/* f^(p-2): the inverse of f, and 0 for f = 0 (the spec's inv()). */
void veil_fe_invert(veil_fe *h, const veil_fe *f);
/* f^((p-5)/8), used for square roots. */
void veil_fe_pow22523(veil_fe *h, const veil_fe *f);
/* Fully reduced (canonical) little-endian encoding, bit 255 = 0. */
void veil_fe_tobytes(uint8_t s[32], const veil_fe *f);
/* Loads bits 0..254 (bit 255 ignored); the value may be >= p. */
void veil_fe_frombytes(veil_fe *h, const uint8_t s[32]);
/* 1 when the 255-bit value of s[0..31] (bit 255 ignored) is < p. */
int veil_fe_bytes_canonical(const uint8_t s[32]);
/* Constant time: h = g when b == 1, unchanged when b == 0. */
void veil_fe_cmov(veil_fe *h, const veil_fe *g, unsigned b);
/* Constant time: swap f and g when b == 1. */
void veil_fe_cswap(veil_fe *f, veil_fe *g, unsigned b);
/* Low bit of the canonical value ("sign" / negative). */
int veil_fe_isnegative(const veil_fe *f);
/* 1 when f == 0 mod p (constant time). */
int veil_fe_iszero(const veil_fe *f);

/* ---- group ------------------------------------------------------------ */
void veil_ge_identity(veil_ge *p);
void veil_ge_base(veil_ge *p);
/* r = p + q (complete formula: any two points, identity included). */
void veil_ge_add(veil_ge *r, const veil_ge *p, const veil_ge *q);
void veil_ge_dbl(veil_ge *r, const veil_ge *p);
void veil_ge_neg(veil_ge *r, const veil_ge *p);
void veil_ge_cmov(veil_ge *r, const veil_ge *p, unsigned b);
/* RFC 8032 encoding: canonical y, bit 255 = low bit of x. */
void veil_ge_tobytes(uint8_t s[32], const veil_ge *p);
/* RFC 8032 decoding.  Returns 0 on success, -1 when y >= p (only checked
 * when strict is non-zero; otherwise y is taken mod p), -2 when no x with
 * the curve equation exists (not on the curve), -3 when x = 0 but the sign
 * bit is 1.  Variable time (public data only). */
int veil_ge_frombytes(veil_ge *p, const uint8_t s[32], int strict);
/* 1 when p is the neutral element (constant time). */
int veil_ge_is_identity(const veil_ge *p);
/* 1 when 8p is the neutral element: p has order 1, 2, 4 or 8. */
int veil_ge_has_small_order(const veil_ge *p);
/* r = a*B for a 256-bit little-endian scalar a (any value, not reduced).
 * Constant time: fixed 4-bit windows over a once-built table of
 * j * 16^i * B; every entry of a row is read for each nibble. */
void veil_ge_scalarmult_base(veil_ge *r, const uint8_t a[32]);
/* r = a*B + b*P.  Variable time: public scalars and points only. */
void veil_ge_double_scalarmult_vartime(veil_ge *r, const uint8_t a[32],
                                       const uint8_t b[32], const veil_ge *p);

/* ---- conversions ------------------------------------------------------ */
/* Montgomery u -> Edwards y = (u - 1) / (u + 1) (inv(0) = 0, so u = -1
 * gives y = 0), as canonical bytes with bit 255 (the sign) = 0.  u is read
 * mod 2^255 (bit 255 ignored), like the spec's convert_mont. */
void veil_ge_mont_to_edwards_y(uint8_t y[32], const uint8_t u[32]);
/* Edwards y -> Montgomery u = (1 + y) / (1 - y) (bit 255 of y ignored). */
void veil_ge_edwards_y_to_mont(uint8_t u[32], const uint8_t y[32]);

/* ---- scalars mod L = 2^252 + 27742317777372353535851937790883648493 --- */
/* out = in (512-bit little-endian) mod L.  Constant time. */
void veil_sc_reduce64(uint8_t out[32], const uint8_t in[64]);
/* out = in (256-bit little-endian) mod L.  Constant time. */
void veil_sc_reduce32(uint8_t out[32], const uint8_t in[32]);
/* out = (a*b + c) mod L for 256-bit inputs.  Constant time. */
void veil_sc_muladd(uint8_t out[32], const uint8_t a[32], const uint8_t b[32],
                    const uint8_t c[32]);
/* out = -a mod L for a < L (constant time). */
void veil_sc_neg(uint8_t out[32], const uint8_t a[32]);
/* out = b ? g : out, 32 bytes (constant time). */
void veil_sc_cmov(uint8_t out[32], const uint8_t g[32], unsigned b);
/* 1 when s < L (variable time: for public signature scalars). */
int veil_sc_is_canonical(const uint8_t s[32]);

#endif
