/* libsodium backend: primitives only (see backend.h); BLAKE2s, which
 * libsodium lacks, from OpenSSL (ossl_hash.c). */
#include "config.h"

#include <string.h>
#include <sodium.h>

#include <veil/error.h>

#include "backend.h"

_Static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(((vc_hash *)0)->opaque), "sha256 state");
_Static_assert(sizeof(crypto_hash_sha512_state) <= sizeof(((vc_hash *)0)->opaque), "sha512 state");
_Static_assert(sizeof(crypto_generichash_blake2b_state) <= sizeof(((vc_hash *)0)->opaque), "b2b state");

/* sodium_malloc places the block against a guard page, so its start is only
 * aligned when the size is a multiple of the alignment: round up to 64. */
static size_t round64(size_t n)
{
    return (n + 63u) & ~(size_t)63u;
}

static void *s_secure_alloc(size_t len)
{
    void *p = sodium_malloc(round64(len));
    if (p != NULL)
        veil__memzero(p, round64(len));
    return p;
}

static void s_secure_free(void *p, size_t len)
{
    (void)len;
    sodium_free(p); /* wipes before unmapping */
}

static int s_random(uint8_t *out, size_t len)
{
    randombytes_buf(out, len);
    return 0;
}

/* SHA-256, SHA-512 and BLAKE2b are libsodium's, their states plain memory
 * in the vc_hash.  libsodium has no BLAKE2s: that one is OpenSSL's, through
 * the vault's pool of OpenSSL digest contexts (ossl_hash.c). */
static int s_hash_init(vc_hash *h, void *pool, int alg)
{
    switch (alg) {
    case VEIL_HASH_SHA256:
        crypto_hash_sha256_init((crypto_hash_sha256_state *)h->opaque);
        break;
    case VEIL_HASH_SHA512:
        crypto_hash_sha512_init((crypto_hash_sha512_state *)h->opaque);
        break;
    case VEIL_HASH_BLAKE2B:
        /* Unkeyed: HMAC-BLAKE2b (Noise) is HMAC over the plain hash. */
        crypto_generichash_blake2b_init((crypto_generichash_blake2b_state *)h->opaque,
                                        NULL, 0, 64);
        break;
    case VEIL_HASH_BLAKE2S:
        return vc_ossl_hash_init(h, pool, alg);
    default:
        h->alg = VC_HASH_SPENT;
        return veil_error_set(VEIL_EINVAL, "sodium: unknown hash algorithm %d", alg);
    }
    h->alg = alg;
    return 0;
}

static int s_hash_update(vc_hash *h, const void *data, size_t len)
{
    switch (h->alg) {
    case VEIL_HASH_SHA256:
        crypto_hash_sha256_update((crypto_hash_sha256_state *)h->opaque, data, len);
        return 0;
    case VEIL_HASH_SHA512:
        crypto_hash_sha512_update((crypto_hash_sha512_state *)h->opaque, data, len);
        return 0;
    case VEIL_HASH_BLAKE2B:
        crypto_generichash_blake2b_update((crypto_generichash_blake2b_state *)h->opaque,
                                          data, len);
        return 0;
    case VEIL_HASH_BLAKE2S:
        return vc_ossl_hash_update(h, data, len);
    default:
        return veil_error_set(VEIL_EINVAL, "sodium: hash state is spent or unknown (alg %d)",
                              h->alg);
    }
}

static void s_hash_abort(vc_hash *h);

static int s_hash_final(vc_hash *h, uint8_t *out)
{
    switch (h->alg) {
    case VEIL_HASH_SHA256:
        crypto_hash_sha256_final((crypto_hash_sha256_state *)h->opaque, out);
        break;
    case VEIL_HASH_SHA512:
        crypto_hash_sha512_final((crypto_hash_sha512_state *)h->opaque, out);
        break;
    case VEIL_HASH_BLAKE2B:
        crypto_generichash_blake2b_final((crypto_generichash_blake2b_state *)h->opaque,
                                         out, 64);
        break;
    case VEIL_HASH_BLAKE2S:
        return vc_ossl_hash_final(h, out);
    default:
        return veil_error_set(VEIL_EINVAL, "sodium: hash state is spent or unknown (alg %d)",
                              h->alg);
    }
    s_hash_abort(h);
    return 0;
}

/* Bytes of the opaque area a libsodium state uses: copies and wipes touch
 * only those (an HMAC copies and wipes states several times per message;
 * the whole 512-byte area each time was ~1.5 % of a Noise handshake). */
static size_t state_size(int alg)
{
    switch (alg) {
    case VEIL_HASH_SHA256:
        return sizeof(crypto_hash_sha256_state);
    case VEIL_HASH_SHA512:
        return sizeof(crypto_hash_sha512_state);
    default:
        return sizeof(crypto_generichash_blake2b_state);
    }
}

/* Wipes the state and marks it spent, so the abort that may follow a final
 * (backend.h) has nothing left to do. */
static void s_hash_abort(vc_hash *h)
{
    if (h->alg == VC_HASH_SPENT)
        return;
    if (h->alg == VEIL_HASH_BLAKE2S) {
        vc_ossl_hash_abort(h);
        return;
    }
    veil__memzero(h->opaque, state_size(h->alg));
    h->alg = VC_HASH_SPENT;
}

/* Only for copy_algs: libsodium's states. */
static int s_hash_copy(vc_hash *dst, const vc_hash *src)
{
    memcpy(dst->opaque, src->opaque, state_size(src->alg)); /* plain data */
    dst->alg = src->alg;
    return 0;
}

static int s_x25519(uint8_t out[32], const uint8_t scalar[32], const uint8_t point[32])
{
    /* -1 means the result is all zero; it is still written, the core checks. */
    if (crypto_scalarmult_curve25519(out, scalar, point) != 0) {
        /* still computed; make sure the core sees the zero */
        veil__memzero(out, 32);
    }
    return 0;
}

static int s_x25519_public(uint8_t out[32], const uint8_t scalar[32])
{
    if (crypto_scalarmult_curve25519_base(out, scalar) != 0)
        return veil_error_set(VEIL_EINVAL, "sodium: X25519 public key derivation failed");
    return 0;
}

static int s_x448(uint8_t out[56], const uint8_t scalar[56], const uint8_t point[56])
{
    (void)out, (void)scalar, (void)point;
    return veil_error_set(VEIL_EUNSUPPORTED, "X448 is unsupported by the sodium backend");
}

static int s_x448_public(uint8_t out[56], const uint8_t scalar[56])
{
    (void)out, (void)scalar;
    return veil_error_set(VEIL_EUNSUPPORTED, "X448 is unsupported by the sodium backend");
}

static int s_ed25519_public(uint8_t pk[32], const uint8_t seed[32])
{
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    int rc = crypto_sign_seed_keypair(pk, sk, seed);
    veil__memzero(sk, sizeof sk);
    return rc == 0 ? 0 : veil_error_set(VEIL_EINVAL, "sodium: Ed25519 key derivation failed");
}

static int s_ed25519_sign(uint8_t sig[64], const uint8_t seed[32], const uint8_t pk[32],
                          const uint8_t *msg, size_t len)
{
    /* libsodium's secret key is seed || public key. */
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    memcpy(sk, seed, 32);
    memcpy(sk + 32, pk, 32);
    int rc = crypto_sign_detached(sig, NULL, msg, len, sk);
    veil__memzero(sk, sizeof sk);
    return rc == 0 ? 0 : veil_error_set(VEIL_EINVAL, "sodium: Ed25519 signing failed");
}

static int s_ed25519_verify(const uint8_t sig[64], const uint8_t pk[32], const uint8_t *msg,
                            size_t len)
{
    if (crypto_sign_verify_detached(sig, msg, len, pk) != 0)
        return veil_error_set(VEIL_EAUTH, "Ed25519 signature does not verify");
    return 0;
}

/* The per-key state, in guarded memory: the AES-GCM precomputed state
 * (expanded key + GHASH table) or the ChaCha20 key.  The vault core places
 * it in a slot of its guarded pool (aead_init); aead_new allocates it
 * alone (one sodium_malloc, for users without a pool). */
typedef struct s_aead {
    crypto_aead_aes256gcm_state gcm; /* CRYPTO_ALIGN(16) */
    uint8_t key[32];
    int type;
} s_aead;

static int s_aead_init(void *mem, void *cache, int type, const uint8_t key[32])
{
    (void)cache; /* the whole state fits the slot */
    s_aead *a = mem;
    if (type == VEIL_SECRET_AES256GCM && !crypto_aead_aes256gcm_is_available())
        return veil_error_set(VEIL_EUNSUPPORTED,
                              "sodium: AES-256-GCM needs a CPU with AES-NI and PCLMULQDQ, "
                              "which this one lacks; use crypto = openssl for AES-GCM");
    a->type = type;
    if (type == VEIL_SECRET_AES256GCM)
        crypto_aead_aes256gcm_beforenm(&a->gcm, key);
    else
        memcpy(a->key, key, 32);
    return 0;
}

static void s_aead_clear(void *mem)
{
    (void)mem; /* libsodium holds nothing outside the state; the caller wipes it */
}

static int s_aead_new(int type, const uint8_t key[32], void **ctx)
{
    s_aead *a = s_secure_alloc(sizeof *a);
    if (a == NULL)
        return veil_error_set(VEIL_ENOMEM, "sodium: out of guarded memory for an AEAD key");
    int rc = s_aead_init(a, NULL, type, key);
    if (rc != 0) {
        s_secure_free(a, sizeof *a);
        return rc;
    }
    *ctx = a;
    return 0;
}

static void s_aead_free(void *ctx)
{
    if (ctx != NULL)
        s_secure_free(ctx, sizeof(s_aead));
}

static int s_aead_encrypt(void *ctx, const uint8_t nonce[12], const uint8_t *ad,
                          size_t ad_len, uint8_t *buf, size_t len)
{
    s_aead *a = ctx;
    int rc;
    if (a->type == VEIL_SECRET_AES256GCM)
        rc = crypto_aead_aes256gcm_encrypt_detached_afternm(buf, buf + len, NULL, buf, len, ad,
                                                            ad_len, NULL, nonce, &a->gcm);
    else
        rc = crypto_aead_chacha20poly1305_ietf_encrypt_detached(buf, buf + len, NULL, buf, len,
                                                                ad, ad_len, NULL, nonce, a->key);
    return rc == 0 ? 0 : veil_error_set(VEIL_EINVAL, "sodium: AEAD encryption failed (len %zu)", len);
}

static int s_aead_decrypt(void *ctx, const uint8_t nonce[12], const uint8_t *ad,
                          size_t ad_len, uint8_t *buf, size_t len)
{
    s_aead *a = ctx;
    int rc;
    if (a->type == VEIL_SECRET_AES256GCM)
        rc = crypto_aead_aes256gcm_decrypt_detached_afternm(buf, NULL, buf, len, buf + len, ad,
                                                            ad_len, nonce, &a->gcm);
    else
        rc = crypto_aead_chacha20poly1305_ietf_decrypt_detached(buf, NULL, buf, len, buf + len,
                                                                ad, ad_len, nonce, a->key);
    return rc == 0 ? 0 : veil_error_set(VEIL_EAUTH, "AEAD tag does not verify");
}

static const vc_backend sodium_backend = {
    .name = "sodium",
    .secure_alloc = s_secure_alloc,
    .secure_free = s_secure_free,
    .random = s_random,
    .hash_init = s_hash_init,
    .hash_update = s_hash_update,
    .hash_final = s_hash_final,
    .hash_abort = s_hash_abort,
    .x25519 = s_x25519,
    .x25519_public = s_x25519_public,
    .x448 = s_x448,
    .x448_public = s_x448_public,
    .ed25519_public = s_ed25519_public,
    .ed25519_sign = s_ed25519_sign,
    .ed25519_verify = s_ed25519_verify,
    .aead_new = s_aead_new,
    .aead_free = s_aead_free,
    .aead_encrypt = s_aead_encrypt,
    .aead_decrypt = s_aead_decrypt,
    .aead_size = sizeof(s_aead),
    .aead_init = s_aead_init,
    .aead_clear = s_aead_clear,
    /* crypto_scalarmult takes the raw scalar: nothing to cache. */
    .xkey_new = NULL,
    .xkey_free = NULL,
    .xkey_dh = NULL,
    .hash_pool_new = vc_ossl_pool_new, /* for BLAKE2s */
    .hash_pool_free = vc_ossl_pool_free,
    .hash_copy = s_hash_copy,
    .copy_algs = 1u << VEIL_HASH_SHA256 | 1u << VEIL_HASH_SHA512 | 1u << VEIL_HASH_BLAKE2B,
};

int vc_backend_sodium(const vc_backend **out)
{
    /* Idempotent and thread-safe; needed before any other call. */
    if (sodium_init() < 0)
        return veil_error_set(VEIL_EUNSUPPORTED, "sodium: sodium_init() failed");
    *out = &sodium_backend;
    return 0;
}
