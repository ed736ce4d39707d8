/* routing: local deliveries per second through N hop workers (N = 1, 3,
 * 10), 64-byte payloads, one core.  A "sink" worker at the end of the route
 * sends each message round again (its onward route reset, return route
 * cleared), so K messages circulate and every delivery is a hop's
 * veil_ctx_forward_next or the sink's forward: the router's hot path.
 * Reports the median of >= 5 timed runs, RSS, and pool misses (mallocs) per
 * delivery during the timed runs, which must be 0. */
#include "bench.h"

#include <veil/veil.h>

#include <stdio.h>
#include <string.h>

#define IN_FLIGHT 256
#define RUNS 5

struct sink_state {
    veil_route route;
};

static int hop(veil_context *ctx, void *st, veil_message *msg)
{
    (void)st;
    return veil_ctx_forward_next(ctx, msg);
}

static int sink(veil_context *ctx, void *st, veil_message *msg)
{
    struct sink_state *s = st;
    veil_route_copy(veil_message_onward(msg), &s->route);
    veil_route_init(veil_message_return(msg));
    return veil_ctx_forward(ctx, msg);
}

static const veil_worker_ops hop_ops = {.size = sizeof(veil_worker_ops), .handle_message = hop};
static const veil_worker_ops sink_ops = {.size = sizeof(veil_worker_ops), .handle_message = sink};

static int setup(veil_node *node, veil_context *app, int hops, struct sink_state *s)
{
    char name[32];
    int rc;
    veil_route_init(&s->route);
    for (int i = 0; i < hops; i++) {
        snprintf(name, sizeof name, "h%d", i);
        if ((rc = veil_ctx_start_worker(app, name, &hop_ops, NULL)) < 0 ||
            (rc = veil_route_append_str(&s->route, name)) < 0)
            return rc;
    }
    if ((rc = veil_ctx_start_worker(app, "sink", &sink_ops, s)) < 0 ||
        (rc = veil_route_append_str(&s->route, "sink")) < 0)
        return rc;
    uint8_t payload[64];
    memset(payload, 0x5a, sizeof payload);
    for (int i = 0; i < IN_FLIGHT; i++)
        if ((rc = veil_ctx_send(app, &s->route, payload, sizeof payload)) < 0)
            return rc;
    return 0;
}

static int run_hops(bench_run *b, int hops)
{
    veil_node *node;
    veil_context *app;
    struct sink_state s;
    veil_node_stats st0, st1;
    double rates[RUNS];
    bool smoke = bench_smoke(b);
    int runs = smoke ? 1 : RUNS;
    int ms = smoke ? 10 : 300;
    int rc = veil_node_new(&node, &app, NULL);
    if (rc < 0)
        return rc;
    rc = setup(node, app, hops, &s);
    if (rc == 0)
        rc = veil_node_run(node, smoke ? 5 : 100); /* warm-up: fill the pools */
    uint64_t delivered = 0, misses = 0;
    for (int r = 0; r < runs && rc == 0; r++) {
        veil_node_get_stats(node, &st0);
        double t0 = bench_now_s();
        rc = veil_node_run(node, ms);
        double dt = bench_now_s() - t0;
        veil_node_get_stats(node, &st1);
        uint64_t d = st1.delivered - st0.delivered;
        rates[r] = (double)d / dt;
        delivered += d;
        misses += (st1.message_allocs - st0.message_allocs) +
                  (st1.buffer_allocs - st0.buffer_allocs);
    }
    /* every message must still be circulating: no drop, no failed hop */
    if (rc == 0 && (st1.dropped_noroute != 0 || st1.handler_errors != 0)) {
        fprintf(stderr, "routing: %llu dropped, %llu handler errors\n",
                (unsigned long long)st1.dropped_noroute, (unsigned long long)st1.handler_errors);
        rc = VEIL_ESTATE;
    }
    if (rc == 0) {
        char variant[32];
        snprintf(variant, sizeof variant, "hops=%d", hops);
        bench_emit(b, variant, "deliveries/s", bench_median(rates, (size_t)runs), "1/s");
        bench_emit(b, variant, "mallocs/delivery",
                   delivered ? (double)misses / (double)delivered : 0, "count");
        bench_emit(b, variant, "rss", (double)bench_rss_kib(), "KiB");
    }
    int stop_rc = veil_node_free(node);
    return rc < 0 ? rc : stop_rc;
}

static int run_routing(bench_run *b)
{
    static const int hops[] = {1, 3, 10};
    for (size_t i = 0; i < sizeof hops / sizeof hops[0]; i++) {
        int rc = run_hops(b, hops[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

const bench_case bench_case_routing = {
    "routing",
    "local deliveries/s through 1, 3, 10 hop workers (64-byte payloads)",
    run_routing,
};
