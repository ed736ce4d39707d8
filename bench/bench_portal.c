/* portal (issue #14): a veil TCP portal (an inlet and an outlet process)
 * vs two stunnel4 processes (TLS 1.3, AES-256-GCM) vs direct TCP, side by
 * side in one run over one set-up (bench_portal.h, bench_portal_paths.c):
 *  - bulk MB/s: the client (this process) sends a length, then that many
 *    bytes, to a sink process and waits for its one-byte answer; 256 MiB
 *    per transfer (4 MiB with --smoke), veil / stunnel (target >= 1.2);
 *  - redis-benchmark GET/SET latency p50 and p99 (bench_portal_redis.c);
 *  - new connections per second (bench_portal_conn.c).
 * Every figure is the median of PB_RUNS repetitions (1 with --smoke), the
 * paths alternating run by run; ratios come from the same run.  A path or
 * part whose programs are missing is skipped with its reason on stderr. */
#include "config.h"
#include "bench.h"
#include "bench_portal.h"
#include "bench_tcp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK (1024u * 1024u)

/* ---- the sink ------------------------------------------------------------ */

/* The sink target: reads a length, then that many bytes; answers "!". */
static void sink(int fd)
{
    static uint8_t buf[CHUNK];
    uint8_t len8[8];
    uint64_t n = 0;
    if (pb_full(fd, len8, 8, false) != 0)
        return;
    for (int i = 0; i < 8; i++)
        n = n << 8 | len8[i];
    while (n > 0) {
        ssize_t r = recv(fd, buf, n < sizeof buf ? (size_t)n : sizeof buf, 0);
        if (r <= 0)
            return;
        n -= (uint64_t)r;
    }
    (void)pb_full(fd, "!", 1, true);
}

/* ---- the transfer ---------------------------------------------------------- */

/* Send n bytes through port to the sink; MB/s, or -1. */
static double transfer(unsigned port, uint64_t n)
{
    static uint8_t buf[CHUNK];
    uint8_t len8[8], done;
    int one = 1, fd = pb_connect(port);
    if (fd < 0)
        return -1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)(n >> (56 - 8 * i));
    double t0 = bench_now_s();
    int rc = pb_full(fd, len8, 8, true);
    for (uint64_t left = n; rc == 0 && left > 0;) {
        size_t k = left < CHUNK ? (size_t)left : CHUNK;
        rc = pb_full(fd, buf, k, true);
        left -= k;
    }
    if (rc == 0)
        rc = pb_full(fd, &done, 1, false);
    double dt = bench_now_s() - t0;
    close(fd);
    return rc == 0 && dt > 0 ? (double)n / dt / 1e6 : -1;
}

typedef struct targets {
    pid_t pid[PB_TARGETS];
    unsigned port[PB_TARGETS];
    char redis_dir[160];
} targets;

static int targets_up(targets *t)
{
    static const pb_target sink_target = { "sink", sink };
    memset(t, 0, sizeof *t);
    t->port[PB_SINK] = pb_target_start(&sink_target, &t->pid[PB_SINK]);
    if (t->port[PB_SINK] == 0)
        return -1;
    t->port[PB_REDIS] = pb_redis_start(&t->pid[PB_REDIS], t->redis_dir, sizeof t->redis_dir);
    t->port[PB_ECHO] = pb_echo_start(&t->pid[PB_ECHO]);
    return 0;
}

static void targets_down(targets *t)
{
    pb_redis_stop(t->pid[PB_REDIS], t->redis_dir);
    pb_stop(t->pid[PB_ECHO]);
    pb_stop(t->pid[PB_SINK]);
}

static int bulk_once(unsigned port, void *ctx, double vals[PB_VALS])
{
    vals[0] = transfer(port, *(const uint64_t *)ctx);
    return vals[0] > 0 ? 0 : -1;
}

static int bulk(bench_run *b, const pb_set *s)
{
    static const char variant[] = "bulk, one direction";
    uint64_t n = bench_smoke(b) ? 4u * CHUNK : 256u * CHUNK;
    unsigned port[PB_PATHS];
    double m[PB_PATHS][PB_VALS];
    memcpy(port, s->port[PB_SINK], sizeof port);
    for (int p = 0; p < PB_PATHS; p++) /* warm up: the portal's channel opens here */
        if (port[p] != 0 && transfer(port[p], CHUNK) < 0)
            port[p] = 0;
    int rc = pb_medians(b, port, bulk_once, &n, m);
    pb_emit_paths(b, variant, "", m, 0, "MB/s");
    pb_emit_ratio(b, variant, "veil / stunnel (target >= 1.2)", m[PB_VEIL][0], m[PB_STUNNEL][0]);
    pb_emit_ratio(b, variant, "veil / direct", m[PB_VEIL][0], m[PB_DIRECT][0]);
    return rc;
}

static int run(bench_run *b)
{
    targets t;
    pb_set s;
    int rc = -1;
    if (targets_up(&t) != 0)
        return -1;
    if (pb_set_up(&s, t.port) == 0) {
        rc = bulk(b, &s);
        if (pb_redis(b, &s) != 0 || pb_conn(b, &s) != 0)
            rc = -1;
    }
    pb_set_down(&s);
    targets_down(&t);
    return rc;
}

const bench_case bench_case_portal = {
    "portal",
    "a TCP portal (inlet and outlet processes) vs stunnel4 TLS 1.3 vs direct TCP: bulk MB/s, "
    "redis-benchmark GET/SET p50/p99, new connections/s",
    run,
};
