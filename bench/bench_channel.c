/* channel: secure channels end to end, in one process (both ends).
 *
 *  1. authenticated channel set-ups per second (key agreement + identity
 *     proof + trust policy + ACCEPT: veil_secure_channel_open, then
 *     close), against an OpenSSL TLS 1.3 handshake with mutual Ed25519
 *     certificate authentication over a memory BIO pair, and against the
 *     crypto bound of the design: the public-key operations one set-up
 *     needs once identity proofs are cached (2 X25519 key generations + 6
 *     X25519 DH, through the vault; no signature: see docs/PROTOCOL.md).
 *     The three alternate in small chunks so machine load hits all.
 *  2. bulk through an established channel (veil_ctx_send → encrypt →
 *     route → decrypt → a sink worker) at 1 KiB and 16 KiB, against raw
 *     AEAD encrypt+decrypt through the same vault and the TLS 1.3 record
 *     layer (SSL_write → SSL_read over the BIO pair).
 *     X3DH channels ([key_agreement] plugin = x3dh, on a second node in
 *     the same process: bundle fetch from the listener node's prekey
 *     service, then the 3-message X3DH handshake) are timed in the same
 *     chunks, with their own crypto bound (3 X25519 key generations: EK,
 *     the responder's ephemeral, the OPK the store makes to replace the
 *     one handed out; 12 DH: DH1..DH4 on each side and the two ephemeral
 *     mixes on each side; 1 XEdDSA verification of the SPK signature; no
 *     identity signature once proofs are cached, as for Noise).
 *  3. memory per established channel (RSS delta over 10,000 channels, both
 *     ends in this process) and the per-message cost over one channel
 *     with 10,000 other channels open against with none.
 * Medians of RUNS runs; ratios are medians of per-run ratios. */
#include "config.h"
#include "bench.h"
#include "bench_channel_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/veil.h>

#define RUNS 5
#define MANY 10000

typedef struct world {
    bench_run *b;
    bool smoke;
    veil_node *node;
    veil_context *app;
    veil_vault *vault;
    veil_entity *alice, *bob;
    unsigned long sunk;
    veil_secret bound_s[2];
    veil_secret bound_spk;            /* X3DH bound: Bob's SPK, signed by bound_s[1] */
    uint8_t pub_s[2][32], spk_pub[32], spk_enc[33], spk_sig[64];
    bench_tls *tls;
} world;

static int sink_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)ctx;
    (void)msg;
    (*(unsigned long *)state)++;
    return 0;
}

static const veil_worker_ops sink_ops = { .size = sizeof(veil_worker_ops),
                                          .handle_message = sink_handle };

static int setup_channel(world *w, veil_address *ch)
{
    const char *id = veil_entity_identifier(w->bob);
    veil_trust_policy *p;
    veil_route r;
    int rc = veil_trust_policy_new_identifier(w->node, &id, 1, &p);
    if (rc == 0)
        rc = veil_route_parse(&r, "bob");
    return rc < 0 ? rc : veil_secure_channel_open(w->alice, &r, p, ch);
}

static int setup_and_close(world *w)
{
    veil_address ch;
    int rc = setup_channel(w, &ch);
    return rc < 0 ? rc : veil_secure_channel_close(w->node, &ch);
}

/* The X25519 work of one set-up: 2 ephemeral keys, 6 DH. */
static int bound_once(world *w)
{
    veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
    veil_secret e[2] = { 0, 0 }, out;
    uint8_t pub[2][32];
    size_t len;
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++)
        if ((rc = veil_vault_generate(w->vault, &a, &e[i])) == 0)
            rc = veil_vault_public_key(w->vault, e[i], pub[i], 32, &len);
    const veil_secret local[6] = { e[0], e[1], e[0], w->bound_s[1], w->bound_s[0], e[1] };
    const int remote[6] = { 1, 0, 1, 0, 1, 0 };
    for (int i = 0; i < 6 && rc == 0; i++)
        if ((rc = veil_vault_dh(w->vault, local[i], pub[remote[i]], 32, NULL, &out)) == 0)
            rc = veil_vault_secret_destroy(w->vault, out);
    for (int i = 0; i < 2; i++)
        if (e[i] != 0 && veil_vault_secret_destroy(w->vault, e[i]) < 0 && rc == 0)
            rc = -1;
    return rc;
}

/* The public-key work of one X3DH set-up (see the top of the file). */
static int x3dh_bound_once(world *w)
{
    veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
    veil_secret e[3] = { 0, 0, 0 }, out; /* EK, ER, OPK */
    uint8_t pub[3][32];
    size_t len;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++)
        if ((rc = veil_vault_generate(w->vault, &a, &e[i])) == 0)
            rc = veil_vault_public_key(w->vault, e[i], pub[i], 32, &len);
    veil_secret ika = w->bound_s[0], ikb = w->bound_s[1], spk = w->bound_spk;
    const veil_secret local[12] = { ika, e[0], e[0], e[0], spk, ikb, spk, e[2],
                                    e[1], e[1], e[0], ika };
    const uint8_t *remote[12] = { w->spk_pub, w->pub_s[1], w->spk_pub, pub[2],
                                  w->pub_s[0], pub[0], pub[0], pub[0],
                                  pub[0], w->pub_s[0], pub[1], pub[1] };
    for (int i = 0; i < 12 && rc == 0; i++)
        if ((rc = veil_vault_dh(w->vault, local[i], remote[i], 32, NULL, &out)) == 0)
            rc = veil_vault_secret_destroy(w->vault, out);
    if (rc == 0)
        rc = veil_vault_verify(w->vault, VEIL_SECRET_X25519, w->pub_s[1], 32, w->spk_enc, 33,
                               w->spk_sig);
    for (int i = 0; i < 3; i++)
        if (e[i] != 0 && veil_vault_secret_destroy(w->vault, e[i]) < 0 && rc == 0)
            rc = -1;
    return rc;
}

/* Ratios are taken per run (both rates from the same chunks) and their
 * median reported: dividing the medians of two rates can pair different
 * runs under different load. */
static double ratio_median(const double *num, const double *den, double scale, int runs)
{
    double r[RUNS];
    for (int i = 0; i < runs; i++)
        r[i] = den[i] > 0 ? scale * num[i] / den[i] : 0;
    return bench_median(r, (size_t)runs);
}

static void x3dh_emit(world *w, double *xs, double *xb, double *ch, int runs)
{
    bench_emit(w->b, "setup", "X3DH channel set-ups/s", bench_median(xs, (size_t)runs), "1/s");
    bench_emit(w->b, "setup", "X3DH crypto bound (3 keygen + 12 DH + 1 XEdDSA verify)/s",
               bench_median(xb, (size_t)runs), "1/s");
    bench_emit(w->b, "setup", "X3DH channel / its crypto bound",
               ratio_median(xs, xb, 100.0, runs), "%");
    bench_emit(w->b, "setup", "X3DH / Noise XX set-ups", ratio_median(xs, ch, 1.0, runs), "x");
}

/* x: the X3DH world (NULL when the plugin is not built). */
static int setups_case(world *w, world *x)
{
    int runs = w->smoke ? 1 : RUNS, rc = 0;
    long iters = w->smoke ? 4 : 300;
    const long chunk = 10;
    double ch[RUNS], tls[RUNS], bound[RUNS], xs[RUNS], xb[RUNS];
    for (int r = 0; r < runs && rc == 0; r++) {
        double tc = 0, tt = 0, tb = 0, tx = 0, txb = 0;
        long done = 0;
        for (; done < iters && rc == 0; done += chunk) {
            double t0 = bench_now_s();
            for (long i = 0; i < chunk && rc == 0; i++)
                rc = setup_and_close(w);
            double t1 = bench_now_s();
            for (long i = 0; i < chunk && rc == 0 && w->tls; i++)
                rc = bench_tls_handshake(w->tls);
            double t2 = bench_now_s();
            for (long i = 0; i < chunk && rc == 0; i++)
                rc = bound_once(w);
            double t3 = bench_now_s();
            for (long i = 0; i < chunk && rc == 0 && x; i++)
                rc = setup_and_close(x);
            double t4 = bench_now_s();
            for (long i = 0; i < chunk && rc == 0 && x; i++)
                rc = x3dh_bound_once(x);
            double t5 = bench_now_s();
            tc += t1 - t0;
            tt += t2 - t1;
            tb += t3 - t2;
            tx += t4 - t3;
            txb += t5 - t4;
        }
        xs[r] = x ? (double)done / tx : 0;
        xb[r] = x ? (double)done / txb : 0;
        ch[r] = (double)done / tc;
        tls[r] = w->tls ? (double)done / tt : 0;
        bound[r] = (double)done / tb;
    }
    if (rc < 0)
        return rc;
    bench_emit(w->b, "setup", "channel set-ups/s", bench_median(ch, (size_t)runs), "1/s");
    bench_emit(w->b, "setup", "TLS 1.3 handshakes/s", bench_median(tls, (size_t)runs), "1/s");
    bench_emit(w->b, "setup", "crypto bound (2 keygen + 6 DH)/s",
               bench_median(bound, (size_t)runs), "1/s");
    bench_emit(w->b, "setup", "channel / TLS 1.3", ratio_median(ch, tls, 1.0, runs), "x");
    bench_emit(w->b, "setup", "channel / crypto bound", ratio_median(ch, bound, 100.0, runs), "%");
    if (x != NULL)
        x3dh_emit(w, xs, xb, ch, runs);
    return 0;
}

/* n messages of len bytes through [ch, sink], all delivered. */
static int pump(world *w, const veil_route *r, const uint8_t *buf, size_t len, long n)
{
    unsigned long want = w->sunk + (unsigned long)n;
    int rc = 0;
    for (long i = 0; i < n && rc == 0; i++)
        rc = veil_ctx_send(w->app, r, buf, len);
    while (rc == 0 && w->sunk < want)
        rc = veil_node_run_once(w->node, 0);
    return rc;
}

static int bulk_case(world *w, const veil_address *ch, size_t len)
{
    static uint8_t buf[16384 + 64];
    memset(buf, 0x5a, sizeof buf);
    veil_route r;
    veil_route_init(&r);
    int rc = veil_route_append(&r, ch);
    if (rc == 0)
        rc = veil_route_append_str(&r, "sink");
    veil_secret k = 0;
    veil_secret_attrs a = { .type = VEIL_SECRET_AES256GCM };
    if (rc == 0)
        rc = veil_vault_generate(w->vault, &a, &k);
    if (rc == 0 && w->tls != NULL && bench_tls_connect(w->tls) < 0)
        rc = -1;
    int runs = w->smoke ? 1 : RUNS;
    long iters = w->smoke ? 32 : (long)(64L * 1024 * 1024 / (len + 64));
    const long chunk = 16;
    double tc[RUNS], tr[RUNS], tt[RUNS];
    uint8_t nonce[12] = { 0 };
    uint64_t rn = 0;
    for (int run = 0; run < runs && rc == 0; run++) {
        double c = 0, raw = 0, tl = 0;
        long done = 0;
        for (; done < iters && rc == 0; done += chunk) {
            double t0 = bench_now_s();
            rc = pump(w, &r, buf, len, chunk);
            double t1 = bench_now_s();
            for (long i = 0; i < chunk && rc == 0; i++, rn++) {
                veil_nonce_encode(VEIL_NONCE_ZERO32_BE64, rn, nonce);
                if ((rc = veil_vault_aead_encrypt(w->vault, k, nonce, nonce, 9, buf, len)) == 0)
                    rc = veil_vault_aead_decrypt(w->vault, k, nonce, nonce, 9, buf, len + 16);
            }
            double t2 = bench_now_s();
            for (long i = 0; i < chunk && rc == 0 && w->tls; i++)
                rc = bench_tls_record(w->tls, buf, len);
            double t3 = bench_now_s();
            c += t1 - t0;
            raw += t2 - t1;
            tl += t3 - t2;
        }
        tc[run] = (double)done * (double)len / c / 1e6;
        tr[run] = (double)done * (double)len / raw / 1e6;
        tt[run] = w->tls ? (double)done * (double)len / tl / 1e6 : 0;
    }
    if (k != 0 && veil_vault_secret_destroy(w->vault, k) < 0 && rc == 0)
        rc = -1;
    if (rc < 0)
        return rc;
    char variant[32];
    snprintf(variant, sizeof variant, "bulk %zu B", len);
    double mc = bench_median(tc, (size_t)runs), mr = bench_median(tr, (size_t)runs);
    double mt = bench_median(tt, (size_t)runs);
    bench_emit(w->b, variant, "channel", mc, "MB/s");
    bench_emit(w->b, variant, "raw vault AEAD enc+dec", mr, "MB/s");
    bench_emit(w->b, variant, "TLS 1.3 records", mt, "MB/s");
    bench_emit(w->b, variant, "channel / raw AEAD", 100.0 * mc / mr, "%");
    bench_emit(w->b, variant, "channel / TLS 1.3", mt > 0 ? 100.0 * mc / mt : 0, "%");
    return 0;
}

/* ns per 64-byte message through ch (64 messages, then drain). */
static int per_message_chunk(world *w, const veil_route *r, double *t)
{
    static uint8_t buf[64];
    double t0 = bench_now_s();
    int rc = pump(w, r, buf, sizeof buf, 64);
    *t += bench_now_s() - t0;
    return rc;
}

static int sink_route(const veil_address *ch, veil_route *r)
{
    veil_route_init(r);
    int rc = veil_route_append(r, ch);
    return rc < 0 ? rc : veil_route_append_str(r, "sink");
}

static int world_up(world *w, const char *config);
static void world_down(world *w);

/* A second node (same configuration) with MANY channels: its RSS growth
 * gives the memory per channel; then 64-message chunks alternate between
 * a channel of the first node (one channel open) and one of the second
 * (MANY open), so load hits both sides of the ratio alike. */
static int many_case(world *w, const veil_address *ch)
{
    world w2;
    memset(&w2, 0, sizeof w2);
    w2.b = w->b;
    w2.smoke = w->smoke;
    long n = w->smoke ? 50 : MANY;
    veil_address first;
    veil_route r1, r2;
    int rc = world_up(&w2, NULL);
    if (rc == 0)
        rc = setup_channel(&w2, &first);
    long rss0 = bench_rss_kib();
    for (long i = 1; i < n && rc == 0; i++) {
        veil_address extra;
        rc = setup_channel(&w2, &extra);
    }
    long rss1 = bench_rss_kib();
    if (rc == 0)
        rc = sink_route(ch, &r1);
    if (rc == 0)
        rc = sink_route(&first, &r2);
    int runs = w->smoke ? 1 : RUNS;
    long chunks = w->smoke ? 1 : 300;
    double one[RUNS], many[RUNS];
    for (int run = 0; run < runs && rc == 0; run++) {
        double t1 = 0, t2 = 0;
        for (long c = 0; c < chunks && rc == 0; c++) {
            rc = per_message_chunk(w, &r1, &t1);
            if (rc == 0)
                rc = per_message_chunk(&w2, &r2, &t2);
        }
        one[run] = t1 * 1e9 / (double)(chunks * 64);
        many[run] = t2 * 1e9 / (double)(chunks * 64);
    }
    world_down(&w2);
    if (rc < 0)
        return rc;
    double per = (double)(rss1 - rss0) * 1024.0 / (double)(n - 1);
    double mo = bench_median(one, (size_t)runs), mm = bench_median(many, (size_t)runs);
    bench_emit(w->b, "memory", "RSS per established channel (both ends)", per, "B");
    bench_emit(w->b, "memory", "RSS per channel end", per / 2, "B");
    bench_emit(w->b, "per-message", "ns/message, 1 channel", mo, "ns");
    bench_emit(w->b, "per-message", "ns/message, 10k channels open", mm, "ns");
    bench_emit(w->b, "per-message", "10k / 1", mm / mo, "x");
    return 0;
}

/* The X3DH bound's keys: Bob's SPK signed (XEdDSA) by his static key. */
static int x3dh_bound_keys(world *w)
{
    veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
    size_t len;
    int rc = veil_vault_generate(w->vault, &a, &w->bound_spk);
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = veil_vault_public_key(w->vault, w->bound_s[i], w->pub_s[i], 32, &len);
    if (rc == 0)
        rc = veil_vault_public_key(w->vault, w->bound_spk, w->spk_pub, 32, &len);
    w->spk_enc[0] = 0x05;
    memcpy(w->spk_enc + 1, w->spk_pub, 32);
    return rc < 0 ? rc : veil_vault_sign(w->vault, w->bound_s[1], w->spk_enc, 33, w->spk_sig);
}

/* config: configuration text for the node (NULL: $VEIL_CONF or defaults). */
static int world_up(world *w, const char *config)
{
    veil_node_options o = { .size = sizeof o };
    veil_config *cfg = NULL;
    int rc = config ? veil_config_new_from_text(&cfg, config, "<bench>") : 0;
    o.config = cfg;
    if (rc == 0)
        rc = veil_node_new(&w->node, &w->app, config ? &o : NULL);
    veil_config_free(cfg);
    if (rc < 0)
        return rc;
    const char *id;
    veil_trust_policy *p;
    veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
    if ((rc = veil_vault_open(w->node, NULL, &w->vault)) < 0 ||
        (rc = veil_entity_open(w->node, w->vault, NULL, VEIL_ENTITY_CREATE, &w->alice)) < 0 ||
        (rc = veil_entity_open(w->node, w->vault, NULL, VEIL_ENTITY_CREATE, &w->bob)) < 0 ||
        (rc = veil_ctx_start_worker(w->app, "sink", &sink_ops, &w->sunk)) < 0 ||
        (rc = veil_vault_generate(w->vault, &a, &w->bound_s[0])) < 0 ||
        (rc = veil_vault_generate(w->vault, &a, &w->bound_s[1])) < 0 ||
        (rc = x3dh_bound_keys(w)) < 0)
        return rc;
    id = veil_entity_identifier(w->alice);
    if ((rc = veil_trust_policy_new_identifier(w->node, &id, 1, &p)) < 0 ||
        (rc = veil_secure_channel_listener_open(w->bob, "bob", p)) < 0)
        return rc;
    /* flow control: Alice's channels may reach the sink (access control on) */
    static const char *const allowed[] = {"sink"};
    return veil_secure_channel_listener_allow(w->node, "bob", allowed, 1);
}

static void world_down(world *w)
{
    veil_entity_close(w->alice);
    veil_entity_close(w->bob);
    veil_vault_close(w->vault);
    (void)veil_node_free(w->node);
}

static int run(bench_run *b)
{
    world w;
    memset(&w, 0, sizeof w);
    w.b = b;
    w.smoke = bench_smoke(b);
    w.tls = bench_tls_new();
    if (w.tls == NULL)
        fprintf(stderr, "channel: no TLS 1.3 baseline (OpenSSL missing or failed)\n");
    veil_address ch;
    world x;
    memset(&x, 0, sizeof x);
    x.b = b;
    x.smoke = w.smoke;
    bool have_x = world_up(&x, "[key_agreement]\nplugin = x3dh\n") == 0;
    if (!have_x)
        fprintf(stderr, "channel: no X3DH row (%s)\n", veil_last_error());
    int rc = world_up(&w, NULL);
    if (rc == 0)
        rc = setups_case(&w, have_x ? &x : NULL);
    if (rc == 0)
        rc = setup_channel(&w, &ch);
    if (rc == 0)
        rc = bulk_case(&w, &ch, 1024);
    if (rc == 0)
        rc = bulk_case(&w, &ch, 16384);
    if (rc == 0)
        rc = many_case(&w, &ch);
    if (rc < 0)
        fprintf(stderr, "channel: %s (%s)\n", veil_strerror(rc), veil_last_error());
    world_down(&w);
    if (x.node != NULL)
        world_down(&x);
    bench_tls_free(w.tls);
    return rc;
}

const bench_case bench_case_channel = {
    "channel",
    "secure channel set-ups/s vs TLS 1.3 and the crypto bound; bulk vs raw AEAD and TLS "
    "records; memory per channel; per-message cost with 10k channels",
    run,
};
