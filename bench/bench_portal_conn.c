/* The portal case's connection part (bench_portal.h): new TCP connections
 * per second through each path to an echo process.  One connection: open,
 * send a REQ-byte request, read the REQ-byte echo (checked), close.
 * CONNS connections per run (smoke: 8), made one after the other by one
 * client ("sequential") and by PARALLEL client threads at once.  Through
 * the portal a connection is one stream on the inlet's established
 * channel; through stunnel it is a TLS 1.3 handshake (stunnel's client
 * resumes sessions by default, as shipped).  Rows: connections/s per
 * path, "veil / stunnel (target >= 5)" and veil / direct. */
#include "config.h"
#include "bench.h"
#include "bench_portal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REQ 32
#define CONNS 1000
#define PARALLEL 4

static const uint8_t request[REQ] = "veil-bench portal: connections!";

/* The echo target: echoes REQ bytes. */
static void echo(int fd)
{
    uint8_t buf[REQ];
    if (pb_full(fd, buf, REQ, false) == 0)
        (void)pb_full(fd, buf, REQ, true);
}

unsigned pb_echo_start(pid_t *pid)
{
    static const pb_target target = { "echo", echo };
    return pb_target_start(&target, pid);
}

typedef struct client {
    pthread_t thread;
    unsigned port;
    int n, failed;
} client;

static void *client_main(void *arg)
{
    client *c = arg;
    uint8_t reply[REQ];
    for (int i = 0; i < c->n && !c->failed; i++)
        c->failed = pb_exchange(c->port, request, REQ, reply, REQ) != 0 ||
                    memcmp(reply, request, REQ) != 0;
    return NULL;
}

typedef struct load {
    int conns, parallel;
} load;

/* One run: l->conns connections from l->parallel clients; connections/s. */
static int conn_once(unsigned port, void *ctx, double vals[PB_VALS])
{
    const load *l = ctx;
    client c[PARALLEL];
    int started = 0, failed = 0;
    double t0 = bench_now_s();
    for (; started < l->parallel; started++) {
        c[started] = (client){ .port = port, .n = l->conns / l->parallel };
        if (pthread_create(&c[started].thread, NULL, client_main, &c[started]) != 0)
            break;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(c[i].thread, NULL);
        failed |= c[i].failed;
    }
    double dt = bench_now_s() - t0;
    if (failed || started < l->parallel || dt <= 0)
        return -1;
    vals[0] = (double)(l->conns / l->parallel * l->parallel) / dt;
    return 0;
}

static int conn_rows(bench_run *b, const unsigned port[PB_PATHS], const load *l)
{
    char variant[64];
    double m[PB_PATHS][PB_VALS];
    int rc = pb_medians(b, port, conn_once, (void *)l, m);
    snprintf(variant, sizeof variant, "new connections, %d x %d, %s", l->conns / l->parallel,
             l->parallel, l->parallel == 1 ? "sequential" : "parallel");
    pb_emit_paths(b, variant, "", m, 0, "conn/s");
    pb_emit_ratio(b, variant, "veil / stunnel (target >= 5)", m[PB_VEIL][0], m[PB_STUNNEL][0]);
    pb_emit_ratio(b, variant, "veil / direct", m[PB_VEIL][0], m[PB_DIRECT][0]);
    return rc;
}

int pb_conn(bench_run *b, const pb_set *s)
{
    int n = bench_smoke(b) ? 8 : CONNS;
    const load seq = { n, 1 }, par = { n, PARALLEL };
    unsigned port[PB_PATHS];
    uint8_t reply[REQ];
    if (s->port[PB_ECHO][PB_DIRECT] == 0)
        return 0;
    memcpy(port, s->port[PB_ECHO], sizeof port);
    for (int p = 0; p < PB_PATHS; p++) /* warm up: the portal's channel opens here */
        if (port[p] != 0 && pb_exchange(port[p], request, REQ, reply, REQ) != 0) {
            fprintf(stderr, "portal: echo through %s: no reply\n", pb_path_names[p]);
            port[p] = 0;
        }
    int rc = conn_rows(b, port, &seq);
    return conn_rows(b, port, &par) != 0 ? -1 : rc;
}
