/* The portal case's set-up (bench_portal.h): for each target, a veil
 * portal (an outlet and an inlet per target in two node processes) and a
 * stunnel4 pair (a service per target), plus the small socket helpers the
 * parts share. */
#include "config.h"
#include "bench.h"
#include "bench_portal.h"
#include "bench_tcp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <veil/veil.h>
#include "scratch.h"

const char *const pb_path_names[PB_PATHS] = { "direct TCP", "veil portal", "stunnel4 (TLS 1.3)" };

static int fail(const char *what)
{
    fprintf(stderr, "portal: %s: %s\n", what, veil_last_error());
    return 1;
}

int pb_connect(unsigned port)
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

int pb_full(int fd, void *p, size_t n, bool out)
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

int pb_exchange(unsigned port, const void *req, size_t len, void *reply, size_t rlen)
{
    int fd = pb_connect(port);
    if (fd < 0)
        return -1;
    int rc = pb_full(fd, (void *)req, len, true) == 0 && pb_full(fd, reply, rlen, false) == 0
                 ? 0 : -1;
    close(fd);
    return rc;
}

int pb_free_port(void)
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

bool pb_wait_port(unsigned port)
{
    for (int i = 0; i < 200; i++) {
        int fd = pb_connect(port);
        if (fd >= 0) {
            close(fd);
            return true;
        }
        usleep(25000);
    }
    return false;
}

void pb_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        (void)tcpb_reap(pid);
    }
}

/* The child of pb_exec; the line is written before the exec (the programs
 * say nothing useful on a pipe). */
static int exec_serve(int wfd, void *arg)
{
    char *const *argv = arg;
    if (tcpb_write_line(wfd, "started\n") != 0)
        return 1;
    close(wfd);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, 1);
        dup2(null, 2);
    }
    execvp(argv[0], argv);
    return 127;
}

int pb_exec(char *const argv[], pid_t *pid)
{
    char line[16];
    return tcpb_spawn(exec_serve, (void *)argv, pid, line, sizeof line);
}

static int target_serve(int wfd, void *arg)
{
    const pb_target *t = arg;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char line[32];
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 128) != 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sl) != 0)
        return 1;
    snprintf(line, sizeof line, "%u\n", ntohs(sa.sin_port));
    if (tcpb_write_line(wfd, line) != 0)
        return 1;
    close(wfd);
    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c < 0)
            continue;
        t->handle(c);
        close(c);
    }
}

unsigned pb_target_start(const pb_target *t, pid_t *pid)
{
    char line[32];
    *pid = 0;
    if (tcpb_spawn(target_serve, (void *)t, pid, line, sizeof line) != 0) {
        fprintf(stderr, "portal: the %s process did not start\n", t->name);
        return 0;
    }
    return (unsigned)atoi(line);
}

/* ---- the portal's two nodes ------------------------------------------------ */

typedef struct node_env {
    veil_node *node;
    veil_context *app;
    veil_entity *entity;
} node_env;

static const char *const outlet_names[PB_TARGETS] = { "o0", "o1", "o2" };
static const char *const inlet_names[PB_TARGETS] = { "i0", "i1", "i2" };

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

/* The outlet's node; arg: the targets' ports.  A listener (everyone:
 * loopback only) letting channels reach the outlets o0.. (one per target,
 * each dialling its target).  Writes "PORT IDENTIFIER". */
static int outlet_serve(int wfd, void *arg)
{
    const unsigned *targets = arg;
    node_env e;
    veil_trust_policy *p;
    veil_address bound;
    char line[160], to[32];
    if (env_up(&e) != 0 || veil_trust_policy_new(e.node, "everyone", NULL, &p) != 0 ||
        veil_secure_channel_listener_open(e.entity, "listener", p) != 0 ||
        veil_secure_channel_listener_allow(e.node, "listener", outlet_names, PB_TARGETS) != 0)
        return fail("outlet node");
    for (int t = 0; t < PB_TARGETS; t++) {
        if (targets[t] == 0)
            continue;
        snprintf(to, sizeof to, "127.0.0.1:%u", targets[t]);
        veil_portal_outlet_options o = { sizeof o, outlet_names[t], to, NULL, 0, 0, "tcp", 0, 0 };
        if (veil_trust_policy_new(e.node, "everyone", NULL, &o.policy) != 0 ||
            veil_portal_outlet_open(e.node, &o) != 0)
            return fail("outlet");
    }
    if (veil_node_transport_listen(e.node, "tcp", "127.0.0.1:0", &bound) != 0)
        return fail("outlet listen");
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

typedef struct inlet_arg {
    const unsigned *targets;
    unsigned port;              /* the outlet node's */
    char id[VEIL_IDENTIFIER_LEN + 1];
} inlet_arg;

/* The inlet's node: an inlet i<t> per target, each with its own channel
 * to the outlet o<t>.  Writes the inlets' ports (0 for a missing target). */
static int inlet_serve(int wfd, void *arg)
{
    inlet_arg *a = arg;
    node_env e;
    veil_route r;
    veil_portal_stats st;
    char text[96], line[64];
    size_t off = 0;
    snprintf(text, sizeof text, "1#127.0.0.1:%u => listener", a->port);
    if (env_up(&e) != 0 || veil_route_parse(&r, text) != 0)
        return fail("inlet node");
    for (int t = 0; t < PB_TARGETS; t++) {
        st.port = 0;
        veil_portal_inlet_options o = { sizeof o, inlet_names[t], "127.0.0.1:0", &r,
                                        outlet_names[t], e.entity, trust_peer, a->id, 0, "tcp", false,
                                        0, 0 };
        if (a->targets[t] != 0 && (veil_portal_inlet_open(e.node, &o) != 0 ||
                                   veil_portal_inlet_stats(e.node, inlet_names[t], &st) != 0))
            return fail("inlet");
        off += (size_t)snprintf(line + off, sizeof line - off, "%u ", st.port);
    }
    line[off - 1] = '\n';
    if (tcpb_write_line(wfd, line) != 0)
        return 1;
    close(wfd);
    return run_forever(&e);
}

static int veil_up(pb_set *s, const unsigned targets[PB_TARGETS])
{
    char line[160];
    inlet_arg a = { .targets = targets };
    unsigned p[PB_TARGETS];
    if (tcpb_spawn(outlet_serve, (void *)targets, &s->outlet, line, sizeof line) != 0 ||
        sscanf(line, "%u %65s", &a.port, a.id) != 2 ||
        tcpb_spawn(inlet_serve, &a, &s->inlet, line, sizeof line) != 0 ||
        sscanf(line, "%u %u %u", &p[0], &p[1], &p[2]) != PB_TARGETS)
        return -1;
    for (int t = 0; t < PB_TARGETS; t++)
        s->port[t][PB_VEIL] = p[t];
    return 0;
}

/* ---- stunnel ------------------------------------------------------------ */

static int write_conf(const char *path, const char *body)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(body, f);
    return fclose(f);
}

/* Append a service: [NAME] accept = 127.0.0.1:ACCEPT, connect = 127.0.0.1:TO. */
static void add_service(char *conf, size_t cap, const char *name, int accept, int to)
{
    size_t n = strlen(conf);
    snprintf(conf + n, cap - n, "[%s]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n", name,
             accept, to);
}

/* Two stunnel4 processes, a service per target in each: client (accept
 * port) -> server -> the target. */
static int stunnel_up(pb_set *s, const unsigned targets[PB_TARGETS])
{
    char cmd[640], conf[2][2048], path[2][192], name[8];
    int ps[PB_TARGETS], pc[PB_TARGETS];
    if (system("command -v stunnel4 >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1") != 0) {
        fprintf(stderr, "portal: stunnel4 paths skipped: stunnel4 or openssl not on PATH\n");
        return -1;
    }
    if (scratch_template(s->dir, sizeof s->dir, "bench-stunnel") != 0 || mkdtemp(s->dir) == NULL)
        return -1;
    snprintf(cmd, sizeof cmd, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -subj /CN=bench -days 1 -keyout %s/key.pem -out %s/cert.pem "
             ">/dev/null 2>&1", s->dir, s->dir);
    if (system(cmd) != 0)
        return -1;
    static const char common[] = "foreground = yes\npid =\nsyslog = no\ndebug = 0\n"
                                 "sslVersionMin = TLSv1.3\n"
                                 "ciphersuites = TLS_AES_256_GCM_SHA384\n";
    snprintf(conf[0], sizeof conf[0], "%scert = %s/cert.pem\nkey = %s/key.pem\n", common, s->dir,
             s->dir);
    snprintf(conf[1], sizeof conf[1], "%sclient = yes\n", common);
    for (int t = 0; t < PB_TARGETS; t++) {
        if (targets[t] == 0)
            continue;
        ps[t] = pb_free_port();
        pc[t] = pb_free_port();
        if (ps[t] < 0 || pc[t] < 0)
            return -1;
        snprintf(name, sizeof name, "s%d", t);
        add_service(conf[0], sizeof conf[0], name, ps[t], (int)targets[t]);
        name[0] = 'c';
        add_service(conf[1], sizeof conf[1], name, pc[t], ps[t]);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(path[i], sizeof path[i], "%s/%s.conf", s->dir, i == 0 ? "server" : "client");
        char *argv[] = { "stunnel4", path[i], NULL };
        if (write_conf(path[i], conf[i]) != 0 || pb_exec(argv, &s->stunnel[i]) != 0)
            return -1;
    }
    for (int t = 0; t < PB_TARGETS; t++)
        if (targets[t] != 0) {
            if (!pb_wait_port((unsigned)ps[t]) || !pb_wait_port((unsigned)pc[t]))
                return -1;
            s->port[t][PB_STUNNEL] = (unsigned)pc[t];
        }
    return 0;
}

/* ---- the set ----------------------------------------------------------- */

int pb_set_up(pb_set *s, const unsigned targets[PB_TARGETS])
{
    memset(s, 0, sizeof *s);
    for (int t = 0; t < PB_TARGETS; t++)
        s->port[t][PB_DIRECT] = targets[t];
    if (veil_up(s, targets) != 0)
        return -1;
    if (stunnel_up(s, targets) != 0) {
        fprintf(stderr, "portal: stunnel4 paths skipped (see above, or they did not start)\n");
        for (int t = 0; t < PB_TARGETS; t++)
            s->port[t][PB_STUNNEL] = 0;
    }
    return 0;
}

void pb_set_down(pb_set *s)
{
    char cmd[192];
    for (int i = 0; i < 2; i++)
        pb_stop(s->stunnel[i]);
    pb_stop(s->inlet);
    pb_stop(s->outlet);
    if (s->dir[0] == '/' && strstr(s->dir, "veil-bench-stunnel-") != NULL) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
        (void)system(cmd);
    }
}

/* ---- measuring ----------------------------------------------------------- */

int pb_medians(bench_run *b, const unsigned port[PB_PATHS], pb_measure_fn fn, void *ctx,
               double m[PB_PATHS][PB_VALS])
{
    int runs = bench_smoke(b) ? 1 : PB_RUNS, got[PB_PATHS] = { 0 };
    double v[PB_PATHS][PB_VALS][PB_RUNS], one[PB_VALS];
    for (int r = 0; r < runs; r++)
        for (int p = 0; p < PB_PATHS; p++) {
            memset(one, 0, sizeof one);
            if (port[p] == 0 || fn(port[p], ctx, one) != 0)
                continue;
            for (int k = 0; k < PB_VALS; k++)
                v[p][k][got[p]] = one[k];
            got[p]++;
        }
    for (int p = 0; p < PB_PATHS; p++)
        for (int k = 0; k < PB_VALS; k++)
            m[p][k] = got[p] > 0 ? bench_median(v[p][k], (size_t)got[p]) : 0;
    return got[PB_VEIL] > 0 ? 0 : -1;
}

void pb_emit_paths(bench_run *b, const char *variant, const char *suffix,
                   double m[PB_PATHS][PB_VALS], int k, const char *unit)
{
    char metric[48];
    for (int p = 0; p < PB_PATHS; p++) {
        snprintf(metric, sizeof metric, "%s%s", pb_path_names[p], suffix);
        if (m[p][k] > 0)
            bench_emit(b, variant, metric, m[p][k], unit);
    }
}

void pb_emit_ratio(bench_run *b, const char *variant, const char *metric, double x, double y)
{
    if (x > 0 && y > 0)
        bench_emit(b, variant, metric, x / y, "x");
}
