/* What an unauthenticated peer learns from a refused handshake (issue #10,
 * item 9; docs/PROTOCOL.md, "What unauthenticated peers learn"): an HSERR
 * frame carries a code and the fixed reason for that code, byte for byte,
 * never the local detail (key agreement errors, prekey ids, store state,
 * policy names), which stays in the local log; the initiator reports the
 * code and the fixed reason.  (X3DH's refusals: test_channel_x3dh.c.) */
#include "world.h"
#include "assert_error.h"

/* The pair (Bob listening as "bob", trusting only Alice), Carol, and the tap. */
static void hserr_up(world *w)
{
    pair_up(w, NULL, "bob");
    world_add(w, WORLD_CAROL | WORLD_TAP);
}

/* The expected HSERR frame: code, the fixed reason, type 0x04. */
static void assert_hserr(const uint8_t *p, size_t n, int code, const char *reason)
{
    size_t r = strlen(reason);
    assert_int_equal(n, 1 + r + 1);
    assert_int_equal(-(int)p[0], code);
    assert_memory_equal(p + 1, reason, r);
    assert_int_equal(p[n - 1], 0x04);
}

/* A first handshake message too short for Noise: the stranger gets
 * exactly (ETRUNCATED, "handshake message truncated"); Noise's own detail
 * (sizes, protocol name) is only in the listener's log. */
static void test_hserr_code_and_fixed_reason(void **state)
{
    (void)state;
    world w;
    hserr_up(&w);
    static const uint8_t bad[] = "\x01\x02\x03\x04\x05Noise_XX_25519_AESGCM_SHA256\x1c\x01";
    veil_route r = route_of("bob");
    logs_start();
    assert_int_equal(veil_ctx_send(w.app, &r, bad, sizeof bad - 1), 0);
    veil_message *m;
    assert_int_equal(veil_ctx_receive(w.app, &m, 2000), 0);
    logs_stop();
    size_t n;
    const uint8_t *p = veil_message_payload(m, &n);
    assert_hserr(p, n, VEIL_ETRUNCATED, "handshake message truncated");
    veil_message_free(m);
    assert_non_null(strstr(LOGS.text, "listener 'bob': channel sc_"));
    assert_non_null(strstr(LOGS.text, "noise: message 1 is 5 bytes, "
                                      "Noise_XX_25519_AESGCM_SHA256 expects at least 32"));
    world_down(&w);
}

/* An HS1 of channel handshake version 2 (no protocol name after message
 * 1): a stateless HSERR VEIL_EVERSION at once (before: message 1 was read
 * as Noise, and the initiator failed at message 2 or timed out); its
 * reason only when that keeps the answer no larger than the HS1. */
static void test_hserr_old_version(void **state)
{
    (void)state;
    world w;
    hserr_up(&w);
    uint8_t v2[33], small[6] = { 1, 2, 3, 4, 5, 0x01 };
    memset(v2, 0x42, 32);
    v2[32] = 0x01;
    veil_route r = route_of("bob");
    veil_message *m;
    size_t n;
    assert_int_equal(veil_ctx_send(w.app, &r, v2, sizeof v2), 0);
    assert_int_equal(veil_ctx_receive(w.app, &m, 2000), 0);
    const uint8_t *p = veil_message_payload(m, &n);
    assert_hserr(p, n, VEIL_EVERSION, "handshake version not supported");
    veil_message_free(m);
    assert_int_equal(veil_ctx_send(w.app, &r, small, sizeof small), 0);
    assert_int_equal(veil_ctx_receive(w.app, &m, 2000), 0);
    p = veil_message_payload(m, &n);
    assert_hserr(p, n, VEIL_EVERSION, "");
    veil_message_free(m);
    veil_listener_stats s;
    assert_int_equal(veil_secure_channel_listener_stats(w.node, "bob", &s), 0);
    assert_int_equal(s.failed, 2);
    assert_int_equal(s.pending, 0);
    world_down(&w);
}

/* A hop cuts HS1 short on its way: the initiator fails at once with
 * VEIL_EHANDSHAKE naming the responder's code and the fixed reason, and
 * nothing else the responder knows. */
static int cut_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    size_t n;
    const uint8_t *p = veil_message_payload(msg, &n);
    if (n > 0 && p[n - 1] == 0x01) {
        static const uint8_t cut[] = "\x09\x09\x09Noise_XX_25519_AESGCM_SHA256\x1c\x01";
        assert_int_equal(veil_message_set_payload(msg, cut, sizeof cut - 1), 0);
    }
    return veil_ctx_forward_next(ctx, msg);
}

static const veil_worker_ops cut_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = cut_handle,
};

static void test_hserr_initiator_reports_code(void **state)
{
    (void)state;
    world w;
    hserr_up(&w);
    assert_int_equal(veil_ctx_start_worker(w.app, "cut", &cut_ops, NULL), 0);
    veil_address ch;
    int rc = pair_create(&w, "cut => bob", &ch);
    assert_error(rc, VEIL_EHANDSHAKE,
                 "secure channel: the responder refused handshake message 1 (input truncated): "
                 "handshake message truncated");
    world_down(&w);
}

/* The initiator's policy refuses the responder after HS2: the HSERR the
 * responder gets says (EDENIED, "refused by policy") — not the policy's
 * name, not who the initiator is; the initiator keeps the detail. */
static void test_hserr_initiator_refusal_says_nothing_more(void **state)
{
    (void)state;
    world w;
    hserr_up(&w);
    veil_route r = route_of("tap => bob");
    veil_address ch;
    int rc = veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.carol), &ch);
    assert_error_contains(rc, VEIL_EDENIED, "policy 'identifier'");
    settle(w.node);
    /* Frames through the tap: HS1 to bob, then the HSERR to the responder
     * (HS2 came back directly: the responder's route to the initiator is
     * [tap, scp_...]; the tap saw it too). */
    const uint8_t *hserr = NULL;
    size_t hlen = 0;
    for (size_t i = 0; i < w.tap->nframes; i++)
        if (w.tap->frames[i].len > 0 &&
            w.tap->frames[i].bytes[w.tap->frames[i].len - 1] == 0x04) {
            hserr = w.tap->frames[i].bytes;
            hlen = w.tap->frames[i].len;
        }
    assert_non_null(hserr);
    assert_hserr(hserr, hlen, VEIL_EDENIED, "refused by policy");
    world_down(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hserr_code_and_fixed_reason),
        cmocka_unit_test(test_hserr_old_version),
        cmocka_unit_test(test_hserr_initiator_reports_code),
        cmocka_unit_test(test_hserr_initiator_refusal_says_nothing_more),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
