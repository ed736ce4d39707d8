/* veil — XEdDSA over Curve25519 (Signal's spec, revision 1, section 3).
 *
 *   calculate_key_pair(k): E = kB; A.y = E.y, A.s = 0;
 *                          a = -k mod q if E.s == 1 else k mod q
 *   sign(k, M, Z):  r = hash_1(a || M || Z) mod q; R = rB;
 *                   h = hash(R || A || M) mod q; s = r + h a mod q
 *   verify(u, M, R || s): reject u >= p, R.y not canonical, s >= 2^253
 *                   (and s >= L); A = convert_mont(u), reject if not on
 *                   the curve (and if of small order);
 *                   accept iff R == encode(sB - hA)
 * where hash_1(X) = SHA-512(0xFE || 0xFF * 31 || X) (2^256 - 1 - 1 as 32
 * little-endian bytes) and hash = SHA-512.  Why we are stricter than the
 * spec in two places is explained in docs/XEDDSA.md. */
#include "xeddsa.h"
#include "ed25519_ge.h"

#include <veil/error.h>

#include <string.h>

static const uint8_t HASH1_PREFIX[32] = {
    0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* A zero-length message may come as NULL; hand the hash a valid pointer. */
static const uint8_t *msg_ptr(const uint8_t *msg) { return msg ? msg : (const uint8_t *)""; }

int veil_xeddsa_sign(const uint8_t x25519_private[32], const uint8_t *msg,
                     size_t len, const uint8_t random64[64], veil_sha512_fn sha512,
                     void *sha_ctx, uint8_t sig[64])
{
    uint8_t k[32], a[32], neg_a[32], A[32], nonce_hash[64], r[32], R[32];
    uint8_t h_hash[64], h[32], s[32];
    veil_ge E, Rp;
    unsigned sign;
    int rc;

    if (!x25519_private || (!msg && len) || !random64 || !sha512 || !sig)
        return veil_error_set(VEIL_EINVAL, "xeddsa_sign: NULL argument");

    /* calculate_key_pair: the X25519 clamp, then E = kB. */
    memcpy(k, x25519_private, 32);
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
    veil_ge_scalarmult_base(&E, k);
    veil_ge_tobytes(A, &E);
    sign = (unsigned)(A[31] >> 7); /* says something about k: no branch */
    A[31] &= 0x7f;
    veil_sc_reduce32(a, k);
    veil_sc_neg(neg_a, a);
    veil_sc_cmov(a, neg_a, sign);

    const veil_iovec nonce_parts[4] = {
        {HASH1_PREFIX, 32}, {a, 32}, {msg_ptr(msg), len}, {random64, 64}};
    rc = sha512(sha_ctx, nonce_parts, 4, nonce_hash);
    if (rc < 0) {
        rc = veil_error_wrap(rc, "xeddsa_sign: hashing the nonce");
        goto out;
    }
    veil_sc_reduce64(r, nonce_hash);
    veil_ge_scalarmult_base(&Rp, r);
    veil_ge_tobytes(R, &Rp);

    const veil_iovec h_parts[3] = {{R, 32}, {A, 32}, {msg_ptr(msg), len}};
    rc = sha512(sha_ctx, h_parts, 3, h_hash);
    if (rc < 0) {
        rc = veil_error_wrap(rc, "xeddsa_sign: hashing R || A || M");
        goto out;
    }
    veil_sc_reduce64(h, h_hash);
    veil_sc_muladd(s, h, a, r);
    memcpy(sig, R, 32);
    memcpy(sig + 32, s, 32);
    rc = 0;
out:
    /* k, a, -a, the nonce hash, r and the points E = kB, R = rB. */
    explicit_bzero(k, sizeof(k));
    explicit_bzero(a, sizeof(a));
    explicit_bzero(neg_a, sizeof(neg_a));
    explicit_bzero(nonce_hash, sizeof(nonce_hash));
    explicit_bzero(r, sizeof(r));
    explicit_bzero(s, sizeof(s));
    explicit_bzero(&E, sizeof(E));
    explicit_bzero(&Rp, sizeof(Rp));
    return rc;
}

/* Compare 32 bytes without an early exit. */
static int bytes32_equal(const uint8_t *x, const uint8_t *y)
{
    unsigned d = 0;
    for (int i = 0; i < 32; i++)
        d |= (unsigned)(x[i] ^ y[i]);
    return d == 0;
}

/* The spec's first step: range checks on u, R.y and s. */
static int check_ranges(const uint8_t u[32], const uint8_t sig[64])
{
    if ((u[31] & 0x80) || !veil_fe_bytes_canonical(u))
        return veil_error_set(VEIL_EAUTH, "xeddsa_verify: public key u >= p "
                              "(not a canonical field element)");
    if (!veil_fe_bytes_canonical(sig))
        return veil_error_set(VEIL_EAUTH, "xeddsa_verify: R.y not canonical (R.y >= p)");
    if (sig[63] & 0xe0)
        return veil_error_set(VEIL_EAUTH, "xeddsa_verify: s >= 2^253 (top byte 0x%02x)",
                              sig[63]);
    if (!veil_sc_is_canonical(sig + 32))
        return veil_error_set(VEIL_EAUTH, "xeddsa_verify: s >= L (non-canonical scalar)");
    return 0;
}

int veil_xeddsa_verify(const uint8_t x25519_public[32], const uint8_t *msg,
                       size_t len, const uint8_t sig[64], veil_sha512_fn sha512,
                       void *sha_ctx)
{
    uint8_t A[32], h_hash[64], h[32], check[32];
    veil_ge Ap, neg_A, Rc;
    int rc;

    if (!x25519_public || (!msg && len) || !sig || !sha512)
        return veil_error_set(VEIL_EINVAL, "xeddsa_verify: NULL argument");
    rc = check_ranges(x25519_public, sig);
    if (rc < 0)
        return rc;

    /* A = convert_mont(u): y = (u - 1) / (u + 1), sign bit 0. */
    veil_ge_mont_to_edwards_y(A, x25519_public);
    if (veil_ge_frombytes(&Ap, A, 1) != 0)
        return veil_error_set(VEIL_EAUTH, "xeddsa_verify: A not on curve "
                              "(u is a point of the twist)");
    if (veil_ge_has_small_order(&Ap))
        return veil_error_set(VEIL_EAUTH, "xeddsa_verify: A has small order "
                              "(low-order public key)");

    const veil_iovec h_parts[3] = {{sig, 32}, {A, 32}, {msg_ptr(msg), len}};
    rc = sha512(sha_ctx, h_parts, 3, h_hash);
    if (rc < 0)
        return veil_error_wrap(rc, "xeddsa_verify: hashing R || A || M");
    veil_sc_reduce64(h, h_hash);

    /* Rcheck = sB - hA, compared with R by encoding. */
    veil_ge_neg(&neg_A, &Ap);
    veil_ge_double_scalarmult_vartime(&Rc, sig + 32, h, &neg_A);
    veil_ge_tobytes(check, &Rc);
    if (!bytes32_equal(check, sig))
        return veil_error_set(VEIL_EAUTH, "xeddsa_verify: signature mismatch "
                              "(R != sB - hA)");
    return 0;
}
