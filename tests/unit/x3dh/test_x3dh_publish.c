/* The responder's side of an X3DH prekey directory
 * (plugins/x3dh/x3dh_publish.c, the top-up rule in x3dh_service.c), with
 * a directory played by the test: the worker "fakedir" on the listener's
 * node records each publication and the test answers it (or forges
 * answers) byte by byte (docs/X3DH.md, "Prekey service", version 2).
 *  - issue #10 item 7: acknowledgements are authenticated: a forged one
 *    (wrong first hop, wrong nonce, the old layout, a replay of a real
 *    one) is dropped and counted, and the top-ups follow the real one;
 *  - issue #10 item 7: opk_low_water above opk_count does not underflow
 *    the top-up (`opk_count - held`);
 *  - what a publication carries: the reset flag of a new store, OPK
 *    counts, and an identity proof that verifies to the listener's
 *    identifier and attests the bundle's IK. */
#include "test_prekeys.h"

typedef struct fakedir {
    veil_context *ctx;
    uint8_t pub[4][PUB_MAX];
    size_t len[4];
    veil_route ret[4];
    unsigned n;
} fakedir;

static int fakedir_start(veil_context *ctx, void *state)
{
    ((fakedir *)state)->ctx = ctx;
    return 0;
}

static int fakedir_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)ctx;
    fakedir *d = state;
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    assert_true(d->n < 4 && len <= PUB_MAX);
    memcpy(d->pub[d->n], p, len);
    d->len[d->n] = len;
    veil_route_copy(&d->ret[d->n], veil_message_return_const(msg));
    d->n++;
    return 0;
}

static const veil_worker_ops fakedir_ops = {
    .size = sizeof(veil_worker_ops),
    .start = fakedir_start,
    .handle_message = fakedir_handle,
};

/* Offsets in publication i (after the 3-byte name "bob"). */
#define P_NAME 3
#define P_NONCE (P_NAME + 3 + 8)
#define P_FLAGS (P_NONCE + 16)
#define P_BUNDLE (P_FLAGS + 1)
#define P_N (P_BUNDLE + 136)
#define P_OPKS (P_N + 2)

static unsigned opks_of(const fakedir *d, unsigned i)
{
    return (unsigned)d->pub[i][P_N] << 8 | d->pub[i][P_N + 1];
}

static uint32_t opk_id(const fakedir *d, unsigned i, unsigned k)
{
    return be32(d->pub[i] + P_OPKS + 37 * k);
}

/* Counts the prekey service's "dropped an acknowledgement" debug lines. */
typedef struct drops {
    unsigned n;
    char last[512];
} drops;
static drops DROPS;

static void drop_sink(veil_log_level level, const char *component, const char *message,
                      void *arg)
{
    (void)arg;
    if (level == VEIL_LOG_DEBUG && strcmp(component, "x3dh") == 0 &&
        strstr(message, "dropped an acknowledgement") != NULL) {
        DROPS.n++;
        snprintf(DROPS.last, sizeof DROPS.last, "%s", message);
    }
}

typedef struct publish_world {
    veil_node *node;
    veil_context *app;
    veil_entity *bob;
    fakedir dir;
} publish_world;

static void wait_pubs(publish_world *w, unsigned n)
{
    for (int i = 0; i < 300 && w->dir.n < n; i++)
        assert_int_equal(veil_node_run_once(w->node, 10), 0);
    assert_int_equal(w->dir.n, n);
}

/* Bob listens at "bob", publishing to "fakedir" every second; the first
 * publication has arrived. */
static void publish_up(publish_world *w, const char *prekeys)
{
    char conf[512];
    veil_trust_policy *pol;
    memset(w, 0, sizeof *w);
    snprintf(conf, sizeof conf, "[key_agreement]\nplugin = x3dh\n[prekeys]\n"
             "directory_route = fakedir\npublish_interval_s = 1\n%s", prekeys);
    node_from(conf, &w->node, &w->app);
    assert_int_equal(veil_ctx_start_worker(w->app, "fakedir", &fakedir_ops, &w->dir), 0);
    assert_int_equal(veil_entity_open(w->node, NULL, NULL, VEIL_ENTITY_CREATE, &w->bob), 0);
    assert_int_equal(veil_trust_policy_new(w->node, "everyone", NULL, &pol), 0);
    assert_int_equal(veil_secure_channel_listener_open(w->bob, "bob", pol), 0);
    wait_pubs(w, 1);
}

static void publish_down(publish_world *w)
{
    veil_entity_close(w->bob);
    assert_int_equal(veil_node_free(w->node), 0);
}

/* An acknowledgement of publication i: status 0, held, next_id, with the
 * publication's nonce (flip: one bit of it changed). */
static size_t ack_of(const publish_world *w, unsigned i, uint32_t held, uint32_t next_id, bool flip,
                     uint8_t *out)
{
    size_t n = 0;
    out[n++] = 2;
    out[n++] = 0x82;
    out[n++] = 0;
    out[n++] = 3;
    memcpy(out + n, "bob", 3);
    n += 3;
    memcpy(out + n, w->dir.pub[i] + P_NONCE, 16);
    if (flip)
        out[n] ^= 0x01;
    n += 16;
    put_be(out + n, held, 4);
    put_be(out + n + 4, next_id, 4);
    return n + 8;
}

/* Send from the directory (fakedir, the first hop of directory_route)
 * along publication i's return route, or from a stranger's mailbox. */
static void send_ack(publish_world *w, unsigned i, bool stranger, const uint8_t *ack, size_t len)
{
    if (!stranger) {
        assert_int_equal(veil_ctx_send(w->dir.ctx, &w->dir.ret[i], ack, len), 0);
    } else {
        veil_context *c;
        assert_int_equal(veil_ctx_new_detached(w->node, NULL, &c), 0);
        assert_int_equal(veil_ctx_send(c, &w->dir.ret[i], ack, len), 0);
        settle(w->node);
        veil_ctx_free(c);
    }
    settle(w->node);
}

static void dropped_because(unsigned before, const char *why)
{
    char want[512];
    assert_int_equal(DROPS.n, before + 1);
    snprintf(want, sizeof want, "prekeys: dropped an acknowledgement for 'bob': %s (%u "
             "dropped)", why, before + 1);
    assert_string_equal(DROPS.last, want);
}

/* Issue #10 item 7, forged acknowledgements.  opk_count 3, low water 2:
 * the first publication carries 3 OPKs; the directory's real answer says
 * it holds 1 (the oldest being the third OPK), so the next publication
 * must top up 2.  Forgeries claiming 1000 held, before and after the
 * real answer, change nothing: from a stranger (even with the right
 * nonce), from the directory's hop with a wrong nonce, in the version-1
 * layout, and the real answer replayed.  Before the fix (v1 layout) one
 * forged "held 1000" from anyone stopped the top-up: the next publication
 * carried 0 OPKs. */
static void test_forged_ack_ignored(void **state)
{
    (void)state;
    publish_world w;
    publish_up(&w, "opk_count = 3\nopk_low_water = 2\n");
    assert_int_equal(opks_of(&w.dir, 0), 3);
    assert_int_equal(w.dir.pub[0][P_FLAGS], 0x02);     /* reset: a new store */
    veil_log_set_level(VEIL_LOG_DEBUG);
    veil_log_set_handler(drop_sink, NULL);
    memset(&DROPS, 0, sizeof DROPS);
    uint8_t ack[64];
    size_t n = ack_of(&w, 0, 1000, 1, false, ack);
    send_ack(&w, 0, true, ack, n);
    dropped_because(0, "it does not come from the first hop of directory_route");
    n = ack_of(&w, 0, 1000, 1, true, ack);
    send_ack(&w, 0, false, ack, n);
    dropped_because(1, "it does not echo the nonce of our pending publication (forged, "
                    "replayed or late)");
    static const uint8_t v1[] = { 1, 0x82, 0, 3, 'b', 'o', 'b', 0, 0, 0x03, 0xe8 };
    send_ack(&w, 0, false, v1, sizeof v1);
    assert_int_equal(DROPS.n, 2);                       /* not even an acknowledgement */
    n = ack_of(&w, 0, 1, opk_id(&w.dir, 0, 2), false, ack);
    send_ack(&w, 0, false, ack, n);                     /* the real one */
    assert_int_equal(DROPS.n, 2);
    n = ack_of(&w, 0, 1000, 1, false, ack);
    send_ack(&w, 0, false, ack, n);                     /* replayed, and altered */
    dropped_because(2, "it does not echo the nonce of our pending publication (forged, "
                    "replayed or late)");
    veil_log_set_handler(NULL, NULL);
    veil_log_set_level(VEIL_LOG_WARN);
    wait_pubs(&w, 2);
    assert_int_equal(opks_of(&w.dir, 1), 2);
    assert_int_equal(w.dir.pub[1][P_FLAGS], 0);
    assert_int_equal(opk_id(&w.dir, 1, 0), opk_id(&w.dir, 0, 2) + 1);
    publish_down(&w);
}

/* Issue #10 item 7, the underflow: opk_low_water 10 above opk_count 3.  A
 * directory holding 5 (more than opk_count, fewer than the low-water
 * mark) gets no OPKs; holding 2 it gets 1.  Before the fix (v1 layout)
 * `opk_count - held` wrapped around and the publication carried every
 * fresh OPK (3), every interval. */
static void test_low_water_above_count(void **state)
{
    (void)state;
    publish_world w;
    publish_up(&w, "opk_count = 3\nopk_low_water = 10\n");
    assert_int_equal(opks_of(&w.dir, 0), 3);
    uint8_t ack[64];
    size_t n = ack_of(&w, 0, 5, opk_id(&w.dir, 0, 0), false, ack);
    send_ack(&w, 0, false, ack, n);
    wait_pubs(&w, 2);
    assert_int_equal(opks_of(&w.dir, 1), 0);
    n = ack_of(&w, 1, 2, opk_id(&w.dir, 0, 1), false, ack);
    send_ack(&w, 1, false, ack, n);
    wait_pubs(&w, 3);
    assert_int_equal(opks_of(&w.dir, 2), 1);
    publish_down(&w);
}

/* The identity proof in a publication verifies to Bob's identifier and
 * attests the bundle's IK (the calls themselves: test_channel_x3dh's
 * test_identity_proof_api). */
static void test_publication_proof(void **state)
{
    (void)state;
    publish_world w;
    publish_up(&w, "opk_count = 1\n");
    const uint8_t *p = w.dir.pub[0];
    size_t at = P_OPKS + 37 * opks_of(&w.dir, 0);
    size_t plen = (size_t)p[at] << 8 | p[at + 1];
    assert_int_equal(w.dir.len[0], at + 2 + plen + 64);
    const uint8_t *ik = p + P_BUNDLE + 3;               /* after version, flags, 0x05 */
    veil_history_info info;
    veil_vault *v = veil_entity_vault(w.bob);
    assert_int_equal(veil_identity_proof_verify(v, p + at + 2, plen, ik, 32, &info), 0);
    assert_string_equal(info.identifier, veil_entity_identifier(w.bob));
    publish_down(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forged_ack_ignored),
        cmocka_unit_test(test_low_water_above_count),
        cmocka_unit_test(test_publication_proof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
