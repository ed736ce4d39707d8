/* Streaming hashes from OpenSSL, shared by both backends: every hash of
 * the OpenSSL backend, and BLAKE2s on the libsodium backend (libsodium has
 * none).
 *
 * No allocation per hash.  OpenSSL 3.0's EVP_DigestInit_ex2 frees and
 * allocates the provider's digest context on every init, even on a reused
 * EVP_MD_CTX (and looks up an ENGINE), ~40-90 ns a hash here, and an
 * exchange runs ~80 short hashes.  So each digest is fetched once per
 * process (EVP_MD_fetch, which picks the implementation as EVP would) and
 * driven through the provider-digest(7) functions of that same
 * implementation (OSSL_PROVIDER_query_operation: OpenSSL's public,
 * ABI-stable provider interface), and each vault keeps a pool of provider
 * contexts per algorithm (backend.h hash_pool_new), each initialised for
 * the next hash.  A hash takes one from the pool and gives it back at
 * final or abort, initialised again at once: the provider's init
 * overwrites the whole state for SHA-256 (SHA256_Init clears it) and
 * BLAKE2s/BLAKE2b (their init clears it; their final cleanses it too), so
 * nothing of the last input stays.  SHA-512's init only resets the
 * chaining value and counters, and its final leaves the last block's input
 * in its buffer, so a SHA-512 context is freed instead (the provider
 * cleanses it) and a new one made: one allocation per SHA-512 hash, which
 * only XEdDSA signing and the Noise SHA512 suites use. */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include <veil/error.h>

#include "backend.h"

/* Contexts a pool keeps per algorithm.  A vault has at most a few hash
 * states live at once (an HMAC: two, one after the other); a state beyond
 * the pool's is made and freed. */
#define POOL_PER_ALG 4

static const char *const md_names[VC_HASH_ALGS + 1] = {
    [VEIL_HASH_SHA256] = "SHA256",
    [VEIL_HASH_SHA512] = "SHA512",
    [VEIL_HASH_BLAKE2S] = "BLAKE2S-256",
    [VEIL_HASH_BLAKE2B] = "BLAKE2B-512",
};
static const char *const alg_names[VC_HASH_ALGS + 1] = {
    [VEIL_HASH_SHA256] = "SHA-256",
    [VEIL_HASH_SHA512] = "SHA-512",
    [VEIL_HASH_BLAKE2S] = "BLAKE2s-256",
    [VEIL_HASH_BLAKE2B] = "BLAKE2b-512",
};

/* One digest implementation: the fetched EVP_MD keeps its provider loaded,
 * so the functions stay valid until the destructor frees it. */
typedef struct digest {
    EVP_MD *md;
    void *provctx;
    OSSL_FUNC_digest_newctx_fn *newctx;
    OSSL_FUNC_digest_init_fn *init;
    OSSL_FUNC_digest_update_fn *update;
    OSSL_FUNC_digest_final_fn *final;
    OSSL_FUNC_digest_freectx_fn *freectx;
} digest;

static digest digests[VC_HASH_ALGS + 1];
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

/* Does the colon-separated name list of an implementation name md? */
static bool names_match(const EVP_MD *md, const char *names)
{
    char buf[256], *save = NULL;
    if (strlen(names) >= sizeof buf)
        return false;
    strcpy(buf, names);
    for (char *n = strtok_r(buf, ":", &save); n != NULL; n = strtok_r(NULL, ":", &save))
        if (EVP_MD_is_a(md, n))
            return true;
    return false;
}

static void take_functions(digest *d, const OSSL_DISPATCH *fn)
{
    for (; fn->function_id != 0; fn++) {
        switch (fn->function_id) {
        case OSSL_FUNC_DIGEST_NEWCTX:
            d->newctx = OSSL_FUNC_digest_newctx(fn);
            break;
        case OSSL_FUNC_DIGEST_INIT:
            d->init = OSSL_FUNC_digest_init(fn);
            break;
        case OSSL_FUNC_DIGEST_UPDATE:
            d->update = OSSL_FUNC_digest_update(fn);
            break;
        case OSSL_FUNC_DIGEST_FINAL:
            d->final = OSSL_FUNC_digest_final(fn);
            break;
        case OSSL_FUNC_DIGEST_FREECTX:
            d->freectx = OSSL_FUNC_digest_freectx(fn);
            break;
        default:
            break;
        }
    }
}

/* The implementation EVP_MD_fetch picked, through its provider's
 * functions; left empty (the algorithm then reports unavailable) when any
 * is missing. */
static void fetch_one(int alg)
{
    digest *d = &digests[alg];
    const OSSL_PROVIDER *prov;
    const OSSL_ALGORITHM *algs;
    int no_cache = 0;
    if ((d->md = EVP_MD_fetch(NULL, md_names[alg], NULL)) == NULL ||
        (prov = EVP_MD_get0_provider(d->md)) == NULL ||
        (algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_DIGEST, &no_cache)) == NULL)
        goto fail;
    for (const OSSL_ALGORITHM *a = algs; a->algorithm_names != NULL; a++)
        if (names_match(d->md, a->algorithm_names)) {
            take_functions(d, a->implementation);
            break;
        }
    OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_DIGEST, algs);
    d->provctx = OSSL_PROVIDER_get0_provider_ctx(prov);
    if (d->newctx && d->init && d->update && d->final && d->freectx)
        return;
fail:
    EVP_MD_free(d->md);
    memset(d, 0, sizeof *d);
}

static void fetch_all(void)
{
    for (int alg = 1; alg <= VC_HASH_ALGS; alg++)
        fetch_one(alg);
}

/* The plugin can be dlclosed: give the fetched digests back then. */
__attribute__((destructor)) static void free_all(void)
{
    for (int alg = 1; alg <= VC_HASH_ALGS; alg++)
        EVP_MD_free(digests[alg].md);
}

bool vc_ossl_hash_has(int alg)
{
    pthread_once(&fetch_once, fetch_all);
    return alg >= 1 && alg <= VC_HASH_ALGS && digests[alg].md != NULL;
}

typedef struct ctx_pool {
    void *idle[VC_HASH_ALGS + 1][POOL_PER_ALG]; /* provider contexts, initialised */
    unsigned n[VC_HASH_ALGS + 1];
} ctx_pool;

/* What a vc_hash holds while an OpenSSL hash runs. */
typedef struct hash_state {
    void *ctx;
    ctx_pool *pool;
} hash_state;

_Static_assert(sizeof(hash_state) <= sizeof(((vc_hash *)0)->opaque), "openssl hash state");

static hash_state *state_of(vc_hash *h)
{
    return (hash_state *)(void *)h->opaque;
}

void *vc_ossl_pool_new(void)
{
    pthread_once(&fetch_once, fetch_all);
    return OPENSSL_zalloc(sizeof(ctx_pool));
}

void vc_ossl_pool_free(void *pool)
{
    ctx_pool *p = pool;
    if (p == NULL)
        return;
    for (int alg = 1; alg <= VC_HASH_ALGS; alg++)
        for (unsigned i = 0; i < p->n[alg]; i++)
            digests[alg].freectx(p->idle[alg][i]); /* cleanses */
    OPENSSL_free(p);
}

/* A new provider context, initialised; NULL on failure. */
static void *new_ready(const digest *d)
{
    void *c = d->newctx(d->provctx);
    if (c != NULL && d->init(c, NULL) != 1) {
        d->freectx(c);
        c = NULL;
    }
    return c;
}

int vc_ossl_hash_init(vc_hash *h, void *pool, int alg)
{
    ctx_pool *p = pool;
    hash_state *s = state_of(h);
    h->alg = VC_HASH_SPENT; /* nothing to give back until a context is held */
    if (!vc_ossl_hash_has(alg))
        return veil_error_set(VEIL_EUNSUPPORTED,
                              "openssl: hash algorithm %s is unavailable in this OpenSSL",
                              alg >= 1 && alg <= VC_HASH_ALGS ? alg_names[alg] : "(unknown)");
    if (p->n[alg] > 0)
        s->ctx = p->idle[alg][--p->n[alg]];
    else if ((s->ctx = new_ready(&digests[alg])) == NULL)
        return veil_error_set(VEIL_ENOMEM, "openssl: cannot set up a %s context",
                              alg_names[alg]);
    s->pool = p;
    h->alg = alg;
    return 0;
}

int vc_ossl_hash_update(vc_hash *h, const void *data, size_t len)
{
    if (len > 0 && digests[h->alg].update(state_of(h)->ctx, data, len) != 1)
        return veil_error_set(VEIL_EINVAL, "openssl: %s update failed", alg_names[h->alg]);
    return 0;
}

/* Back to the pool, ready for the next hash (see the top of the file for
 * why this also wipes), or freed (cleansed) when SHA-512, when it cannot
 * be made ready or when the pool is full. */
void vc_ossl_hash_abort(vc_hash *h)
{
    if (h->alg == VC_HASH_SPENT)
        return;
    hash_state *s = state_of(h);
    const digest *d = &digests[h->alg];
    ctx_pool *p = s->pool;
    int alg = h->alg;
    if (alg != VEIL_HASH_SHA512 && p->n[alg] < POOL_PER_ALG && d->init(s->ctx, NULL) == 1) {
        p->idle[alg][p->n[alg]++] = s->ctx;
    } else {
        d->freectx(s->ctx);
        if (alg == VEIL_HASH_SHA512 && p->n[alg] < POOL_PER_ALG &&
            (s->ctx = new_ready(d)) != NULL)
            p->idle[alg][p->n[alg]++] = s->ctx;
    }
    s->ctx = NULL;
    h->alg = VC_HASH_SPENT;
}

int vc_ossl_hash_final(vc_hash *h, uint8_t *out)
{
    const digest *d = &digests[h->alg];
    size_t outl = 0, want = veil_hash_len(h->alg);
    int ok = d->final(state_of(h)->ctx, out, &outl, want) == 1 && outl == want;
    int alg = h->alg;
    vc_ossl_hash_abort(h);
    return ok ? 0 : veil_error_set(VEIL_EINVAL, "openssl: %s final failed", alg_names[alg]);
}
