/* Secure channels (framework/channel/secure_channel.c and friends): the
 * reference program's flow, trust policy denials both ways, handshake
 * timeouts on both sides, channels through hops and inside channels, close,
 * argument and configuration errors, and 1,000 channels in one node.
 * Data-path attacks and rekeying: test_channel_data.c. */
#include "world.h"
#include "assert_error.h"

/* The reference program: Bob trusts only Alice, Alice trusts only Bob. */
static void test_reference_flow(void **state)
{
    (void)state;
    world w;
    world_up(&w, NULL, WORLD_CAROL);
    veil_route r = route_of("bob_secure_channel_listener");
    veil_address ch;
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob_secure_channel_listener",
                                                       trust_only(w.node, w.alice)), 0);
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch), 0);
    round_trip(w.app, &ch, "Hello Ockam!");
    assert_int_equal(w.echo.count, 1);
    assert_string_equal(w.echo.last_payload, "Hello Ockam!");
    /* The echoer saw the message come out of Bob's end, from Alice. */
    assert_true(w.echo.last_info.via_channel);
    assert_string_equal(w.echo.last_info.peer_identifier, veil_entity_identifier(w.alice));
    assert_false(veil_address_equal(&w.echo.last_info.channel, &ch));
    veil_channel_stats a, b;
    assert_int_equal(veil_secure_channel_stats(w.node, &ch, &a), 0);
    assert_string_equal(a.peer_identifier, veil_entity_identifier(w.bob));
    assert_int_equal(a.sent, 1);
    assert_int_equal(a.received, 1);
    assert_int_equal(veil_secure_channel_stats(w.node, &w.echo.last_info.channel, &b), 0);
    assert_string_equal(b.peer_identifier, veil_entity_identifier(w.alice));
    assert_int_equal(b.sent, 1);
    assert_int_equal(b.received, 1);
    /* Many messages, and a second channel from the same entity. */
    for (int i = 0; i < 50; i++)
        round_trip(w.app, &ch, "again");
    veil_address ch2;
    r = route_of("bob_secure_channel_listener");
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch2), 0);
    assert_false(veil_address_equal(&ch, &ch2));
    round_trip(w.app, &ch2, "second");
    world_down(&w);
}

/* Bob's listener trusts only Carol: Alice is refused by the peer. */
static void test_listener_refuses(void **state)
{
    (void)state;
    world w;
    world_up(&w, NULL, WORLD_CAROL);
    veil_route r = route_of("bob");
    veil_address ch;
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob",
                                                       trust_only(w.node, w.carol)), 0);
    logs_start();
    int rc = veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch);
    char detail[1024];
    snprintf(detail, sizeof detail, "%s", veil_last_error());
    settle(w.node);
    logs_stop();
    assert_int_equal(rc, VEIL_EDENIED);
    assert_non_null(strstr(detail, veil_entity_identifier(w.alice)));
    assert_non_null(strstr(detail, veil_entity_identifier(w.bob)));
    assert_non_null(strstr(detail, "refused by the peer's policy 'identifier'"));
    /* The listener logged the refusal, naming Alice and its policy. */
    assert_non_null(strstr(LOGS.text, "listener 'bob'"));
    assert_non_null(strstr(LOGS.text, veil_entity_identifier(w.alice)));
    assert_non_null(strstr(LOGS.text, "identifier"));
    assert_int_equal(w.echo.count, 0);
    /* No channel is left at either end. */
    veil_channel_stats s;
    assert_int_equal(veil_secure_channel_stats(w.node, &ch, &s), VEIL_ENOTFOUND);
    world_down(&w);
}

/* Alice trusts only Carol: Bob is refused by Alice's own policy, and
 * Bob's half-open responder is freed by its handshake timeout. */
static void test_initiator_refuses(void **state)
{
    (void)state;
    world w;
    world_up(&w, "[secure_channel]\nhandshake_timeout_ms = 100\n", WORLD_CAROL);
    veil_route r = route_of("bob");
    veil_address ch;
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob",
                                                       trust_only(w.node, w.alice)), 0);
    logs_start();
    int rc = veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.carol), &ch);
    assert_error_contains(rc, VEIL_EDENIED, veil_entity_identifier(w.bob));
    assert_last_error_contains("policy 'identifier'");
    /* Bob's end is told (plain HSERR: the code and its fixed reason, never
     * Alice nor her policy's name) and frees its state: no timeout fires
     * later. */
    assert_int_equal(veil_node_run(w.node, 250), 0);
    logs_stop();
    assert_non_null(strstr(LOGS.text, "the initiator refused the handshake after message 2 "
                                      "(denied by trust policy): refused by policy\n"));
    assert_null(strstr(LOGS.text, veil_entity_identifier(w.alice)));
    assert_null(strstr(LOGS.text, "'identifier'"));
    assert_null(strstr(LOGS.text, "not done within handshake_timeout_ms"));
    assert_int_equal(w.echo.count, 0);
    world_down(&w);
}

/* The application may free its entities and close its vaults while
 * channels run: listener and channels hold references, keep working, and
 * destroy their sessions and keys in the still-open vault when they stop.
 * A responder whose handshake is still in flight at node stop (the
 * initiator refused it; handshake_timeout_ms far away) frees its session
 * too.  Run under ASan/LSan and valgrind (CI): no leak. */
static void test_free_early(void **state)
{
    (void)state;
    world w;
    world_up(&w, NULL, WORLD_CAROL);
    veil_vault *v;
    veil_entity *dave;
    assert_int_equal(veil_vault_open(w.node, NULL, &v), 0);
    assert_int_equal(veil_entity_open(w.node, v, "dave", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &dave), 0);
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob",
                                                       trust_only(w.node, dave)), 0);
    veil_route r = route_of("bob");
    veil_address ch;
    assert_int_equal(veil_secure_channel_open(dave, &r, trust_only(w.node, w.bob), &ch), 0);
    round_trip(w.app, &ch, "before");
    char dave_id[VEIL_IDENTIFIER_LEN + 1];
    snprintf(dave_id, sizeof dave_id, "%s", veil_entity_identifier(dave));
    veil_entity_close(dave);
    veil_vault_close(v);
    veil_entity_close(w.bob);
    w.bob = NULL;
    round_trip(w.app, &ch, "after the entities are gone");
    assert_string_equal(w.echo.last_info.peer_identifier, dave_id);
    /* Bob's listener still answers (and refuses): Alice's handshake is
     * left in flight at Bob's end when Alice refuses Bob. */
    r = route_of("bob");
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.carol), &ch),
                     VEIL_EDENIED);
    world_down(&w);
}

/* A "responder" that swallows everything (swallow_ops): the initiator
 * times out. */
static void test_handshake_timeout(void **state)
{
    (void)state;
    world w;
    unsigned got = 0;
    world_up(&w, "[secure_channel]\nhandshake_timeout_ms = 60\n", WORLD_CAROL);
    assert_int_equal(veil_ctx_start_worker(w.app, "blackhole", &swallow_ops, &got), 0);
    veil_route r = route_of("blackhole");
    veil_address ch;
    int rc = veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch);
    assert_error(rc, VEIL_ETIMEDOUT,
                 "secure channel: handshake with 'blackhole' not done within "
                 "handshake_timeout_ms = 60; all its state is freed");
    assert_int_equal(got, 1);
    /* Nothing at the start of the route: an error at once. */
    r = route_of("nobody");
    rc = veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch);
    assert_error(rc, VEIL_ENOROUTE,
                 "secure channel: sending the first handshake message: no worker at address "
                 "'nobody'");
    world_down(&w);
}

/* A channel whose route runs through two hop workers, both ways. */
static void test_through_hops(void **state)
{
    (void)state;
    world w;
    unsigned h1 = 0, h2 = 0;
    world_up(&w, NULL, WORLD_CAROL);
    assert_int_equal(veil_ctx_start_worker(w.app, "h1", &hop_ops, &h1), 0);
    assert_int_equal(veil_ctx_start_worker(w.app, "h2", &hop_ops, &h2), 0);
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob",
                                                       trust_only(w.node, w.alice)), 0);
    veil_route r = route_of("h1 => h2 => bob");
    veil_address ch;
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch), 0);
    /* HS1, HS2, HS3, ACCEPT: four frames through each hop. */
    assert_int_equal(h1, 4);
    assert_int_equal(h2, 4);
    for (int i = 0; i < 5; i++)
        round_trip(w.app, &ch, "via hops");
    assert_int_equal(h1, 4 + 10);
    assert_int_equal(h2, 4 + 10);
    world_down(&w);
}

/* A channel inside a channel: Alice→Bob outer, Alice→Carol inner whose
 * route starts with the outer channel. */
static void test_nested(void **state)
{
    (void)state;
    world w;
    world_up(&w, NULL, WORLD_CAROL);
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob",
                                                       trust_only(w.node, w.alice)), 0);
    assert_int_equal(veil_secure_channel_listener_open(w.carol, "carol",
                                                       trust_only(w.node, w.alice)), 0);
    /* the outer channel's peer may reach the inner listener (flow control) */
    static const char *const via_bob[] = {"echoer", "carol"};
    assert_int_equal(veil_secure_channel_listener_allow(w.node, "bob", via_bob, 2), 0);
    veil_route r = route_of("bob");
    veil_address outer, inner;
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &outer),
                     0);
    veil_route_init(&r);
    assert_int_equal(veil_route_append(&r, &outer), 0);
    assert_int_equal(veil_route_append_str(&r, "carol"), 0);
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.carol), &inner),
                     0);
    veil_channel_stats before, after, in;
    assert_int_equal(veil_secure_channel_stats(w.node, &outer, &before), 0);
    round_trip(w.app, &inner, "nested hello");
    assert_int_equal(veil_secure_channel_stats(w.node, &outer, &after), 0);
    assert_int_equal(veil_secure_channel_stats(w.node, &inner, &in), 0);
    /* The echoer saw Carol's end (peer Alice); the frames went through the
     * outer channel in both directions. */
    assert_string_equal(w.echo.last_info.peer_identifier, veil_entity_identifier(w.alice));
    assert_string_equal(in.peer_identifier, veil_entity_identifier(w.carol));
    assert_int_equal(after.sent, before.sent + 1);
    assert_int_equal(after.received, before.received + 1);
    world_down(&w);
}

/* A transport reports the first hop of an open channel lost: the channel
 * is stopped with a warning naming the route and the reason, a channel
 * nested in it goes too (naming the outer one), and a later send to
 * either fails with VEIL_ENOROUTE; nothing is delivered. */
static void test_route_lost(void **state)
{
    (void)state;
    world w;
    unsigned h1 = 0;
    world_up(&w, NULL, WORLD_CAROL);
    assert_int_equal(veil_ctx_start_worker(w.app, "h1", &hop_ops, &h1), 0);
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob",
                                                       trust_only(w.node, w.alice)), 0);
    assert_int_equal(veil_secure_channel_listener_open(w.carol, "carol",
                                                       trust_only(w.node, w.alice)), 0);
    /* the outer channel's peer may reach the inner listener (flow control) */
    static const char *const via_bob[] = {"echoer", "carol"};
    assert_int_equal(veil_secure_channel_listener_allow(w.node, "bob", via_bob, 2), 0);
    veil_route r = route_of("h1 => bob");
    veil_address outer, inner, hop;
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &outer),
                     0);
    veil_route_init(&r);
    assert_int_equal(veil_route_append(&r, &outer), 0);
    assert_int_equal(veil_route_append_str(&r, "carol"), 0);
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.carol), &inner),
                     0);
    round_trip(w.app, &inner, "before");
    int count = w.echo.count;
    assert_int_equal(veil_address_parse(&hop, "h1"), 0);
    logs_start();
    veil_node_route_lost(w.node, &hop, VEIL_ECLOSED, "test: link down");
    logs_stop();
    char want[3 * sizeof outer.bytes + 128];
    snprintf(want, sizeof want, "%s: closed: its route through 'h1' was lost: test: link down (",
             outer.bytes);
    if (strstr(LOGS.text, want) == NULL)
        fail_msg("want '%s' in the log:\n%s", want, LOGS.text);
    snprintf(want, sizeof want, "%s: closed: its route through '%s' was lost: secure channel %s "
             "under it closed", inner.bytes, outer.bytes, outer.bytes);
    if (strstr(LOGS.text, want) == NULL)
        fail_msg("want '%s' in the log:\n%s", want, LOGS.text);
    veil_channel_stats s;
    assert_int_equal(veil_secure_channel_stats(w.node, &outer, &s), VEIL_ENOTFOUND);
    assert_int_equal(veil_secure_channel_stats(w.node, &inner, &s), VEIL_ENOTFOUND);
    veil_route_init(&r);
    assert_int_equal(veil_route_append(&r, &inner), 0);
    assert_error_contains(veil_ctx_send(w.app, &r, "x", 1), VEIL_ENOROUTE, inner.bytes);
    assert_int_equal(veil_node_run(w.node, 50), 0);
    assert_int_equal(w.echo.count, count);
    world_down(&w);
}

static void test_close(void **state)
{
    (void)state;
    world w;
    world_up(&w, NULL, WORLD_CAROL);
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob",
                                                       trust_only(w.node, w.alice)), 0);
    veil_route r = route_of("bob");
    veil_address ch;
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch), 0);
    round_trip(w.app, &ch, "before close");
    veil_address bob_end = w.echo.last_info.channel;
    veil_channel_stats s;
    assert_int_equal(veil_secure_channel_stats(w.node, &bob_end, &s), 0);
    assert_int_equal(veil_secure_channel_close(w.node, &ch), 0);
    assert_int_equal(veil_secure_channel_stats(w.node, &ch, &s), VEIL_ENOTFOUND);
    settle(w.node);
    /* The authenticated close reached Bob's end, which stopped. */
    assert_int_equal(veil_secure_channel_stats(w.node, &bob_end, &s), VEIL_ENOTFOUND);
    char text[VEIL_ADDRESS_TEXT_MAX + 1];
    veil_address_format(&bob_end, text, sizeof text);
    assert_last_error_contains(text);
    veil_route_init(&r);
    assert_int_equal(veil_route_append(&r, &ch), 0);
    assert_int_equal(veil_ctx_send(w.app, &r, "x", 1), VEIL_ENOROUTE);
    assert_int_equal(veil_secure_channel_close(w.node, &ch), VEIL_ENOTFOUND);
    world_down(&w);
}

/* Closing a listener refuses new handshakes; its open channels keep working. */
static void test_listener_close(void **state)
{
    (void)state;
    world w;
    world_up(&w, "[secure_channel]\nhandshake_timeout_ms = 200\n", 0);
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob", trust_only(w.node, w.alice)),
                     0);
    veil_route r = route_of("bob");
    veil_address ch, ch2;
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch), 0);
    assert_int_equal(veil_secure_channel_listener_close(w.node, "bob"), 0);
    veil_listener_stats ls;
    assert_error(veil_secure_channel_listener_stats(w.node, "bob", &ls), VEIL_ENOTFOUND,
                 "no secure channel listener at address 'bob'");
    round_trip(w.app, &ch, "still open");
    assert_error(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch2),
                 VEIL_ENOROUTE, "secure channel: sending the first handshake message: no worker "
                 "at address 'bob'");
    assert_error(veil_secure_channel_listener_close(w.node, "bob"), VEIL_ENOTFOUND,
                 "no secure channel listener at address 'bob'");
    assert_error(veil_secure_channel_listener_close(w.node, "echoer"), VEIL_ENOTFOUND,
                 "no secure channel listener at address 'echoer'");
    assert_int_equal(w.echo.count, 1);   /* the echoer was not stopped */
    world_down(&w);
}

static void test_errors(void **state)
{
    (void)state;
    world w;
    world_up(&w, NULL, WORLD_CAROL);
    veil_route r = route_of("bob");
    veil_address ch;
    assert_error_contains(veil_secure_channel_open(w.alice, &r, NULL, &ch), VEIL_EINVAL,
                          "policy is NULL");
    assert_error_contains(veil_secure_channel_listener_open(w.bob, NULL, trust_only(w.node, w.alice)),
                          VEIL_EINVAL, "address is NULL");
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob", trust_only(w.node, w.alice)),
                     0);
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob", trust_only(w.node, w.alice)),
                     VEIL_EEXIST);
    veil_address none;
    assert_int_equal(veil_address_parse(&none, "not_a_channel"), 0);
    veil_channel_stats s;
    assert_error_contains(veil_secure_channel_stats(w.node, &none, &s), VEIL_ENOTFOUND,
                          "no secure channel at address 'not_a_channel'");
    /* The listener is a worker, not a channel. */
    assert_int_equal(veil_address_parse(&none, "bob"), 0);
    assert_int_equal(veil_secure_channel_close(w.node, &none), VEIL_ENOTFOUND);
    world_down(&w);

    /* Bad [secure_channel] values fail the node's creation, before any
     * channel (issue #16). */
    assert_error_contains(node_new_rc("[secure_channel]\nrekey_intervall = 5\n"), VEIL_ECONFIG,
                          "<test>:2: unknown key 'rekey_intervall' in [secure_channel]");
    assert_error_contains(node_new_rc("[secure_channel]\nmax_message = 0\n"), VEIL_ECONFIG,
                          "<test>:2: [secure_channel] max_message = '0'");
}

/* veil_secure_channel_config_check reads [secure_channel] and makes the
 * [key_agreement] instance as a listener and an initiator do, with nothing
 * opened: the same error for each mistake (the errors above), 0 for good
 * or absent values. */
static void test_config_check(void **state)
{
    (void)state;
    static const struct { const char *text; int code; const char *error; } cases[] = {
        { "", 0, NULL },
        { "[secure_channel]\nrekey_interval = 1000\nmax_message = 64k\n", 0, NULL },
        { "[secure_channel]\nrekey_intervall = 5\n", VEIL_ECONFIG,
          "unknown key 'rekey_intervall'" },
        { "[secure_channel]\nmax_message = 0\n", VEIL_ECONFIG, "max_message = '0'" },
        { "[secure_channel]\ncookie_threshold = -1\n", VEIL_ECONFIG, "cookie_threshold = '-1'" },
        { "[key_agreement]\nprotocol = Noise_XX_25519_AESGCM_SHA256\n", 0, NULL },
        /* The Noise plugin's own code for a name it cannot parse. */
        { "[key_agreement]\nprotocol = Noise_QQ_25519_AESGCM_SHA256\n", VEIL_EINVAL,
          "<test>:2: [key_agreement] protocol: noise: unknown handshake pattern 'QQ'" },
    };
    world w;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].error != NULL) {
            /* veil_node_new runs the same check (issue #16). */
            assert_error_contains(node_new_rc(cases[i].text), cases[i].code, cases[i].error);
            continue;
        }
        world_up(&w, cases[i].text, WORLD_CAROL);
        assert_int_equal(veil_secure_channel_config_check(w.node), 0);
        world_down(&w);
    }
    assert_error(veil_secure_channel_config_check(NULL), VEIL_EINVAL,
                 "veil_secure_channel_config_check: node is NULL");
}

/* After Alice rotates her identity key, a new channel carries a new
 * attestation (the cached one was signed by the old key) and a longer
 * history; Bob's policy still allows her identifier. */
static void test_after_rotation(void **state)
{
    (void)state;
    world w;
    world_up(&w, NULL, WORLD_CAROL);
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob",
                                                       trust_only(w.node, w.alice)), 0);
    veil_route r = route_of("bob");
    veil_address ch1, ch2;
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch1), 0);
    round_trip(w.app, &ch1, "before rotation");
    char id[VEIL_IDENTIFIER_LEN + 1];
    snprintf(id, sizeof id, "%s", veil_entity_identifier(w.alice));
    assert_int_equal(veil_entity_rotate(w.alice), 0);
    assert_string_equal(veil_entity_identifier(w.alice), id);
    r = route_of("bob");
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch2), 0);
    round_trip(w.app, &ch2, "after rotation");
    assert_string_equal(w.echo.last_info.peer_identifier, id);
    /* The channel made before the rotation keeps working. */
    round_trip(w.app, &ch1, "old channel");
    world_down(&w);
}

/* Many channels in one node, all used. */
static void test_many_channels(void **state)
{
    (void)state;
    const char *env = getenv("VEIL_TEST_CHANNELS");
    size_t n = env ? strtoul(env, NULL, 10) : 1000;
    world w;
    world_up(&w, NULL, WORLD_CAROL);
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob",
                                                       trust_only(w.node, w.alice)), 0);
    veil_address *ch = calloc(n, sizeof *ch);
    assert_non_null(ch);
    for (size_t i = 0; i < n; i++) {
        veil_route r = route_of("bob");
        assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch[i]),
                         0);
    }
    /* Every channel sends one message; all replies come back. */
    for (size_t i = 0; i < n; i++) {
        veil_route r;
        veil_route_init(&r);
        assert_int_equal(veil_route_append(&r, &ch[i]), 0);
        assert_int_equal(veil_route_append_str(&r, "echoer"), 0);
        assert_int_equal(veil_ctx_send(w.app, &r, &i, sizeof i), 0);
    }
    unsigned char *seen = calloc(n, 1);
    for (size_t k = 0; k < n; k++) {
        veil_message *m;
        assert_int_equal(veil_ctx_receive(w.app, &m, 5000), 0);
        size_t len, i;
        const uint8_t *p = veil_message_payload(m, &len);
        assert_int_equal(len, sizeof i);
        memcpy(&i, p, sizeof i);
        assert_true(i < n);
        assert_false(seen[i]);
        seen[i] = 1;
        /* Came back through its own channel. */
        assert_true(veil_address_equal(&veil_message_local_info(m)->channel, &ch[i]));
        veil_message_free(m);
    }
    assert_int_equal(w.echo.count, n);
    free(seen);
    free(ch);
    world_down(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_flow),
        cmocka_unit_test(test_listener_refuses),
        cmocka_unit_test(test_initiator_refuses),
        cmocka_unit_test(test_free_early),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_through_hops),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_route_lost),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_listener_close),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_config_check),
        cmocka_unit_test(test_after_rotation),
        cmocka_unit_test(test_many_channels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
