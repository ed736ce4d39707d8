/* The portal case's redis part (bench_portal.h): redis-benchmark's own
 * GET and SET latency (its --csv p50 and p99, in ms) through each path to
 * a redis-server this case starts (a temp dir, loopback, a free port, no
 * persistence; stopped at the end).  A fixed load: REQUESTS requests from
 * CLIENTS connections, no pipelining (smoke: 200 from 2).  Rows: p50 and
 * p99 per path, "veil p50 / stunnel p50 (target <= 1.1)" and the p99
 * ratio.  redis-server or redis-benchmark missing: no rows, the reason on
 * stderr. */
#include "config.h"
#include "bench.h"
#include "bench_portal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "scratch.h"

#define REQUESTS 20000
#define CLIENTS 10

enum { SET_P50, SET_P99, GET_P50, GET_P99 };

static bool have_programs(void)
{
    return system("command -v redis-server >/dev/null 2>&1 && "
                  "command -v redis-benchmark >/dev/null 2>&1") == 0;
}

void pb_redis_stop(pid_t pid, const char *dir)
{
    char cmd[192];
    pb_stop(pid);
    if (dir[0] == '/' && strstr(dir, "veil-bench-redis-") != NULL) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        (void)system(cmd);
    }
}

unsigned pb_redis_start(pid_t *pid, char *dir, size_t cap)
{
    char port[12];
    int p = pb_free_port();
    *pid = 0;
    if (!have_programs() || p < 0 || scratch_template(dir, cap, "bench-redis") != 0 ||
        mkdtemp(dir) == NULL) {
        fprintf(stderr, "portal: redis rows skipped: redis-server or redis-benchmark missing\n");
        dir[0] = '\0';
        return 0;
    }
    snprintf(port, sizeof port, "%d", p);
    char *argv[] = { "redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", dir,
                     "--save", "", "--appendonly", "no", "--daemonize", "no", NULL };
    if (pb_exec(argv, pid) != 0 || !pb_wait_port((unsigned)p)) {
        fprintf(stderr, "portal: redis rows skipped: redis-server did not start on port %d\n", p);
        pb_redis_stop(*pid, dir);
        *pid = 0;
        dir[0] = '\0';
        return 0;
    }
    return (unsigned)p;
}

/* One redis-benchmark run (SET then GET) against port: its p50 and p99. */
static int redis_once(unsigned port, void *ctx, double vals[PB_VALS])
{
    const int *load = ctx;
    char cmd[160], line[256], name[8];
    double rps, avg, min, p50, p95, p99;
    int seen = 0;
    snprintf(cmd, sizeof cmd, "timeout 120 redis-benchmark -h 127.0.0.1 -p %u -t set,get "
             "-n %d -c %d --csv 2>/dev/null", port, load[0], load[1]);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "\"%7[A-Z]\",\"%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf\"", name, &rps,
                   &avg, &min, &p50, &p95, &p99) != 7)
            continue;
        int k = strcmp(name, "SET") == 0 ? SET_P50 : strcmp(name, "GET") == 0 ? GET_P50 : -1;
        if (k >= 0) {
            vals[k] = p50;
            vals[k + 1] = p99;
            seen |= 1 << k;
        }
    }
    int rc = pclose(f);
    return rc == 0 && seen == (1 << SET_P50 | 1 << GET_P50) ? 0 : -1;
}

static void emit_test(bench_run *b, const char *test, double m[PB_PATHS][PB_VALS], int k,
                      const int load[2])
{
    char variant[64];
    snprintf(variant, sizeof variant, "redis %s, -n %d -c %d", test, load[0], load[1]);
    pb_emit_paths(b, variant, " p50", m, k, "ms");
    pb_emit_paths(b, variant, " p99", m, k + 1, "ms");
    pb_emit_ratio(b, variant, "veil p50 / stunnel p50 (target <= 1.1)",
                  m[PB_VEIL][k], m[PB_STUNNEL][k]);
    pb_emit_ratio(b, variant, "veil p99 / stunnel p99", m[PB_VEIL][k + 1], m[PB_STUNNEL][k + 1]);
}

int pb_redis(bench_run *b, const pb_set *s)
{
    static const char ping[] = "PING\r\n";
    const int load[2] = { bench_smoke(b) ? 200 : REQUESTS, bench_smoke(b) ? 2 : CLIENTS };
    unsigned port[PB_PATHS];
    double m[PB_PATHS][PB_VALS];
    char pong[7];
    if (s->port[PB_REDIS][PB_DIRECT] == 0)
        return 0;
    memcpy(port, s->port[PB_REDIS], sizeof port);
    for (int p = 0; p < PB_PATHS; p++) /* warm up: the portal's channel opens here */
        if (port[p] != 0 && (pb_exchange(port[p], ping, 6, pong, 7) != 0 ||
                             memcmp(pong, "+PONG\r\n", 7) != 0)) {
            fprintf(stderr, "portal: redis through %s: no PONG\n", pb_path_names[p]);
            port[p] = 0;
        }
    int rc = pb_medians(b, port, redis_once, (void *)load, m);
    emit_test(b, "SET", m, SET_P50, load);
    emit_test(b, "GET", m, GET_P50, load);
    return rc;
}
