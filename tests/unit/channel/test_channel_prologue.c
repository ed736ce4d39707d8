/* The handshake prologue binds the listener's address (issue #10, item 11;
 * docs/PROTOCOL.md, "Prologue"): an HS1 that a hop redirects from one
 * listener to another listener of the same entity fails, with Noise at
 * message 2 (the initiator cannot decrypt the responder's identity) and
 * with X3DH at message 1 (the responder's AD differs: an HSERR comes
 * back).  Before, both listeners had the same static key and identity and
 * the redirected channel opened. */
#include "world.h"
#include "assert_error.h"
#include "channel_internal.h" /* veil__ch_prologue, compiled into this test */

typedef struct prologue_world {
    world p;
    int redirected;
} prologue_world;

/* Sends HS1 frames for bob1 to bob2 instead (other frames pass). */
static int redirect_handle(veil_context *ctx, void *state, veil_message *msg)
{
    prologue_world *w = state;
    size_t n;
    const uint8_t *p = veil_message_payload(msg, &n);
    veil_route *on = veil_message_onward(msg);
    veil_address next;
    assert_int_equal(veil_route_pop_front(on, NULL), 0);
    assert_int_equal(veil_route_prepend(veil_message_return(msg), veil_ctx_address(ctx)), 0);
    if (n > 0 && (p[n - 1] == 0x01 || p[n - 1] == 0x06) && veil_route_get(on, 0, &next) == 0 &&
        strcmp(next.bytes, "bob1") == 0) {
        veil_address to;
        assert_int_equal(veil_address_parse(&to, "bob2"), 0);
        assert_int_equal(veil_route_pop_front(on, NULL), 0);
        assert_int_equal(veil_route_prepend(on, &to), 0);
        w->redirected++;
    }
    return veil_ctx_forward(ctx, msg);
}

static const veil_worker_ops redirect_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = redirect_handle,
};

/* Two listeners of Bob, and the redirecting hop. */
static void prologue_up(prologue_world *w, const char *config)
{
    w->redirected = 0;
    pair_up(&w->p, config, "bob1");
    assert_int_equal(veil_secure_channel_listener_open(w->p.bob, "bob2",
                                                       trust_only(w->p.node, w->p.alice)), 0);
    assert_int_equal(veil_ctx_start_worker(w->p.app, "redirect", &redirect_ops, w), 0);
}

static void redirected_fails(const char *config, int code, const char *detail)
{
    prologue_world w;
    prologue_up(&w, config);
    veil_address ch;
    /* Through the hop to bob2 directly: no redirection, it opens. */
    assert_int_equal(pair_create(&w.p, "redirect => bob2", &ch), 0);
    round_trip(w.p.app, &ch, "to bob2");
    assert_int_equal(w.redirected, 0);
    /* Meant for bob1, redirected to bob2. */
    assert_error_contains(pair_create(&w.p, "redirect => bob1", &ch), code, detail);
    assert_int_equal(w.redirected, 1);
    veil_listener_stats s;
    assert_int_equal(veil_secure_channel_listener_stats(w.p.node, "bob1", &s), 0);
    assert_int_equal(s.first_messages, 0);
    assert_int_equal(veil_secure_channel_listener_stats(w.p.node, "bob2", &s), 0);
    assert_int_equal(s.first_messages, 2);
    assert_int_equal(s.opened, 1);
    assert_int_equal(w.p.echo.count, 1);
    pair_down(&w.p);
}

static void test_prologue_binds_listener_noise(void **state)
{
    (void)state;
    redirected_fails(NULL, VEIL_EAUTH, "secure channel: handshake message 2 (a listener other "
                     "than the one the route names");
}

#ifdef TEST_X3DH
static void test_prologue_binds_listener_x3dh(void **state)
{
    (void)state;
    redirected_fails("[key_agreement]\nplugin = x3dh\n", VEIL_EHANDSHAKE,
                     "the responder refused handshake message 1 (authentication failed): "
                     "handshake message did not authenticate");
}
#endif

/* The prologue's exact bytes (docs/PROTOCOL.md, "Prologue"): the
 * documented example, a configured prologue (its SHA-256), and a key
 * agreement without `describe` (its plugin name and version). */
static int describe_noise(void *inst, veil_ka_description *d)
{
    d->protocol = "Noise_XX_25519_AESGCM_SHA256";
    d->prologue = inst;
    d->prologue_len = inst != NULL ? strlen(inst) : 0;
    return 0;
}

static void test_prologue_bytes(void **state)
{
    (void)state;
    veil_node *node;
    veil_context *app;
    node_from(NULL, &node, &app);
    veil_vault *v;
    assert_int_equal(veil_vault_open(node, "vault", &v), 0);
    veil_key_agreement_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.size = sizeof ops;
    ops.describe = describe_noise;
    veil_address bob;
    assert_int_equal(veil_address_parse(&bob, "bob"), 0);
    uint8_t out[VEIL_CH_PROLOGUE_MAX];
    size_t n = 0;
    static const uint8_t example[58] = {
        0x03, 0x15, 'v', 'e', 'i', 'l', '.', 'c', 'h', 'a', 'n', 'n', 'e', 'l', '.', 'p',
        'r', 'o', 'l', 'o', 'g', 'u', 'e', 0x00, 0x03, 'b', 'o', 'b', 0x1c, 'N', 'o', 'i',
        's', 'e', '_', 'X', 'X', '_', '2', '5', '5', '1', '9', '_', 'A', 'E', 'S', 'G', 'C',
        'M', '_', 'S', 'H', 'A', '2', '5', '6', 0x00,
    };
    assert_int_equal(veil__ch_prologue(&ops, NULL, "unused", v, &bob, out, sizeof out, &n), 0);
    assert_int_equal(n, sizeof example);
    assert_memory_equal(out, example, sizeof example);
    /* Configured prologue "abc": its SHA-256 (FIPS 180-2 example) last. */
    static const uint8_t sha_abc[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
        0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61,
        0xf2, 0x00, 0x15, 0xad,
    };
    char abc[] = "abc";
    assert_int_equal(veil__ch_prologue(&ops, abc, "unused", v, &bob, out, sizeof out, &n), 0);
    assert_int_equal(n, sizeof example + 32);
    assert_memory_equal(out, example, sizeof example - 1);
    assert_int_equal(out[sizeof example - 1], 32);
    assert_memory_equal(out + sizeof example, sha_abc, 32);
    /* No describe (the smallest table, ending at rekey): the fallback name. */
    ops.size = offsetof(veil_key_agreement_ops, describe);
    assert_int_equal(veil__ch_prologue(&ops, abc, "noise/1.0", v, &bob, out, sizeof out, &n), 0);
    assert_int_equal(n, 28 + 1 + 9 + 1);
    assert_memory_equal(out + 28, "\x09noise/1.0\x00", 11);
    /* A protocol name over 128 bytes is the plugin's fault. */
    char longname[140];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_error(veil__ch_prologue(&ops, NULL, longname, v, &bob, out, sizeof out, &n),
                 VEIL_EPLUGIN_ABI, "secure channel: the key agreement's protocol name is empty "
                 "or over 128 bytes");
    veil_vault_close(v);
    assert_int_equal(veil_node_free(node), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prologue_bytes),
        cmocka_unit_test(test_prologue_binds_listener_noise),
#ifdef TEST_X3DH
        cmocka_unit_test(test_prologue_binds_listener_x3dh),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
