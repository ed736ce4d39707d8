/* The listen backlog (issue #15): 4000 clients connect at once to a veil
 * node's tcp listener in another process while that process is stopped
 * (SIGSTOP: a listener too busy to accept), and every connect completes
 * within a second — the connections wait in the kernel's accept queue,
 * which is SOMAXCONN-sized by default ([transport.tcp] listen_backlog).
 * The same with listen_backlog = 512 (the old fixed value) leaves most of
 * them waiting for a SYN retransmission: the case the default fixes.
 * Then the node, resumed, accepts them all and still echoes. */
#include <veil/veil.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tcp_peer_spawn.h"

#define CLIENTS 4000
#define WAIT_MS 1000   /* below the first SYN retransmission (1 s) plus slack */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connect CLIENTS sockets to port at once; how many completed within
 * WAIT_MS.  fds[] keeps them open. */
static int connect_all(int port, int *fds)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    static struct pollfd pf[CLIENTS];
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    for (int i = 0; i < CLIENTS; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        assert_true(fds[i] >= 0);
        int rc = connect(fds[i], (struct sockaddr *)&a, sizeof a);
        assert_true(rc == 0 || errno == EINPROGRESS);
        pf[i] = (struct pollfd){ .fd = fds[i], .events = POLLOUT };
    }
    int done = 0;
    bool ok[CLIENTS] = { false };
    long long end = now_ms() + WAIT_MS;
    while (done < CLIENTS && now_ms() < end) {
        int n = poll(pf, CLIENTS, (int)(end - now_ms()));
        assert_true(n >= 0 || errno == EINTR);
        for (int i = 0; i < CLIENTS && n > 0; i++) {
            if (pf[i].revents == 0 || ok[i])
                continue;
            int err = 0;
            socklen_t len = sizeof err;
            assert_int_equal(getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &len), 0);
            assert_int_equal(err, 0); /* a refusal would be a failure, not a wait */
            ok[i] = true;
            pf[i].fd = -1;
            done++;
        }
    }
    return done;
}

static int run(const char *const *args)
{
    static int fds[CLIENTS];
    tcp_peer_proc p;
    assert_int_equal(tcp_peer_start(&p, args), 0);
    int port = atoi(strrchr(p.where, ':') + 1);
    assert_int_equal(kill(p.pid, SIGSTOP), 0);
    int done = connect_all(port, fds);
    assert_int_equal(kill(p.pid, SIGCONT), 0);
    for (int i = 0; i < CLIENTS; i++)
        close(fds[i]);
    /* the node survived the burst and still echoes */
    veil_node *node;
    veil_context *app;
    veil_message *m;
    veil_route r;
    char route[VEIL_ADDRESS_TEXT_MAX + 32];
    assert_int_equal(tcp_test_node(&node, &app, NULL), 0);
    snprintf(route, sizeof route, "%s => echoer", p.address);
    assert_int_equal(veil_route_parse(&r, route), 0);
    assert_int_equal(veil_ctx_send(app, &r, "ping", 4), 0);
    assert_int_equal(veil_ctx_receive(app, &m, 10000), 0);
    veil_message_free(m);
    assert_int_equal(veil_node_free(node), 0);
    assert_int_equal(tcp_peer_stop(&p), 0);
    return done;
}

static void test_default_backlog_holds_4000_connects(void **state)
{
    FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");
    int somax = 0;
    (void)state;
    if (f != NULL) {
        if (fscanf(f, "%d", &somax) != 1)
            somax = 0;
        fclose(f);
    }
    if (somax < CLIENTS) {
        print_message("skipped: net.core.somaxconn is %d, below the %d connects (the kernel "
                      "caps every listen backlog there)\n", somax, CLIENTS);
        skip();
    }
    assert_int_equal(run((const char *[]){ "-c", "max_connections=8192", NULL }), CLIENTS);
}

static void test_backlog_512_does_not(void **state)
{
    (void)state;
    int done = run((const char *[]){ "-c", "max_connections=8192", "-c", "listen_backlog=512",
                                     NULL });
    print_message("listen_backlog = 512: %d of %d connects completed within %d ms\n", done,
                  CLIENTS, WAIT_MS);
    assert_true(done < CLIENTS);
    assert_true(done >= 512);
}

int main(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2 * CLIENTS + 256) {
        rl.rlim_cur = rl.rlim_max < 2 * CLIENTS + 256 ? rl.rlim_max : 2 * CLIENTS + 256;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_backlog_holds_4000_connects),
        cmocka_unit_test(test_backlog_512_does_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
