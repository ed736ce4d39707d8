/* Secure channels with [key_agreement] plugin = x3dh (the prekey store and
 * service, plugins/x3dh/x3dh_store.c + x3dh_opk.c + x3dh_service.c +
 * x3dh_limit.c, and the initiator's bundle fetch, x3dh_resolve.c):
 *  - the reference flow, several initiators each consuming its own OPK,
 *    and a captured message 1 replayed (OPK: refused as a replay, with the
 *    refusal reaching the sender);
 *  - exhaustion: bundles without OPK (3-DH) and channels still open; a
 *    replayed OPK-less message 1 gets a different responder ephemeral;
 *  - require_opk: the initiator's exact error;
 *  - SPK rotation: an initiator holding an old bundle inside the grace
 *    period (accepted) and beyond it (refused, exact error);
 *  - [prekeys] errors, and a publication to a service that is no directory;
 *  - issue #10 item 5: a FETCH flood from thousands of sources between an
 *    initiator's fetch and its message 1 does not make its handshake fail;
 *    with require_opk new fetches are refused while the flood holds every
 *    OPK, the earlier initiator still completes; the per-source request
 *    limit refuses a source with VEIL_EBUSY alone while another source
 *    still gets bundles.
 * Bundle and message layouts used to look inside: docs/X3DH.md. */
#include "test_prekeys.h"
#include "assert_error.h"

#include <time.h>
#include <unistd.h>

#define X3DH "[key_agreement]\nplugin = x3dh\n"
/* Offsets in the wire formats (docs/X3DH.md). */
#define BUNDLE_FLAGS 1
#define BUNDLE_SPK_ID 35
#define BUNDLE_OPK_ID 136
#define INITIAL_FLAGS 1
#define INITIAL_OPK_ID 72
/* FETCH "bob", prekey protocol version 2 (docs/X3DH.md). */
static const uint8_t FETCH_BOB[] = { 2, 0x01, 3, 'b', 'o', 'b' };

/* Bob's listener at "bob", trusting Alice and Carol. */
static void bob_listens(world *w)
{
    const char *ids[2] = { veil_entity_identifier(w->alice), veil_entity_identifier(w->carol) };
    veil_trust_policy *p;
    assert_int_equal(veil_trust_policy_new_identifier(w->node, ids, 2, &p), 0);
    assert_int_equal(veil_secure_channel_listener_open(w->bob, "bob", p), 0);
}

static int connect_to_bob(world *w, veil_entity *who, const char *route, veil_address *ch)
{
    veil_route r = route_of(route);
    return veil_secure_channel_open(who, &r, trust_only(w->node, w->bob), ch);
}

/* FETCH "bob" from the node's prekey service: the reply (status at [2]). */
static size_t fetch_bob(world *w, uint8_t *out, size_t cap)
{
    size_t n = ask_at(w->node, "prekeys", FETCH_BOB, sizeof FETCH_BOB, out, cap);
    assert_true(n >= 3);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 0x81);
    return n;
}

/* The HS1 frames the tap saw (frames ending in 0x01 towards "bob"). */
static size_t tap_hs1(const tap_state *t, const uint8_t **frames, size_t *lens, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nframes && n < max; i++) {
        if (strcmp(t->frames[i].to.bytes, "bob") == 0 && t->frames[i].len > 76 &&
            t->frames[i].bytes[t->frames[i].len - 1] == 0x01) {
            frames[n] = t->frames[i].bytes;
            lens[n++] = t->frames[i].len;
        }
    }
    return n;
}

/* P-256 identities ([identity] key_type = p256): X3DH's IK is the X25519
 * static key, signed prekeys stay XEdDSA; the identity proof that binds IK
 * carries the P-256 history and attestation, and the bundle fetch and the
 * channel verify it. */
static void test_p256_identities(void **state)
{
    (void)state;
    world w;
    world_up(&w, X3DH "[identity]\nkey_type = p256\n", WORLD_CAROL | WORLD_TAP);
    uint8_t key[VEIL_IDENTITY_KEY_MAX_BYTES];
    size_t n;
    int type;
    assert_int_equal(veil_entity_public_key(w.bob, &type, key, &n), 0);
    assert_int_equal(type, VEIL_SECRET_P256);
    bob_listens(&w);
    veil_address ch;
    int rc = connect_to_bob(&w, w.alice, "tap => bob", &ch);
    if (rc < 0)
        fail_msg("channel: %s", veil_last_error());
    round_trip(w.app, &ch, "p256 over x3dh");
    assert_string_equal(w.echo.last_info.peer_identifier, veil_entity_identifier(w.alice));
    world_down(&w);
}

/* The reference flow with three channels from two initiators: each HS1
 * names its own OPK; a replayed HS1 is refused as a replay. */
static void test_opks_consumed(void **state)
{
    (void)state;
    world w;
    world_up(&w, X3DH, WORLD_CAROL | WORLD_TAP);
    bob_listens(&w);
    veil_address ch[3];
    veil_entity *who[3] = { w.alice, w.carol, w.alice };
    for (int i = 0; i < 3; i++) {
        int rc = connect_to_bob(&w, who[i], "tap => bob", &ch[i]);
        if (rc < 0)
            fail_msg("channel %d: %s", i, veil_last_error());
        round_trip(w.app, &ch[i], "Hello Ockam!");
    }
    assert_string_equal(w.echo.last_info.peer_identifier, veil_entity_identifier(w.alice));
    veil_channel_stats st;
    assert_int_equal(veil_secure_channel_stats(w.node, &ch[1], &st), 0);
    assert_string_equal(st.peer_identifier, veil_entity_identifier(w.bob));
    const uint8_t *f[3];
    size_t len[3];
    assert_int_equal(tap_hs1(w.tap, f, len, 3), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(f[i][0], 1);                     /* version */
        assert_int_equal(f[i][INITIAL_FLAGS] & 1, 1);     /* an OPK id */
        if (i > 0) /* handed out in increasing order, each once */
            assert_int_equal(be32(f[i] + INITIAL_OPK_ID), be32(f[i - 1] + INITIAL_OPK_ID) + 1);
    }
    /* The next bundle's OPK is the one after them. */
    uint8_t b[512];
    size_t n = fetch_bob(&w, b, sizeof b);
    assert_int_equal(b[2], 0);
    assert_int_equal(n, 3 + 173);
    assert_int_equal(be32(b + 3 + BUNDLE_OPK_ID), be32(f[2] + INITIAL_OPK_ID) + 1);
    /* Replay channel 1's message 1: its OPK is consumed; the responder
     * says so with an HSERR of exactly the code and the fixed reason for
     * it (type 0x04 last), never the OPK id; the detail is in its log. */
    uint8_t copy[512], ans[512];
    memcpy(copy, f[1], len[1]);
    logs_start();
    n = ask_at(w.node, "bob", copy, len[1], ans, sizeof ans - 1);
    logs_stop();
    static const char reason[] = "one-time prekey already used";
    assert_int_equal(n, 1 + strlen(reason) + 1);
    assert_int_equal(-(int)ans[0], VEIL_EREPLAY);
    assert_memory_equal(ans + 1, reason, strlen(reason));
    assert_int_equal(ans[n - 1], 0x04);
    char used[64];
    snprintf(used, sizeof used, "one-time prekey id %u was already used",
             (unsigned)be32(f[1] + INITIAL_OPK_ID));
    assert_non_null(strstr(LOGS.text, used));
    /* The channels are unaffected. */
    round_trip(w.app, &ch[1], "still here");
    world_down(&w);
}

/* opk_count = 2, no refill: the third bundle has no OPK (3-DH) and its
 * channel still opens; a replayed OPK-less message 1 makes a responder
 * with a fresh ephemeral each time. */
static void test_exhaustion_3dh(void **state)
{
    (void)state;
    world w;
    world_up(&w, X3DH "[prekeys]\nopk_count = 2\nopk_low_water = 0\n"
             "[secure_channel]\nhandshake_timeout_ms = 200\n", WORLD_CAROL | WORLD_TAP);
    bob_listens(&w);
    uint8_t b[512];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(fetch_bob(&w, b, sizeof b), 3 + 173);
        assert_int_equal(b[3 + BUNDLE_FLAGS], 1);
    }
    assert_int_equal(fetch_bob(&w, b, sizeof b), 3 + 136);
    assert_int_equal(b[2], 0);
    assert_int_equal(b[3 + BUNDLE_FLAGS], 0);
    veil_address ch;
    assert_int_equal(connect_to_bob(&w, w.alice, "tap => bob", &ch), 0);
    round_trip(w.app, &ch, "Hello Ockam!");
    const uint8_t *f[1];
    size_t len[1];
    assert_int_equal(tap_hs1(w.tap, f, len, 1), 1);
    assert_int_equal(f[0][INITIAL_FLAGS] & 1, 0);
    /* Replay it twice: both answered with message 2 (no OPK to refuse),
     * each from a different responder ephemeral (its first 33 bytes). */
    uint8_t copy[512], a1[1024], a2[1024];
    memcpy(copy, f[0], len[0]);
    size_t n1 = ask_at(w.node, "bob", copy, len[0], a1, sizeof a1);
    memcpy(copy, f[0], len[0]);
    size_t n2 = ask_at(w.node, "bob", copy, len[0], a2, sizeof a2);
    assert_int_equal(a1[n1 - 1], 0x02);
    assert_int_equal(a2[n2 - 1], 0x02);
    assert_int_equal(a1[0], 0x05);
    assert_memory_not_equal(a1, a2, 33);
    /* Let the two responders (waiting for message 3) time out and free
     * their sessions: a stopping node cannot (docs/PROTOCOL.md). */
    assert_int_equal(veil_node_run(w.node, 300), 0);
    world_down(&w);
}

/* require_opk on the responder's node: no OPK left → no bundle at all;
 * the initiator gets the service's refusal. */
static void test_require_opk(void **state)
{
    (void)state;
    world w;
    world_up(&w, X3DH "require_opk = yes\n[prekeys]\nopk_count = 1\nopk_low_water = 0\n", WORLD_CAROL | WORLD_TAP);
    bob_listens(&w);
    veil_address ch;
    assert_int_equal(connect_to_bob(&w, w.alice, "bob", &ch), 0);
    round_trip(w.app, &ch, "one");
    assert_error(connect_to_bob(&w, w.carol, "bob", &ch), VEIL_EAGAIN,
                 "prekey service at 'prekeys' refused the bundle for 'bob': no one-time prekey "
                 "can be handed out and the responder requires one (require_opk)");
    world_down(&w);
}

/* A caching hop on the way to the prekey service: after the first bundle
 * it answers every fetch with that same (old) bundle. */
typedef struct cache_state {
    uint8_t reply[512];
    size_t len;
    unsigned served;
} cache_state;

static int cache_handle(veil_context *ctx, void *state, veil_message *msg)
{
    cache_state *c = state;
    size_t len;
    const uint8_t *p = veil_message_payload(msg, &len);
    if (len >= 2 && p[0] == 2 && p[1] == 0x01 && c->len > 0) {
        c->served++;
        return veil_ctx_reply_message(ctx, msg, c->reply, c->len);
    }
    if (len >= 3 && len <= sizeof c->reply && p[0] == 2 && p[1] == 0x81 && p[2] == 0 &&
        c->len == 0) {
        memcpy(c->reply, p, len);
        c->len = len;
    }
    return veil_ctx_forward_next(ctx, msg);
}

static const veil_worker_ops cache_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = cache_handle,
};

/* The cache at "cache", then Bob's listener. */
static void cache_up(world *w, cache_state *cache)
{
    memset(cache, 0, sizeof *cache);
    assert_int_equal(veil_ctx_start_worker(w->app, "cache", &cache_ops, cache), 0);
    bob_listens(w);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* spk_rotate_s = 1, spk_grace_s = 1: the old bundle works 1.1 s later
 * (rotated, inside the grace) and is refused 2.3 s later (past it). */
static void test_spk_rotation_grace(void **state)
{
    (void)state;
    world w;
    world_up(&w, X3DH "[prekeys]\nspk_rotate_s = 1\nspk_grace_s = 1\nopk_count = 0\n"
             "opk_low_water = 0\nroute = cache => prekeys\n"
             "[secure_channel]\nhandshake_timeout_ms = 3000\n", WORLD_CAROL | WORLD_TAP);
    cache_state cache;
    cache_up(&w, &cache);
    veil_address ch;
    assert_int_equal(connect_to_bob(&w, w.alice, "bob", &ch), 0);
    assert_int_equal(cache.len, 3 + 136);
    uint32_t old_spk = be32(cache.reply + 3 + BUNDLE_SPK_ID);
    sleep_ms(1100);
    /* Rotated: a fresh fetch names another SPK... */
    uint8_t b[512];
    fetch_bob(&w, b, sizeof b);
    assert_int_not_equal(be32(b + 3 + BUNDLE_SPK_ID), old_spk);
    /* ... and the old one is still accepted. */
    int rc = connect_to_bob(&w, w.carol, "bob", &ch);
    if (rc < 0)
        fail_msg("inside the grace period: %s", veil_last_error());
    assert_int_equal(cache.served, 1);
    round_trip(w.app, &ch, "inside grace");
    sleep_ms(1200);
    char want[96];
    snprintf(want, sizeof want, "signed prekey id %u expired", (unsigned)old_spk);
    logs_start();
    assert_int_equal(connect_to_bob(&w, w.alice, "bob", &ch), VEIL_EHANDSHAKE);
    logs_stop();
    /* The initiator learns the code and its fixed reason; which prekey
     * and why stay in the listener's log (issue #10, item 9). */
    assert_last_error("secure channel: the responder refused handshake message 1 (timed out): "
                      "prekey expired");
    assert_non_null(strstr(LOGS.text, "listener 'bob': channel sc_"));
    assert_non_null(strstr(LOGS.text, want));
    assert_int_equal(cache.served, 2);
    world_down(&w);
}

/* The legitimate initiator's fetch, through the cache (which keeps the
 * bundle for the channel's own fetch later): its OPK id. */
static uint32_t fetch_kept(world *w)
{
    uint8_t b[512];
    assert_int_equal(ask_at(w->node, "cache => prekeys", FETCH_BOB, sizeof FETCH_BOB, b,
                            sizeof b), 3 + 173);
    return be32(b + 3 + BUNDLE_OPK_ID);
}

/* Alice's channel (its bundle from the cache) opens, and its message 1
 * names exactly the OPK opk. */
static void opens_with(world *w, const cache_state *cache, uint32_t opk)
{
    veil_address ch;
    int rc = connect_to_bob(w, w->alice, "tap => bob", &ch);
    if (rc < 0)
        fail_msg("after the flood: %s: %s", veil_strerror(rc), veil_last_error());
    assert_int_equal(cache->served, 1);
    round_trip(w->app, &ch, "Hello Ockam!");
    const uint8_t *f[1];
    size_t len[1];
    assert_int_equal(tap_hs1(w->tap, f, len, 1), 1);
    assert_int_equal(f[0][INITIAL_FLAGS] & 1, 1);
    assert_int_equal(be32(f[0] + INITIAL_OPK_ID), opk);
}

/* total FETCHes along route (each from a new mailbox): the first `served`
 * get a bundle with an OPK, the others the code alone. */
static void fetches(world *w, const char *route, int total, int served, int code)
{
    uint8_t b[512];
    for (int i = 0; i < total; i++) {
        size_t n = ask_at(w->node, route, FETCH_BOB, sizeof FETCH_BOB, b, sizeof b);
        assert_int_equal(b[0], 2);
        assert_int_equal(b[1], 0x81);
        if (i < served) {
            assert_int_equal(b[2], 0);
            assert_int_equal(n, 3 + 173);
        } else {
            assert_int_equal(-(int)b[2], code);
            assert_int_equal(n, 3);
        }
    }
}

/* Issue #10 item 5: an initiator fetched a bundle (kept by the cache hop,
 * which serves it again for the channel's own fetch: message 1 goes out
 * after the flood, as with a slow network); then 3000 FETCHes from 3000
 * sources (more than request_sources, request_burst and opk_issued_max
 * allow).  The handed-out OPK stays valid: the channel opens with it
 * (4-DH: message 1 names exactly that OPK).  The flood got at most
 * opk_issued_max - 1 OPKs, then 3-DH bundles, then VEIL_EBUSY (the code
 * alone).  Before the fix (v1 wire format, same flood) the store retired
 * the OPK and the handshake failed: "one-time prekey id N was already
 * used (consumed by an earlier initial message, or retired unused)". */
static void test_fetch_flood_keeps_handed_out_opk(void **state)
{
    (void)state;
    world w;
    world_up(&w, X3DH "[prekeys]\nopk_count = 4\nopk_low_water = 2\nopk_issued_max = 16\n"
             "request_sources = 32\nrequest_burst = 3\nrequest_rate = 1\n"
             "route = cache => prekeys\n", WORLD_CAROL | WORLD_TAP);
    cache_state cache;
    cache_up(&w, &cache);
    uint32_t mine = fetch_kept(&w);
    uint8_t b[512];
    unsigned with_opk = 0, without = 0, busy = 0;
    for (int i = 0; i < 3000; i++) {
        size_t n = fetch_bob(&w, b, sizeof b);
        if (b[2] == 0 && n == 3 + 173)
            with_opk++;
        else if (b[2] == 0 && n == 3 + 136)
            without++;
        else if (-(int)b[2] == VEIL_EBUSY && n == 3)
            busy++;
        else
            fail_msg("fetch %d: %zu bytes, status %d", i, n, -(int)b[2]);
    }
    assert_int_equal(with_opk, 15);                 /* opk_issued_max, ours included */
    assert_true(without >= 1);
    assert_true(busy >= 2900);
    opens_with(&w, &cache, mine);
    world_down(&w);
}

/* The same flood against require_opk = yes, the trade it makes: once
 * opk_issued_max OPKs are out (inside their hold time), every new fetch
 * is refused (VEIL_EAGAIN, the code alone) for as long as they are — but
 * the initiator that fetched before the flood still completes, with its
 * OPK. */
static void test_fetch_flood_require_opk(void **state)
{
    (void)state;
    world w;
    world_up(&w, X3DH "require_opk = yes\n[prekeys]\nopk_count = 4\nopk_low_water = 2\n"
             "opk_issued_max = 4\nroute = cache => prekeys\n", WORLD_CAROL | WORLD_TAP);
    cache_state cache;
    cache_up(&w, &cache);
    uint32_t mine = fetch_kept(&w);
    fetches(&w, "prekeys", 30, 3, VEIL_EAGAIN);
    opens_with(&w, &cache, mine);
    /* Its OPK consumed, one slot is free: one more bundle, then refusals. */
    fetches(&w, "prekeys", 2, 1, VEIL_EAGAIN);
    world_down(&w);
}

/* The per-source request limit (request_burst 3, request_rate 1/s): every
 * fetch through the hop "hop" has the source "hop" (the first address of
 * its return route).  The first 3 get bundles, the next ones the code
 * VEIL_EBUSY and nothing else; a channel whose fetch takes that route
 * fails with VEIL_EBUSY and the initiator's own explanation, delivering
 * nothing; another source still gets a bundle; a second later the hop's
 * source has a token again and the channel opens. */
static void test_fetch_source_limit(void **state)
{
    (void)state;
    world w;
    world_up(&w, X3DH "[prekeys]\nrequest_burst = 3\nrequest_rate = 1\nroute = hop => prekeys\n", WORLD_CAROL | WORLD_TAP);
    unsigned hops = 0;
    assert_int_equal(veil_ctx_start_worker(w.app, "hop", &hop_ops, &hops), 0);
    bob_listens(&w);
    fetches(&w, "hop => prekeys", 5, 3, VEIL_EBUSY);
    veil_address ch;
    assert_error(connect_to_bob(&w, w.alice, "bob", &ch), VEIL_EBUSY,
                 "prekey service at 'hop => prekeys' refused the bundle for 'bob': too many "
                 "requests from this source (per-source request limit)");
    assert_int_equal(w.echo.count, 0);
    fetches(&w, "prekeys", 1, 1, 0);                  /* another source */
    sleep_ms(1100);
    int rc = connect_to_bob(&w, w.alice, "bob", &ch);
    if (rc < 0)
        fail_msg("a second later: %s", veil_last_error());
    round_trip(w.app, &ch, "Hello Ockam!");
    assert_int_equal(hops, 2 * 7);               /* 7 fetches and their replies */
    world_down(&w);
}

/* veil_identity_proof / veil_identity_proof_verify (secure_channel.h), the
 * channel's identity proof outside a handshake (for the prekey directory):
 * Bob's proof attests his channel static key and verifies to his
 * identifier; under another key, with a byte changed, cut short, or with
 * bad arguments it is refused with the exact code and detail. */
static void test_identity_proof_api(void **state)
{
    (void)state;
    world w;
    world_up(&w, X3DH, WORLD_CAROL | WORLD_TAP);
    veil_vault *v = veil_entity_vault(w.bob);
    veil_secret key, key2;
    uint8_t *proof = NULL, *again = NULL, pub[32], other[32];
    size_t len = 0, len2 = 0, n = 0;
    veil_history_info info;
    char want[256];
    assert_int_equal(veil_identity_proof(w.bob, &key, &proof, &len), 0);
    assert_int_equal(veil_identity_proof(w.bob, &key2, &again, &len2), 0);
    assert_int_equal(key2, key);                      /* the same static key, cached */
    assert_int_equal(len2, len);
    assert_memory_equal(again, proof, len);
    assert_int_equal(veil_vault_public_key(v, key, pub, 32, &n), 0);
    assert_int_equal(veil_identity_proof_verify(v, proof, len, pub, 32, &info), 0);
    assert_string_equal(info.identifier, veil_entity_identifier(w.bob));
    assert_int_equal(info.events, 1);
    /* Carol's static key is not the one Bob's proof attests. */
    veil_secret ck;
    uint8_t *cp = NULL;
    size_t cl = 0;
    assert_int_equal(veil_identity_proof(w.carol, &ck, &cp, &cl), 0);
    assert_int_equal(veil_vault_public_key(veil_entity_vault(w.carol), ck, other, 32, &n), 0);
    snprintf(want, sizeof want, "secure channel: peer %s: the attestation does not bind the key "
             "agreement's static key to its current identity key", veil_entity_identifier(w.bob));
    assert_error(veil_identity_proof_verify(v, proof, len, other, 32, &info), VEIL_EAUTH, want);
    again[9] ^= 0x01;       /* the attestation's first byte (after version and expiry) */
    assert_error(veil_identity_proof_verify(v, again, len, pub, 32, &info), VEIL_EAUTH, want);
    again[9] ^= 0x01;
    again[1] ^= 0x01;       /* the expiry is signed too */
    assert_error(veil_identity_proof_verify(v, again, len, pub, 32, &info), VEIL_EAUTH, want);
    assert_error(veil_identity_proof_verify(v, proof, 10, pub, 32, &info), VEIL_ETRUNCATED,
                 "channel identity proof: 10 bytes, need at least 73 (version, expiry, signature)");
    assert_error(veil_identity_proof_verify(v, proof, len, pub, 31, &info), VEIL_EINVAL,
                 "veil_identity_proof_verify: vault, proof, static_pub (32 bytes, X25519) and "
                 "out must be set");
    assert_error(veil_identity_proof(NULL, &key, &cp, &cl), VEIL_EINVAL,
                 "veil_identity_proof: entity, static_key, proof and len must be set");
    free(proof);
    free(again);
    free(cp);
    world_down(&w);
}

/* Errors: an unknown [prekeys] key; a route that does not end at a local
 * listener address; no prekey service on the listener's side; a directory
 * with Noise. */
static void test_prekey_errors(void **state)
{
    (void)state;
    world w;
    /* [prekeys] is the x3dh plugin's (registered when it loads): its keys
     * are checked when the node is made (issue #16); without x3dh loaded
     * the section is unknown. */
    assert_error_contains(node_new_rc(X3DH "[prekeys]\nopk_counts = 3\n"), VEIL_ECONFIG,
                          "<test>:4: unknown key 'opk_counts' in [prekeys]");
    assert_error_contains(node_new_rc("[prekeys]\nopk_count = 3\n"), VEIL_ECONFIG,
                          "<test>:1: unknown section [prekeys] (accepted:");
    const char *id;
    veil_trust_policy *p;

    world_up(&w, X3DH "[secure_channel]\nhandshake_timeout_ms = 300\n", WORLD_CAROL | WORLD_TAP);
    veil_address ch;
    /* Nothing listens: no service on this node answers for "nobody". */
    id = veil_entity_identifier(w.alice);
    assert_int_equal(veil_trust_policy_new_identifier(w.node, &id, 1, &p), 0);
    assert_int_equal(veil_secure_channel_listener_open(w.carol, "carol", p), 0);
    assert_error(connect_to_bob(&w, w.alice, "nobody", &ch), VEIL_ENOTFOUND,
                 "prekey service at 'prekeys' refused the bundle for 'nobody': no bundle under "
                 "that name");
    /* ... and on the wire: the code alone. */
    static const uint8_t nobody[] = { 2, 0x01, 6, 'n', 'o', 'b', 'o', 'd', 'y' };
    uint8_t ans[512];
    size_t n = ask_at(w.node, "prekeys", nobody, sizeof nobody, ans, sizeof ans - 1);
    assert_int_equal(n, 3);
    assert_int_equal(ans[1], 0x81);
    assert_int_equal(-(int)ans[2], VEIL_ENOTFOUND);
    /* A listener's service is no directory: publications are refused
     * (name, a zero nonce as none could be read, then the detail). */
    static const uint8_t publish[] = { 2, 0x02, 3, 'e', 'v', 'e' };
    n = ask_at(w.node, "prekeys", publish, sizeof publish, ans, sizeof ans - 1);
    assert_int_equal(ans[1], 0x82);
    assert_int_equal(-(int)ans[2], VEIL_EPERM);
    assert_int_equal(ans[3], 3);
    assert_memory_equal(ans + 4, "eve", 3);
    static const uint8_t zero[16];
    assert_memory_equal(ans + 7, zero, 16);
    ans[n] = '\0';
    assert_string_equal((char *)ans + 23, "prekey service 'prekeys' is not a directory "
                        "(publications refused)");
    /* Another version: the code alone. */
    static const uint8_t v1[] = { 1, 0x01, 3, 'b', 'o', 'b' };
    n = ask_at(w.node, "prekeys", v1, sizeof v1, ans, sizeof ans);
    assert_int_equal(n, 3);
    assert_int_equal(ans[0], 2);
    assert_int_equal(-(int)ans[2], VEIL_EVERSION);
    world_down(&w);

    world_up(&w, X3DH "[prekeys]\nroute = tap => void\n[secure_channel]\n"
             "handshake_timeout_ms = 200\n", WORLD_CAROL | WORLD_TAP);
    assert_error_contains(connect_to_bob(&w, w.alice, "bob", &ch), VEIL_ETIMEDOUT,
                          "no bundle from the prekey service at 'tap => void'");
    world_down(&w);

    veil_node *node;
    veil_context *app;
    veil_vault *v;
    node_from(NULL, &node, &app);
    assert_int_equal(veil_vault_open(node, NULL, &v), 0);
    assert_error(veil_key_agreement_directory_start(node, v), VEIL_EUNSUPPORTED,
                 "veil_key_agreement_directory_start: the configured key agreement (noise/1.0) "
                 "has no directory (X3DH has one: [key_agreement] plugin = x3dh)");
    veil_vault_close(v);
    assert_int_equal(veil_node_free(node), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opks_consumed),
        cmocka_unit_test(test_p256_identities),
        cmocka_unit_test(test_exhaustion_3dh),
        cmocka_unit_test(test_require_opk),
        cmocka_unit_test(test_spk_rotation_grace),
        cmocka_unit_test(test_prekey_errors),
        cmocka_unit_test(test_identity_proof_api),
        cmocka_unit_test(test_fetch_flood_keeps_handed_out_opk),
        cmocka_unit_test(test_fetch_flood_require_opk),
        cmocka_unit_test(test_fetch_source_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
