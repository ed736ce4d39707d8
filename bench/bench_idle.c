/* veil-bench idle: bytes per idle channel end (issue #15).  A listener in
 * a child process, this process's node opens 10 000 channels to it over
 * one TCP connection (in batches of 1000; --smoke: 200), and each process
 * reports what it holds after they opened minus before, per channel: the
 * heap in use (mallinfo2) and the resident size (which also counts the
 * vault's guarded memory).  tests/unit/channel/test_channel_load.c asserts
 * the same numbers stay within 4 KiB. */
#include "bench.h"

#include "../tests/support/load_peer.h"

#include <stdio.h>

#define IDLE 10000u
#define WARM 16u
#define BATCH 1000u

static int measure(bench_run *b, load_peer *p, load_opens *o, unsigned n)
{
    int rc = load_open_batch(o, p, 0, WARM);
    if (rc == 0)
        rc = load_wait(o, 60000);
    load_usage l0 = load_usage_now(), l1;
    load_far f0, f1;
    if (rc == 0 && load_peer_usage(p, &f0) < 0)
        rc = VEIL_EIO;
    for (unsigned from = WARM; from < WARM + n && rc == 0; from += BATCH) {
        unsigned to = from + BATCH < WARM + n ? from + BATCH : WARM + n;
        if ((rc = load_open_batch(o, p, from, to)) == 0)
            rc = load_wait(o, 120000);
    }
    l1 = load_usage_now();
    if (rc == 0 && load_peer_usage(p, &f1) < 0)
        rc = VEIL_EIO;
    if (rc < 0)
        return rc;
    char variant[64];
    snprintf(variant, sizeof variant, "%u channels, one TCP connection", n);
    bench_emit(b, variant, "initiator end: heap per channel", (double)(l1.heap - l0.heap) / n,
               "B");
    bench_emit(b, variant, "initiator end: RSS per channel", (double)(l1.rss - l0.rss) / n, "B");
    bench_emit(b, variant, "listener end: heap per channel",
               (double)(f1.u.heap - f0.u.heap) / n, "B");
    bench_emit(b, variant, "listener end: RSS per channel", (double)(f1.u.rss - f0.u.rss) / n,
               "B");
    return 0;
}

static int run(bench_run *b)
{
    unsigned n = bench_smoke(b) ? 200u : IDLE;
    load_peer p;
    load_opens o;
    if (load_peer_start(&p, "") < 0) {
        fprintf(stderr, "idle: the listener process did not start\n");
        return VEIL_EIO;
    }
    int rc = load_opens_up(&o, WARM + n);
    if (rc == 0) {
        rc = measure(b, &p, &o, n);
        if (rc < 0)
            fprintf(stderr, "idle: %s (%s)\n", veil_strerror(rc),
                    o.failed ? o.first_detail : veil_last_error());
        load_opens_down(&o);
    }
    load_peer_stop(&p);
    return rc;
}

const bench_case bench_case_idle = {
    "idle",
    "bytes per idle channel end (heap and RSS, initiator and listener processes) with 10 000 "
    "channels over one TCP connection",
    run,
};
