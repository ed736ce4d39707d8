/* relay: throughput through a relay vs direct (issue #14).  The same veil
 * server process (bench_tcp_veil.c) reached by one client twice: directly
 * ([1#server, listener]) and through a relay process by the name the server
 * registered ([1#relay, relay, bob, listener]): every frame crosses one more
 * process and one more loopback TCP hop.  One direction, 1 KiB and 16 KiB
 * messages, the two paths alternating run by run; the median of 5 runs of
 * each, and their ratio (target >= 0.8 with a host each, the last pass).
 *
 * Three times: on the machine's CPUs as the scheduler shares them (direct
 * keeps two processes busy, the relay path three); with every process of
 * the bench (this one, the servers, the relay) pinned to one CPU, so each
 * path gets the same CPU and the ratio is the relay's cost at equal CPU;
 * and with every process in a CPU share of its own (0.5 CPU, a cgroup:
 * bench_cpu_share.c), as if each ran on a host of its own — a relay on a
 * machine of its own, which is how relays are deployed.  The last needs
 * root and the cgroup v1 cpu controller, and is skipped with the reason
 * without them.
 *
 * Beside each throughput, the CPU time per byte of each path (all its
 * processes, from their schedstat: steadier than MB/s on a shared machine),
 * per process of each path, and two bounds: the slowest process of
 * each path compared (what would bound each path if every process had a
 * CPU of its own, as a relay on a host of its own has), and the best ratio
 * a TCP relay could reach at equal CPU, from what one more hop through a
 * minimal forwarder costs plain bytes on this machine, written as veil's
 * tcp transport writes that message size (bench_relay_floor.c). */
#include "config.h"
#include "bench.h"
#include "bench_tcp.h"
#include "bench_relay_floor.h"
#include "bench_cpu_share.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

static double sum(const double v[TCPB_PROCESSES])
{
    return v[TCPB_CLIENT] + v[TCPB_SERVER] + v[TCPB_RELAY];
}

static double slowest(const double v[TCPB_PROCESSES])
{
    double m = v[0];
    for (int k = 1; k < TCPB_PROCESSES; k++)
        m = v[k] > m ? v[k] : m;
    return m;
}

/* CPU per byte: each path's whole, the floor's bound (bench_relay_floor.c:
 * hop is what one more hop costs plain bytes), and (stages: true) each
 * process of each path with the slowest process of each path compared,
 * which is what bounds a path whose processes each have a CPU of their own. */
static void emit_cpu(bench_run *b, const char *variant, double cpu[2][TCPB_PROCESSES],
                     double hop, bool stages)
{
    static const char *const names[2][TCPB_PROCESSES] = {
        { "CPU direct: client", "CPU direct: server", NULL },
        { "CPU through a relay: client", "CPU through a relay: server",
          "CPU through a relay: relay" },
    };
    double d = sum(cpu[0]), r = sum(cpu[1]);
    bench_emit(b, variant, "CPU direct (all processes)", d, "ns/B");
    bench_emit(b, variant, "CPU through a relay (all processes)", r, "ns/B");
    bench_emit(b, variant, "CPU direct / CPU through a relay", r > 0 ? d / r : 0, "x");
    bench_emit(b, variant, "best any TCP relay can do at equal CPU (floor)",
               d + hop > 0 ? d / (d + hop) : 0, "x");
    if (!stages)
        return;
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < TCPB_PROCESSES; k++)
            if (names[i][k] != NULL)
                bench_emit(b, variant, names[i][k], cpu[i][k], "ns/B");
    double sd = slowest(cpu[0]), sr = slowest(cpu[1]);
    bench_emit(b, variant, "slowest process, direct / through a relay (a CPU each)",
               sr > 0 ? sd / sr : 0, "x");
}

/* The messages measured, and the writes veil's tcp transport makes of them
 * (1 KiB frames are batched into writes of about 64 KiB; a 16 KiB frame is
 * written alone), which the floor repeats with plain bytes. */
static const size_t sizes[2] = { 1024, 16384 };
static const size_t writes[2] = { 64u << 10, 16u << 10 };

static int measure(bench_run *b, tcpb_side s[2], const char *suffix, const char *ratio,
                   const double hop[2], bool stages)
{
    for (int i = 0; i < 2; i++) {
        double m[2], cpu[2][TCPB_PROCESSES];
        char variant[80];
        if (tcpb_oneway_cpu_medians(b, s, sizes[i], m, cpu) < 0)
            return -1;
        snprintf(variant, sizeof variant, "one direction %zu B%s", sizes[i], suffix);
        bench_emit(b, variant, "direct", m[0], "MB/s");
        bench_emit(b, variant, "through a relay", m[1], "MB/s");
        bench_emit(b, variant, ratio, m[0] > 0 ? m[1] / m[0] : 0, "x");
        emit_cpu(b, variant, cpu, hop[i], stages);
    }
    return 0;
}

/* The CPU each process gets in the last pass: four processes, but one
 * path runs at a time (1.0 CPU direct, 1.5 through the relay: within the
 * machine's two cores, so every process gets all of its share). */
#define SHARE_CPUS 0.5

/* The last pass: every process in a CPU share of its own, as if each ran
 * on a host of SHARE_CPUS CPUs (a relay on a host of its own).  Without
 * cgroups (not root, no cgroup v1 cpu controller) the pass is skipped
 * with the reason; 0 or -1. */
static int measure_shares(bench_run *b, tcpb_side s[2], const double hop[2])
{
    bench_cpu_share *share[1 + 2 * 2] = { NULL };
    pid_t pid[1 + 2 * 2] = { getpid() };
    char why[256] = "", name[16];
    int n = 1, rc = 0;
    for (int i = 0; i < 2; i++)
        for (int k = TCPB_SERVER; k <= TCPB_RELAY; k++) {
            pid_t p = s[i].ops->pid_of != NULL ? s[i].ops->pid_of(s[i].peer, k) : 0;
            if (p > 0)
                pid[n++] = p;
        }
    for (int j = 0; j < n && rc == 0; j++) {
        snprintf(name, sizeof name, "p%d", j);
        rc = bench_cpu_share_new(name, SHARE_CPUS, &share[j], why, sizeof why);
        if (rc == 0 && bench_cpu_share_add(share[j], pid[j]) < 0)
            rc = (snprintf(why, sizeof why, "moving process %ld into its share: %s",
                           (long)pid[j], strerror(errno)), -1);
    }
    if (rc == 0)
        rc = measure(b, s, ", 0.5 cpu per process",
                     "relay / direct, a host each (target >= 0.8)", hop, false);
    else
        fprintf(stderr, "relay: no CPU share per process, rows skipped: %s\n", why);
    for (int j = 0; j < n; j++)
        bench_cpu_share_free(share[j]);
    return why[0] != '\0' ? 0 : rc;
}

static int run(bench_run *b)
{
    tcpb_side s[2] = { { &tcpb_veil_ops, NULL }, { &tcpb_veil_relay_ops, NULL } };
    cpu_set_t all, one;
    double hop[2] = { 0, 0 };
    int rc = sched_getaffinity(0, sizeof all, &all) < 0 || one_cpu(&all, &one) < 0 ? -1 : 0;
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = bench_relay_floor(b, writes[i], &hop[i]);
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = s[i].ops->open(&s[i].peer);
    if (rc == 0)
        rc = measure(b, s, "", "relay / direct, two shared cores", hop, true);
    if (rc == 0 && (rc = pin_all(s, &one)) == 0)
        rc = measure(b, s, ", one cpu", "relay / direct, one cpu each path (equal CPU)",
                     hop, false);
    if (pin_all(s, &all) < 0) /* the machine's CPUs again, for the cases after this one */
        rc = -1;
    if (rc == 0)
        rc = measure_shares(b, s, hop);
    for (int i = 0; i < 2; i++)
        if (s[i].peer != NULL)
            s[i].ops->close(s[i].peer);
    return rc;
}

const bench_case bench_case_relay = {
    "relay",
    "secure channel throughput through a relay (registered name) vs direct, on the machine's "
    "CPUs, with every process pinned to one CPU, and with a 0.5-CPU share per process",
    run,
};
