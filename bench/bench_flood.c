/* flood: legitimate secure channel set-ups while a stranger floods the
 * listener with first handshake messages (docs/PROTOCOL.md, "Half-open
 * handshakes").
 *
 * One node: listener "bob", the tcp transport listening on loopback, and
 * Alice's initiator, which reaches bob over TCP through the node's own
 * port (route [1#127.0.0.1:P, bob]).  A thread of this process is the
 * stranger: a plain TCP socket sending HS1 frames (32 random bytes + 0x01,
 * tests/support/flood.h) at FLOOD_RATE per second and reading the replies.  Each
 * run times set-ups (create + close) unloaded, then with the flood on, in
 * the same run; reported: set-ups/s both ways and their ratio (median of
 * per-run ratios), set-up latency median and p99 both ways, and what the
 * flood achieved (HS1/s the stranger got out, COOKIE replies/s: each
 * legitimate set-up under load takes one too).  handshake_timeout_ms is 500 here so that the flood's
 * pending handshakes are gone before the next unloaded part. */
#include "config.h"
#include "bench.h"

#include "../tests/support/flood.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/veil.h>

#define RUNS 5
#define FLOOD_RATE 5000.0
/* auto_connect: the node dials its own listener on first use */
#define CONFIG "[transport.tcp]\nplugin = tcp\nauto_connect = true\n[secure_channel]\n" \
               "handshake_timeout_ms = 500\n"

typedef struct flood_world {
    bench_run *b;
    bool smoke;
    veil_node *node;
    veil_context *app;
    veil_entity *alice, *bob;
    int port;
    veil_route route;
    double lat[4096];
    size_t nlat;
} flood_world;

typedef struct flooder {
    flood f;
    int stop[2];
    pthread_t thread;
    bool ok;
} flooder;

static void *flood_thread(void *arg)
{
    flooder *fl = arg;
    flood_sustain(&fl->f, FLOOD_RATE, fl->stop[0]);
    return NULL;
}

static int flooder_start(flood_world *w, flooder *fl)
{
    memset(fl, 0, sizeof *fl);
    if (flood_prepare(&fl->f, "bob") < 0 || flood_connect(&fl->f, w->port) < 0 ||
        pipe(fl->stop) < 0)
        return -1;
    if (pthread_create(&fl->thread, NULL, flood_thread, fl) != 0)
        return -1;
    fl->ok = true;
    return 0;
}

static void flooder_stop(flooder *fl)
{
    if (!fl->ok)
        return;
    (void)!write(fl->stop[1], "x", 1);
    pthread_join(fl->thread, NULL);
    close(fl->stop[0]);
    close(fl->stop[1]);
    close(fl->f.fd);
    fl->ok = false;
}

static int setup_close(flood_world *w)
{
    const char *id = veil_entity_identifier(w->bob);
    veil_trust_policy *p;
    veil_address ch;
    int rc = veil_trust_policy_new_identifier(w->node, &id, 1, &p);
    if (rc == 0)
        rc = veil_secure_channel_open(w->alice, &w->route, p, &ch);
    if (rc == 0)
        rc = veil_secure_channel_close(w->node, &ch);
    if (rc < 0)
        fprintf(stderr, "flood: set-up failed: %s\n", veil_last_error());
    return rc;
}

/* Set-ups for `seconds`; their latencies appended to w->lat. */
static int chunk(flood_world *w, double seconds, double *rate)
{
    double start = bench_now_s(), now = start;
    long done = 0;
    int rc = 0;
    while (rc == 0 && now - start < seconds) {
        double t0 = bench_now_s();
        rc = setup_close(w);
        now = bench_now_s();
        if (w->nlat < sizeof w->lat / sizeof w->lat[0])
            w->lat[w->nlat++] = (now - t0) * 1e3;
        done++;
    }
    *rate = (double)done / (now - start);
    return rc;
}

static veil_listener_stats listener_stats(flood_world *w)
{
    veil_listener_stats s;
    memset(&s, 0, sizeof s);
    (void)!veil_secure_channel_listener_stats(w->node, "bob", &s);
    return s;
}

/* Run the loop until the flood's pending handshakes timed out. */
static int drain(flood_world *w)
{
    for (int i = 0; i < 400 && listener_stats(w).node_pending > 0; i++) {
        int rc = veil_node_run_once(w->node, 5);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static double pct(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    bench_median(v, n); /* sorts */
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

static int flood_world_up(flood_world *w)
{
    veil_config *cfg;
    veil_node_options o = { .size = sizeof o };
    veil_address bound;
    char text[64];
    int rc = veil_config_new_from_text(&cfg, CONFIG, "<flood bench>");
    if (rc < 0)
        return rc;
    o.config = cfg;
    rc = veil_node_new(&w->node, &w->app, &o);
    veil_config_free(cfg);
    if (rc == 0)
        rc = veil_entity_open(w->node, NULL, NULL, VEIL_ENTITY_CREATE, &w->alice);
    if (rc == 0)
        rc = veil_entity_open(w->node, NULL, NULL, VEIL_ENTITY_CREATE, &w->bob);
    const char *ida = rc == 0 ? veil_entity_identifier(w->alice) : NULL;
    veil_trust_policy *p;
    if (rc == 0 && (rc = veil_trust_policy_new_identifier(w->node, &ida, 1, &p)) == 0)
        rc = veil_secure_channel_listener_open(w->bob, "bob", p);
    if (rc == 0)
        rc = veil_node_transport_listen(w->node, "tcp", "127.0.0.1:0", &bound);
    if (rc == 0) {
        w->port = atoi(strrchr(bound.bytes, ':') + 1);
        snprintf(text, sizeof text, "1#127.0.0.1:%d => bob", w->port);
        rc = veil_route_parse(&w->route, text);
    }
    return rc;
}

/* Phase one of a run: unloaded.  Phase two: flood on (from when the node
 * is under load), then off. */
static int one_run(flood_world *w, double secs, double *quiet, double *loud, double *qlat,
                   size_t *nq, double *llat, size_t *nl, double *flood_rate, double *cookie_rate)
{
    static flooder fl; /* its buffers are large */
    w->nlat = 0;
    int rc = drain(w);
    if (rc == 0)
        rc = chunk(w, secs, quiet);
    memcpy(qlat + *nq, w->lat, w->nlat * sizeof *qlat);
    *nq += w->nlat;
    if (rc < 0 || (rc = flooder_start(w, &fl)) < 0)
        return rc;
    for (int i = 0; i < 2000 && listener_stats(w).cookies_sent == 0 && rc == 0; i++)
        rc = veil_node_run_once(w->node, 1);
    veil_listener_stats s0 = listener_stats(w);
    uint64_t sent0 = __atomic_load_n(&fl.f.sent, __ATOMIC_RELAXED);
    double t0 = bench_now_s();
    w->nlat = 0;
    if (rc == 0)
        rc = chunk(w, secs, loud);
    double t1 = bench_now_s();
    veil_listener_stats s1 = listener_stats(w);
    flooder_stop(&fl);
    memcpy(llat + *nl, w->lat, w->nlat * sizeof *llat);
    *nl += w->nlat;
    *flood_rate = (double)(fl.f.sent - sent0) / (t1 - t0);
    *cookie_rate = (double)(s1.cookies_sent - s0.cookies_sent) / (t1 - t0);
    return rc;
}

static int run(bench_run *b)
{
    static flood_world w;
    memset(&w, 0, sizeof w);
    w.b = b;
    w.smoke = bench_smoke(b);
    int rc = flood_world_up(&w);
    if (rc < 0) {
        fprintf(stderr, "flood: %s\n", veil_last_error());
        if (w.node != NULL)
            (void)veil_node_free(w.node);
        return rc;
    }
    veil_log_level level = veil_log_get_level();
    veil_log_set_level(VEIL_LOG_ERROR); /* the flood's timeouts: counted, not shown */
    int runs = w.smoke ? 1 : RUNS;
    double secs = w.smoke ? 0.05 : 0.6;
    double quiet[RUNS], loud[RUNS], ratio[RUNS], hs1[RUNS], share[RUNS];
    static double qlat[RUNS * 4096], llat[RUNS * 4096];
    size_t nq = 0, nl = 0;
    for (int r = 0; r < runs && rc == 0; r++) {
        rc = one_run(&w, secs, &quiet[r], &loud[r], qlat, &nq, llat, &nl, &hs1[r], &share[r]);
        ratio[r] = quiet[r] > 0 ? 100.0 * loud[r] / quiet[r] : 0;
    }
    if (rc == 0) {
        bench_emit(b, "setup", "set-ups/s, unloaded", bench_median(quiet, (size_t)runs), "1/s");
        bench_emit(b, "setup", "set-ups/s, under flood", bench_median(loud, (size_t)runs), "1/s");
        bench_emit(b, "setup", "under flood / unloaded", bench_median(ratio, (size_t)runs), "%");
        bench_emit(b, "latency", "set-up median, unloaded", pct(qlat, nq, 0.5), "ms");
        bench_emit(b, "latency", "set-up p99, unloaded", pct(qlat, nq, 0.99), "ms");
        bench_emit(b, "latency", "set-up median, under flood", pct(llat, nl, 0.5), "ms");
        bench_emit(b, "latency", "set-up p99, under flood", pct(llat, nl, 0.99), "ms");
        bench_emit(b, "flood", "HS1/s sent by the flood", bench_median(hs1, (size_t)runs),
                   "1/s");
        bench_emit(b, "flood", "COOKIE replies/s (flood and legitimate)",
                   bench_median(share, (size_t)runs), "1/s");
    }
    veil_log_set_level(level);
    veil_entity_close(w.alice);
    veil_entity_close(w.bob);
    (void)veil_node_free(w.node);
    return rc;
}

const bench_case bench_case_flood = {
    "flood",
    "legitimate channel set-ups/s and latency while a stranger sends 5000 HS1/s, vs unloaded",
    run,
};
