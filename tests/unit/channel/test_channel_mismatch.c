/* Handshakes that cannot work fail fast, saying why (issue #16).
 *
 * Nodes that speak different key agreements: HS1 names the
 * initiator's (docs/PROTOCOL.md, "Frames"), and a listener configured for
 * another one refuses it before running its own, with an HSERR
 * VEIL_EUNSUPPORTED naming its protocol.  The initiator's open fails at
 * once with VEIL_EUNSUPPORTED, "peer speaks X, this listener Y".  Before,
 * Noise vs Noise failed at message 2 ("static key does not decrypt"),
 * Noise vs X3DH with "initial message is 32 bytes, shorter than the
 * smallest valid one" (or the 10 s handshake timeout).
 *
 * No listener at the address: the far node answers with an undeliverable
 * notice ([node] answer_undeliverable, default on) and the open fails with
 * VEIL_ENOROUTE at once; with the key off it times out as before.
 *
 * The listener is a node in a child process, over TCP. */
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

#define CHACHA "[key_agreement]\nplugin = noise\nprotocol = Noise_XX_25519_ChaChaPoly_BLAKE2b\n"
#define AESGCM "[key_agreement]\nplugin = noise\nprotocol = Noise_XX_25519_AESGCM_SHA256\n"
#define X3DH "[key_agreement]\nplugin = x3dh\n"

/* The child: a listener "listener" (trusting everyone) on a node with
 * config; writes "host:port\n" to wfd, runs until killed. */
static int serve(const char *config, int wfd)
{
    veil_node *node;
    veil_context *app;
    veil_entity *e;
    veil_trust_policy *p;
    veil_address bound;
    char line[VEIL_ADDRESS_TEXT_MAX + 2];
    if (node_new_from_text(config, &node, &app) < 0 ||
        veil_entity_open(node, NULL, NULL, VEIL_ENTITY_CREATE, &e) < 0 ||
        veil_trust_policy_new(node, "everyone", NULL, &p) < 0 ||
        veil_secure_channel_listener_open(e, "listener", p) < 0 ||
        veil_node_transport_listen(node, "tcp", "127.0.0.1:0", &bound) < 0) {
        fprintf(stderr, "peer: %s\n", veil_last_error());
        return 1;
    }
    int n = snprintf(line, sizeof line, "%s\n", bound.bytes);
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
} peer;

static void peer_start(peer *p, const char *config)
{
    int fds[2];
    char line[VEIL_ADDRESS_TEXT_MAX + 2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        close(fds[0]);
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        _exit(serve(config, fds[1]));
    }
    close(fds[1]);
    size_t n = 0;
    while (n + 1 < sizeof line && read(fds[0], line + n, 1) == 1 && line[n] != '\n')
        n++;
    line[n] = '\0';
    close(fds[0]);
    assert_int_equal(sscanf(line, "%255s", p->where), 1);
}

static void peer_kill(peer *p)
{
    kill(p->pid, SIGKILL);
    assert_int_equal(waitpid(p->pid, NULL, 0), p->pid);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Open a channel from a node with `mine` to a listener with `theirs`:
 * the result, its detail in *detail, and how long it took. */
static int open_to(const char *mine, const char *theirs, const char *listener, char *detail,
                   size_t cap, double *took)
{
    peer p;
    peer_start(&p, theirs);
    veil_node *node;
    veil_context *app;
    veil_entity *alice;
    char text[600];
    snprintf(text, sizeof text, "%s[transport.tcp]\nauto_connect = true\n", mine);
    assert_int_equal(node_new_from_text(text, &node, &app), 0);
    assert_int_equal(veil_entity_open(node, NULL, NULL, VEIL_ENTITY_CREATE, &alice), 0);
    veil_trust_policy *policy;
    assert_int_equal(veil_trust_policy_new(node, "everyone", NULL, &policy), 0);
    veil_route r;
    char hop[VEIL_ADDRESS_TEXT_MAX + 1];
    snprintf(hop, sizeof hop, "1#%s", p.where);
    veil_route_init(&r);
    assert_int_equal(veil_route_append_str(&r, hop), 0);
    assert_int_equal(veil_route_append_str(&r, listener), 0);
    veil_address ch;
    double t0 = now_s();
    int rc = veil_secure_channel_open(alice, &r, policy, &ch);
    *took = now_s() - t0;
    snprintf(detail, cap, "%s", veil_last_error());
    veil_entity_close(alice);
    assert_int_equal(veil_node_free(node), 0);
    peer_kill(&p);
    return rc;
}

static int open_between(const char *mine, const char *theirs, char *detail, size_t cap,
                        double *took)
{
    return open_to(mine, theirs, "listener", detail, cap, took);
}

static void mismatch(const char *mine, const char *theirs, const char *want)
{
    char detail[600];
    double took;
    int rc = open_between(mine, theirs, detail, sizeof detail, &took);
    print_message("# %.3f s: %s\n", took, detail);
    if (rc != VEIL_EUNSUPPORTED || strstr(detail, want) == NULL)
        fail_msg("got %s (%d) '%s', expected VEIL_EUNSUPPORTED with '%s'", veil_strerror(rc), rc,
                 detail, want);
    assert_true(took < 1.0);
}

static void test_noise_cipher_suites_differ(void **state)
{
    (void)state;
    mismatch(CHACHA, AESGCM, "secure channel: the listener refused handshake message 1: peer "
             "speaks Noise_XX_25519_ChaChaPoly_BLAKE2b, this listener "
             "Noise_XX_25519_AESGCM_SHA256 ([key_agreement] must match)");
}

/* Noise initiator, X3DH listener.  (An X3DH initiator fetches the
 * listener's prekey bundle before HS1; a Noise node has no prekey
 * service, so that fails first.) */
static void test_noise_to_x3dh_listener(void **state)
{
    (void)state;
    mismatch(AESGCM, X3DH, "peer speaks Noise_XX_25519_AESGCM_SHA256, this listener "
             "X3DH-1_25519_SHA256_");
}

/* Same configuration: it opens (the check refuses nothing else). */
static void test_same_protocol_opens(void **state)
{
    (void)state;
    char detail[600];
    double took;
    assert_int_equal(open_between(CHACHA, CHACHA, detail, sizeof detail, &took), 0);
}

static void test_no_listener_fails_fast(void **state)
{
    (void)state;
    char detail[600];
    double took;
    int rc = open_to(AESGCM, AESGCM, "nobody", detail, sizeof detail, &took);
    print_message("# %.3f s: %s\n", took, detail);
    assert_int_equal(rc, VEIL_ENOROUTE);
    assert_non_null(strstr(detail, "secure channel: no listener at '"));
    assert_non_null(strstr(detail, "=> nobody': the far node has no worker at that address"));
    assert_true(took < 1.0);
}

/* [node] answer_undeliverable = false on the far node: nothing comes back,
 * the handshake times out (500 ms here). */
static void test_no_listener_silent_when_off(void **state)
{
    (void)state;
    char detail[600];
    double took;
    int rc = open_to(AESGCM "[secure_channel]\nhandshake_timeout_ms = 500\n",
                     AESGCM "[node]\nanswer_undeliverable = false\n", "nobody", detail,
                     sizeof detail, &took);
    print_message("# %.3f s: %s\n", took, detail);
    assert_int_equal(rc, VEIL_ETIMEDOUT);
    assert_true(took >= 0.45);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noise_cipher_suites_differ),
        cmocka_unit_test(test_noise_to_x3dh_listener),
        cmocka_unit_test(test_same_protocol_opens),
        cmocka_unit_test(test_no_listener_fails_fast),
        cmocka_unit_test(test_no_listener_silent_when_off),
    };
    return cmocka_run_group_tests_name("channel_mismatch", tests, NULL, NULL);
}
