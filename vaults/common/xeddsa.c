/* veil — XEdDSA over Curve25519 (Signal's spec, revision 1, section 3).
 *
 *   calculate_key_pair(k): E = kB; A.y = E.y, A.s = 0;
 *                          a = -k mod q if E.s == 1 else k mod q
 *   sign(k, M, Z):  r = hash_1(a || M || Z) mod q; R = rB;
 *                   h = hash(R || A || M) mod q; s = r + h a mod q
 *   verify(u, M, R || s): reject u >= p, R.y not canonical, s >= 2^253
 *                   (and s >= L); A = convert_mont(u), reject if not on
 *                   the curve (and A or R of small order);
 *                   accept iff R == encode(sB - hA)
 * where hash_1(X) = SHA-512(0xFE || 0xFF * 31 || X) (2^256 - 1 - 1 as 32
 * little-endian bytes) and hash = SHA-512.  The group and scalar
 * operations are libsodium's, the field arithmetic of convert_mont is
 * OpenSSL's BIGNUM, the last step is the library's Ed25519 verification.
 * Why we are stricter than the spec in three places is explained in
 * docs/XEDDSA.md. */
#include "xeddsa.h"
#include "ed25519_checks.h"
#include "helpers.h"

#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <sodium.h>

#include <veil/error.h>

static const uint8_t HASH1_PREFIX[32] = {
    0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* A zero-length message may come as NULL; hand the hash a valid pointer. */
static const uint8_t *msg_ptr(const uint8_t *msg) { return msg ? msg : (const uint8_t *)""; }

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ready;

static void init_sodium(void)
{
    sodium_ready = sodium_init() >= 0;
}

/* a = b ? y : x over 32 bytes, without a branch on b (0 or 1). */
static void select32(uint8_t out[32], const uint8_t x[32], const uint8_t y[32], unsigned b)
{
    uint8_t mask = (uint8_t)(0u - b);
    for (int i = 0; i < 32; i++)
        out[i] = (uint8_t)(x[i] ^ (mask & (x[i] ^ y[i])));
}

/* out = in mod q for a 32-byte in (libsodium reduces 64 bytes). */
static void reduce32(uint8_t out[32], const uint8_t in[32])
{
    uint8_t wide[64] = { 0 };
    memcpy(wide, in, 32);
    crypto_core_ed25519_scalar_reduce(out, wide);
    veil__memzero(wide, sizeof wide);
}

int veil_xeddsa_sign(const uint8_t x25519_private[32], const uint8_t *msg, size_t len,
                     const uint8_t random64[64], const veil_xeddsa_hooks *hooks,
                     uint8_t sig[64])
{
    uint8_t k[32], E[32], a[32], neg_a[32], A[32], nonce_hash[64], r[32], R[32];
    uint8_t h_hash[64], h[32], ha[32], s[32];
    int rc;

    if (!x25519_private || (!msg && len) || !random64 || !hooks || !hooks->sha512 || !sig)
        return veil_error_set(VEIL_EINVAL, "xeddsa_sign: NULL argument");
    pthread_once(&sodium_once, init_sodium);
    if (!sodium_ready)
        return veil_error_set(VEIL_EUNSUPPORTED, "xeddsa_sign: sodium_init() failed");

    /* calculate_key_pair: the X25519 clamp, then E = kB (never the
     * identity: k is a non-zero multiple of 8 below 8L). */
    memcpy(k, x25519_private, 32);
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
    if (crypto_scalarmult_ed25519_base_noclamp(E, k) != 0) {
        rc = veil_error_set(VEIL_EINVAL, "xeddsa_sign: kB is the identity");
        goto out;
    }
    memcpy(A, E, 32);
    A[31] &= 0x7f;
    reduce32(a, k);
    crypto_core_ed25519_scalar_negate(neg_a, a);
    select32(a, a, neg_a, (unsigned)(E[31] >> 7)); /* the sign of kB: no branch */

    const veil_iovec nonce_parts[4] = {
        {HASH1_PREFIX, 32}, {a, 32}, {msg_ptr(msg), len}, {random64, 64}};
    if ((rc = hooks->sha512(hooks->ctx, nonce_parts, 4, nonce_hash)) < 0) {
        rc = veil_error_wrap(rc, "xeddsa_sign: hashing the nonce");
        goto out;
    }
    crypto_core_ed25519_scalar_reduce(r, nonce_hash);
    /* r = 0 (probability 2^-252) would make R the identity: refused. */
    if (crypto_scalarmult_ed25519_base_noclamp(R, r) != 0) {
        rc = veil_error_set(VEIL_EINVAL, "xeddsa_sign: the nonce r reduced to 0");
        goto out;
    }

    const veil_iovec h_parts[3] = {{R, 32}, {A, 32}, {msg_ptr(msg), len}};
    if ((rc = hooks->sha512(hooks->ctx, h_parts, 3, h_hash)) < 0) {
        rc = veil_error_wrap(rc, "xeddsa_sign: hashing R || A || M");
        goto out;
    }
    crypto_core_ed25519_scalar_reduce(h, h_hash);
    crypto_core_ed25519_scalar_mul(ha, h, a);
    crypto_core_ed25519_scalar_add(s, ha, r);
    memcpy(sig, R, 32);
    memcpy(sig + 32, s, 32);
    rc = 0;
out:
    /* k, kB (its sign bit says something about k), a, -a, the nonce hash,
     * r, h a and s. */
    veil__memzero(k, sizeof k);
    veil__memzero(E, sizeof E);
    veil__memzero(a, sizeof a);
    veil__memzero(neg_a, sizeof neg_a);
    veil__memzero(nonce_hash, sizeof nonce_hash);
    veil__memzero(r, sizeof r);
    veil__memzero(ha, sizeof ha);
    veil__memzero(s, sizeof s);
    return rc;
}

/* p = 2^255 - 19 and d = -121665 / 121666 mod p, made once from their
 * definitions (RFC 7748 section 4.1) and only read after that. */
static BIGNUM *bn_p, *bn_d;
static pthread_once_t consts_once = PTHREAD_ONCE_INIT;

static void make_consts(void)
{
    BN_CTX *c = BN_CTX_new();
    BIGNUM *p = BN_new(), *d = BN_new(), *t = BN_new();
    int ok = c && p && d && t && BN_set_word(p, 1) && BN_lshift(p, p, 255) &&
             BN_sub_word(p, 19) && BN_set_word(t, 121666) && BN_mod_inverse(d, t, p, c) &&
             BN_set_word(t, 121665) && BN_sub(t, p, t) && BN_mod_mul(d, d, t, p, c);
    BN_free(t);
    BN_CTX_free(c);
    if (!ok) {
        BN_free(p);
        BN_free(d);
        return;
    }
    bn_p = p;
    bn_d = d;
}

/* The plugin can be dlclosed: give the constants back then. */
__attribute__((destructor)) static void free_consts(void)
{
    BN_free(bn_p);
    BN_free(bn_d);
}

/* y = (u - 1) / (u + 1) into y, and whether some x satisfies the curve
 * equation -x^2 + y^2 = 1 + d x^2 y^2, i.e. whether
 * x^2 = (y^2 - 1) / (d y^2 + 1) is a square mod p (the denominator is never
 * 0: -1/d is not a square).  Its Jacobi symbol is that of the product of
 * numerator and denominator.  1 on curve, 0 off, -1 on failure. */
static int mont_to_edwards(BIGNUM *y, const BIGNUM *u, BN_CTX *c)
{
    BIGNUM *num = BN_CTX_get(c), *den = BN_CTX_get(c), *t = BN_CTX_get(c);
    if (t == NULL || !BN_mod_sub(num, u, BN_value_one(), bn_p, c) ||
        !BN_mod_add(den, u, BN_value_one(), bn_p, c))
        return -1;
    if (BN_is_zero(den))
        BN_zero(y); /* inv(0) = 0 */
    else if (!BN_mod_inverse(den, den, bn_p, c) || !BN_mod_mul(y, num, den, bn_p, c))
        return -1;
    if (!BN_mod_sqr(t, y, bn_p, c) || !BN_mod_sub(num, t, BN_value_one(), bn_p, c) ||
        !BN_mod_mul(den, t, bn_d, bn_p, c) || !BN_mod_add(den, den, BN_value_one(), bn_p, c) ||
        !BN_mod_mul(t, num, den, bn_p, c))
        return -1;
    int j = BN_kronecker(t, bn_p, c);
    return j == -2 ? -1 : j != -1;
}

/* convert_mont; who names the caller in the details. */
static int convert(uint8_t A[32], const uint8_t u[32], const char *who)
{
    if (!veil_x25519_u_canonical(u))
        return veil_error_set(VEIL_EAUTH, "%s: public key u >= p "
                              "(not a canonical field element)", who);
    pthread_once(&consts_once, make_consts);
    BN_CTX *c = bn_p != NULL ? BN_CTX_new() : NULL;
    if (c == NULL)
        return veil_error_set(VEIL_ENOMEM, "%s: out of memory for the key conversion", who);
    BN_CTX_start(c);
    BIGNUM *bu = BN_CTX_get(c), *y = BN_CTX_get(c);
    int on = y == NULL || !BN_lebin2bn(u, 32, bu) ? -1 : mont_to_edwards(y, bu, c);
    int rc;
    if (on < 0 || BN_bn2lebinpad(y, A, 32) != 32)
        rc = veil_error_set(VEIL_ENOMEM, "%s: the key conversion failed (BIGNUM)", who);
    else if (on == 0)
        rc = veil_error_set(VEIL_EAUTH, "%s: A not on curve (u is a point of the twist)", who);
    else
        rc = 0;
    BN_CTX_end(c);
    BN_CTX_free(c);
    return rc;
}

int veil_xeddsa_convert_mont(uint8_t A[32], const uint8_t u[32])
{
    return convert(A, u, "xeddsa_convert_mont");
}

/* The spec's first step: range checks on u, R.y and s. */
static int check_ranges(const uint8_t u[32], const uint8_t sig[64])
{
    if (!veil_x25519_u_canonical(u))
        return veil_error_set(VEIL_EAUTH, "xeddsa_verify: public key u >= p "
                              "(not a canonical field element)");
    if (!veil_ed25519_y_canonical(sig))
        return veil_error_set(VEIL_EAUTH, "xeddsa_verify: R.y not canonical (R.y >= p)");
    if (sig[63] & 0xe0)
        return veil_error_set(VEIL_EAUTH, "xeddsa_verify: s >= 2^253 (top byte 0x%02x)",
                              sig[63]);
    if (!veil_ed25519_scalar_canonical(sig + 32))
        return veil_error_set(VEIL_EAUTH, "xeddsa_verify: s >= L (non-canonical scalar)");
    return 0;
}

int veil_xeddsa_verify(const uint8_t x25519_public[32], const uint8_t *msg, size_t len,
                       const uint8_t sig[64], const veil_xeddsa_hooks *hooks)
{
    uint8_t A[32];
    int rc;

    if (!x25519_public || (!msg && len) || !sig || !hooks || !hooks->ed25519_verify)
        return veil_error_set(VEIL_EINVAL, "xeddsa_verify: NULL argument");
    if ((rc = check_ranges(x25519_public, sig)) < 0)
        return rc;
    if ((rc = convert(A, x25519_public, "xeddsa_verify")) < 0)
        return rc;
    if (veil_ed25519_small_order(A))
        return veil_error_set(VEIL_EAUTH, "xeddsa_verify: A has small order "
                              "(low-order public key)");
    if (veil_ed25519_small_order(sig))
        return veil_error_set(VEIL_EAUTH, "xeddsa_verify: R has small order");
    /* R == encode(sB - hA), h = SHA-512(R || A || M) mod q: exactly what
     * an RFC 8032 verifier computes for the key A. */
    rc = hooks->ed25519_verify(hooks->ctx, sig, A, msg_ptr(msg), len);
    if (rc == VEIL_EAUTH)
        return veil_error_set(VEIL_EAUTH, "xeddsa_verify: signature mismatch "
                              "(R != sB - hA)");
    return rc;
}
