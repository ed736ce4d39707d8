/* The portal case (issue #14), shared by its parts: bench_portal.c (the
 * case: bulk MB/s), bench_portal_paths.c (the set-up: the three paths to
 * each target), bench_portal_redis.c (redis-benchmark latency) and
 * bench_portal_conn.c (new connections per second).
 *
 * One set-up serves every part: for each target (a TCP server on
 * loopback), three ways to reach it.  Direct TCP; a veil portal (ONE
 * outlet process holding an outlet per target, ONE inlet process holding
 * an inlet per target, a Noise XX channel per inlet over loopback TCP,
 * AES-256-GCM); two stunnel4 processes (a client and a server, a service
 * per target, TLS 1.3, TLS_AES_256_GCM_SHA384, a P-256 certificate made
 * with openssl(1)).  Each path carries the same number of processes and
 * loopback hops. */
#ifndef VEIL_BENCH_PORTAL_H
#define VEIL_BENCH_PORTAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct bench_run;

enum { PB_DIRECT, PB_VEIL, PB_STUNNEL, PB_PATHS };
enum { PB_SINK, PB_REDIS, PB_ECHO, PB_TARGETS };
#define PB_RUNS 3 /* repetitions of each figure (1 with --smoke) */

extern const char *const pb_path_names[PB_PATHS]; /* "direct TCP", ... */

typedef struct pb_set {
    /* port[target][path]: where a client connects; 0: that path (or
     * target) is not there (the reason was printed on stderr). */
    unsigned port[PB_TARGETS][PB_PATHS];
    pid_t outlet, inlet, stunnel[2];
    char dir[160];              /* stunnel's certificate and configurations */
} pb_set;

/* Start the paths to targets[] (ports; 0: no such target).  The veil path
 * is required (-1 without it); the stunnel paths are skipped, with the
 * reason on stderr, when stunnel4 or openssl(1) is missing or does not
 * start. */
int pb_set_up(pb_set *s, const unsigned targets[PB_TARGETS]);
void pb_set_down(pb_set *s);

/* Helpers for the parts. */
int pb_connect(unsigned port);              /* loopback; fd or -1 */
int pb_full(int fd, void *p, size_t n, bool out); /* all n bytes; 0 or -1 */
int pb_free_port(void);                     /* an unused loopback port or -1 */
bool pb_wait_port(unsigned port);           /* accepting within 5 s */
/* Fork and exec argv[0] (on PATH) with stdout and stderr to /dev/null; it
 * dies with this process.  0 or -1. */
int pb_exec(char *const argv[], pid_t *pid);
void pb_stop(pid_t pid);                    /* SIGTERM and reap */
/* A target process: listens on a loopback port and calls handle on each
 * connection it accepts, one at a time (then closes it).  The port, or 0
 * with the reason on stderr; stop it with pb_stop. */
typedef struct pb_target {
    const char *name;
    void (*handle)(int fd);
} pb_target;
unsigned pb_target_start(const pb_target *t, pid_t *pid);
/* Connect, send req, read exactly rlen bytes into reply, close.  0 or -1. */
int pb_exchange(unsigned port, const void *req, size_t len, void *reply, size_t rlen);

/* Run fn on each path that has a port (0: none), the paths alternating run
 * by run, PB_RUNS times (1 with --smoke); fn puts up to PB_VALS figures
 * into vals and returns 0, or -1 (that run is dropped).  m[path][k]: the
 * median of figure k over the runs that worked (0: none did).  0, or -1
 * when no run of the veil path worked. */
#define PB_VALS 4
typedef int (*pb_measure_fn)(unsigned port, void *ctx, double vals[PB_VALS]);
int pb_medians(struct bench_run *b, const unsigned port[PB_PATHS], pb_measure_fn fn, void *ctx,
               double m[PB_PATHS][PB_VALS]);
/* One row "<path name><suffix>" per path, the value m[path][k]; a path
 * with no figure (skipped or failed: the reason is on stderr) has none. */
void pb_emit_paths(struct bench_run *b, const char *variant, const char *suffix,
                   double m[PB_PATHS][PB_VALS], int k, const char *unit);
/* The row metric = x / y ("x"), only when both are there. */
void pb_emit_ratio(struct bench_run *b, const char *variant, const char *metric, double x,
                   double y);

/* The parts; each emits its rows and returns 0, or -1 when the veil path
 * failed.  A part whose target is missing emits nothing and returns 0. */
int pb_redis(struct bench_run *b, const pb_set *s);
int pb_conn(struct bench_run *b, const pb_set *s);
/* The redis and echo targets (0: missing, reason on stderr); stopped by
 * pb_redis_stop / pb_stop. */
unsigned pb_redis_start(pid_t *pid, char *dir, size_t cap);
void pb_redis_stop(pid_t pid, const char *dir);
unsigned pb_echo_start(pid_t *pid);

#endif
