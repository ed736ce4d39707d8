/* The small helpers every part of veil compiles in: libveil's layers and
 * the plugins, vaults and policies of this tree.  Byte order, hex,
 * wiping, constant-time comparison and dropping vault secrets, each
 * written once here.
 *
 * Everything is static inline: no symbol is defined, so a plugin that
 * includes this links nothing it would not link anyway, and nothing here
 * becomes ABI.  Not installed: out-of-tree plugins use the public
 * veil_memzero / veil_memcmp_ct (<veil/plugin.h>) instead. */
#ifndef VEIL_HELPERS_H
#define VEIL_HELPERS_H

#include <veil/error.h>
#include <veil/vault.h>

#include <stdint.h>
#include <string.h>

/* ---- byte order: big-endian (network order, every veil wire format) ---- */

static inline void veil__store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline uint16_t veil__load_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void veil__store_be32(uint8_t *p, uint32_t v)
{
    veil__store_be16(p, (uint16_t)(v >> 16));
    veil__store_be16(p + 2, (uint16_t)v);
}

static inline uint32_t veil__load_be32(const uint8_t *p)
{
    return (uint32_t)veil__load_be16(p) << 16 | veil__load_be16(p + 2);
}

static inline void veil__store_be64(uint8_t *p, uint64_t v)
{
    veil__store_be32(p, (uint32_t)(v >> 32));
    veil__store_be32(p + 4, (uint32_t)v);
}

static inline uint64_t veil__load_be64(const uint8_t *p)
{
    return (uint64_t)veil__load_be32(p) << 32 | veil__load_be32(p + 4);
}

/* Little-endian: only Noise's ChaChaPoly nonce counter uses it. */
static inline void veil__store_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- wiping and comparing ------------------------------------------------ */

/* Wipe memory in a way the compiler may not elide (NULL ok when n is 0). */
static inline void veil__memzero(void *p, size_t n)
{
    if (p != NULL && n > 0)
        explicit_bzero(p, n);
}

/* 0 when the n bytes are equal, 1 otherwise; time depends only on n. */
static inline int veil__memcmp_ct(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t acc = 0;

    /* No early exit: every byte is visited whatever the data. */
    for (size_t i = 0; i < n; i++)
        acc |= (uint8_t)(x[i] ^ y[i]);
    return acc != 0;
}

/* Destroy a vault secret and clear the handle (nothing to do when it is
 * 0).  Returns what the destroy returned, for callers that log a failure;
 * cleanup paths ignore it (the secret is then already gone, or dies with
 * its vault). */
static inline int veil__secret_drop(veil_vault *v, veil_secret *s)
{
    int rc = 0;
    if (*s != 0)
        rc = veil_vault_secret_destroy(v, *s);
    *s = 0;
    return rc;
}

/* ---- hex ------------------------------------------------------------------- */

/* Lower-case hex of n bytes into out (which holds 2n+1 chars, NUL-terminated). */
static inline void veil__hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

/* The value of a hex digit (either case), or -1. */
static inline int veil__hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode a NUL-terminated hex string (either case) into out[0..cap).
 * VEIL_EFORMAT on odd length or a non-hex character (the detail names the
 * character and its offset, counted from 0), VEIL_ELIMIT when the result
 * exceeds cap.  len may be NULL. */
static inline int veil__hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = strlen(hex);

    if (n % 2 != 0)
        return veil_error_set(VEIL_EFORMAT, "hex string has odd length %zu", n);
    if (n / 2 > cap)
        return veil_error_set(VEIL_ELIMIT, "hex string decodes to %zu bytes, room for %zu",
                              n / 2, cap);
    for (size_t i = 0; i < n; i += 2) {
        int hi = veil__hex_digit(hex[i]);
        int lo = veil__hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            size_t at = hi < 0 ? i : i + 1;
            unsigned char c = (unsigned char)hex[at];
            if (c >= 0x20 && c < 0x7f)
                return veil_error_set(VEIL_EFORMAT, "bad hex character '%c' at offset %zu", c,
                                      at);
            return veil_error_set(VEIL_EFORMAT, "bad hex character 0x%02x at offset %zu", c, at);
        }
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    if (len != NULL)
        *len = n / 2;
    return 0;
}

#endif
