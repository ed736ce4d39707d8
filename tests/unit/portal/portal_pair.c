/* The two-node fixture of the portal stream tests (portal_pair.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "node_text.h"
#include "portal_pair.h"

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void pair_round(pair *p)
{
    assert_int_equal(veil_node_run_once(p->a, 1), 0);
    assert_int_equal(veil_node_run_once(p->b, 1), 0);
    if (p->proxied)
        tcp_proxy_pump(&p->px);
}

static void on_open(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    pair *p = user;
    (void)node;
    if (p->nopened < PAIR_CHANNELS)
        p->opened[p->nopened++] = *ev->channel;
}

static void on_close(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    pair *p = user;
    (void)node;
    (void)ev;
    p->nclosed++;
}

static void a_closed(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    pair *p = user;
    (void)node;
    p->a_closes++;
    p->a_reason = ev->reason;
    p->a_closed = *ev->channel;
    p->a_kind = ev->kind;
}

static void b_closed(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    pair *p = user;
    (void)node;
    p->b_closes++;
    p->b_reason = ev->reason;
}

static int trust_b(veil_node *node, void *user, veil_trust_policy **out)
{
    pair *p = user;
    const char *id = veil_entity_identifier(p->eb);
    return veil_trust_policy_new_identifier(node, &id, 1, out);
}

/* The target: a listening socket on loopback (v4 or v6); with down, its
 * port is closed again so that nobody listens there. */
static void target_up(pair *p, const pair_opts *o)
{
    struct sockaddr_storage ss;
    socklen_t sl = o->ipv6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    memset(&ss, 0, sizeof ss);
    ss.ss_family = o->ipv6 ? AF_INET6 : AF_INET;
    if (o->ipv6)
        ((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
    else
        ((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    p->tls = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(p->tls >= 0);
    assert_int_equal(bind(p->tls, (struct sockaddr *)&ss, sl), 0);
    assert_int_equal(listen(p->tls, 64), 0);
    assert_int_equal(getsockname(p->tls, (struct sockaddr *)&ss, &sl), 0);
    unsigned port = ntohs(o->ipv6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                  : ((struct sockaddr_in *)&ss)->sin_port);
    snprintf(p->target, sizeof p->target, o->ipv6 ? "[::1]:%u" : "127.0.0.1:%u", port);
    if (o->target_down) {
        close(p->tls);
        p->tls = -1;
    }
}

static void node_b(pair *p, const pair_opts *o, veil_address *bound)
{
    veil_trust_policy *lp, *op;
    const char *outlet = "outlet";
    veil_secure_channel_listener_options lo = { sizeof lo, on_open, on_close, p };
    assert_int_equal(node_new_from_text("", &p->b, &p->app_b), 0);
    assert_int_equal(veil_entity_open(p->b, NULL, NULL, VEIL_ENTITY_CREATE, &p->eb), 0);
    assert_int_equal(veil_entity_open(p->b, NULL, NULL, VEIL_ENTITY_CREATE, &p->stranger), 0);
    assert_int_equal(veil_trust_policy_new(p->b, "everyone", NULL, &lp), 0);
    assert_int_equal(veil_secure_channel_listener_open_with(p->eb, "listener", lp, &lo), 0);
    assert_int_equal(veil_secure_channel_listener_allow(p->b, "listener", &outlet, 1), 0);
    const char *who = veil_entity_identifier(o->allow_stranger ? p->stranger : p->ea);
    assert_int_equal(veil_trust_policy_new_identifier(p->b, &who, 1, &op), 0);
    veil_portal_outlet_options oo = { sizeof oo, "outlet", p->target, op, o->outlet_max, 0,
                                      "tcp", o->max_window, o->window_budget };
    assert_int_equal(veil_portal_outlet_open(p->b, &oo), 0);
    assert_int_equal(veil_node_transport_listen(p->b, "tcp", "127.0.0.1:0", bound), 0);
    assert_int_equal(veil_secure_channel_on_close(p->b, b_closed, p), 0);
}

void pair_up(pair *p, const pair_opts *o)
{
    veil_address bound;
    veil_route r;
    char text[VEIL_ADDRESS_TEXT_MAX + 32];
    veil_portal_stats s;
    memset(p, 0, sizeof *p);
    target_up(p, o);
    assert_int_equal(node_new_from_text("", &p->a, &p->app_a), 0);
    assert_int_equal(veil_entity_open(p->a, NULL, NULL, VEIL_ENTITY_CREATE, &p->ea), 0);
    node_b(p, o, &bound);
    snprintf(text, sizeof text, "1#%s => listener", bound.bytes);
    if (o->proxied) { /* "1#127.0.0.1:PORT": B's port behind the proxy */
        p->proxied = true;
        tcp_proxy_start(&p->px, (uint16_t)atoi(strrchr(bound.bytes, ':') + 1));
        snprintf(text, sizeof text, "1#127.0.0.1:%u => listener", p->px.port);
    }
    assert_int_equal(veil_route_parse(&r, text), 0);
    veil_route_copy(&p->to_b, &r);
    veil_portal_inlet_options io = { sizeof io, "inlet", o->ipv6 ? "[::1]:0" : "127.0.0.1:0",
                                     &r, "outlet", p->ea, trust_b, p, o->inlet_max, "tcp",
                                     o->resilient, o->max_window, o->window_budget };
    assert_int_equal(veil_portal_inlet_open(p->a, &io), 0);
    assert_int_equal(veil_secure_channel_on_close(p->a, a_closed, p), 0);
    assert_int_equal(veil_portal_inlet_stats(p->a, "inlet", &s), 0);
    assert_true(s.port != 0);
    p->inlet_port = s.port;
    p->a_reason = p->b_reason = 1; /* none heard yet */
}

void pair_down(pair *p)
{
    veil_secure_channel_off_close(p->a, a_closed, p);
    veil_secure_channel_off_close(p->b, b_closed, p);
    veil_entity_close(p->ea);
    veil_entity_close(p->eb);
    veil_entity_close(p->stranger);
    assert_int_equal(veil_node_free(p->a), 0);
    assert_int_equal(veil_node_free(p->b), 0);
    if (p->tls >= 0)
        close(p->tls);
    if (p->proxied)
        tcp_proxy_stop(&p->px);
}

int pair_client(pair *p)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    bool v6 = p->target[0] == '[';
    memset(&ss, 0, sizeof ss);
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
        s6->sin6_port = htons(p->inlet_port);
        sl = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        s4->sin_port = htons(p->inlet_port);
        sl = sizeof *s4;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0); /* the backlog takes it */
    assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
    return fd;
}

int pair_accept_now(pair *p)
{
    for (int i = 0; i < 5; i++)
        pair_round(p);
    return p->tls >= 0 ? accept4(p->tls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC) : -1;
}

int pair_accept(pair *p)
{
    uint64_t until = now_ms() + 5000;
    while (now_ms() < until) {
        int fd = accept4(p->tls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        assert_true(errno == EAGAIN);
        pair_round(p);
    }
    fail_msg("the target saw no connection within 5 s");
    return -1;
}

void sock_take(int fd, sock_in *in)
{
    for (;;) {
        uint8_t scratch[65536];
        uint8_t *to = in->len < in->cap ? in->buf + in->len : scratch;
        size_t room = in->len < in->cap ? in->cap - in->len : sizeof scratch;
        ssize_t n = recv(fd, to, room, 0);
        if (n > 0) {
            in->len += (size_t)n; /* past cap: counted, not kept */
            continue;
        }
        if (n == 0)
            in->end = 1;
        else if (errno != EAGAIN && errno != EINTR)
            in->end = -errno;
        return;
    }
}

bool sock_give(int fd, const uint8_t *data, size_t n, size_t *off)
{
    while (*off < n) {
        ssize_t w = send(fd, data + *off, n - *off, MSG_NOSIGNAL);
        if (w < 0)
            return errno == EAGAIN || errno == EINTR;
        *off += (size_t)w;
    }
    return true;
}

uint64_t pair_wait_ends(pair *p, const int *fds, int *ends, size_t n, unsigned ms)
{
    uint64_t t0 = now_ms();
    for (;;) {
        size_t done = 0;
        for (size_t i = 0; i < n; i++) {
            if (ends[i] == 0) {
                sock_in in = { NULL, 0, 0, 0 };
                sock_take(fds[i], &in);
                ends[i] = in.end;
            }
            done += ends[i] != 0;
        }
        if (done == n)
            return now_ms() - t0;
        if (now_ms() - t0 > ms)
            return UINT64_MAX;
        pair_round(p);
    }
}

veil_portal_stats pair_inlet_stats(pair *p)
{
    veil_portal_stats s;
    assert_int_equal(veil_portal_inlet_stats(p->a, "inlet", &s), 0);
    return s;
}

veil_portal_stats pair_outlet_stats(pair *p)
{
    veil_portal_stats s;
    assert_int_equal(veil_portal_outlet_stats(p->b, "outlet", &s), 0);
    return s;
}
