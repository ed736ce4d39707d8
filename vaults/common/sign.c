/* Signatures: Ed25519 with Ed25519 keys (backend), XEdDSA with X25519 keys
 * (xeddsa.c, our own constant-time code, SHA-512 from the backend).
 *
 * Verification is strict and identical on every backend: before the
 * library is asked, the core refuses
 *   - s >= L (non-canonical scalar, RFC 8032 §5.1.7 step 1),
 *   - R or A whose y is not canonical (y >= p), or that encodes x = 0 with
 *     the sign bit set ("-0"),
 *   - R or A of small order (y in {0, 1, p-1} or one of the two order-8
 *     y values),
 * so that libsodium (which refuses these itself) and OpenSSL (which does
 * not all of them) give the same answer for every input. */
#include "config.h"

#include <string.h>

#include <veil/error.h>

#include "core_internal.h"
#include "xeddsa.h"

/* L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
static const uint8_t ed_L[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

/* y coordinates (little-endian, sign bit clear) of the small-order points of
 * edwards25519: 0 (order 4), 1 (identity), p-1 (order 2) and the two y of
 * the order-8 points (computed as [L]P for points P, checked in tests). */
static const uint8_t small_order_y[5][32] = {
    { 0 },
    { 1 },
    { 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
    { 0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
      0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05 },
    { 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
      0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a },
};

/* a < b for 32-byte little-endian numbers (public data: variable time). */
static bool lt_le(const uint8_t *a, const uint8_t *b)
{
    for (int i = 31; i >= 0; i--)
        if (a[i] != b[i])
            return a[i] < b[i];
    return false;
}

/* Why an encoded point is refused, or NULL. */
static const char *bad_point(const uint8_t enc[32])
{
    uint8_t y[32];
    memcpy(y, enc, 32);
    y[31] &= 0x7f;
    static const uint8_t p[32] = {
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
    };
    if (!lt_le(y, p))
        return "y is not canonical (y >= p)";
    for (size_t i = 0; i < 5; i++)
        if (memcmp(y, small_order_y[i], 32) == 0)
            return "it has small order";
    return NULL;
}

static int ed25519_strict(const uint8_t *pk, const uint8_t sig[64])
{
    const char *why;
    if (!lt_le(sig + 32, ed_L))
        return veil_error_set(VEIL_EAUTH, "verify: signature scalar s is not canonical (s >= L)");
    if ((why = bad_point(sig)) != NULL)
        return veil_error_set(VEIL_EAUTH, "verify: signature point R refused: %s", why);
    if ((why = bad_point(pk)) != NULL)
        return veil_error_set(VEIL_EAUTH, "verify: Ed25519 public key A refused: %s", why);
    return 0;
}

/* SHA-512 callback for xeddsa.c, over the backend's streaming hash (ctx:
 * the vault). */
static int sha512_cb(void *ctx, const veil_iovec *parts, size_t n, uint8_t out[64])
{
    vc_vault *v = ctx;
    const vc_backend *be = v->be;
    vc_hash h;
    int rc = be->hash_init(&h, v->hash_pool, VEIL_HASH_SHA512);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].len > 0 && (rc = be->hash_update(&h, parts[i].data, parts[i].len)) != 0) {
            be->hash_abort(&h);
            return rc;
        }
    }
    return be->hash_final(&h, out);
}

int vc_op_sign(void *vault, veil_secret key, const uint8_t *msg, size_t len,
               uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    vc_vault *v = vault;
    vc_entry *e = NULL;
    int rc = vc_lookup(v, key, "sign", &e);
    if (rc != 0)
        return rc;
    if (e->attrs.type == VEIL_SECRET_ED25519)
        return v->be->ed25519_sign(sig, vc_bytes(v, e), vc_pub(e), msg, len);
    if (e->attrs.type != VEIL_SECRET_X25519)
        return vc_type_error(v, e, "sign", "ed25519 or x25519");
    uint8_t z[64];
    if ((rc = v->be->random(z, sizeof z)) == 0)
        rc = veil_xeddsa_sign(vc_bytes(v, e), msg, len, z, sha512_cb, v, sig);
    v->be->memzero(z, sizeof z);
    return rc;
}

int vc_op_verify(void *vault, int key_type, const uint8_t *public_key, size_t public_len,
                 const uint8_t *msg, size_t len, const uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    vc_vault *v = vault;
    int rc;
    if (key_type != VEIL_SECRET_ED25519 && key_type != VEIL_SECRET_X25519)
        return veil_error_set(VEIL_ETYPE, "verify: key type %s, expected ed25519 or x25519",
                              veil_secret_type_name(key_type));
    if (public_len != 32)
        return veil_error_set(VEIL_EINVAL, "verify: public key is %zu bytes, expected 32",
                              public_len);
    if (key_type == VEIL_SECRET_X25519)
        return veil_xeddsa_verify(public_key, msg, len, sig, sha512_cb, v);
    if ((rc = ed25519_strict(public_key, sig)) != 0)
        return rc;
    return v->be->ed25519_verify(sig, public_key, msg, len);
}
