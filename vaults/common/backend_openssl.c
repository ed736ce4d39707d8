/* OpenSSL (>= 3.0) backend: primitives only (see backend.h), EVP APIs only,
 * default library context.  Algorithms are fetched once per process; the
 * hashes are ossl_hash.c's. */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <veil/error.h>

#include "backend.h"

static EVP_CIPHER *c_aesgcm, *c_chachapoly;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
    c_aesgcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    c_chachapoly = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
}

/* The plugin can be dlclosed: give the fetched algorithms back then. */
__attribute__((destructor)) static void free_all(void)
{
    EVP_CIPHER_free(c_aesgcm);
    EVP_CIPHER_free(c_chachapoly);
}

static void *o_secure_alloc(size_t len)
{
    return OPENSSL_secure_zalloc(len);
}

static void o_secure_free(void *p, size_t len)
{
    OPENSSL_secure_clear_free(p, len);
}

static int o_random(uint8_t *out, size_t len)
{
    while (len > 0) {
        int n = len > INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(out, n) != 1)
            return veil_error_set(VEIL_EIO, "openssl: RAND_bytes failed");
        out += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Raw-key DH through EVP_PKEY_derive.  OpenSSL refuses to release an
 * all-zero X25519/X448 result, and with well-formed raw keys that is the
 * only way derive can fail, so such a failure is the low-order case. */
static int o_dh(const char *alg, size_t n, uint8_t *out, const uint8_t *scalar,
                const uint8_t *point)
{
    int rc = VEIL_ENOMEM;
    EVP_PKEY *priv = EVP_PKEY_new_raw_private_key_ex(NULL, alg, NULL, scalar, n);
    EVP_PKEY *peer = EVP_PKEY_new_raw_public_key_ex(NULL, alg, NULL, point, n);
    EVP_PKEY_CTX *pc = priv ? EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL) : NULL;
    size_t outlen = n;
    if (priv == NULL || peer == NULL || pc == NULL) {
        rc = veil_error_set(VEIL_ENOMEM, "openssl: cannot set up %s keys", alg);
        goto out;
    }
    if (EVP_PKEY_derive_init(pc) != 1 || EVP_PKEY_derive_set_peer_ex(pc, peer, 0) != 1) {
        rc = veil_error_set(VEIL_EINVAL, "openssl: %s derive setup failed", alg);
        goto out;
    }
    if (EVP_PKEY_derive(pc, out, &outlen) != 1 || outlen != n) {
        veil__memzero(out, n);
        rc = veil_error_set(VEIL_ELOWORDER,
                            "%s shared secret is all zero: the peer's public key has low order",
                            alg);
        goto out;
    }
    rc = 0;
out:
    EVP_PKEY_CTX_free(pc);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(priv);
    return rc;
}

static int o_public(const char *alg, size_t n, uint8_t *out, const uint8_t *priv_bytes)
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key_ex(NULL, alg, NULL, priv_bytes, n);
    size_t len = n;
    int ok = k != NULL && EVP_PKEY_get_raw_public_key(k, out, &len) == 1 && len == n;
    EVP_PKEY_free(k);
    return ok ? 0 : veil_error_set(VEIL_EINVAL, "openssl: %s public key derivation failed", alg);
}

static int o_x25519(uint8_t out[32], const uint8_t s[32], const uint8_t p[32])
{
    return o_dh("X25519", 32, out, s, p);
}

static int o_x448(uint8_t out[56], const uint8_t s[56], const uint8_t p[56])
{
    return o_dh("X448", 56, out, s, p);
}

static int o_x25519_public(uint8_t out[32], const uint8_t s[32])
{
    return o_public("X25519", 32, out, s);
}

static int o_x448_public(uint8_t out[56], const uint8_t s[56])
{
    return o_public("X448", 56, out, s);
}

/* A private X25519/X448 key kept with its secret (backend.h xkey_*): the
 * EVP_PKEY is imported once (OpenSSL computes the public key then, the
 * cost of a whole scalar multiplication, which a per-call import paid on
 * every DH) and a derive context is initialised once; per DH only the
 * peer key is imported.  OpenSSL keeps the private bytes in its secure
 * heap when one is initialised, and cleanses them on free either way.
 * The peer key object is made at the first DH and given the next peer's
 * public key in place after that (EVP_PKEY_set1_encoded_public_key), which
 * saves an algorithm fetch and a key allocation per DH. */
typedef struct o_xkey {
    EVP_PKEY *priv;
    EVP_PKEY_CTX *derive;  /* EVP_PKEY_derive_init done */
    EVP_PKEY *peer;        /* public only; NULL before the first DH */
    const char *alg;
    size_t n;
} o_xkey;

static void o_xkey_free(void *key)
{
    o_xkey *k = key;
    if (k == NULL)
        return;
    EVP_PKEY_CTX_free(k->derive);
    EVP_PKEY_free(k->peer);
    EVP_PKEY_free(k->priv);
    OPENSSL_free(k);
}

static int o_xkey_new(int type, const uint8_t *scalar, uint8_t *pub, void **out)
{
    const char *alg = type == VEIL_SECRET_X448 ? "X448" : "X25519";
    size_t n = type == VEIL_SECRET_X448 ? 56 : 32, len = n;
    o_xkey *k = OPENSSL_zalloc(sizeof *k);
    if (k == NULL)
        return veil_error_set(VEIL_ENOMEM, "openssl: out of memory for an %s key", alg);
    k->alg = alg;
    k->n = n;
    k->priv = EVP_PKEY_new_raw_private_key_ex(NULL, alg, NULL, scalar, n);
    if (k->priv == NULL || EVP_PKEY_get_raw_public_key(k->priv, pub, &len) != 1 || len != n) {
        o_xkey_free(k);
        return veil_error_set(VEIL_EINVAL, "openssl: %s public key derivation failed", alg);
    }
    k->derive = EVP_PKEY_CTX_new_from_pkey(NULL, k->priv, NULL);
    if (k->derive == NULL || EVP_PKEY_derive_init(k->derive) != 1) {
        o_xkey_free(k);
        return veil_error_set(VEIL_ENOMEM, "openssl: cannot set up %s derivation", alg);
    }
    *out = k;
    return 0;
}

static int o_xkey_dh(void *key, uint8_t *out, const uint8_t *point)
{
    o_xkey *k = key;
    size_t outlen = k->n;
    int rc = 0;
    if (k->peer == NULL)
        k->peer = EVP_PKEY_new_raw_public_key_ex(NULL, k->alg, NULL, point, k->n);
    else if (EVP_PKEY_set1_encoded_public_key(k->peer, point, k->n) != 1)
        return veil_error_set(VEIL_EINVAL, "openssl: cannot set the %s peer key", k->alg);
    if (k->peer == NULL)
        return veil_error_set(VEIL_ENOMEM, "openssl: cannot set up the %s peer key", k->alg);
    /* Set again each time: the context must see the key's new value. */
    if (EVP_PKEY_derive_set_peer_ex(k->derive, k->peer, 0) != 1)
        rc = veil_error_set(VEIL_EINVAL, "openssl: %s derive setup failed", k->alg);
    else if (EVP_PKEY_derive(k->derive, out, &outlen) != 1 || outlen != k->n) {
        /* As in o_dh: with well-formed keys only an all-zero result fails. */
        veil__memzero(out, k->n);
        rc = veil_error_set(VEIL_ELOWORDER,
                            "%s shared secret is all zero: the peer's public key has low order",
                            k->alg);
    }
    return rc;
}

static int o_ed25519_public(uint8_t pk[32], const uint8_t seed[32])
{
    return o_public("ED25519", 32, pk, seed);
}

static int o_ed25519_sign(uint8_t sig[64], const uint8_t seed[32], const uint8_t pk[32],
                          const uint8_t *msg, size_t len)
{
    (void)pk;
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, seed, 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t siglen = 64;
    int ok = k != NULL && c != NULL && EVP_DigestSignInit_ex(c, NULL, NULL, NULL, NULL, k, NULL) == 1 &&
             EVP_DigestSign(c, sig, &siglen, msg, len) == 1 && siglen == 64;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok ? 0 : veil_error_set(VEIL_EINVAL, "openssl: Ed25519 signing failed");
}

static int o_ed25519_verify(const uint8_t sig[64], const uint8_t pk[32], const uint8_t *msg,
                            size_t len)
{
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pk, 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int rc;
    if (k == NULL || c == NULL || EVP_DigestVerifyInit_ex(c, NULL, NULL, NULL, NULL, k, NULL) != 1)
        rc = veil_error_set(VEIL_EAUTH, "Ed25519 public key is not a valid point");
    else if (EVP_DigestVerify(c, sig, 64, msg, len) != 1)
        rc = veil_error_set(VEIL_EAUTH, "Ed25519 signature does not verify");
    else
        rc = 0;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return rc;
}

/* AEAD keys.  An OpenSSL AES-GCM context costs about 1.1 KiB of heap
 * (EVP_CIPHER_CTX plus the provider's key schedule and GHASH table), and a
 * secure channel holds four keys (send and receive at each end): with a
 * context per key and direction that was 9 KiB of a channel's 14 KiB.
 * So a key pooled by the vault core keeps only a pointer to its bytes and
 * its type (in the core's guarded slot), and borrows one context of a
 * small per-vault cache when used: on a hit only the IV (and direction: GCM and
 * ChaCha20-Poly1305 use one key schedule both ways) is set, as before; on
 * a miss the least recently claimed context is re-keyed (an AES key
 * expansion and GHASH table, about the cost of the old per-key set-up,
 * which every key paid whether used or not).  Contexts are allocated
 * once, up to O_WAYS per cipher, so messages never allocate.  A cleared
 * key overwrites its context's schedule with a zero key at once.
 * aead_new (users without a pool: the file vault) gives the key its own
 * context instead. */
#define O_WAYS 64

typedef struct o_aead o_aead;

typedef struct o_way {
    EVP_CIPHER_CTX *ctx;   /* NULL until first claimed */
    const o_aead *owner;   /* key whose schedule ctx holds, or NULL */
} o_way;

typedef struct o_cache {
    o_way way[2][O_WAYS];  /* [0] AES-256-GCM, [1] ChaCha20-Poly1305 */
    uint32_t hand[2];      /* next victim, round robin */
} o_cache;

/* 32 bytes: the core places it right after the key in the key's own
 * guarded slot (keystore.c), so a pooled key costs no extra memory. */
struct o_aead {
    EVP_CIPHER_CTX *own;   /* aead_new: the key's own context */
    o_cache *cache;        /* aead_init with a cache: borrowed contexts */
    const uint8_t *key;    /* with a cache: the core's key bytes, to re-key */
    uint32_t way;          /* cache way last claimed (ours if owner == this) */
    int type;
};

_Static_assert(sizeof(struct o_aead) <= 32, "o_aead must fit beside the key in a 64-byte slot");

static const uint8_t zero_key[32];

static int kind_of(int type)
{
    return type == VEIL_SECRET_AES256GCM ? 0 : 1;
}

static const EVP_CIPHER *cipher_of(int type)
{
    return type == VEIL_SECRET_AES256GCM ? c_aesgcm : c_chachapoly;
}

static void *o_aead_cache_new(void)
{
    return OPENSSL_zalloc(sizeof(o_cache));
}

static void o_aead_cache_free(void *cache)
{
    o_cache *c = cache;
    if (c == NULL)
        return;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < O_WAYS; i++)
            EVP_CIPHER_CTX_free(c->way[k][i].ctx); /* cleanses the key schedule */
    OPENSSL_free(c);
}

static void o_aead_clear(void *mem)
{
    o_aead *a = mem;
    if (a->own != NULL) {
        EVP_CIPHER_CTX_free(a->own); /* cleanses the key schedule */
        a->own = NULL;
    }
    if (a->cache != NULL) {
        o_way *w = &a->cache->way[kind_of(a->type)][a->way];
        if (w->owner == a) {
            /* Leave no schedule of a destroyed key behind in the cache.  A
             * failure leaves the context cleansed-on-free, still unowned. */
            (void)EVP_CipherInit_ex2(w->ctx, NULL, zero_key, NULL, 1, NULL);
            w->owner = NULL;
        }
        a->cache = NULL;
        a->key = NULL;
    }
}

static int o_aead_init(void *mem, void *cache, int type, const uint8_t key[32])
{
    o_aead *a = mem;
    const EVP_CIPHER *c = cipher_of(type);
    if (c == NULL)
        return veil_error_set(VEIL_EUNSUPPORTED, "openssl: %s is unavailable in this OpenSSL",
                              type == VEIL_SECRET_AES256GCM ? "AES-256-GCM" : "ChaCha20-Poly1305");
    a->type = type;
    if (cache != NULL) {
        a->cache = cache;
        a->key = key; /* stays valid while the key lives (backend.h) */
        return 0;
    }
    a->own = EVP_CIPHER_CTX_new();
    if (a->own == NULL || EVP_CipherInit_ex2(a->own, c, key, NULL, 1, NULL) != 1) {
        o_aead_clear(a);
        return veil_error_set(VEIL_ENOMEM, "openssl: AEAD context setup failed");
    }
    return 0;
}

/* The context for one call, keyed for a, with the nonce and direction set. */
static EVP_CIPHER_CTX *o_aead_ctx(o_aead *a, const uint8_t nonce[12], int enc)
{
    if (a->own != NULL)
        return EVP_CipherInit_ex2(a->own, NULL, NULL, nonce, enc, NULL) == 1 ? a->own : NULL;
    int k = kind_of(a->type);
    o_way *w = &a->cache->way[k][a->way];
    if (w->owner == a)
        return EVP_CipherInit_ex2(w->ctx, NULL, NULL, nonce, enc, NULL) == 1 ? w->ctx : NULL;
    uint32_t i = a->cache->hand[k];
    a->cache->hand[k] = (i + 1) % O_WAYS;
    w = &a->cache->way[k][i];
    w->owner = NULL;
    if (w->ctx == NULL && (w->ctx = EVP_CIPHER_CTX_new()) == NULL)
        return NULL;
    /* First use of this way: set the cipher; later ones keep it (same kind). */
    const EVP_CIPHER *c = EVP_CIPHER_CTX_get0_cipher(w->ctx) == NULL ? cipher_of(a->type) : NULL;
    if (EVP_CipherInit_ex2(w->ctx, c, a->key, nonce, enc, NULL) != 1)
        return NULL;
    w->owner = a;
    a->way = i;
    return w->ctx;
}

static void o_aead_free(void *ctx)
{
    if (ctx == NULL)
        return;
    o_aead_clear(ctx);
    OPENSSL_secure_clear_free(ctx, sizeof(o_aead));
}

static int o_aead_new(int type, const uint8_t key[32], void **ctx)
{
    o_aead *a = OPENSSL_secure_zalloc(sizeof *a);
    if (a == NULL)
        return veil_error_set(VEIL_ENOMEM, "openssl: out of memory for an AEAD context");
    int rc = o_aead_init(a, NULL, type, key);
    if (rc != 0) {
        OPENSSL_secure_clear_free(a, sizeof *a);
        return rc;
    }
    *ctx = a;
    return 0;
}

/* EVP lengths are int: feed long inputs in chunks. */
#define CHUNK (1 << 30)

static int o_aead_encrypt(void *ctx, const uint8_t nonce[12], const uint8_t *ad, size_t ad_len,
                          uint8_t *buf, size_t len)
{
    EVP_CIPHER_CTX *c = o_aead_ctx(ctx, nonce, 1);
    int outl;
    if (c == NULL)
        goto fail;
    for (size_t off = 0; off < ad_len; off += CHUNK) {
        int n = ad_len - off > CHUNK ? CHUNK : (int)(ad_len - off);
        if (EVP_EncryptUpdate(c, NULL, &outl, ad + off, n) != 1)
            goto fail;
    }
    for (size_t off = 0; off < len; off += CHUNK) {
        int n = len - off > CHUNK ? CHUNK : (int)(len - off);
        if (EVP_EncryptUpdate(c, buf + off, &outl, buf + off, n) != 1)
            goto fail;
    }
    if (EVP_EncryptFinal_ex(c, buf + len, &outl) != 1)
        goto fail;
    OSSL_PARAM p[2] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, buf + len, 16),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_CIPHER_CTX_get_params(c, p) != 1)
        goto fail;
    return 0;
fail:
    return veil_error_set(VEIL_EINVAL, "openssl: AEAD encryption failed (len %zu)", len);
}

static int o_aead_decrypt(void *ctx, const uint8_t nonce[12], const uint8_t *ad, size_t ad_len,
                          uint8_t *buf, size_t len)
{
    EVP_CIPHER_CTX *c = o_aead_ctx(ctx, nonce, 0);
    int outl;
    OSSL_PARAM p[2] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, buf + len, 16),
        OSSL_PARAM_construct_end(),
    };
    if (c == NULL || EVP_CIPHER_CTX_set_params(c, p) != 1)
        return veil_error_set(VEIL_EINVAL, "openssl: AEAD decryption setup failed");
    for (size_t off = 0; off < ad_len; off += CHUNK) {
        int n = ad_len - off > CHUNK ? CHUNK : (int)(ad_len - off);
        if (EVP_DecryptUpdate(c, NULL, &outl, ad + off, n) != 1)
            return veil_error_set(VEIL_EINVAL, "openssl: AEAD decryption failed");
    }
    for (size_t off = 0; off < len; off += CHUNK) {
        int n = len - off > CHUNK ? CHUNK : (int)(len - off);
        if (EVP_DecryptUpdate(c, buf + off, &outl, buf + off, n) != 1)
            return veil_error_set(VEIL_EINVAL, "openssl: AEAD decryption failed");
    }
    /* The library compares the tag (constant time) in Final. */
    if (EVP_DecryptFinal_ex(c, buf + len, &outl) != 1)
        return veil_error_set(VEIL_EAUTH, "AEAD tag does not verify");
    return 0;
}

static const vc_backend openssl_backend = {
    .name = "openssl",
    .secure_alloc = o_secure_alloc,
    .secure_free = o_secure_free,
    .random = o_random,
    .hash_init = vc_ossl_hash_init,
    .hash_update = vc_ossl_hash_update,
    .hash_final = vc_ossl_hash_final,
    .hash_abort = vc_ossl_hash_abort,
    .x25519 = o_x25519,
    .x25519_public = o_x25519_public,
    .x448 = o_x448,
    .x448_public = o_x448_public,
    .ed25519_public = o_ed25519_public,
    .ed25519_sign = o_ed25519_sign,
    .ed25519_verify = o_ed25519_verify,
    .aead_new = o_aead_new,
    .aead_free = o_aead_free,
    .aead_encrypt = o_aead_encrypt,
    .aead_decrypt = o_aead_decrypt,
    .aead_size = sizeof(o_aead),
    .aead_init = o_aead_init,
    .aead_clear = o_aead_clear,
    .aead_cache_new = o_aead_cache_new,
    .aead_cache_free = o_aead_cache_free,
    .xkey_new = o_xkey_new,
    .xkey_free = o_xkey_free,
    .xkey_dh = o_xkey_dh,
    .hash_pool_new = vc_ossl_pool_new,
    .hash_pool_free = vc_ossl_pool_free,
    .hash_copy = NULL, /* an EVP copy allocates: HMAC hashes its key blocks again */
    .copy_algs = 0,
};

int vc_backend_openssl(const vc_backend **out)
{
    pthread_once(&fetch_once, fetch_all);
    if (!vc_ossl_hash_has(VEIL_HASH_SHA256) || !vc_ossl_hash_has(VEIL_HASH_SHA512) ||
        c_chachapoly == NULL || c_aesgcm == NULL)
        return veil_error_set(VEIL_EUNSUPPORTED,
                              "openssl: the default provider lacks SHA-256/SHA-512/AES-256-GCM/"
                              "ChaCha20-Poly1305");
    *out = &openssl_backend;
    return 0;
}
