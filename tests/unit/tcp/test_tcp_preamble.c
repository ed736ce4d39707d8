/* The veil-tcp connection preamble (docs/PROTOCOL.md, "TCP framing"): a
 * node sends it first on every connection and checks the peer's before it
 * parses a frame.  A non-veil client (raw bytes, a real HTTP client) and a
 * non-veil server the node dials are named as such, quoting what they
 * sent; another version, an older veil node (frames without a preamble)
 * and a peer that sends nothing each get their own reason.  Before the
 * preamble these were "frame of N bytes exceeds max_frame" or waited for
 * frame_timeout. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tcp_peer_spawn.h"
#include "tcp_raw.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static veil_node *node;
static veil_context *app;
static int bound_port;
static tcp_lost lost_info;

static int setup(void **state)
{
    (void)state;
    static const char *const kv[] = {"preamble_timeout=300", NULL};
    static const veil_worker_ops ops = {.size = sizeof ops, .start = tcp_expose,
                                        .handle_message = tcp_echo};
    veil_address bound;
    memset(&lost_info, 0, sizeof lost_info);
    if (tcp_test_node(&node, &app, kv) < 0 ||
        veil_ctx_start_worker(app, "echoer", &ops, NULL) < 0 ||
        veil_node_transport_listen(node, "tcp", "127.0.0.1:0", &bound) < 0 ||
        veil_node_on_route_lost(node, tcp_on_lost, &lost_info) < 0)
        return -1;
    bound_port = atoi(strrchr(bound.bytes, ':') + 1);
    tcp_log_capture_start();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tcp_log_capture_stop();
    veil_node_free(node);
    node = NULL;
    return 0;
}

/* A client sends bytes (no preamble of its own unless they hold one): it
 * is closed with reason/why, and a veil client still echoes. */
static void client_refused(const void *bytes, size_t n, int reason, const char *why)
{
    int good = raw_connect(bound_port);
    raw_echo_ok(node, good, "before");
    int bad = raw_connect_plain(bound_port);
    if (n > 0)
        raw_send(bad, bytes, n);
    assert_true(raw_wait_closed(node, bad, 3000));
    tcp_lost_is(node, &lost_info, reason, why);
    tcp_log_has(why);
    veil_transport_stats st;
    assert_int_equal(veil_node_transport_stats(node, "tcp", &st), 0);
    assert_int_equal(st.connections_open, 1);
    assert_int_equal(st.frames_received, 1); /* "before" alone */
    raw_echo_ok(node, good, "after");
    close(bad);
    close(good);
}

static void test_binary_garbage_client(void **state)
{
    (void)state;
    static const uint8_t junk[40] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0xfc, 0x03, 0x03};
    client_refused(junk, sizeof junk, VEIL_EFORMAT,
                   "tcp: the peer is not a veil node: it sent '\\x16\\x03\\x01\\x02\\x00\\x01"
                   "\\xfc\\x03\\x03\\x00");
    tcp_log_has("...' (40 bytes held), not the veil-tcp preamble");
}

static void test_other_version(void **state)
{
    (void)state;
    uint8_t v2[8];
    memcpy(v2, raw_preamble, 6);
    v2[6] = 0;
    v2[7] = 2;
    client_refused(v2, sizeof v2, VEIL_EVERSION, "tcp: peer speaks veil-tcp v2, this node v1");
}

/* A veil node from before the preamble sends a frame at once. */
static void test_old_node_without_preamble(void **state)
{
    (void)state;
    uint8_t f[64];
    size_t n = raw_echo_frame(f, sizeof f, 2, 'x');
    client_refused(f, n, VEIL_EFORMAT, "tcp: the peer sent no veil-tcp preamble but '\\x00\\x00"
                   "\\x00\\x16\\x01");
    tcp_log_has("a veil node older than veil-tcp v1 (frames without a preamble), or not a "
                "veil node");
}

static void test_silent_client_times_out(void **state)
{
    (void)state;
    client_refused(NULL, 0, VEIL_ETIMEDOUT, "no veil-tcp preamble from the peer within 300 ms "
                   "(preamble_timeout; 0 of its 8 bytes received): not a veil node?");
}

/* Half a preamble, then nothing: the same deadline. */
static void test_partial_preamble_times_out(void **state)
{
    (void)state;
    client_refused(raw_preamble, 5, VEIL_ETIMEDOUT, "(preamble_timeout; 5 of its 8 bytes "
                   "received)");
}

/* The node dials a veil node of another version. */
static void test_dial_other_version(void **state)
{
    (void)state;
    struct sockaddr_in sin;
    int ls = raw_listen(SOCK_NONBLOCK, 4, &sin);
    int c = raw_dialed_by(node, app, ls, ntohs(sin.sin_port));
    char want[200];
    uint8_t v3[8];
    memcpy(v3, raw_preamble, 6);
    v3[6] = 0;
    v3[7] = 3;
    raw_send(c, v3, sizeof v3);
    snprintf(want, sizeof want, "tcp: connection 127.0.0.1:%u: tcp: peer speaks veil-tcp v3, "
             "this node v1", ntohs(sin.sin_port));
    tcp_lost_is(node, &lost_info, VEIL_EVERSION, want);
    close(c);
    close(ls);
}

/* A real HTTP client (python3's http.client, skipped without $PYTHON3)
 * dials the node: named by its request line. */
static void test_http_client_dials_us(void **state)
{
    (void)state;
    const char *py = getenv("PYTHON3");
    if (py == NULL || py[0] == '\0') {
        print_message("# SKIP no python3 (PYTHON3 unset)\n");
        skip();
    }
    char script[300];
    snprintf(script, sizeof script, "import http.client\n"
             "c = http.client.HTTPConnection('127.0.0.1', %d, timeout=5)\n"
             "try:\n    c.request('GET', '/index.html'); c.getresponse()\n"
             "except Exception as e:\n    pass\n", bound_port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(py, py, "-c", script, (char *)NULL);
        _exit(127);
    }
    bool lost = tcp_pump_until(node, &lost_info.calls, 5000);
    int status = 0;
    for (int i = 0; i < 500 && waitpid(pid, &status, WNOHANG) == 0; i++)
        assert_int_equal(veil_node_run_once(node, 10), 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_true(lost);
    tcp_lost_is(node, &lost_info, VEIL_EFORMAT, ": tcp: the peer is not a veil node: it sent "
                "'GET /index.html HTTP/1.1\\r\\nHost: ...' (");
    print_message("# %s\n", lost_info.detail);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_binary_garbage_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_node_without_preamble, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_client_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_preamble_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dial_other_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_client_dials_us, setup, teardown),
    };
    return cmocka_run_group_tests_name("tcp_preamble", tests, NULL, NULL);
}
