/* relay: throughput through a relay vs direct (issue #14).  The same veil
 * server process (bench_tcp_veil.c) reached by one client twice: directly
 * ([1#server, listener]) and through a relay process by the name the server
 * registered ([1#relay, relay, bob, listener]): every frame crosses one more
 * process and two more loopback TCP hops.  One direction, 1 KiB and 16 KiB
 * messages, the two paths alternating run by run; the median of 5 runs of
 * each, and their ratio (target >= 0.8). */
#include "config.h"
#include "bench.h"
#include "bench_tcp.h"

#include <stdio.h>

static int run(bench_run *b)
{
    tcpb_side s[2] = { { &tcpb_veil_ops, NULL }, { &tcpb_veil_relay_ops, NULL } };
    static const size_t sizes[2] = { 1024, 16384 };
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = s[i].ops->open(&s[i].peer);
    for (int i = 0; i < 2 && rc == 0; i++) {
        double m[2];
        char variant[48];
        rc = tcpb_oneway_medians(b, s, sizes[i], m);
        if (rc < 0)
            break;
        snprintf(variant, sizeof variant, "one direction %zu B", sizes[i]);
        bench_emit(b, variant, "direct", m[0], "MB/s");
        bench_emit(b, variant, "through a relay", m[1], "MB/s");
        bench_emit(b, variant, "relay / direct (target >= 0.8)", m[0] > 0 ? m[1] / m[0] : 0, "x");
    }
    for (int i = 0; i < 2; i++)
        if (s[i].peer != NULL)
            s[i].ops->close(s[i].peer);
    return rc;
}

const bench_case bench_case_relay = {
    "relay",
    "secure channel throughput through a relay (registered name) vs direct",
    run,
};
