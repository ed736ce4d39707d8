/* noise: full Noise handshakes per second (both sides in one process,
 * static keys preset) for XX_25519_AESGCM_SHA256 and
 * XX_25519_ChaChaPoly_BLAKE2b, against the X25519 bound measured in the same
 * run: the time of the 8 X25519 operations an XX exchange needs (2 ephemeral
 * key generations + ee, es, se on each side) through the vault.  Then
 * transport encrypt+decrypt MB/s through Noise CipherStates at 1 KiB and
 * 64 KiB against raw AEAD through the vault.  Medians of RUNS runs; each
 * backend the build has. */
#include "config.h"
#include "bench.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <veil/veil.h>

#ifdef BENCH_HAVE_NOISE
#include "noise.h"
#include "noise-vault.h"

#define RUNS 5

typedef struct ctx {
    bench_run *b;
    veil_vault *v;
    const char *backend;
    veil_secret s[2];
    bool smoke;
} ctx;

static int one_handshake(ctx *c, const char *name)
{
    static uint8_t msg[512], pl[512];
    noise_handshake *hs[2] = { NULL, NULL };
    veil_ka_result res[2];
    size_t n = 0, pn = 0;
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        veil_ka_params p = { .size = sizeof(p), .role = i ? VEIL_KA_RESPONDER : VEIL_KA_INITIATOR,
                             .vault = c->v, .protocol = name, .local_static = c->s[i] };
        rc = noise_handshake_new(&p, &hs[i]);
    }
    for (unsigned m = 0; m < 3 && rc == 0; m++) {
        int w = (int)(m % 2);
        rc = noise_handshake_write(hs[w], NULL, 0, msg, sizeof(msg), &n);
        if (rc == 0)
            rc = noise_handshake_read(hs[1 - w], msg, n, pl, sizeof(pl), &pn);
    }
    for (int i = 0; i < 2 && rc == 0; i++) {
        rc = noise_handshake_split(hs[i], &res[i]);
        if (rc == 0) {
            veil__secret_drop(c->v, &res[i].send_key);
            veil__secret_drop(c->v, &res[i].recv_key);
        }
    }
    noise_handshake_free(hs[0]);
    noise_handshake_free(hs[1]);
    return rc;
}

/* The X25519 work of one XX exchange, through the vault. */
static int x25519_bound_once(ctx *c)
{
    veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
    veil_secret e[2] = { 0, 0 }, out;
    uint8_t pub[2][32];
    size_t len;
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++)
        if ((rc = veil_vault_generate(c->v, &a, &e[i])) == 0)
            rc = veil_vault_public_key(c->v, e[i], pub[i], 32, &len);
    /* ee, es, se on each side: 6 DH. */
    const veil_secret local[6] = { e[0], e[1], e[0], c->s[1], c->s[0], e[1] };
    const int remote[6] = { 1, 0, 1, 0, 1, 0 };
    for (int i = 0; i < 6 && rc == 0; i++)
        if ((rc = veil_vault_dh(c->v, local[i], pub[remote[i]], 32, NULL, &out)) == 0)
            rc = veil_vault_secret_destroy(c->v, out);
    veil__secret_drop(c->v, &e[0]);
    veil__secret_drop(c->v, &e[1]);
    return rc;
}

/* Handshakes and bound exchanges alternate one by one, each timed on its
 * own, so load changes on a shared machine hit both sides of the ratio.
 * The ratio is taken per run (both sides from the same seconds) and the
 * median of the runs' ratios is reported: the medians of the two rates
 * separately can come from different runs and different load.  The ratio
 * is also given in process CPU time: both sides run in this one thread,
 * so it counts the same work without the time other processes took the
 * CPU away (on the shared 2-core machine the wall-clock ratios of single
 * runs scatter by +-10 points at load 5, the CPU-time ones by about 1). */
#define HS_RUNS 11

static double cpu_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int handshake_case(ctx *c, const char *name)
{
    double hs[HS_RUNS], bound[HS_RUNS], ratio[HS_RUNS], cpu_ratio[HS_RUNS];
    int runs = c->smoke ? 1 : HS_RUNS, rc = 0;
    long iters = c->smoke ? 3 : 150;
    for (int r = 0; r < runs && rc == 0; r++) {
        double th = 0, tb = 0, ch = 0, cb = 0;
        for (long i = 0; i < iters && rc == 0; i++) {
            double t0 = bench_now_s(), c0 = cpu_now_s();
            rc = one_handshake(c, name);
            double t1 = bench_now_s(), c1 = cpu_now_s();
            if (rc == 0)
                rc = x25519_bound_once(c);
            double t2 = bench_now_s(), c2 = cpu_now_s();
            th += t1 - t0;
            tb += t2 - t1;
            ch += c1 - c0;
            cb += c2 - c1;
        }
        hs[r] = (double)iters / th;
        bound[r] = (double)iters / tb;
        ratio[r] = 100.0 * hs[r] / bound[r];
        cpu_ratio[r] = 100.0 * cb / ch;
    }
    if (rc != 0)
        return rc;
    char variant[96];
    snprintf(variant, sizeof(variant), "%s %s", c->backend, name);
    bench_emit(c->b, variant, "handshakes/s", bench_median(hs, (size_t)runs), "1/s");
    bench_emit(c->b, variant, "x25519 bound", bench_median(bound, (size_t)runs), "1/s");
    bench_emit(c->b, variant, "of bound", bench_median(ratio, (size_t)runs), "%");
    bench_emit(c->b, variant, "of bound, CPU time", bench_median(cpu_ratio, (size_t)runs), "%");
    return 0;
}

static int transport_case(ctx *c, int type, size_t len)
{
    static uint8_t buf[VEIL_KA_MESSAGE_MAX + 16];
    uint8_t key[32], nonce[12];
    veil_secret k = 0;
    veil_secret_attrs a = { .type = type };
    memset(key, 5, sizeof(key));
    memset(buf, 0x3c, sizeof(buf));
    int rc = veil_vault_import(c->v, &a, key, 32, &k);
    if (rc != 0)
        return rc;
    int fmt = veil_nonce_format_of(type);
    noise_cipher tx, rx;
    noise_cipher_init(&tx, c->v, fmt);
    noise_cipher_init(&rx, c->v, fmt);
    noise_cipher_set_key(&tx, k, false);
    noise_cipher_set_key(&rx, k, false);
    int runs = c->smoke ? 1 : RUNS;
    long iters = c->smoke ? 10 : (long)(96L * 1024 * 1024 / (len + 64));
    double tn[RUNS], tr[RUNS];
    size_t n = 0;
    uint64_t rn = 0;
    /* Noise and raw alternate in chunks of CHUNK messages (same reason as
     * above); the raw side uses its own counter for distinct nonces. */
    const long chunk = 16;
    for (int r = 0; r < runs && rc == 0; r++) {
        double t_noise = 0, t_raw = 0;
        for (long done = 0; done < iters && rc == 0; done += chunk) {
            double t0 = bench_now_s();
            for (long i = 0; i < chunk && rc == 0; i++)
                if ((rc = noise_cipher_encrypt(&tx, NULL, 0, buf, len, &n)) == 0)
                    rc = noise_cipher_decrypt(&rx, NULL, 0, buf, n, &n);
            double t1 = bench_now_s();
            for (long i = 0; i < chunk && rc == 0; i++, rn++) {
                veil_nonce_encode(fmt, rn, nonce);
                if ((rc = veil_vault_aead_encrypt(c->v, k, nonce, NULL, 0, buf, len)) == 0)
                    rc = veil_vault_aead_decrypt(c->v, k, nonce, NULL, 0, buf, len + 16);
            }
            double t2 = bench_now_s();
            t_noise += t1 - t0;
            t_raw += t2 - t1;
        }
        long total = (iters + chunk - 1) / chunk * chunk;
        tn[r] = (double)total * (double)len / t_noise / 1e6;
        tr[r] = (double)total * (double)len / t_raw / 1e6;
    }
    veil__secret_drop(c->v, &k);
    if (rc != 0)
        return rc;
    char variant[96];
    double mn = bench_median(tn, (size_t)runs), mr = bench_median(tr, (size_t)runs);
    snprintf(variant, sizeof(variant), "%s %s %zuB enc+dec", c->backend,
             type == VEIL_SECRET_AES256GCM ? "AESGCM" : "ChaChaPoly", len);
    bench_emit(c->b, variant, "noise", mn, "MB/s");
    bench_emit(c->b, variant, "raw vault AEAD", mr, "MB/s");
    bench_emit(c->b, variant, "noise/raw", 100.0 * mn / mr, "%");
    return 0;
}

static int run_backend(bench_run *b, const char *backend)
{
    noise_test_vault tv;
    ctx c = { .b = b, .backend = backend, .smoke = bench_smoke(b) };
    int rc = noise_test_vault_open(&tv, backend);
    if (rc != 0) {
        fprintf(stderr, "bench noise: %s vault: %s\n", backend, veil_last_error());
        return rc;
    }
    c.v = tv.vault;
    veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = veil_vault_generate(c.v, &a, &c.s[i]);
    if (rc == 0)
        rc = handshake_case(&c, "Noise_XX_25519_AESGCM_SHA256");
    if (rc == 0)
        rc = handshake_case(&c, "Noise_XX_25519_ChaChaPoly_BLAKE2b");
    /* 64 KiB: the largest Noise transport payload (65535 - 16 bytes). */
    static const size_t sizes[] = { 1024, VEIL_KA_MESSAGE_MAX - VEIL_AEAD_TAG_BYTES };
    static const int types[] = { VEIL_SECRET_AES256GCM, VEIL_SECRET_CHACHAPOLY };
    for (size_t t = 0; t < 2 && rc == 0; t++)
        for (size_t s = 0; s < 2 && rc == 0; s++)
            rc = transport_case(&c, types[t], sizes[s]);
    veil__secret_drop(c.v, &c.s[0]);
    veil__secret_drop(c.v, &c.s[1]);
    if (rc != 0)
        fprintf(stderr, "bench noise (%s): %s\n", backend, veil_last_error());
    noise_test_vault_close(&tv);
    return rc;
}

static int run(bench_run *b)
{
    int rc = 0;
#ifdef VEIL_HAVE_OPENSSL
    rc = run_backend(b, "openssl");
#endif
#ifdef VEIL_HAVE_SODIUM
    if (rc == 0)
        rc = run_backend(b, "sodium");
#endif
    return rc;
}
#else
static int run(bench_run *b)
{
    (void)b;
    fprintf(stderr, "bench noise: the noise plugin is disabled (--disable-noise)\n");
    return 0;
}
#endif

const bench_case bench_case_noise = {
    "noise", "Noise XX handshakes/s vs the X25519 bound; transport MB/s vs raw AEAD", run
};
