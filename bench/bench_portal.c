/* portal: bulk throughput through a TCP portal vs stunnel vs direct TCP
 * (issue #14).  A sink process reads what each connection sends; the
 * client (this process) sends a length, then that many bytes, and waits
 * for the sink's one-byte answer.  Three paths to the sink, alternating
 * run by run: direct; through a veil portal (an inlet process and an
 * outlet process, two nodes over loopback TCP with a Noise XX channel,
 * AES-256-GCM); through stunnel4 (a client and a server process, TLS 1.3,
 * TLS_AES_256_GCM_SHA384, a P-256 certificate made with openssl(1)).
 * Each path carries the same number of processes and loopback hops.  The
 * median MB/s of 3 runs of each (1 with --smoke), and veil / stunnel
 * (target >= 1.2).  stunnel4 or openssl missing: that path is skipped. */
#include "config.h"
#include "bench.h"
#include "bench_tcp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <veil/veil.h>

#define CHUNK (1024u * 1024u)
#define RUNS 3

static int fail(const char *what)
{
    fprintf(stderr, "portal: %s: %s\n", what, veil_last_error());
    return 1;
}

static int connect_port(unsigned port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

static int full(int fd, void *p, size_t n, bool out)
{
    for (size_t off = 0; off < n;) {
        ssize_t r = out ? send(fd, (char *)p + off, n - off, MSG_NOSIGNAL)
                        : recv(fd, (char *)p + off, n - off, 0);
        if (r <= 0)
            return -1;
        off += (size_t)r;
    }
    return 0;
}

/* ---- the sink ------------------------------------------------------------ */

static int sink_serve(int wfd, void *arg)
{
    (void)arg;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char line[32];
    static uint8_t buf[CHUNK];
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 16) != 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sl) != 0)
        return 1;
    snprintf(line, sizeof line, "%u\n", ntohs(sa.sin_port));
    if (tcpb_write_line(wfd, line) != 0)
        return 1;
    close(wfd);
    for (;;) {
        int c = accept(ls, NULL, NULL);
        uint8_t len8[8];
        if (c < 0)
            continue;
        if (full(c, len8, 8, false) == 0) {
            uint64_t n = 0;
            for (int i = 0; i < 8; i++)
                n = n << 8 | len8[i];
            while (n > 0) {
                ssize_t r = recv(c, buf, n < sizeof buf ? (size_t)n : sizeof buf, 0);
                if (r <= 0)
                    break;
                n -= (uint64_t)r;
            }
            if (n == 0)
                (void)full(c, "!", 1, true);
        }
        close(c);
    }
}

/* ---- the portal's two nodes ------------------------------------------------ */

typedef struct node_env {
    veil_node *node;
    veil_context *app;
    veil_entity *entity;
} node_env;

static int env_up(node_env *e)
{
    veil_config *cfg;
    int rc = veil_config_new_from_text(&cfg, "[transport.tcp]\nplugin = tcp\n[log]\nlevel = error\n",
                                       "bench_portal");
    if (rc < 0)
        return rc;
    veil_node_options o = { .size = sizeof o, .config = cfg };
    rc = veil_node_new(&e->node, &e->app, &o);
    veil_config_free(cfg);
    return rc == 0 ? veil_entity_open(e->node, NULL, NULL, VEIL_ENTITY_CREATE, &e->entity) : rc;
}

static int run_forever(node_env *e)
{
    for (;;)
        if (veil_node_run(e->node, -1) < 0)
            return 1;
}

/* The outlet's node: a listener (everyone: loopback only) letting channels
 * reach "outlet", which dials the sink.  Writes "PORT IDENTIFIER". */
static int outlet_serve(int wfd, void *arg)
{
    node_env e;
    veil_trust_policy *lp, *op;
    veil_address bound;
    const char *outlet = "outlet";
    char line[160];
    if (env_up(&e) != 0 || veil_trust_policy_new(e.node, "everyone", NULL, &lp) != 0 ||
        veil_secure_channel_listener_open(e.entity, "listener", lp) != 0 ||
        veil_secure_channel_listener_allow(e.node, "listener", &outlet, 1) != 0 ||
        veil_trust_policy_new(e.node, "everyone", NULL, &op) != 0)
        return fail("outlet node");
    veil_portal_outlet_options o = { sizeof o, "outlet", arg, op, 0, 0, "tcp" };
    if (veil_portal_outlet_open(e.node, &o) != 0 ||
        veil_node_transport_listen(e.node, "tcp", "127.0.0.1:0", &bound) != 0)
        return fail("outlet");
    snprintf(line, sizeof line, "%s %s\n", strrchr(bound.bytes, ':') + 1,
             veil_entity_identifier(e.entity));
    if (tcpb_write_line(wfd, line) != 0)
        return 1;
    close(wfd);
    return run_forever(&e);
}

static int trust_peer(veil_node *node, void *user, veil_trust_policy **out)
{
    const char *id = user;
    return veil_trust_policy_new_identifier(node, &id, 1, out);
}

/* The inlet's node; arg is the outlet's "PORT IDENTIFIER".  Writes its port. */
static int inlet_serve(int wfd, void *arg)
{
    node_env e;
    veil_route r;
    veil_portal_stats s;
    char text[96], line[32];
    unsigned port;
    static char id[VEIL_IDENTIFIER_LEN + 1];
    if (sscanf(arg, "%u %65s", &port, id) != 2 || env_up(&e) != 0)
        return fail("inlet node");
    snprintf(text, sizeof text, "1#127.0.0.1:%u => listener", port);
    if (veil_route_parse(&r, text) != 0)
        return fail("route");
    veil_portal_inlet_options o = { sizeof o, "inlet", "127.0.0.1:0", &r, "outlet", e.entity,
                                    trust_peer, id, 0, "tcp", false };
    if (veil_portal_inlet_open(e.node, &o) != 0 ||
        veil_portal_inlet_stats(e.node, "inlet", &s) != 0)
        return fail("inlet");
    snprintf(line, sizeof line, "%u\n", s.port);
    if (tcpb_write_line(wfd, line) != 0)
        return 1;
    close(wfd);
    return run_forever(&e);
}

/* ---- stunnel ------------------------------------------------------------ */

/* exec stunnel4 on the configuration at path; the line is written by the
 * parent side (stunnel says nothing useful on a pipe). */
static int stunnel_serve(int wfd, void *arg)
{
    if (tcpb_write_line(wfd, "started\n") != 0)
        return 1;
    close(wfd);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, 1);
        dup2(null, 2);
    }
    execlp("stunnel4", "stunnel4", (const char *)arg, (char *)NULL);
    return 127;
}

static int free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int port = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
                       getsockname(fd, (struct sockaddr *)&sa, &sl) == 0
                   ? ntohs(sa.sin_port) : -1;
    if (fd >= 0)
        close(fd);
    return port;
}

static bool wait_port(unsigned port)
{
    for (int i = 0; i < 200; i++) {
        int fd = connect_port(port);
        if (fd >= 0) {
            close(fd);
            return true;
        }
        usleep(25000);
    }
    return false;
}

typedef struct tunnel {
    char dir[64];
    pid_t pids[2];
    unsigned port;              /* the client stunnel's accept port */
} tunnel;

static int write_conf(const char *path, const char *body)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(body, f);
    return fclose(f);
}

/* Two stunnel4 processes: client (accept port) -> server -> the sink. */
static int stunnel_up(tunnel *t, unsigned sink)
{
    char cmd[512], conf[1024], path[2][96], line[16];
    int ps = free_port(), pc = free_port();
    snprintf(t->dir, sizeof t->dir, "/tmp/veil-bench-stunnel.XXXXXX");
    if (ps < 0 || pc < 0 || mkdtemp(t->dir) == NULL)
        return -1;
    snprintf(cmd, sizeof cmd, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -subj /CN=bench -days 1 -keyout %s/key.pem -out %s/cert.pem "
             ">/dev/null 2>&1", t->dir, t->dir);
    if (system(cmd) != 0)
        return -1;
    static const char common[] = "foreground = yes\npid =\nsyslog = no\ndebug = 0\n"
                                 "sslVersionMin = TLSv1.3\n"
                                 "ciphersuites = TLS_AES_256_GCM_SHA384\n";
    snprintf(conf, sizeof conf, "%s[s]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%u\n"
             "cert = %s/cert.pem\nkey = %s/key.pem\n", common, ps, sink, t->dir, t->dir);
    snprintf(path[0], sizeof path[0], "%s/server.conf", t->dir);
    if (write_conf(path[0], conf) != 0)
        return -1;
    snprintf(conf, sizeof conf, "%s[c]\nclient = yes\naccept = 127.0.0.1:%d\n"
             "connect = 127.0.0.1:%d\n", common, pc, ps);
    snprintf(path[1], sizeof path[1], "%s/client.conf", t->dir);
    if (write_conf(path[1], conf) != 0)
        return -1;
    for (int i = 0; i < 2; i++)
        if (tcpb_spawn(stunnel_serve, path[i], &t->pids[i], line, sizeof line) != 0)
            return -1;
    t->port = (unsigned)pc;
    return wait_port((unsigned)ps) && wait_port((unsigned)pc) ? 0 : -1;
}

static void stunnel_down(tunnel *t)
{
    char cmd[96];
    for (int i = 0; i < 2; i++)
        if (t->pids[i] > 0) {
            kill(t->pids[i], SIGTERM);
            (void)tcpb_reap(t->pids[i]);
        }
    if (t->dir[0] == '/' && strstr(t->dir, "veil-bench-stunnel.") != NULL) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
        (void)system(cmd);
    }
}

/* ---- the transfer ---------------------------------------------------------- */

/* Send n bytes through port to the sink; MB/s, or -1. */
static double transfer(unsigned port, uint64_t n)
{
    static uint8_t buf[CHUNK];
    uint8_t len8[8], done;
    int one = 1, fd = connect_port(port);
    if (fd < 0)
        return -1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)(n >> (56 - 8 * i));
    double t0 = bench_now_s();
    int rc = full(fd, len8, 8, true);
    for (uint64_t left = n; rc == 0 && left > 0;) {
        size_t k = left < CHUNK ? (size_t)left : CHUNK;
        rc = full(fd, buf, k, true);
        left -= k;
    }
    if (rc == 0)
        rc = full(fd, &done, 1, false);
    double dt = bench_now_s() - t0;
    close(fd);
    return rc == 0 && dt > 0 ? (double)n / dt / 1e6 : -1;
}

static void stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        (void)tcpb_reap(pid);
    }
}

static int run(bench_run *b)
{
    pid_t sink = 0, outlet = 0, inlet = 0;
    char line[160], target[32];
    tunnel t;
    unsigned port[3] = { 0, 0, 0 };
    static const char *const names[3] = { "direct TCP", "veil portal", "stunnel4 (TLS 1.3)" };
    uint64_t n = bench_smoke(b) ? 4u * CHUNK : 256u * CHUNK;
    int runs = bench_smoke(b) ? 1 : RUNS;
    memset(&t, 0, sizeof t);
    if (tcpb_spawn(sink_serve, NULL, &sink, line, sizeof line) != 0)
        return -1;
    port[0] = (unsigned)atoi(line);
    snprintf(target, sizeof target, "127.0.0.1:%u", port[0]);
    if (tcpb_spawn(outlet_serve, target, &outlet, line, sizeof line) == 0 &&
        tcpb_spawn(inlet_serve, line, &inlet, line, sizeof line) == 0)
        port[1] = (unsigned)atoi(line);
    if (stunnel_up(&t, port[0]) == 0)
        port[2] = t.port;
    else
        fprintf(stderr, "portal: stunnel4 path skipped (stunnel4 or openssl missing?)\n");
    double v[3][RUNS];
    int got[3] = { 0, 0, 0 };
    for (int p = 0; p < 3; p++) /* warm up: the portal's channel opens here */
        if (port[p] != 0 && transfer(port[p], CHUNK) < 0)
            port[p] = 0;
    for (int r = 0; r < runs; r++)
        for (int p = 0; p < 3; p++) {
            double x = port[p] != 0 ? transfer(port[p], n) : -1;
            if (x > 0)
                v[p][got[p]++] = x;
        }
    double m[3];
    for (int p = 0; p < 3; p++) {
        m[p] = got[p] > 0 ? bench_median(v[p], (size_t)got[p]) : 0;
        bench_emit(b, "bulk, one direction", names[p], m[p], "MB/s");
    }
    bench_emit(b, "bulk, one direction", "veil / stunnel (target >= 1.2)",
               m[2] > 0 ? m[1] / m[2] : 0, "x");
    bench_emit(b, "bulk, one direction", "veil / direct", m[0] > 0 ? m[1] / m[0] : 0, "x");
    stunnel_down(&t);
    stop(inlet);
    stop(outlet);
    stop(sink);
    return got[1] > 0 ? 0 : -1;
}

const bench_case bench_case_portal = {
    "portal",
    "bulk MB/s through a TCP portal (inlet and outlet processes) vs stunnel4 TLS 1.3 vs direct TCP",
    run,
};
