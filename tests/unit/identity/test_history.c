/* Change history verification (framework/identity/identity_history.c): every
 * refusal with its exact code and detail, the time rules and the clock,
 * and the signing domains of identity keys (framework/identity/identity_sign.c):
 * an application signature is never an event or an attestation signature,
 * nor the reverse (issue #10, item 6).  Layout and signing rule as in
 * docs/PROTOCOL.md, read by test_identity.h. */
#include "test_identity.h"
#include "assert_error.h"

static int setup(void **state)
{
    return world_setup(state, NULL);
}

typedef struct hist {
    uint8_t b[HDR + CREATE_LEN + 2 * ROTATE_LEN + 8];
    size_t len;
} hist;

static void three_events(world *w, hist *out)
{
    veil_entity *e;
    assert_int_equal(veil_entity_open(w->node, w->v, NULL, VEIL_ENTITY_CREATE, &e), 0);
    assert_int_equal(veil_entity_rotate(e), 0);
    assert_int_equal(veil_entity_rotate(e), 0);
    const uint8_t *h = veil_entity_history(e, &out->len);
    assert_int_equal(out->len, HDR + CREATE_LEN + 2 * ROTATE_LEN);
    memcpy(out->b, h, out->len);
    veil_entity_close(e);
}

#define E1 (HDR + CREATE_LEN)            /* byte 149 */
#define E2 (E1 + ROTATE_LEN)             /* byte 360 */

static void test_forged(void **state)
{
    world *w = *state;
    hist h;
    three_events(w, &h);
    struct { size_t at; const char *needle; } cases[] = {
        { HDR + EV_SIG_NEW + 5, "event 0 (byte 2): field 'sig_new' at byte 85 is not a valid" },
        { E1 + EV_SIG_NEW + 9, "event 1 (byte 149): field 'sig_new' at byte 232" },
        { E1 + EV_SIG_PREV + 40, "event 1 (byte 149): field 'sig_prev' at byte 296 is not a "
                                 "valid signature by the previous key" },
        { HDR + EV_KEY + 3, "event 0 (byte 2): field 'sig_new'" },   /* the key itself */
        { E2 + EV_EXPIRES + 7, "event 2 (byte 360): field 'sig_new'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hist f = h;
        f.b[cases[i].at] ^= 0x01;
        assert_error_contains(veil_history_verify(w->v, f.b, f.len, NULL), VEIL_EAUTH,
                              cases[i].needle);
    }
    /* A signed time moved by one second (still in order and before its
     * expiry, so only the signatures can tell). */
    hist f = h;
    put64(f.b + E1 + EV_CREATED, get64(f.b + E1 + EV_CREATED) + 1);
    assert_error_contains(veil_history_verify(w->v, f.b, f.len, NULL), VEIL_EAUTH,
                          "event 1 (byte 149): field 'sig_new' at byte 232");
}

static void test_truncated_every_length(void **state)
{
    world *w = *state;
    hist h;
    three_events(w, &h);
    for (size_t l = 0; l < h.len; l++) {
        assert_error_contains(veil_history_verify(w->v, h.b, l, NULL), VEIL_ETRUNCATED, "history");
        assert_last_error_contains("byte");
    }
    assert_error_contains(veil_history_verify(w->v, h.b, 1, NULL), VEIL_ETRUNCATED,
                          "field 'count' at byte 1");
    assert_error_contains(veil_history_verify(w->v, h.b, 100, NULL), VEIL_ETRUNCATED,
                          "event 0 (byte 2): field 'sig_new' at byte 85 needs 64 bytes, only 15 "
                          "left");
    assert_error_contains(veil_history_verify(w->v, h.b, 40, NULL), VEIL_ETRUNCATED,
                          "event 0 (byte 2): field 'created' at byte 36 needs 16 bytes, only 4 "
                          "left");
    h.b[h.len] = 0;
    assert_error_contains(veil_history_verify(w->v, h.b, h.len + 1, NULL), VEIL_ETRAILING,
                          "1 bytes left over at byte 571");
}

static void test_reordered_and_links(void **state)
{
    world *w = *state;
    hist h, r;
    three_events(w, &h);
    /* Swap events 1 and 2. */
    r = h;
    memcpy(r.b + E1, h.b + E2, ROTATE_LEN);
    memcpy(r.b + E2, h.b + E1, ROTATE_LEN);
    assert_error_contains(veil_history_verify(w->v, r.b, r.len, NULL), VEIL_EFORMAT,
                          "event 1 (byte 149): field 'seq' at byte 150 is 2, expected 1");
    /* Drop event 1 and renumber: seq fixed, link broken. */
    r = h;
    memmove(r.b + E1, h.b + E2, ROTATE_LEN);
    r.b[1] = 2;
    r.b[E1 + 1] = 1;
    r.len -= ROTATE_LEN;
    assert_error_contains(veil_history_verify(w->v, r.b, r.len, NULL), VEIL_EAUTH,
                          "event 1 (byte 149): field 'prev' at byte 151 is not the SHA-256 of "
                          "the previous event");
    r = h;
    r.b[E2 + EV_PREV + 7] ^= 0x80;
    assert_error_contains(veil_history_verify(w->v, r.b, r.len, NULL), VEIL_EAUTH,
                          "event 2 (byte 360): field 'prev' at byte 362");
    r = h;
    r.b[HDR + EV_PREV] = 1;
    assert_error_contains(veil_history_verify(w->v, r.b, r.len, NULL), VEIL_EFORMAT,
                          "must be all zero in the create event");
}

static void test_header_and_fields(void **state)
{
    world *w = *state;
    hist h, r;
    three_events(w, &h);
    assert_error_contains(veil_history_verify(w->v, h.b, 0, NULL), VEIL_ETRUNCATED,
                          "history is empty");
    r = h, r.b[0] = 1;
    assert_error_contains(veil_history_verify(w->v, r.b, r.len, NULL), VEIL_EVERSION,
                          "field 'version' at byte 0 is 1, expected 2");
    r = h, r.b[1] = 0;
    assert_error_contains(veil_history_verify(w->v, r.b, r.len, NULL), VEIL_EFORMAT,
                          "field 'count' at byte 1 is 0");
    r = h, r.b[1] = 65;
    assert_error_contains(veil_history_verify(w->v, r.b, r.len, NULL), VEIL_ELIMIT,
                          "field 'count' at byte 1 is 65 (expected 1..64)");
    r = h, r.b[1] = 0x83, r.b[2] = 0x00;   /* non-minimal varint */
    assert_error_contains(veil_history_verify(w->v, r.b, r.len, NULL), VEIL_EOVERLONG,
                          "field 'count' at byte 1");
    r = h, r.b[2] = 2;
    assert_error_contains(veil_history_verify(w->v, r.b, r.len, NULL), VEIL_EFORMAT,
                          "event 0 (byte 2): field 'kind' is 2, expected 1");
    r = h, r.b[E1] = 1;
    assert_error_contains(veil_history_verify(w->v, r.b, r.len, NULL), VEIL_EFORMAT,
                          "event 1 (byte 149): field 'kind' is 1, expected 2");
    r = h, r.b[HDR + EV_KEY_TYPE] = 2;
    assert_error_contains(veil_history_verify(w->v, r.b, r.len, NULL), VEIL_EFORMAT,
                          "field 'key_type' at byte 52 is 2, expected 1 (Ed25519)");
    static uint8_t big[VEIL_HISTORY_MAX_BYTES + 1];
    assert_error_contains(veil_history_verify(w->v, big, sizeof big, NULL), VEIL_ELIMIT,
                          "16385 bytes, limit 16384");
    uint8_t d[32];
    assert_error_contains(veil_identifier_parse("Q21fe", d), VEIL_EFORMAT,
                          "does not start with 'P'");
    assert_error(veil_identifier_parse("P21fe", d), VEIL_EFORMAT,
                 "identifier 'P21fe' is not 65 characters (expected P followed by 64 hex digits)");
    assert_error_contains(veil_identifier_parse( "P21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721bz", d),
                          VEIL_EFORMAT, "identifier 'P21fe");
}

/* ---- times ----------------------------------------------------------------- */

/* A two-event history made here (new keys k0, k1), with the given times. */
static size_t two_events(world *w, uint8_t *out, uint64_t c0, uint64_t x0, uint64_t c1,
                         uint64_t x1)
{
    uint8_t p0[32], p1[32];
    veil_secret k0 = test_key(w->v, p0), k1 = test_key(w->v, p1);
    size_t n = spec_history2(w->v, k0, p0, k1, p1, c0, x0, c1, x1, out);
    assert_int_equal(veil_vault_secret_destroy(w->v, k0), 0);
    assert_int_equal(veil_vault_secret_destroy(w->v, k1), 0);
    return n;
}

static void test_time_rules(void **state)
{
    world *w = *state;
    uint8_t h[HDR + CREATE_LEN + ROTATE_LEN];
    size_t n = two_events(w, h, 1000, 2000, 1500, 0);
    veil_history_info info;
    assert_int_equal(veil_history_verify_at(w->v, h, n, NULL, &info), 0);
    assert_int_equal(info.created, 1500);
    assert_int_equal(info.expires, 0);
    n = two_events(w, h, 1000, 1000, 1500, 0);
    assert_error_contains(veil_history_verify_at(w->v, h, n, NULL, NULL), VEIL_EFORMAT,
                          "event 0 (byte 2): field 'expires' at byte 44 is 1000, not after "
                          "'created' 1000");
    n = two_events(w, h, 1000, 0, 999, 0);
    assert_error_contains(veil_history_verify_at(w->v, h, n, NULL, NULL), VEIL_EFORMAT,
                          "event 1 (byte 149): field 'created' at byte 183 is 999, before the "
                          "previous event's 1000");
    /* The previous key had expired when it signed the rotation. */
    n = two_events(w, h, 1000, 2000, 2001, 0);
    assert_error_contains(veil_history_verify_at(w->v, h, n, NULL, NULL), VEIL_EEXPIRED,
                          "event 1 (byte 149): created at 2001, after the previous key expired "
                          "at 2000 (an expired key cannot authorise a rotation)");
    n = two_events(w, h, 1000, 2000, 2000, 3000); /* at the last second: fine */
    assert_int_equal(veil_history_verify_at(w->v, h, n, NULL, NULL), 0);
}

/* The current key against the clock: expiry with the skew allowance, not
 * yet valid, the max_key_lifetime cap; superseded keys do not count. */
static void test_clock(void **state)
{
    world *w = *state;
    uint8_t h[HDR + CREATE_LEN + ROTATE_LEN];
    size_t n = two_events(w, h, 1000, 2000, 1500, 5000);
    veil_history_info info;
    veil_history_clock c = { 5000 + 300, 300, 0 };
    assert_int_equal(veil_history_verify_at(w->v, h, n, &c, &info), 0); /* within the skew */
    c.now = 5301;
    assert_error_contains(veil_history_verify_at(w->v, h, n, &c, NULL), VEIL_EEXPIRED,
                          "its current key (event 1) expired at 5000 (now 5301, clock skew "
                          "allowance 300 s)");
    c.now = 4000; /* key 0 expired long ago: superseded, it does not matter */
    assert_int_equal(veil_history_verify_at(w->v, h, n, &c, NULL), 0);
    c.now = 1199;
    assert_error_contains(veil_history_verify_at(w->v, h, n, &c, NULL), VEIL_EEXPIRED,
                          "is created at 1500, after now (1199) plus the clock skew allowance "
                          "(300 s): not valid yet");
    c.now = 1200;
    assert_int_equal(veil_history_verify_at(w->v, h, n, &c, NULL), 0);
    /* max_key_lifetime caps the key's own expiry, and gives one to a key
     * that has none. */
    c = (veil_history_clock){ 2600, 0, 1000 };
    assert_error_contains(veil_history_verify_at(w->v, h, n, &c, NULL), VEIL_EEXPIRED,
                          "is past max_key_lifetime (1000 s) since 2500");
    n = two_events(w, h, 1000, 0, 1500, 0);
    c = (veil_history_clock){ 1000000, 0, 0 };
    assert_int_equal(veil_history_verify_at(w->v, h, n, &c, NULL), 0);
    c.max_key_lifetime = 10000;
    assert_error_contains(veil_history_verify_at(w->v, h, n, &c, NULL), VEIL_EEXPIRED,
                          "expiry 0) is past max_key_lifetime (10000 s) since 11500");
    /* veil_history_verify uses the system clock and the defaults: a key
     * created 3 years ago with no expiry is past the 730-day cap. */
    uint64_t now = (uint64_t)time(NULL);
    n = two_events(w, h, now - 3 * 31536000u, 0, now - 3 * 31536000u + 1, 0);
    assert_error_contains(veil_history_verify(w->v, h, n, NULL), VEIL_EEXPIRED, "max_key_lifetime");
    n = two_events(w, h, now - 10, 0, now - 5, now + 100);
    assert_int_equal(veil_history_verify(w->v, h, n, NULL), 0);
}

/* ---- signing domains (issue #10, item 6) ------------------------------------ */

/* The attack on a raw signing oracle: an application signs bytes an
 * attacker chose — here exactly the bytes an event signature covers,
 * authorising the attacker's key — and the attacker appends that rotation
 * to the victim's history.  With domain separation the application's
 * signature is not a valid sig_prev. */
static void test_item6_app_signature_is_not_an_event(void **state)
{
    world *w = *state;
    veil_entity *victim;
    size_t len;
    uint8_t ak[32], link[32], forged[HDR + CREATE_LEN + ROTATE_LEN], msg[256];
    assert_int_equal(veil_entity_open(w->node, w->v, "victim", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &victim), 0);
    const uint8_t *h = veil_entity_history(victim, &len);
    veil_secret attacker = test_key(w->v, ak);
    memcpy(forged, h, len);
    forged[1] = 2;
    sha256(w->v, h + HDR, CREATE_LEN, link);
    spec_body(forged + E1, 1, link, get64(h + HDR + EV_CREATED), 0, ak);
    spec_sign(w->v, attacker, EVENT_DOMAIN, forged + E1, EV_BODY, forged + E1 + EV_SIG_NEW);
    /* The application signs what the attacker hands it, with any context:
     * the raw event bytes, and the full signed form of the event. */
    size_t mlen = spec_message(msg, EVENT_DOMAIN, forged + E1, EV_BODY);
    const char *contexts[] = { "x", "identity.event.v2", "veil.identity.event.v2" };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(veil_entity_sign(victim, contexts[i], msg, mlen,
                                          forged + E1 + EV_SIG_PREV), 0);
        assert_error_contains(veil_history_verify(w->v, forged, sizeof forged, NULL), VEIL_EAUTH,
                              "event 1 (byte 149): field 'sig_prev' at byte 296 is not a valid "
                              "signature by the previous key");
        assert_int_equal(veil_entity_sign(victim, contexts[i], forged + E1, EV_BODY,
                                          forged + E1 + EV_SIG_PREV), 0);
        assert_error_contains(veil_history_verify(w->v, forged, sizeof forged, NULL), VEIL_EAUTH,
                              "'sig_prev' at byte 296 is not a valid signature");
    }
    assert_int_equal(veil_vault_secret_destroy(w->v, attacker), 0);
    veil_entity_close(victim);
}

/* Both ways, and between contexts: application signatures verify in their
 * context only; event and attestation signatures never verify as an
 * application's; an application signature never verifies as an
 * attestation. */
/* Item 6: signing domains are disjoint, one scenario per test.  Each
 * signs with a new entity of its own (the vault outlives the tests). */
static veil_entity *signer_of(world *w, const char *name, uint8_t pub[32])
{
    veil_entity *e;
    assert_int_equal(veil_entity_open(w->node, w->v, name, VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &e), 0);
    assert_int_equal(ed_key(e, pub), 0);
    return e;
}

/* Application: its own context only; the bytes signed are the spec's. */
static void test_item6_app_context_is_its_own(void **state)
{
    world *w = *state;
    uint8_t pub[32], sig[64];
    veil_entity *e = signer_of(w, "signer_app", pub);
    assert_int_equal(veil_entity_sign(e, "app.v1", (const uint8_t *)"hello", 5, sig), 0);
    assert_int_equal(veil_identity_verify(w->v, VEIL_SECRET_ED25519, pub, 32, "app.v1", (const uint8_t *)"hello", 5, sig),
                     0);
    assert_int_equal(spec_verify(w->v, pub, "veil.app:app.v1", (const uint8_t *)"hello", 5, sig),
                     0);
    assert_error_contains(veil_identity_verify(w->v, VEIL_SECRET_ED25519, pub, 32, "app.v2", (const uint8_t *)"hello", 5, sig),
                          VEIL_EAUTH, "not a signature by this key in context 'app.v2'");
    veil_entity_close(e);
}

/* The length prefix: ("a", "bc") is not ("ab", "c"). */
static void test_item6_context_length_prefixed(void **state)
{
    world *w = *state;
    uint8_t pub[32], sig[64];
    veil_entity *e = signer_of(w, "signer_prefix", pub);
    assert_int_equal(veil_entity_sign(e, "a", (const uint8_t *)"bc", 2, sig), 0);
    assert_error_contains(veil_identity_verify(w->v, VEIL_SECRET_ED25519, pub, 32, "ab", (const uint8_t *)"c", 1, sig),
                          VEIL_EAUTH, "context 'ab'");
    veil_entity_close(e);
}

/* An application signature over an attestation's payload is no
 * attestation. */
static void test_item6_app_signature_is_not_an_attestation(void **state)
{
    world *w = *state;
    uint8_t pub[32], sig[64], payload[41], msg[512];
    veil_entity *e = signer_of(w, "signer_attest", pub);
    payload[0] = 4;
    memset(payload + 1, 0x42, 32);
    put64(payload + 33, 0);
    assert_int_equal(veil_entity_sign(e, "veil.channel.attest.v2", payload, sizeof payload, sig),
                     0);
    assert_int_equal(spec_verify(w->v, pub, ATTEST_DOMAIN, payload, sizeof payload, sig),
                     VEIL_EAUTH);
    size_t mlen = spec_message(msg, ATTEST_DOMAIN, payload, sizeof payload);
    assert_int_equal(veil_entity_sign(e, "z", msg, mlen, sig), 0);
    assert_int_equal(spec_verify(w->v, pub, ATTEST_DOMAIN, payload, sizeof payload, sig),
                     VEIL_EAUTH);
    veil_entity_close(e);
}

/* The create event's signature is no application signature, whatever the
 * context and message. */
static void test_item6_event_signature_is_not_an_app_signature(void **state)
{
    world *w = *state;
    uint8_t pub[32], msg[512];
    size_t len;
    veil_entity *e = signer_of(w, "signer_event", pub);
    const uint8_t *h = veil_entity_history(e, &len);
    const uint8_t *ev_sig = h + HDR + EV_SIG_NEW;
    size_t mlen = spec_message(msg, EVENT_DOMAIN, h + HDR, EV_BODY);
    const char *contexts[] = { "veil.identity.event.v2", "identity.event.v2", "x" };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(veil_identity_verify(w->v, VEIL_SECRET_ED25519, pub, 32, contexts[i], h + HDR, EV_BODY, ev_sig),
                         VEIL_EAUTH);
        assert_int_equal(veil_identity_verify(w->v, VEIL_SECRET_ED25519, pub, 32, contexts[i], msg, mlen, ev_sig),
                         VEIL_EAUTH);
    }
    assert_int_equal(spec_verify(w->v, pub, EVENT_DOMAIN, h + HDR, EV_BODY, ev_sig), 0);
    veil_entity_close(e);
}

/* Arguments: the context's presence and length, the vault. */
/* veil_history_events: each event's key and times as the bytes hold them
 * (docs/PROTOCOL.md layout, read independently here), the size query, a
 * too-small array, and nothing written for a forged history. */
static void test_events(void **state)
{
    world *w = *state;
    veil_entity *e;
    veil_history_event ev[4];
    size_t n = 99, len;
    veil_key_times t0 = { 1000000, 2000000, 0 }, t1 = { 1500000, 0, 0 };
    assert_int_equal(veil_entity_open_with(w->node, w->v, "events", VEIL_ENTITY_CREATE, &t0,
                                           &e), 0);
    assert_int_equal(veil_entity_rotate_with(e, &t1), 0);
    const uint8_t *h = veil_entity_history(e, &len);
    assert_int_equal(veil_history_events(w->v, h, len, NULL, 0, &n), VEIL_ELIMIT);
    assert_int_equal(n, 2);
    memset(ev, 0xee, sizeof ev);
    assert_error(veil_history_events(w->v, h, len, ev, 1, &n), VEIL_ELIMIT,
                 "veil_history_events: the history has 2 events, room for 1");
    assert_int_equal(n, 2);
    assert_int_equal(veil_history_events(w->v, h, len, ev, 4, &n), 0);
    assert_int_equal(n, 2);
    const size_t at[2] = { HDR, HDR + CREATE_LEN };
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(ev[i].seq, i);
        assert_int_equal(ev[i].created, get64(h + at[i] + EV_CREATED));
        assert_int_equal(ev[i].expires, get64(h + at[i] + EV_EXPIRES));
        assert_memory_equal(ev[i].key, h + at[i] + EV_KEY, 32);
    }
    assert_int_equal(ev[0].created, 1000000);
    assert_int_equal(ev[0].expires, 2000000);
    assert_int_equal(ev[1].created, 1500000);
    uint8_t pub[32];
    assert_int_equal(ed_key(e, pub), 0);
    assert_memory_equal(ev[1].key, pub, 32);
    /* A forged history: the verification's error, out untouched. */
    uint8_t bad[VEIL_HISTORY_MAX_BYTES];
    memcpy(bad, h, len);
    bad[HDR + CREATE_LEN + EV_SIG_PREV + 3] ^= 1;
    memset(ev, 0xee, sizeof ev);
    assert_error_contains(veil_history_events(w->v, bad, len, ev, 4, &n), VEIL_EAUTH,
                          "field 'sig_prev'");
    for (size_t i = 0; i < sizeof ev; i++)
        assert_int_equal(((uint8_t *)ev)[i], 0xee);
    assert_error(veil_history_events(w->v, h, len, NULL, 1, &n), VEIL_EINVAL,
                 "veil_history_events: out (with cap > 0) is NULL");
    veil_entity_close(e);
}

static void test_item6_arguments(void **state)
{
    world *w = *state;
    uint8_t pub[32], sig[64], msg[1] = { 0 };
    veil_entity *e = signer_of(w, "signer_args", pub);
    char longctx[VEIL_SIGN_CONTEXT_MAX + 2];
    memset(longctx, 'c', sizeof longctx - 1);
    longctx[sizeof longctx - 1] = '\0';
    assert_error(veil_entity_sign(e, NULL, msg, 1, sig), VEIL_EINVAL,
                 "veil_entity_sign: context is NULL (name what the signature is for, e.g. "
                 "\"myapp.invoice.v1\")");
    assert_error(veil_entity_sign(e, "", msg, 1, sig), VEIL_EINVAL,
                 "veil_entity_sign: context of 0 bytes (expected 1..128)");
    assert_error_contains(veil_entity_sign(e, longctx, msg, 1, sig), VEIL_EINVAL,
                          "context of more than 128 bytes (expected 1..128)");
    longctx[VEIL_SIGN_CONTEXT_MAX] = '\0';
    assert_int_equal(veil_entity_sign(e, longctx, msg, 1, sig), 0);
    assert_int_equal(veil_identity_verify(w->v, VEIL_SECRET_ED25519, pub, 32, longctx, msg, 1, sig), 0);
    assert_error_contains(veil_identity_verify(NULL, VEIL_SECRET_ED25519, pub, 32, "x", msg, 1, sig), VEIL_EINVAL,
                          "vault is NULL");
    veil_entity_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forged),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_reordered_and_links),
        cmocka_unit_test(test_header_and_fields),
        cmocka_unit_test(test_time_rules),
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_item6_app_signature_is_not_an_event),
        cmocka_unit_test(test_item6_app_context_is_its_own),
        cmocka_unit_test(test_item6_context_length_prefixed),
        cmocka_unit_test(test_item6_app_signature_is_not_an_attestation),
        cmocka_unit_test(test_item6_event_signature_is_not_an_app_signature),
        cmocka_unit_test(test_item6_arguments),
        cmocka_unit_test(test_events),
    };
    return cmocka_run_group_tests(tests, setup, world_teardown);
}
