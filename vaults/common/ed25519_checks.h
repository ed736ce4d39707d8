/* veil — checks on Ed25519 encodings (RFC 8032) that verification runs
 * before a library is asked, so that both backends' libraries answer the
 * same for every input (docs/VAULTS.md, "Strict Ed25519 verification";
 * docs/XEDDSA.md).  Byte comparisons on public data: no arithmetic, and
 * variable time.  Internal to the vault plugins. */
#ifndef VEIL_ED25519_CHECKS_H
#define VEIL_ED25519_CHECKS_H

#include <stdbool.h>
#include <stdint.h>

/* s < L, s a 256-bit little-endian scalar. */
bool veil_ed25519_scalar_canonical(const uint8_t s[32]);

/* The 255-bit y of an encoded point (bit 255, the sign of x, ignored) is
 * < p. */
bool veil_ed25519_y_canonical(const uint8_t enc[32]);

/* The 256-bit little-endian value of u is < p (bit 255 counts). */
bool veil_x25519_u_canonical(const uint8_t u[32]);

/* An encoding with canonical y is a point of small order (order 1, 2, 4
 * or 8) or one of their "-0" encodings: y is 0, 1, p - 1 or one of the two
 * y of the order-8 points (either sign bit). */
bool veil_ed25519_small_order(const uint8_t enc[32]);

#endif
