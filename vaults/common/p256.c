/* ECDSA P-256 with SHA-256, every operation from OpenSSL (p256.h).  Our
 * part is only the encodings: the compressed point, the fixed r || s
 * signature (converted from and to the DER OpenSSL speaks) and the range
 * and low-S checks, with OpenSSL's BIGNUM comparisons. */
#include "config.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <veil/error.h>

#include "p256.h"

#define CURVE_NAME "prime256v1"
#define DER_SIG_MAX 80u

static int ossl_fail(const char *what)
{
    ERR_clear_error();
    return veil_error_set(VEIL_ENOMEM, "P-256: OpenSSL failed in %s (out of memory?)", what);
}

static EC_GROUP *group_new(void)
{
    return EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
}

/* 1 <= x < n (half: 1 <= x <= (n-1)/2). */
static bool in_range(const EC_GROUP *g, const BIGNUM *x, bool half, BN_CTX *ctx)
{
    const BIGNUM *n = EC_GROUP_get0_order(g);
    if (BN_is_zero(x) || BN_is_negative(x) || BN_cmp(x, n) >= 0)
        return false;
    if (!half)
        return true;
    BIGNUM *h = BN_CTX_get(ctx);
    return h != NULL && BN_rshift1(h, n) && BN_cmp(x, h) <= 0;
}

bool vc_p256_scalar_valid(const uint8_t d[VC_P256_SCALAR_BYTES])
{
    EC_GROUP *g = group_new();
    BIGNUM *k = BN_secure_new();
    bool ok = g != NULL && k != NULL && BN_bin2bn(d, VC_P256_SCALAR_BYTES, k) != NULL &&
              in_range(g, k, false, NULL);
    BN_clear_free(k);
    EC_GROUP_free(g);
    return ok;
}

int vc_p256_public(const uint8_t d[VC_P256_SCALAR_BYTES], uint8_t pub[VEIL_P256_PUBLIC_BYTES])
{
    EC_GROUP *g = group_new();
    BN_CTX *ctx = BN_CTX_secure_new();
    BIGNUM *k = BN_secure_new();
    EC_POINT *p = g != NULL ? EC_POINT_new(g) : NULL;
    int rc = 0;
    if (p == NULL || ctx == NULL || k == NULL || BN_bin2bn(d, VC_P256_SCALAR_BYTES, k) == NULL)
        rc = ossl_fail("allocating a key");
    else if (!in_range(g, k, false, NULL))
        rc = veil_error_set(VEIL_EINVAL, "P-256: private scalar out of range (expected "
                            "1 <= d < n)");
    else if (!EC_POINT_mul(g, p, k, NULL, NULL, ctx) ||
             EC_POINT_point2oct(g, p, POINT_CONVERSION_COMPRESSED, pub, VEIL_P256_PUBLIC_BYTES,
                                ctx) != VEIL_P256_PUBLIC_BYTES)
        rc = ossl_fail("computing the public key");
    EC_POINT_clear_free(p);
    BN_clear_free(k);
    BN_CTX_free(ctx);
    EC_GROUP_free(g);
    return rc;
}

/* An EC key of the curve from pub (and d when not NULL). */
static int pkey_new(const uint8_t *d, const uint8_t *pub, size_t pub_len, EVP_PKEY **out)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    BIGNUM *k = d != NULL ? BN_secure_new() : NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    int rc = 0;
    *out = NULL;
    if (b == NULL || pc == NULL || (d != NULL && k == NULL) ||
        (k != NULL && BN_bin2bn(d, VC_P256_SCALAR_BYTES, k) == NULL) ||
        !OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, CURVE_NAME, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len) ||
        (k != NULL && !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, k)) ||
        (params = OSSL_PARAM_BLD_to_param(b)) == NULL || EVP_PKEY_fromdata_init(pc) <= 0 ||
        EVP_PKEY_fromdata(pc, out, k != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                          params) <= 0)
        rc = ossl_fail("making a key object");
    OSSL_PARAM_free(params);   /* the private scalar was in secure memory (k is secure) */
    EVP_PKEY_CTX_free(pc);
    BN_clear_free(k);
    OSSL_PARAM_BLD_free(b);
    return rc;
}

/* r || s (fixed) from a DER ECDSA-Sig-Value, normalised to low S. */
static int sig_from_der(const uint8_t *der, size_t der_len, uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (es == NULL)
        return ossl_fail("decoding its own signature");
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(es, &r, &s);
    int rc = 0;
    if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32)
        rc = ossl_fail("encoding a signature");
    ECDSA_SIG_free(es);
    return rc != 0 ? rc : vc_p256_sig_normalize(sig);
}

int vc_p256_sign(const uint8_t d[VC_P256_SCALAR_BYTES], const uint8_t pub[VEIL_P256_PUBLIC_BYTES],
                 const uint8_t *msg, size_t len, uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    EVP_PKEY *key = NULL;
    uint8_t der[DER_SIG_MAX];
    size_t der_len = sizeof der;
    int rc = pkey_new(d, pub, VEIL_P256_PUBLIC_BYTES, &key);
    if (rc != 0)
        return rc;
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    if (mc == NULL || EVP_DigestSignInit_ex(mc, NULL, "SHA256", NULL, NULL, key, NULL) <= 0 ||
        EVP_DigestSign(mc, der, &der_len, msg, len) <= 0)
        rc = ossl_fail("signing");
    EVP_MD_CTX_free(mc);
    EVP_PKEY_free(key);
    return rc != 0 ? rc : sig_from_der(der, der_len, sig);
}

/* Both halves in range (s in the low half unless any_s); rs gets them. */
static int sig_check(const EC_GROUP *g, const uint8_t sig[VEIL_SIGNATURE_BYTES], bool any_s,
                     BN_CTX *ctx, BIGNUM *r, BIGNUM *s)
{
    if (BN_bin2bn(sig, 32, r) == NULL || BN_bin2bn(sig + 32, 32, s) == NULL)
        return ossl_fail("decoding a signature");
    if (!in_range(g, r, false, ctx))
        return veil_error_set(VEIL_EAUTH, "verify: P-256 signature r is out of range "
                              "(expected 1 <= r < n)");
    if (!in_range(g, s, !any_s, ctx))
        return veil_error_set(VEIL_EAUTH, "verify: P-256 signature s is out of range "
                              "(expected 1 <= s <= (n-1)/2: low S only)");
    return 0;
}

int vc_p256_sig_normalize(uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    EC_GROUP *g = group_new();
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *r = BN_new(), *s = BN_new();
    int rc = 0;
    if (g == NULL || ctx == NULL || r == NULL || s == NULL) {
        rc = ossl_fail("allocating");
    } else {
        BN_CTX_start(ctx);
        rc = sig_check(g, sig, true, ctx, r, s);
        if (rc == 0 && !in_range(g, s, true, ctx) &&
            (!BN_sub(s, EC_GROUP_get0_order(g), s) || BN_bn2binpad(s, sig + 32, 32) != 32))
            rc = ossl_fail("normalising a signature");
        BN_CTX_end(ctx);
    }
    BN_free(r);
    BN_free(s);
    BN_CTX_free(ctx);
    EC_GROUP_free(g);
    return rc;
}

/* A point of the curve from SEC1 bytes: not infinity, on the curve. */
static int point_decode(const EC_GROUP *g, const uint8_t *enc, size_t len, EC_POINT *p,
                        BN_CTX *ctx)
{
    if (len == 0 || (enc[0] == 0x00))
        return veil_error_set(VEIL_EFORMAT, "P-256 public key: the point at infinity");
    if (EC_POINT_oct2point(g, p, enc, len, ctx) != 1 || EC_POINT_is_at_infinity(g, p) ||
        EC_POINT_is_on_curve(g, p, ctx) != 1) {
        ERR_clear_error();   /* OpenSSL's reasons are ours to give, not to leave queued */
        return veil_error_set(VEIL_EFORMAT, "P-256 public key: %zu bytes starting 0x%02x are "
                              "not a point of the curve (SEC1, x and y < p, on the curve)",
                              len, enc[0]);
    }
    return 0;
}

int vc_p256_compress(const uint8_t *point, size_t len, uint8_t out[VEIL_P256_PUBLIC_BYTES])
{
    EC_GROUP *g = group_new();
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT *p = g != NULL ? EC_POINT_new(g) : NULL;
    int rc = 0;
    if (p == NULL || ctx == NULL)
        rc = ossl_fail("allocating");
    else if (len != VEIL_P256_PUBLIC_BYTES && len != VC_P256_SEC1_MAX)
        rc = veil_error_set(VEIL_EFORMAT, "P-256 public key: %zu bytes (expected a SEC1 point "
                            "of 33 or 65 bytes)", len);
    else if ((rc = point_decode(g, point, len, p, ctx)) == 0 &&
             EC_POINT_point2oct(g, p, POINT_CONVERSION_COMPRESSED, out, VEIL_P256_PUBLIC_BYTES,
                                ctx) != VEIL_P256_PUBLIC_BYTES)
        rc = ossl_fail("compressing a point");
    EC_POINT_free(p);
    BN_CTX_free(ctx);
    EC_GROUP_free(g);
    return rc;
}

/* The checked key and the DER form of sig. */
static int verify_prepare(const uint8_t *pub, size_t pub_len,
                          const uint8_t sig[VEIL_SIGNATURE_BYTES], EVP_PKEY **key,
                          uint8_t der[DER_SIG_MAX], size_t *der_len)
{
    EC_GROUP *g = group_new();
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT *p = g != NULL ? EC_POINT_new(g) : NULL;
    BIGNUM *r = BN_new(), *s = BN_new();
    ECDSA_SIG *es = ECDSA_SIG_new();
    int rc = 0;
    if (p == NULL || ctx == NULL || r == NULL || s == NULL || es == NULL)
        rc = ossl_fail("allocating");
    else if (pub_len != VEIL_P256_PUBLIC_BYTES || (pub[0] != 0x02 && pub[0] != 0x03))
        rc = veil_error_set(VEIL_EFORMAT, "P-256 public key: %zu bytes starting 0x%02x "
                            "(expected 33 bytes, SEC1 compressed: 0x02 or 0x03 || x)", pub_len,
                            pub_len > 0 ? pub[0] : 0);
    if (rc == 0) {
        BN_CTX_start(ctx);
        if ((rc = point_decode(g, pub, pub_len, p, ctx)) == 0 &&
            (rc = sig_check(g, sig, false, ctx, r, s)) == 0) {
            if (!ECDSA_SIG_set0(es, r, s))
                rc = ossl_fail("making a signature");
            else
                r = s = NULL;   /* es owns them */
        }
        BN_CTX_end(ctx);
    }
    unsigned char *q = der;
    int n = rc == 0 ? i2d_ECDSA_SIG(es, NULL) : 0;
    if (rc == 0 && (n <= 0 || (size_t)n > DER_SIG_MAX || i2d_ECDSA_SIG(es, &q) != n))
        rc = ossl_fail("encoding a signature");
    *der_len = (size_t)n;
    if (rc == 0)
        rc = pkey_new(NULL, pub, pub_len, key);
    ECDSA_SIG_free(es);
    BN_free(r);
    BN_free(s);
    EC_POINT_free(p);
    BN_CTX_free(ctx);
    EC_GROUP_free(g);
    return rc;
}

int vc_p256_verify(const uint8_t *pub, size_t pub_len, const uint8_t *msg, size_t len,
                   const uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    EVP_PKEY *key = NULL;
    uint8_t der[DER_SIG_MAX];
    size_t der_len = 0;
    int rc = verify_prepare(pub, pub_len, sig, &key, der, &der_len);
    if (rc != 0)
        return rc;
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    int ok = -1;
    if (mc != NULL && EVP_DigestVerifyInit_ex(mc, NULL, "SHA256", NULL, NULL, key, NULL) > 0)
        ok = EVP_DigestVerify(mc, der, der_len, msg, len);
    EVP_MD_CTX_free(mc);
    EVP_PKEY_free(key);
    if (ok == 1)
        return 0;
    ERR_clear_error();
    if (ok == 0)
        return veil_error_set(VEIL_EAUTH, "verify: not a valid P-256 signature by this key");
    return ossl_fail("verifying");
}
