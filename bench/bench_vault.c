/* vault: AEAD encrypt+decrypt through the vault interface against the raw
 * library call doing the same work in the same run (1 KiB and 16 KiB, both
 * ciphers, both backends), plus X25519 DH, Ed25519 and XEdDSA sign/verify
 * ops/s through the vault.  The raw baselines keep a keyed context per key
 * exactly like the backends do, so the ratio is the cost of the vault
 * layers (wrapper checks, handle lookup, indirect calls).  Medians of 21
 * short timed runs, vault and raw interleaved; the ratio is the median of
 * the per-pair ratios.  X25519/Ed25519/XEdDSA: medians of 5 runs (XEdDSA
 * against Ed25519 per CPU second).  Hashes of 64 bytes through the vault
 * against the library called directly, interleaved the same way, and HKDF
 * with two outputs (CPU time).  The software vault is loaded through the
 * plugin loader (VEIL_PLUGIN_PATH). */
#include "config.h"
#include "bench.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <veil/veil.h>

#if defined(VEIL_HAVE_SODIUM) && defined(VEIL_HAVE_OPENSSL)
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>

/* Many short interleaved vault/raw pairs: on a shared machine the load
 * changes between runs, and each pair's ratio compares like with like. */
#define RUNS 21

typedef struct raw_ctx {
    int sodium, type;
    crypto_aead_aes256gcm_state gcm;
    uint8_t key[32];
    EVP_CIPHER_CTX *enc, *dec;
} raw_ctx;

static int raw_init(raw_ctx *r, int sodium, int type, const uint8_t key[32])
{
    memset(r, 0, sizeof *r);
    r->sodium = sodium, r->type = type;
    memcpy(r->key, key, 32);
    if (sodium) {
        if (type == VEIL_SECRET_AES256GCM)
            crypto_aead_aes256gcm_beforenm(&r->gcm, key);
        return 0;
    }
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, type == VEIL_SECRET_AES256GCM ? "AES-256-GCM"
                                                                          : "ChaCha20-Poly1305", NULL);
    r->enc = EVP_CIPHER_CTX_new();
    r->dec = EVP_CIPHER_CTX_new();
    int ok = c && EVP_EncryptInit_ex2(r->enc, c, key, NULL, NULL) == 1 &&
             EVP_DecryptInit_ex2(r->dec, c, key, NULL, NULL) == 1;
    EVP_CIPHER_free(c);
    return ok ? 0 : -1;
}

static void raw_free(raw_ctx *r)
{
    EVP_CIPHER_CTX_free(r->enc);
    EVP_CIPHER_CTX_free(r->dec);
}

/* encrypt then decrypt in place; 0 when the round trip verifies */
static int raw_roundtrip(raw_ctx *r, const uint8_t n[12], uint8_t *buf, size_t len)
{
    if (r->sodium && r->type == VEIL_SECRET_AES256GCM) {
        crypto_aead_aes256gcm_encrypt_detached_afternm(buf, buf + len, NULL, buf, len, NULL, 0,
                                                       NULL, n, &r->gcm);
        return crypto_aead_aes256gcm_decrypt_detached_afternm(buf, NULL, buf, len, buf + len,
                                                              NULL, 0, n, &r->gcm);
    }
    if (r->sodium) {
        crypto_aead_chacha20poly1305_ietf_encrypt_detached(buf, buf + len, NULL, buf, len, NULL,
                                                           0, NULL, n, r->key);
        return crypto_aead_chacha20poly1305_ietf_decrypt_detached(buf, NULL, buf, len, buf + len,
                                                                  NULL, 0, n, r->key);
    }
    int outl;
    OSSL_PARAM p[2] = { OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, buf + len, 16),
                        OSSL_PARAM_construct_end() };
    if (EVP_EncryptInit_ex2(r->enc, NULL, NULL, n, NULL) != 1 ||
        EVP_EncryptUpdate(r->enc, buf, &outl, buf, (int)len) != 1 ||
        EVP_EncryptFinal_ex(r->enc, buf + len, &outl) != 1 || EVP_CIPHER_CTX_get_params(r->enc, p) != 1)
        return -1;
    if (EVP_DecryptInit_ex2(r->dec, NULL, NULL, n, NULL) != 1 ||
        EVP_CIPHER_CTX_set_params(r->dec, p) != 1 ||
        EVP_DecryptUpdate(r->dec, buf, &outl, buf, (int)len) != 1 ||
        EVP_DecryptFinal_ex(r->dec, buf + len, &outl) != 1)
        return -1;
    return 0;
}

static int aead_case(bench_run *b, veil_vault *v, const char *backend, int type, size_t len)
{
    static uint8_t buf[16384 + 16];
    uint8_t key[32], n[12] = { 0 };
    veil_secret k;
    raw_ctx r;
    veil_secret_attrs a = { .type = type };
    int rc;
    memset(key, 7, sizeof key);
    memset(buf, 0x33, sizeof buf);
    if ((rc = veil_vault_import(v, &a, key, 32, &k)) != 0)
        return rc;
    if (raw_init(&r, strcmp(backend, "sodium") == 0, type, key) != 0)
        return VEIL_EINVAL;
    bool smoke = bench_smoke(b);
    long iters = smoke ? 20 : (long)(16L * 1024 * 1024 / (len + 64));
    double tv[RUNS], tr[RUNS], ratio[RUNS];
    int runs = smoke ? 1 : RUNS;
    for (int run = 0; run < runs; run++) {
        double t0 = bench_now_s();
        for (long i = 0; i < iters && rc == 0; i++) {
            rc = veil_vault_aead_encrypt(v, k, n, NULL, 0, buf, len);
            if (rc == 0)
                rc = veil_vault_aead_decrypt(v, k, n, NULL, 0, buf, len + 16);
        }
        double t1 = bench_now_s();
        for (long i = 0; i < iters && rc == 0; i++)
            if (raw_roundtrip(&r, n, buf, len) != 0)
                rc = VEIL_EAUTH;
        double t2 = bench_now_s();
        tv[run] = (double)iters * (double)len / (t1 - t0) / 1e6;
        tr[run] = (double)iters * (double)len / (t2 - t1) / 1e6;
        ratio[run] = 100.0 * tv[run] / tr[run];
    }
    raw_free(&r);
    if (rc == 0)
        rc = veil_vault_secret_destroy(v, k);
    if (rc != 0)
        return rc;
    char variant[80];
    double mv = bench_median(tv, (size_t)runs), mr = bench_median(tr, (size_t)runs);
    snprintf(variant, sizeof variant, "%s %s %zuB enc+dec", backend, veil_secret_type_name(type), len);
    bench_emit(b, variant, "vault", mv, "MB/s");
    bench_emit(b, variant, "raw", mr, "MB/s");
    bench_emit(b, variant, "vault/raw", bench_median(ratio, (size_t)runs), "%");
    return 0;
}

/* 1 KiB AES-GCM enc+dec with one key against round robin over MANY_KEYS
 * keys, alternating in chunks: what a key costs when the backend has to
 * set it up again (the OpenSSL backend keeps 64 contexts per cipher). */
#define MANY_KEYS 256
static int keys_case(bench_run *b, veil_vault *v, const char *backend)
{
    static uint8_t buf[1024 + 16];
    static veil_secret k[MANY_KEYS];
    veil_secret_attrs a = { .type = VEIL_SECRET_AES256GCM };
    uint8_t n[12] = { 0 };
    int rc = 0, made = 0;
    for (; made < MANY_KEYS && rc == 0; made++)
        rc = veil_vault_generate(v, &a, &k[made]);
    bool smoke = bench_smoke(b);
    int runs = smoke ? 1 : RUNS;
    long chunks = smoke ? 1 : 200;
    double one[RUNS], many[RUNS];
    for (int run = 0; run < runs && rc == 0; run++) {
        double t1 = 0, tm = 0;
        long calls = 0;
        for (long c = 0; c < chunks && rc == 0; c++) {
            double t0 = bench_now_s();
            for (int i = 0; i < MANY_KEYS && rc == 0; i++)
                if ((rc = veil_vault_aead_encrypt(v, k[0], n, NULL, 0, buf, 1024)) == 0)
                    rc = veil_vault_aead_decrypt(v, k[0], n, NULL, 0, buf, 1024 + 16);
            double t2 = bench_now_s();
            for (int i = 0; i < MANY_KEYS && rc == 0; i++)
                if ((rc = veil_vault_aead_encrypt(v, k[i], n, NULL, 0, buf, 1024)) == 0)
                    rc = veil_vault_aead_decrypt(v, k[i], n, NULL, 0, buf, 1024 + 16);
            double t3 = bench_now_s();
            t1 += t2 - t0;
            tm += t3 - t2;
            calls += MANY_KEYS;
        }
        one[run] = t1 * 1e9 / (double)calls;
        many[run] = tm * 1e9 / (double)calls;
    }
    for (int i = 0; i < made; i++)
        if (veil_vault_secret_destroy(v, k[i]) != 0 && rc == 0)
            rc = VEIL_EINVAL;
    if (rc != 0)
        return rc;
    char variant[80];
    double m1 = bench_median(one, (size_t)runs), mm = bench_median(many, (size_t)runs);
    snprintf(variant, sizeof variant, "%s aes256gcm 1024B, %d keys", backend, MANY_KEYS);
    bench_emit(b, variant, "ns/enc+dec, one key", m1, "ns");
    bench_emit(b, variant, "ns/enc+dec, keys round robin", mm, "ns");
    bench_emit(b, variant, "round robin / one key", mm / m1, "x");
    return 0;
}

/* Process CPU time: the bench runs in one thread, so this counts its own
 * work only, whatever else the shared machine runs meanwhile. */
static double cpu_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One hash of len bytes straight through the library, the way a caller
 * that keeps its own context would (OpenSSL: one EVP_MD_CTX, re-initialised
 * per hash; libsodium: its one-shot calls; BLAKE2s, which libsodium lacks,
 * on OpenSSL for both). */
typedef struct raw_hash {
    EVP_MD_CTX *ctx;
    EVP_MD *md;
    int sodium, alg;
} raw_hash;

static int raw_hash_once(raw_hash *r, const uint8_t *in, size_t len, uint8_t *out)
{
    if (r->sodium && r->alg == VEIL_HASH_SHA256)
        return crypto_hash_sha256(out, in, len);
    if (r->sodium && r->alg == VEIL_HASH_SHA512)
        return crypto_hash_sha512(out, in, len);
    if (r->sodium && r->alg == VEIL_HASH_BLAKE2B)
        return crypto_generichash_blake2b(out, 64, in, len, NULL, 0);
    return EVP_DigestInit_ex2(r->ctx, r->md, NULL) == 1 && EVP_DigestUpdate(r->ctx, in, len) == 1 &&
                   EVP_DigestFinal_ex(r->ctx, out, NULL) == 1
               ? 0
               : -1;
}

/* A 64-byte hash through the vault against raw_hash_once, interleaved in
 * RUNS pairs (the ratio is the median of the pairs' ratios), then HKDF
 * with two 32-byte outputs (what a Noise MixKey does), ns each in CPU
 * time (median of RUNS). */
static int hash_case(bench_run *b, veil_vault *v, const char *backend, int alg, const char *name)
{
    static const char *const md_names[] = { [VEIL_HASH_SHA256] = "SHA256",
                                            [VEIL_HASH_SHA512] = "SHA512",
                                            [VEIL_HASH_BLAKE2S] = "BLAKE2S-256",
                                            [VEIL_HASH_BLAKE2B] = "BLAKE2B-512" };
    uint8_t in[64] = { 5 }, out[64];
    veil_iovec part = { in, sizeof in };
    raw_hash r = { .sodium = strcmp(backend, "sodium") == 0, .alg = alg };
    int runs = bench_smoke(b) ? 1 : RUNS, rc = 0;
    long iters = bench_smoke(b) ? 5 : 20000;
    double tv[RUNS], ratio[RUNS];
    r.md = EVP_MD_fetch(NULL, md_names[alg], NULL);
    r.ctx = EVP_MD_CTX_new();
    if (r.md == NULL || r.ctx == NULL)
        rc = VEIL_ENOMEM;
    for (int run = 0; run < runs && rc == 0; run++) {
        double t0 = bench_now_s();
        for (long i = 0; i < iters && rc == 0; i++)
            rc = veil_vault_hash(v, alg, &part, 1, out);
        double t1 = bench_now_s();
        for (long i = 0; i < iters && rc == 0; i++)
            if (raw_hash_once(&r, in, sizeof in, out) != 0)
                rc = VEIL_EINVAL;
        double t2 = bench_now_s();
        tv[run] = (double)iters / (t1 - t0);
        ratio[run] = 100.0 * (t2 - t1) / (t1 - t0);
    }
    EVP_MD_CTX_free(r.ctx);
    EVP_MD_free(r.md);
    veil_secret_attrs oa[2] = { { .type = VEIL_SECRET_BUFFER, .length = 32 },
                                { .type = VEIL_SECRET_BUFFER, .length = 32 } };
    veil_vault_input ck = { .data = in, .len = 32 }, ikm = { .data = in + 32, .len = 32 };
    veil_secret o[2];
    double th[RUNS];
    long hk = bench_smoke(b) ? 5 : 2000;
    for (int run = 0; run < runs && rc == 0; run++) {
        double c0 = cpu_now_s();
        for (long i = 0; i < hk && rc == 0; i++)
            if ((rc = veil_vault_hkdf(v, alg, &ck, &ikm, 1, NULL, 0, oa, 2, o)) == 0 &&
                (rc = veil_vault_secret_destroy(v, o[0])) == 0)
                rc = veil_vault_secret_destroy(v, o[1]);
        th[run] = (cpu_now_s() - c0) * 1e9 / (double)hk;
    }
    if (rc != 0)
        return rc;
    char variant[64];
    snprintf(variant, sizeof variant, "%s %s 64B hash", backend, name);
    bench_emit(b, variant, "vault", bench_median(tv, (size_t)runs), "1/s");
    bench_emit(b, variant, "vault/raw", bench_median(ratio, (size_t)runs), "%");
    snprintf(variant, sizeof variant, "%s %s hkdf 2x32B", backend, name);
    bench_emit(b, variant, "ns each, CPU time", bench_median(th, (size_t)runs), "ns");
    return 0;
}

/* ops/s of f over RUNS_ASYM timed runs of iters calls (medians), by the
 * wall clock and per CPU second. */
#define RUNS_ASYM 5
typedef int (*op_fn)(veil_vault *v, void *arg);

typedef struct op_rate {
    double wall, cpu;
} op_rate;

static int time_op(bench_run *b, veil_vault *v, op_fn f, void *arg, op_rate *out)
{
    int runs = bench_smoke(b) ? 1 : RUNS_ASYM, rc = 0;
    long iters = bench_smoke(b) ? 5 : 2000;
    double t[RUNS_ASYM], c[RUNS_ASYM];
    for (int run = 0; run < runs && rc == 0; run++) {
        double t0 = bench_now_s(), c0 = cpu_now_s();
        for (long i = 0; i < iters && rc == 0; i++)
            rc = f(v, arg);
        t[run] = (double)iters / (bench_now_s() - t0);
        c[run] = (double)iters / (cpu_now_s() - c0);
    }
    out->wall = bench_median(t, (size_t)runs);
    out->cpu = bench_median(c, (size_t)runs);
    return rc;
}

typedef struct asym_arg {
    veil_secret x, e, p, out;
    uint8_t xpub[32], epub[32], ppub[33], xsig[64], esig[64], psig[64], msg[64];
} asym_arg;

static int op_dh(veil_vault *v, void *arg)
{
    asym_arg *a = arg;
    static const uint8_t peer[32] = { 9 };
    int rc = veil_vault_dh(v, a->x, peer, 32, NULL, &a->out);
    return rc == 0 ? veil_vault_secret_destroy(v, a->out) : rc;
}

static int op_ed_sign(veil_vault *v, void *arg)
{
    asym_arg *a = arg;
    return veil_vault_sign(v, a->e, a->msg, sizeof a->msg, a->esig);
}

static int op_ed_verify(veil_vault *v, void *arg)
{
    asym_arg *a = arg;
    return veil_vault_verify(v, VEIL_SECRET_ED25519, a->epub, 32, a->msg, sizeof a->msg, a->esig);
}

static int op_p256_sign(veil_vault *v, void *arg)
{
    asym_arg *a = arg;
    return veil_vault_sign(v, a->p, a->msg, sizeof a->msg, a->psig);
}

static int op_p256_verify(veil_vault *v, void *arg)
{
    asym_arg *a = arg;
    return veil_vault_verify(v, VEIL_SECRET_P256, a->ppub, 33, a->msg, sizeof a->msg, a->psig);
}

static int op_xed_sign(veil_vault *v, void *arg)
{
    asym_arg *a = arg;
    return veil_vault_sign(v, a->x, a->msg, sizeof a->msg, a->xsig);
}

static int op_xed_verify(veil_vault *v, void *arg)
{
    asym_arg *a = arg;
    return veil_vault_verify(v, VEIL_SECRET_X25519, a->xpub, 32, a->msg, sizeof a->msg, a->xsig);
}

/* X25519 DH, Ed25519, ECDSA P-256 (OpenSSL on both backends) and XEdDSA
 * sign and verify (64-byte message) through the vault, ops/s; XEdDSA is also given relative to Ed25519 measured in
 * the same run, per CPU second (the same curve work: base-point
 * multiplications to sign, one double-scalar multiplication to verify). */
static int asym_case(bench_run *b, veil_vault *v, const char *backend)
{
    veil_secret_attrs ax = { .type = VEIL_SECRET_X25519 }, ae = { .type = VEIL_SECRET_ED25519 },
                      ap = { .type = VEIL_SECRET_P256 };
    asym_arg a = { .msg = { 1 } };
    size_t n = 0;
    op_rate dh, es, ev, xs, xv, ps, pv;
    int rc;
    if ((rc = veil_vault_generate(v, &ax, &a.x)) != 0 || (rc = veil_vault_generate(v, &ae, &a.e)) != 0 ||
        (rc = veil_vault_generate(v, &ap, &a.p)) != 0)
        return rc;
    if ((rc = veil_vault_public_key(v, a.x, a.xpub, sizeof a.xpub, &n)) == 0 &&
        (rc = veil_vault_public_key(v, a.e, a.epub, sizeof a.epub, &n)) == 0 &&
        (rc = veil_vault_public_key(v, a.p, a.ppub, sizeof a.ppub, &n)) == 0 &&
        (rc = time_op(b, v, op_p256_sign, &a, &ps)) == 0 &&
        (rc = time_op(b, v, op_p256_verify, &a, &pv)) == 0 &&
        (rc = time_op(b, v, op_dh, &a, &dh)) == 0 && (rc = time_op(b, v, op_ed_sign, &a, &es)) == 0 &&
        (rc = time_op(b, v, op_ed_verify, &a, &ev)) == 0 &&
        (rc = time_op(b, v, op_xed_sign, &a, &xs)) == 0)
        rc = time_op(b, v, op_xed_verify, &a, &xv);
    if (rc != 0)
        return rc;
    char variant[64];
    snprintf(variant, sizeof variant, "%s x25519 dh", backend);
    bench_emit(b, variant, "ops/s", dh.wall, "ops/s");
    snprintf(variant, sizeof variant, "%s ed25519 sign", backend);
    bench_emit(b, variant, "ops/s", es.wall, "ops/s");
    snprintf(variant, sizeof variant, "%s ed25519 verify", backend);
    bench_emit(b, variant, "ops/s", ev.wall, "ops/s");
    snprintf(variant, sizeof variant, "%s p256 sign", backend);
    bench_emit(b, variant, "ops/s", ps.wall, "ops/s");
    snprintf(variant, sizeof variant, "%s p256 verify", backend);
    bench_emit(b, variant, "ops/s", pv.wall, "ops/s");
    snprintf(variant, sizeof variant, "%s xeddsa sign", backend);
    bench_emit(b, variant, "ops/s", xs.wall, "ops/s");
    bench_emit(b, variant, "of ed25519 sign, CPU time", 100.0 * xs.cpu / es.cpu, "%");
    snprintf(variant, sizeof variant, "%s xeddsa verify", backend);
    bench_emit(b, variant, "ops/s", xv.wall, "ops/s");
    bench_emit(b, variant, "of ed25519 verify, CPU time", 100.0 * xv.cpu / ev.cpu, "%");
    if ((rc = veil_vault_secret_destroy(v, a.x)) != 0 || (rc = veil_vault_secret_destroy(v, a.p)) != 0)
        return rc;
    return veil_vault_secret_destroy(v, a.e);
}

static int run(bench_run *b)
{
    static const char *const backends[] = { "sodium", "openssl" };
    static const int types[] = { VEIL_SECRET_AES256GCM, VEIL_SECRET_CHACHAPOLY };
    static const size_t sizes[] = { 1024, 16384 };
    static const int hashes[] = { VEIL_HASH_SHA256, VEIL_HASH_SHA512, VEIL_HASH_BLAKE2S,
                                  VEIL_HASH_BLAKE2B };
    static const char *const hash_names[] = { "SHA-256", "SHA-512", "BLAKE2s", "BLAKE2b" };
    veil_config *cfg;
    veil_plugin *p;
    int rc;
    if (sodium_init() < 0)
        return VEIL_EUNSUPPORTED;
    if ((rc = veil_config_new_from_text(&cfg, "[vault.sodium]\ncrypto = sodium\n"
                                      "[vault.openssl]\ncrypto = openssl\n", "<bench>")) != 0)
        return rc;
    if ((rc = veil_plugin_open_named("software", cfg, "vault.sodium", VEIL_PLUGIN_VAULT, NULL,
                                     &p)) != 0) {
        fprintf(stderr, "bench vault: %s\n", veil_last_error());
        veil_config_free(cfg);
        return rc;
    }
    for (size_t bi = 0; bi < 2 && rc == 0; bi++) {
        char section[32];
        snprintf(section, sizeof section, "vault.%s", backends[bi]);
        veil_config_scope scope = { cfg, section };
        veil_vault *v;
        if ((rc = veil_vault_open_plugin(p, &scope, &v)) != 0)
            break;
        for (size_t t = 0; t < 2 && rc == 0; t++)
            for (size_t s = 0; s < 2 && rc == 0; s++)
                rc = aead_case(b, v, backends[bi], types[t], sizes[s]);
        if (rc == 0)
            rc = keys_case(b, v, backends[bi]);
        if (rc == 0)
            rc = asym_case(b, v, backends[bi]);
        for (size_t h = 0; h < 4 && rc == 0; h++)
            rc = hash_case(b, v, backends[bi], hashes[h], hash_names[h]);
        veil_vault_close(v);
    }
    veil_plugin_close(p);
    veil_config_free(cfg);
    return rc == 0 ? bench_vault_pkcs11(b) : rc;
}

#else
/* Needs both backends for the raw baselines. */
static int run(bench_run *b)
{
    (void)b;
    fprintf(stderr, "bench vault: needs both libsodium and OpenSSL (configure without --disable-*)\n");
    return 0;
}
#endif

const bench_case bench_case_vault = { "vault", "AEAD via vault vs raw library; X25519/Ed25519 ops/s; "
                                      "identity in a SoftHSM2 token vs software",
                                      run };
