/* Secure channels over TCP when the connection under them is lost: the
 * peer is another process (forked here) that is killed.  Its channels'
 * ends in this process must go at once, not linger: an open channel is
 * stopped and freed (a later send fails with VEIL_ENOROUTE naming it), a
 * channel through that channel goes too, so does a channel whose relay
 * (a middle node) dies, and a handshake in progress
 * fails with VEIL_ECLOSED long before its timeout.  A lost route that is
 * not a channel's first hop leaves the channel alone. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <veil/veil.h>

#include "node_text.h"

/* ---- the peer process ---------------------------------------------------- */

static int echo_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

static const veil_worker_ops echo_ops = { .size = sizeof echo_ops, .handle_message = echo_handle };

/* A relay (middle node): only listens; it relays ([node] relay) and the
 * transport dials onward hops itself (auto_connect). */
static int serve_relay(int wfd)
{
    veil_node *node;
    veil_context *app;
    veil_address bound;
    char line[VEIL_ADDRESS_TEXT_MAX + 8];
    if (node_new_from_text("[node]\nrelay = true\n[transport.tcp]\nauto_connect = true\n", &node,
                  &app) < 0 ||
        veil_node_transport_listen(node, "tcp", "127.0.0.1:0", &bound) < 0) {
        fprintf(stderr, "relay: %s\n", veil_last_error());
        return 1;
    }
    int n = snprintf(line, sizeof line, "%s -\n", bound.bytes);
    if (write(wfd, line, (size_t)n) != n)
        return 1;
    close(wfd);
    for (;;)
        if (veil_node_run(node, -1) < 0)
            return 1;
}

static int serve(int wfd)
{
    veil_node *node;
    veil_context *app;
    veil_entity *e;
    veil_trust_policy *p;
    veil_address bound;
    char line[VEIL_ADDRESS_TEXT_MAX + VEIL_IDENTIFIER_LEN + 8];
    /* Child: listen on loopback, a channel listener trusting every
     * authenticated peer whose channels may reach the echoer and the
     * listener itself (a channel in a channel), an echoer; write
     * "host:port identifier\n"; run until killed. */
    if (node_new_from_text("[secure_channel]\nallowed_workers = echoer, listener\n", &node, &app) < 0 ||
        veil_entity_open(node, NULL, NULL, VEIL_ENTITY_CREATE, &e) < 0 ||
        veil_trust_policy_new(node, "everyone", NULL, &p) < 0 ||
        veil_secure_channel_listener_open(e, "listener", p) < 0 ||
        veil_ctx_start_worker(app, "echoer", &echo_ops, NULL) < 0 ||
        veil_node_transport_listen(node, "tcp", "127.0.0.1:0", &bound) < 0) {
        fprintf(stderr, "peer: %s\n", veil_last_error());
        return 1;
    }
    int n = snprintf(line, sizeof line, "%s %s\n", bound.bytes, veil_entity_identifier(e));
    if (write(wfd, line, (size_t)n) != n)
        return 1;
    close(wfd);
    for (;;)
        if (veil_node_run(node, -1) < 0)
            return 1;
}

typedef struct peer {
    pid_t pid;
    char where[VEIL_ADDRESS_MAX + 1];
    char id[VEIL_IDENTIFIER_LEN + 1];
} peer;

static void peer_start_as(peer *p, int (*fn)(int wfd))
{
    int fds[2];
    char line[VEIL_ADDRESS_TEXT_MAX + VEIL_IDENTIFIER_LEN + 8];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        close(fds[0]);
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        _exit(fn(fds[1]));
    }
    close(fds[1]);
    size_t n = 0;
    while (n + 1 < sizeof line && read(fds[0], line + n, 1) == 1 && line[n] != '\n')
        n++;
    line[n] = '\0';
    close(fds[0]);
    assert_int_equal(sscanf(line, "%255s %65s", p->where, p->id), 2);
}

static void peer_start(peer *p)
{
    peer_start_as(p, serve);
}

static void peer_kill(peer *p)
{
    int status;
    kill(p->pid, SIGKILL);
    assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
}

/* ---- this process ------------------------------------------------------------ */

typedef struct local {
    veil_node *node;
    veil_context *app;
    veil_entity *alice;
} local;

static void local_up(local *l)
{
    /* this process dials its peers on first use */
    assert_int_equal(node_new_from_text("[transport.tcp]\nauto_connect = true\n", &l->node, &l->app), 0);
    assert_int_equal(veil_entity_open(l->node, NULL, NULL, VEIL_ENTITY_CREATE, &l->alice), 0);
    assert_int_equal(veil_node_transport_start(l->node, "tcp"), 0);
}

static void local_down(local *l)
{
    veil_entity_close(l->alice);
    assert_int_equal(veil_node_free(l->node), 0);
}

static int open_channel_via(local *l, const peer *relay, const peer *p, const veil_address *first,
                            veil_address *ch)
{
    veil_trust_policy *policy;
    veil_route r;
    const char *id = p->id;
    char tcp[VEIL_ADDRESS_TEXT_MAX + 1];
    snprintf(tcp, sizeof tcp, "1#%s", p->where);
    veil_route_init(&r);
    if (relay != NULL) {
        char hop[VEIL_ADDRESS_TEXT_MAX + 1];
        snprintf(hop, sizeof hop, "1#%s", relay->where);
        assert_int_equal(veil_route_append_str(&r, hop), 0);
    }
    if (first != NULL)
        assert_int_equal(veil_route_append(&r, first), 0);
    else
        assert_int_equal(veil_route_append_str(&r, tcp), 0);
    assert_int_equal(veil_route_append_str(&r, "listener"), 0);
    assert_int_equal(veil_trust_policy_new_identifier(l->node, &id, 1, &policy), 0);
    return veil_secure_channel_open(l->alice, &r, policy, ch);
}

static int open_channel(local *l, const peer *p, const veil_address *first, veil_address *ch)
{
    return open_channel_via(l, NULL, p, first, ch);
}

static void echo_through(local *l, const veil_address *ch)
{
    veil_route r;
    veil_message *m;
    size_t len;
    veil_route_init(&r);
    assert_int_equal(veil_route_append(&r, ch), 0);
    assert_int_equal(veil_route_append_str(&r, "echoer"), 0);
    assert_int_equal(veil_ctx_send(l->app, &r, "ping", 4), 0);
    assert_int_equal(veil_ctx_receive(l->app, &m, 5000), 0);
    const uint8_t *d = veil_message_payload(m, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(d, "ping", 4);
    assert_true(veil_message_local_info(m)->via_channel);
    veil_message_free(m);
}

static bool channel_alive(local *l, const veil_address *ch)
{
    veil_channel_stats st;
    return veil_secure_channel_stats(l->node, ch, &st) == 0;
}

/* Run the loop until ch is gone (5 s at most); the time it took. */
static double wait_gone(local *l, const veil_address *ch)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 500 && channel_alive(l, ch); i++)
        assert_int_equal(veil_node_run_once(l->node, 10), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static void assert_send_fails(local *l, const veil_address *ch)
{
    veil_route r;
    veil_route_init(&r);
    assert_int_equal(veil_route_append(&r, ch), 0);
    assert_int_equal(veil_route_append_str(&r, "echoer"), 0);
    assert_error_contains(veil_ctx_send(l->app, &r, "ping", 4), VEIL_ENOROUTE, ch->bytes);
}

static void test_open_channel_goes_with_its_connection(void **state)
{
    (void)state;
    peer p;
    local l;
    veil_address ch;
    veil_transport_stats ts;
    peer_start(&p);
    local_up(&l);
    assert_int_equal(open_channel(&l, &p, NULL, &ch), 0);
    echo_through(&l, &ch);
    peer_kill(&p);
    double took = wait_gone(&l, &ch);
    veil_channel_stats st;
    assert_error_contains(veil_secure_channel_stats(l.node, &ch, &st), VEIL_ENOTFOUND, ch.bytes);
    assert_true(took < 2.0);
    assert_send_fails(&l, &ch);
    assert_int_equal(veil_node_transport_stats(l.node, "tcp", &ts), 0);
    assert_int_equal(ts.connections_open, 0);
    local_down(&l);
}

/* A channel through a channel: the inner one's route starts with the
 * outer one, not with the connection; it must go too. */
static void test_nested_channel_goes_with_the_outer(void **state)
{
    (void)state;
    peer p;
    local l;
    veil_address outer, inner;
    peer_start(&p);
    local_up(&l);
    assert_int_equal(open_channel(&l, &p, NULL, &outer), 0);
    assert_int_equal(open_channel(&l, &p, &outer, &inner), 0);
    echo_through(&l, &inner);
    peer_kill(&p);
    (void)wait_gone(&l, &outer);
    (void)wait_gone(&l, &inner);
    assert_false(channel_alive(&l, &outer));
    assert_false(channel_alive(&l, &inner));
    assert_send_fails(&l, &inner);
    local_down(&l);
}

/* initiator -> relay -> responder: the relay dies; the initiator's end
 * goes (its first hop was the relay), the responder process lives on. */
static void test_channel_goes_when_the_relay_dies(void **state)
{
    (void)state;
    peer relay, p;
    local l;
    veil_address ch;
    peer_start(&p);
    peer_start_as(&relay, serve_relay);
    local_up(&l);
    assert_int_equal(open_channel_via(&l, &relay, &p, NULL, &ch), 0);
    echo_through(&l, &ch);
    peer_kill(&relay);
    double took = wait_gone(&l, &ch);
    assert_false(channel_alive(&l, &ch));
    assert_true(took < 2.0);
    assert_send_fails(&l, &ch);
    assert_int_equal(kill(p.pid, 0), 0); /* the responder was not touched */
    peer_kill(&p);
    local_down(&l);
}

static void kill_timer(veil_node *node, void *arg)
{
    (void)node;
    kill(((peer *)arg)->pid, SIGKILL);
}

/* The peer accepts the connection (the kernel does) but never answers:
 * it is stopped, then killed while create() waits. */
static void test_handshake_fails_fast_when_the_route_is_lost(void **state)
{
    (void)state;
    peer p;
    local l;
    veil_address ch;
    veil_timer *t;
    int status;
    peer_start(&p);
    local_up(&l);
    kill(p.pid, SIGSTOP);
    assert_int_equal(veil_node_timer_add(l.node, 300, kill_timer, &p, &t), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(open_channel(&l, &p, NULL, &ch), VEIL_ECLOSED);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_last_error_contains("lost during the handshake");
    assert_last_error_contains(p.where);
    /* The handshake timeout is 10 s: this must be the lost route. */
    assert_true(t1.tv_sec - t0.tv_sec < 5);
    assert_int_equal(waitpid(p.pid, &status, 0), p.pid);
    local_down(&l);
}

/* Only the channels whose first hop was lost go. */
static void test_unrelated_route_lost_keeps_the_channel(void **state)
{
    (void)state;
    peer p;
    local l;
    veil_address ch, other, first;
    peer_start(&p);
    local_up(&l);
    assert_int_equal(open_channel(&l, &p, NULL, &ch), 0);
    assert_int_equal(veil_address_parse(&other, "1#127.0.0.1:1"), 0);
    veil_node_route_lost(l.node, &other, VEIL_ECLOSED, "test: another connection");
    assert_true(channel_alive(&l, &ch));
    echo_through(&l, &ch);
    /* The same report for the channel's own first hop tears it down. */
    char text[VEIL_ADDRESS_TEXT_MAX + 1];
    snprintf(text, sizeof text, "1#%s", p.where);
    assert_int_equal(veil_address_parse(&first, text), 0);
    veil_node_route_lost(l.node, &first, VEIL_ECLOSED, "test: this connection");
    assert_false(channel_alive(&l, &ch));
    peer_kill(&p);
    local_down(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_channel_goes_with_its_connection),
        cmocka_unit_test(test_nested_channel_goes_with_the_outer),
        cmocka_unit_test(test_channel_goes_when_the_relay_dies),
        cmocka_unit_test(test_handshake_fails_fast_when_the_route_is_lost),
        cmocka_unit_test(test_unrelated_route_lost_keeps_the_channel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
