/* The crypto backend interface: the few primitives a vault needs, over raw
 * bytes.  Each backend (backend_sodium.c, backend_openssl.c) implements this
 * table and nothing else; every check, table, KDF and policy lives once in
 * the vault core on top of it, so all backends get the same safety.
 *
 * Conventions: functions return 0 or a negative VEIL_E* code and set the
 * error detail themselves.  Buffers are caller-provided; nothing here keeps
 * state except the per-key AEAD contexts and the streaming hash states. */
#ifndef VEIL_VAULT_BACKEND_H
#define VEIL_VAULT_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <veil/vault.h>

#include "helpers.h" /* wiping (veil__memzero), hex */

#define VC_HIDDEN __attribute__((visibility("hidden")))

/* A streaming hash state, big and aligned enough for every backend's state
 * (libsodium's BLAKE2b state is 384 bytes aligned to 64); each backend
 * checks the fit with a static assertion.  Lives on the caller's stack. */
typedef struct vc_hash {
    _Alignas(64) uint8_t opaque[512];
    int alg;                           /* veil_hash_alg, or VC_HASH_SPENT */
} vc_hash;

/* alg of a state already finished or aborted (and wiped). */
#define VC_HASH_SPENT (-1)
/* veil_hash_alg values are 1..VC_HASH_ALGS. */
#define VC_HASH_ALGS 4

typedef struct vc_backend {
    const char *name;                  /* "sodium" or "openssl" */

    /* Guarded memory for secret bytes and key schedules: libsodium's
     * sodium_malloc (guard pages, mlock), OpenSSL's secure heap (when the
     * application initialised one; plain heap otherwise).  zeroed on alloc,
     * wiped on free.  NULL on failure (no detail set). */
    void *(*secure_alloc)(size_t len);
    void (*secure_free)(void *p, size_t len);

    int (*random)(uint8_t *out, size_t len);

    /* Streaming hash: SHA-256, SHA-512, BLAKE2s-256, BLAKE2b-512, all from
     * a library.  pool is the vault's (hash_pool_new below, NULL when the
     * backend has none): library contexts that hashes borrow, so a hash
     * allocates nothing.  After init succeeds, final or abort must follow
     * (the state may hold a borrowed context); both wipe the state.  abort
     * may also follow a final or another abort: it then does nothing. */
    int (*hash_init)(vc_hash *h, void *pool, int alg);
    int (*hash_update)(vc_hash *h, const void *data, size_t len);
    int (*hash_final)(vc_hash *h, uint8_t *out);
    void (*hash_abort)(vc_hash *h);

    /* X25519 / X448 scalar multiplication (RFC 7748).  out may come back
     * all zero (the core checks); a backend whose library refuses to release
     * an all-zero result returns VEIL_ELOWORDER itself. */
    int (*x25519)(uint8_t out[32], const uint8_t scalar[32], const uint8_t point[32]);
    int (*x25519_public)(uint8_t out[32], const uint8_t scalar[32]);
    int (*x448)(uint8_t out[56], const uint8_t scalar[56], const uint8_t point[56]);
    int (*x448_public)(uint8_t out[56], const uint8_t scalar[56]);

    /* Ed25519 (RFC 8032, pure).  verify returns 0 or VEIL_EAUTH; the core
     * has already refused non-canonical s, R, A and small-order R, A. */
    int (*ed25519_public)(uint8_t pk[32], const uint8_t seed[32]);
    int (*ed25519_sign)(uint8_t sig[64], const uint8_t seed[32], const uint8_t pk[32],
                        const uint8_t *msg, size_t len);
    int (*ed25519_verify)(const uint8_t sig[64], const uint8_t pk[32],
                          const uint8_t *msg, size_t len);

    /* AEAD: a context is made ONCE per key (type VEIL_SECRET_AES256GCM or
     * VEIL_SECRET_CHACHAPOLY) and used for every call; per call only the
     * nonce is set, nothing is allocated.  encrypt is in place over
     * buf[0..len) and writes the 16-byte tag at buf+len.  decrypt takes the
     * ciphertext length (tag at buf+len), decrypts in place through the
     * library's verifying API and returns VEIL_EAUTH on a bad tag (the core
     * zeroes the buffer). */
    int (*aead_new)(int type, const uint8_t key[32], void **ctx);
    void (*aead_free)(void *ctx);
    int (*aead_encrypt)(void *ctx, const uint8_t nonce[12], const uint8_t *ad,
                        size_t ad_len, uint8_t *buf, size_t len);
    int (*aead_decrypt)(void *ctx, const uint8_t nonce[12], const uint8_t *ad,
                        size_t ad_len, uint8_t *buf, size_t len);

    /* The same AEAD context, placed in memory the caller provides (the
     * vault core's pool of guarded slots, keystore.c): aead_size bytes,
     * zeroed, aligned as secure_alloc aligns (libsodium: 64 bytes; slots are
     * multiples of 64 bytes apart; when aead_size is at most 32 the core
     * puts it in the second half of the key's own 64-byte guarded slot).
     * With cache != NULL (aead_cache_new below) the backend may keep the key
     * pointer: the core passes its guarded copy, which stays unchanged until
     * aead_clear.  aead_new = secure_alloc + aead_init without a cache, for
     * users without a pool.  aead_clear releases what the library holds
     * (OpenSSL's contexts); the caller wipes the memory. */
    size_t aead_size;
    int (*aead_init)(void *mem, void *cache, int type, const uint8_t key[32]);
    void (*aead_clear)(void *mem);

    /* Optional (NULL when the backend keeps all per-key state in the slot):
     * a per-vault set of library AEAD contexts that pooled keys (aead_init
     * with cache != NULL) borrow when used.  OpenSSL's contexts cost about
     * 1.1 KiB each, far more than the key, so a vault with thousands of
     * channel keys keys a bounded set of contexts on demand instead of
     * holding two per key (backend_openssl.c).  Made by the core with the
     * first AEAD key, freed (contexts cleansed) when the vault closes, after
     * every key using it was cleared. */
    void *(*aead_cache_new)(void);
    void (*aead_cache_free)(void *cache);

    /* Optional (NULL when the backend has none): a library key object for
     * an X25519 / X448 private key (type VEIL_SECRET_X25519 or _X448), made
     * once when the secret is created and kept with it, so a DH does not
     * rebuild the key (OpenSSL recomputes the public key when it imports a
     * private key).  xkey_new also writes the public key.  xkey_dh is x25519
     * / x448 with the cached key (same contract). */
    int (*xkey_new)(int type, const uint8_t *scalar, uint8_t *pub, void **key);
    void (*xkey_free)(void *key);
    int (*xkey_dh)(void *key, uint8_t *out, const uint8_t *point);

    /* Optional (NULL when the backend has none): a vault's pool of
     * library hash contexts (ossl_hash.c), made when the vault is created
     * and freed (contexts cleansed) when it closes, after its last hash. */
    void *(*hash_pool_new)(void);
    void (*hash_pool_free)(void *pool);

    /* Optional: dst becomes an independent copy of the live hash state src
     * (both then need final or abort), for the algorithms whose bit
     * (1u << alg) is set in copy_algs: those whose state is plain memory in
     * the vc_hash (libsodium's), where a copy is a memcpy.  HMAC hashes its
     * padded key blocks once and copies the states for each message when
     * it can, and hashes them again otherwise (kdf.c): copying an OpenSSL
     * digest context allocates a new one. */
    int (*hash_copy)(vc_hash *dst, const vc_hash *src);
    unsigned copy_algs;
} vc_backend;

/* Fails (VEIL_EUNSUPPORTED) when sodium_init fails. */
VC_HIDDEN int vc_backend_sodium(const vc_backend **out);
VC_HIDDEN int vc_backend_openssl(const vc_backend **out);

/* Hashes from OpenSSL (ossl_hash.c): every hash of the OpenSSL backend,
 * BLAKE2s of the libsodium backend.  The pool functions fit hash_pool_new /
 * hash_pool_free; has() says whether OpenSSL offers alg. */
VC_HIDDEN bool vc_ossl_hash_has(int alg);
VC_HIDDEN void *vc_ossl_pool_new(void);
VC_HIDDEN void vc_ossl_pool_free(void *pool);
VC_HIDDEN int vc_ossl_hash_init(vc_hash *h, void *pool, int alg);
VC_HIDDEN int vc_ossl_hash_update(vc_hash *h, const void *data, size_t len);
VC_HIDDEN int vc_ossl_hash_final(vc_hash *h, uint8_t *out);
VC_HIDDEN void vc_ossl_hash_abort(vc_hash *h);

#endif
