/* Signatures: Ed25519 with Ed25519 keys (backend), ECDSA P-256 with P-256
 * keys (p256.c: OpenSSL on both backends), XEdDSA with X25519 keys
 * (xeddsa.c: our construction over libsodium's group operations, SHA-512
 * and Ed25519 verification from the backend).
 *
 * Verification is strict and identical on every backend: before the
 * library is asked, the core refuses
 *   - s >= L (non-canonical scalar, RFC 8032 §5.1.7 step 1),
 *   - R or A whose y is not canonical (y >= p), or that encodes x = 0 with
 *     the sign bit set ("-0"),
 *   - R or A of small order (y in {0, 1, p-1} or one of the two order-8
 *     y values),
 * so that libsodium (which refuses these itself) and OpenSSL (which does
 * not all of them) give the same answer for every input
 * (ed25519_checks.c; XEdDSA's own order of checks is in xeddsa.c). */
#include "config.h"

#include <string.h>

#include <veil/error.h>

#include "core_internal.h"
#include "ed25519_checks.h"
#include "p256.h"
#include "xeddsa.h"

/* Why an encoded point is refused, or NULL. */
static const char *bad_point(const uint8_t enc[32])
{
    if (!veil_ed25519_y_canonical(enc))
        return "y is not canonical (y >= p)";
    if (veil_ed25519_small_order(enc))
        return "it has small order";
    return NULL;
}

static int ed25519_strict(const uint8_t *pk, const uint8_t sig[64])
{
    const char *why;
    if (!veil_ed25519_scalar_canonical(sig + 32))
        return veil_error_set(VEIL_EAUTH, "verify: signature scalar s is not canonical (s >= L)");
    if ((why = bad_point(sig)) != NULL)
        return veil_error_set(VEIL_EAUTH, "verify: signature point R refused: %s", why);
    if ((why = bad_point(pk)) != NULL)
        return veil_error_set(VEIL_EAUTH, "verify: Ed25519 public key A refused: %s", why);
    return 0;
}

/* XEdDSA hooks over the vault's backend (ctx: the vault). */
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

static int ed25519_verify_cb(void *ctx, const uint8_t sig[64], const uint8_t A[32],
                             const uint8_t *msg, size_t len)
{
    vc_vault *v = ctx;
    return v->be->ed25519_verify(sig, A, msg, len);
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
    if (e->attrs.type == VEIL_SECRET_P256)
        return vc_p256_sign(vc_bytes(v, e), vc_pub(e), msg, len, sig);
    if (e->attrs.type != VEIL_SECRET_X25519)
        return vc_type_error(v, e, "sign", "ed25519, p256 or x25519");
    const veil_xeddsa_hooks hooks = { sha512_cb, ed25519_verify_cb, v };
    uint8_t z[64];
    if ((rc = v->be->random(z, sizeof z)) == 0)
        rc = veil_xeddsa_sign(vc_bytes(v, e), msg, len, z, &hooks, sig);
    veil__memzero(z, sizeof z);
    return rc;
}

int vc_op_verify(void *vault, int key_type, const uint8_t *public_key, size_t public_len,
                 const uint8_t *msg, size_t len, const uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    vc_vault *v = vault;
    int rc;
    if (key_type == VEIL_SECRET_P256)
        return vc_p256_verify(public_key, public_len, msg, len, sig);
    if (key_type != VEIL_SECRET_ED25519 && key_type != VEIL_SECRET_X25519)
        return veil_error_set(VEIL_ETYPE, "verify: key type %s, expected ed25519, p256 or x25519",
                              veil_secret_type_name(key_type));
    if (public_len != 32)
        return veil_error_set(VEIL_EINVAL, "verify: public key is %zu bytes, expected 32",
                              public_len);
    if (key_type == VEIL_SECRET_X25519) {
        const veil_xeddsa_hooks hooks = { sha512_cb, ed25519_verify_cb, v };
        return veil_xeddsa_verify(public_key, msg, len, sig, &hooks);
    }
    if ((rc = ed25519_strict(public_key, sig)) != 0)
        return rc;
    return v->be->ed25519_verify(sig, public_key, msg, len);
}
