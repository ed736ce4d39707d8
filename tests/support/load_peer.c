/* Channels under load between two processes (load_peer.h). */
#include "load_peer.h"
#include "node_text.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long load_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

load_usage load_usage_now(void)
{
    load_usage u = { 0, 0 };
    long pages = 0, resident = 0;
    malloc_trim(0);
    struct mallinfo2 mi = mallinfo2();
    u.heap = (long long)(mi.uordblks + mi.hblkhd);
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    u.rss = (long long)resident * sysconf(_SC_PAGESIZE);
    return u;
}

/* ---- the listener process ------------------------------------------------ */

static int echo_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

static const veil_worker_ops echo_ops = { .size = sizeof echo_ops, .handle_message = echo_handle };

typedef struct served {
    unsigned opened, closed;
    int out;                      /* the answer pipe */
} served;

static void on_open(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    (void)node;
    (void)ev;
    ((served *)user)->opened++;
}

static void on_close(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    (void)node;
    (void)ev;
    ((served *)user)->closed++;
}

/* Any byte on the command pipe: answer "heap rss opened closed pending
 * failed evicted\n"; its end: exit. */
static void on_command(veil_node *node, int fd, uint32_t events, void *arg)
{
    served *s = arg;
    char c, line[160];
    veil_listener_stats st;
    (void)events;
    if (read(fd, &c, 1) != 1)
        _exit(0);
    load_usage u = load_usage_now();
    if (veil_secure_channel_listener_stats(node, "listener", &st) < 0)
        memset(&st, 0, sizeof st);
    int n = snprintf(line, sizeof line, "%lld %lld %u %u %u %llu %llu\n", u.heap, u.rss,
                     s->opened, s->closed, st.pending, (unsigned long long)st.failed,
                     (unsigned long long)st.evicted);
    if (write(s->out, line, (size_t)n) != n)
        _exit(1);
}

static int serve(int wfd, int cmd, const char *extra)
{
    veil_node *node;
    veil_context *app;
    veil_entity *e;
    veil_trust_policy *p;
    veil_address bound;
    veil_watch *w;
    static served s;
    char conf[1024], line[VEIL_ADDRESS_TEXT_MAX + VEIL_IDENTIFIER_LEN + 8];
    veil_secure_channel_listener_options o = { .size = sizeof o, .on_open = on_open,
                                               .on_close = on_close, .user = &s };
    s.out = wfd;
    snprintf(conf, sizeof conf, LOAD_QUIET "[secure_channel]\nallowed_workers = echoer\n%s",
             extra);
    if (node_new_from_text(conf, &node, &app) < 0 ||
        veil_entity_open(node, NULL, NULL, VEIL_ENTITY_CREATE, &e) < 0 ||
        veil_trust_policy_new(node, "everyone", NULL, &p) < 0 ||
        veil_secure_channel_listener_open_with(e, "listener", p, &o) < 0 ||
        veil_ctx_start_worker(app, "echoer", &echo_ops, NULL) < 0 ||
        veil_node_watch_add(node, cmd, VEIL_WATCH_READ, on_command, &s, &w) < 0 ||
        veil_node_transport_listen(node, "tcp", "127.0.0.1:0", &bound) < 0) {
        fprintf(stderr, "load listener: %s\n", veil_last_error());
        return 1;
    }
    int n = snprintf(line, sizeof line, "%s %s\n", bound.bytes, veil_entity_identifier(e));
    if (write(wfd, line, (size_t)n) != n)
        return 1;
    for (;;)
        if (veil_node_run(node, -1) < 0)
            return 1;
}

static void read_line(int fd, char *line, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap && read(fd, line + n, 1) == 1 && line[n] != '\n')
        n++;
    line[n] = '\0';
}

int load_peer_start(load_peer *p, const char *extra)
{
    int ans[2], cmd[2];
    char line[VEIL_ADDRESS_TEXT_MAX + VEIL_IDENTIFIER_LEN + 8];
    if (pipe(ans) < 0)
        return -1;
    if (pipe(cmd) < 0) {
        close(ans[0]);
        close(ans[1]);
        return -1;
    }
    fflush(NULL);
    p->pid = fork();
    if (p->pid == 0) {
        close(ans[0]);
        close(cmd[1]);
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        _exit(serve(ans[1], cmd[0], extra));
    }
    close(ans[1]);
    close(cmd[0]);
    p->ans = ans[0];
    p->cmd = cmd[1];
    if (p->pid < 0) {
        load_peer_stop(p);
        return -1;
    }
    read_line(p->ans, line, sizeof line);
    if (sscanf(line, "%255s %65s", p->where, p->id) == 2)
        return 0;
    load_peer_stop(p);
    errno = EPROTO;
    return -1;
}

int load_peer_usage(load_peer *p, load_far *f)
{
    char line[160];
    if (write(p->cmd, "m", 1) != 1)
        return -1;
    read_line(p->ans, line, sizeof line);
    return sscanf(line, "%lld %lld %u %u %u %llu %llu", &f->u.heap, &f->u.rss, &f->opened,
                  &f->closed, &f->pending, &f->failed, &f->evicted) == 7 ? 0 : -1;
}

void load_peer_stop(load_peer *p)
{
    close(p->cmd);
    close(p->ans);
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        (void)waitpid(p->pid, NULL, 0);
    }
    p->pid = 0;
}

/* ---- the initiators (this process) ---------------------------------------- */

static void opened(veil_node *node, int rc, const veil_address *channel, const char *detail,
                   void *user)
{
    load_opens *o = user;
    (void)node;
    (void)channel;
    if (rc == 0) {
        o->ok++;
        return;
    }
    if (o->failed++ == 0) {
        o->first_rc = rc;
        snprintf(o->first_detail, sizeof o->first_detail, "%s", detail ? detail : "");
    }
}

int load_opens_up(load_opens *o, unsigned cap)
{
    return load_opens_up_with(o, cap, "");
}

int load_opens_up_with(load_opens *o, unsigned cap, const char *sc_extra)
{
    char conf[512];
    memset(o, 0, sizeof *o);
    snprintf(conf, sizeof conf, LOAD_QUIET "[transport.tcp]\nauto_connect = true\n"
             "[secure_channel]\n%s", sc_extra);
    int rc = node_new_from_text(conf, &o->node, &o->app);
    if (rc == 0 &&
        (rc = veil_entity_open(o->node, NULL, NULL, VEIL_ENTITY_CREATE, &o->alice)) == 0 &&
        (rc = veil_node_transport_start(o->node, "tcp")) == 0 &&
        (o->ch = calloc(cap, sizeof *o->ch)) == NULL)
        rc = VEIL_ENOMEM;
    o->cap = cap;
    if (rc < 0)
        load_opens_down(o);
    return rc;
}

void load_opens_down(load_opens *o)
{
    veil_entity_close(o->alice);
    if (o->node != NULL)
        (void)veil_node_free(o->node);
    free(o->ch);
    memset(o, 0, sizeof *o);
}

int load_open_batch(load_opens *o, const load_peer *p, unsigned from, unsigned to)
{
    char tcp[VEIL_ADDRESS_TEXT_MAX + 1];
    snprintf(tcp, sizeof tcp, "1#%s", p->where);
    for (unsigned i = from; i < to && i < o->cap; i++) {
        veil_route r;
        veil_trust_policy *policy;
        const char *id = p->id;
        int rc;
        veil_route_init(&r);
        if ((rc = veil_route_append_str(&r, tcp)) < 0 ||
            (rc = veil_route_append_str(&r, "listener")) < 0 ||
            (rc = veil_trust_policy_new_identifier(o->node, &id, 1, &policy)) < 0 ||
            (rc = veil_secure_channel_open_async(o->alice, &r, policy, opened, o, &o->ch[i])) < 0)
            return rc;
        o->count++;
    }
    return 0;
}

int load_wait(load_opens *o, int deadline_ms)
{
    long long end = load_now_ms() + deadline_ms;
    while (o->ok + o->failed < o->count && load_now_ms() < end) {
        int rc = veil_node_run(o->node, 100);
        if (rc < 0)
            return rc;
    }
    if (o->failed > 0)
        return o->first_rc;
    return o->ok == o->count ? 0 : VEIL_ETIMEDOUT;
}

int load_echo(load_opens *o, unsigned from, unsigned to)
{
    int rc = 0;
    for (unsigned i = from; i < to && rc == 0; i++) {
        veil_route r;
        veil_route_init(&r);
        if ((rc = veil_route_append(&r, &o->ch[i])) == 0 &&
            (rc = veil_route_append_str(&r, "echoer")) == 0)
            rc = veil_ctx_send(o->app, &r, "ping", 4);
    }
    for (unsigned i = from; i < to && rc == 0; i++) {
        veil_message *m;
        size_t len;
        if ((rc = veil_ctx_receive(o->app, &m, 20000)) < 0)
            break;
        const uint8_t *d = veil_message_payload(m, &len);
        if (len != 4 || memcmp(d, "ping", 4) != 0 || !veil_message_local_info(m)->via_channel)
            rc = veil_error_set(VEIL_EFORMAT, "load: an echo came back wrong");
        veil_message_free(m);
    }
    return rc;
}
