/* relay: throughput through a relay vs direct (issue #14).  The same veil
 * server process (bench_tcp_veil.c) reached by one client twice: directly
 * ([1#server, listener]) and through a relay process by the name the server
 * registered ([1#relay, relay, bob, listener]): every frame crosses one more
 * process and two more loopback TCP hops.  One direction, 1 KiB and 16 KiB
 * messages, the two paths alternating run by run; the median of 5 runs of
 * each, and their ratio (target >= 0.8).
 *
 * Twice: on the machine's CPUs as the scheduler shares them (direct keeps
 * two processes busy, the relay path three), then with every process of
 * the bench (this one, the servers, the relay) pinned to one CPU, so each
 * path gets the same CPU and the ratio is the relay's cost at equal CPU. */
#include "config.h"
#include "bench.h"
#include "bench_tcp.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

/* Every process of the bench to set (0 or -1, reason on stderr). */
static int pin_all(tcpb_side s[2], const cpu_set_t *set)
{
    if (sched_setaffinity(0, sizeof *set, set) < 0) {
        fprintf(stderr, "relay: sched_setaffinity: %s\n", strerror(errno));
        return -1;
    }
    for (int i = 0; i < 2; i++)
        if (s[i].peer != NULL && (s[i].ops->pin == NULL || s[i].ops->pin(s[i].peer, set) < 0))
            return -1;
    return 0;
}

/* One CPU: the first this process may run on. */
static int one_cpu(const cpu_set_t *all, cpu_set_t *one)
{
    CPU_ZERO(one);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, all)) {
            CPU_SET(c, one);
            return 0;
        }
    return -1;
}

static int measure(bench_run *b, tcpb_side s[2], const char *suffix, const char *ratio)
{
    static const size_t sizes[2] = { 1024, 16384 };
    for (int i = 0; i < 2; i++) {
        double m[2];
        char variant[80];
        if (tcpb_oneway_medians(b, s, sizes[i], m) < 0)
            return -1;
        snprintf(variant, sizeof variant, "one direction %zu B%s", sizes[i], suffix);
        bench_emit(b, variant, "direct", m[0], "MB/s");
        bench_emit(b, variant, "through a relay", m[1], "MB/s");
        bench_emit(b, variant, ratio, m[0] > 0 ? m[1] / m[0] : 0, "x");
    }
    return 0;
}

static int run(bench_run *b)
{
    tcpb_side s[2] = { { &tcpb_veil_ops, NULL }, { &tcpb_veil_relay_ops, NULL } };
    cpu_set_t all, one;
    int rc = sched_getaffinity(0, sizeof all, &all) < 0 || one_cpu(&all, &one) < 0 ? -1 : 0;
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = s[i].ops->open(&s[i].peer);
    if (rc == 0)
        rc = measure(b, s, "", "relay / direct (target >= 0.8)");
    if (rc == 0 && (rc = pin_all(s, &one)) == 0)
        rc = measure(b, s, ", one cpu", "relay / direct, one cpu each path (equal CPU)");
    if (pin_all(s, &all) < 0) /* the machine's CPUs again, for the cases after this one */
        rc = -1;
    for (int i = 0; i < 2; i++)
        if (s[i].peer != NULL)
            s[i].ops->close(s[i].peer);
    return rc;
}

const bench_case bench_case_relay = {
    "relay",
    "secure channel throughput through a relay (registered name) vs direct, on the machine's "
    "CPUs and with every process pinned to one CPU",
    run,
};
