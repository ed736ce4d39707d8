/* X3DH prekey directory on a third node (plugins/x3dh/x3dh_directory.c):
 * three nodes in one process, each on its own thread, over the tcp
 * transport on loopback:
 *   D  the directory (veil_prekey_directory_start), no listener;
 *   B  Bob's listener, publishing to D ([prekeys] directory_route), and
 *      topping D up when D reports fewer OPKs than opk_low_water;
 *   A  Alice (this thread), fetching bundles from D ([prekeys] route) and
 *      opening a channel to Bob on B.
 * Also: D refuses a publication whose SPK signature does not verify under
 * its IK, and one whose publication signature does not (exact errors);
 * and, on one node, the directory's other rules over the wire: OPKs handed
 * out once, replayed/stale publications, first-publisher-wins names,
 * malformed and low-order input, require_opk, fetch errors.
 * Formats: docs/X3DH.md, "Prekey service". */
#include "test_prekeys.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

typedef struct peer {
    pthread_t th;
    char config[512];
    bool directory;
    char trust[VEIL_IDENTIFIER_LEN + 1];   /* non-empty: Bob listens, trusting it */
    char bound[VEIL_ADDRESS_TEXT_MAX + 1];
    char error[512];
    echo_state echo;
    atomic_int ready;                      /* 1 up, -1 failed */
    atomic_int stop;
} peer;

static int peer_setup(peer *p, veil_node *node, veil_context *app, veil_vault **v,
                      veil_entity **bob)
{
    veil_address a;
    veil_trust_policy *pol;
    const char *id = p->trust;
    int rc = veil_vault_open(node, NULL, v);
    if (rc == 0)
        rc = veil_ctx_start_worker(app, "echoer", &echo_ops, &p->echo);
    if (rc == 0)
        rc = veil_node_transport_listen(node, "tcp", "127.0.0.1:0", &a);
    if (rc == 0)
        veil_address_format(&a, p->bound, sizeof p->bound);
    if (rc == 0 && p->directory)
        rc = veil_prekey_directory_start(node, *v);
    if (rc == 0 && p->trust[0] != '\0' &&
        (rc = veil_entity_create(node, *v, NULL, bob)) == 0 &&
        (rc = veil_trust_policy_identifier(node, &id, 1, &pol)) == 0)
        rc = veil_secure_channel_listener_create(*bob, "bob", pol);
    return rc;
}

/* A node lives and dies on its own thread (nodes are single-threaded). */
static void *peer_main(void *arg)
{
    peer *p = arg;
    veil_node *node = NULL;
    veil_context *app;
    veil_vault *v = NULL;
    veil_entity *bob = NULL;
    veil_config *cfg = NULL;
    veil_node_options o = { .size = sizeof o };
    int rc = veil_config_parse(&cfg, p->config, "<peer>");
    o.config = cfg;
    if (rc == 0)
        rc = veil_node_create(&node, &app, &o);
    if (rc == 0)
        rc = peer_setup(p, node, app, &v, &bob);
    if (rc < 0)
        snprintf(p->error, sizeof p->error, "%s: %s", veil_strerror(rc), veil_last_error());
    atomic_store(&p->ready, rc < 0 ? -1 : 1);
    while (rc == 0 && !atomic_load(&p->stop))
        rc = veil_node_run_once(node, 20);
    veil_entity_free(bob);
    veil_vault_close(v);
    (void)veil_node_stop(node);
    veil_config_free(cfg);
    return NULL;
}

static void peer_start(peer *p)
{
    assert_int_equal(pthread_create(&p->th, NULL, peer_main, p), 0);
    while (atomic_load(&p->ready) == 0) {
        struct timespec ts = { 0, 5000000 };
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&p->ready) < 0)
        fail_msg("peer: %s", p->error);
}

static void peer_join(peer *p)
{
    atomic_store(&p->stop, 1);
    assert_int_equal(pthread_join(p->th, NULL), 0);
}

/* FETCH "bob" from route until the directory has it (B publishes on its
 * own thread); the bundle (173 bytes: with an OPK) into b. */
static void fetch_published(veil_node *node, const veil_route *dir, uint8_t *b)
{
    static const uint8_t req[] = { 1, 0x01, 3, 'b', 'o', 'b' };
    uint8_t ans[1024];
    for (int tries = 0; tries < 200; tries++) {
        size_t n = ask(node, dir, req, sizeof req, ans, sizeof ans);
        assert_true(n >= 3);
        assert_int_equal(ans[1], 0x81);
        if (ans[2] == 0) {
            assert_int_equal(n, 3 + 173);
            memcpy(b, ans + 3, 173);
            return;
        }
        assert_int_equal(-(int)ans[2], VEIL_ENOTFOUND);
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    fail_msg("the directory never had Bob's bundle");
}

/* A publication for "mallory" built from bundle b (its first 136 bytes,
 * the OPK flag cleared), no OPKs, and a zero signature. */
static size_t publication(const uint8_t *b, uint8_t *out)
{
    size_t n = 0;
    out[n++] = 1;
    out[n++] = 0x02;
    out[n++] = 7;
    memcpy(out + n, "mallory", 7);
    n += 7;
    memset(out + n, 0, 8);
    out[n + 7] = 1;                        /* seq 1 */
    n += 8;
    out[n++] = 0;                          /* flags */
    memcpy(out + n, b, 136);
    out[n + 1] = 0;                        /* bundle flags: no OPK */
    n += 136;
    out[n++] = 0;
    out[n++] = 0;                          /* no OPKs */
    memset(out + n, 0, 64);
    return n + 64;
}

static void refused(veil_node *node, const veil_route *dir, uint8_t *pub, size_t len,
                    const char *want)
{
    uint8_t ans[1024];
    size_t n = ask(node, dir, pub, len, ans, sizeof ans - 1);
    assert_true(n > 3 + 8);
    assert_int_equal(ans[1], 0x82);
    assert_int_equal(-(int)ans[2], VEIL_EAUTH);
    assert_int_equal(ans[3], 7);            /* the name, then the detail */
    assert_memory_equal(ans + 4, "mallory", 7);
    ans[n] = '\0';
    if (strstr((char *)ans + 11, want) == NULL)
        fail_msg("refusal detail '%s' lacks '%s'", (char *)ans + 11, want);
}

static void test_directory_third_node(void **state)
{
    (void)state;
    static peer d, b;
    memset(&d, 0, sizeof d);
    snprintf(d.config, sizeof d.config, "[key_agreement]\nplugin = x3dh\n");
    d.directory = true;
    peer_start(&d);

    veil_node *node;
    veil_context *app;
    char conf[512];
    snprintf(conf, sizeof conf, "[key_agreement]\nplugin = x3dh\n[prekeys]\nroute = %s => prekeys\n",
             d.bound);
    node_from(conf, &node, &app);
    assert_int_equal(veil_node_transport_start(node, "tcp"), 0);
    veil_entity *alice;
    assert_int_equal(veil_entity_create(node, NULL, NULL, &alice), 0);

    memset(&b, 0, sizeof b);
    snprintf(b.config, sizeof b.config, "[key_agreement]\nplugin = x3dh\n[prekeys]\n"
             "directory_route = %s => prekeys\nopk_count = 3\nopk_low_water = 2\n"
             "publish_interval_s = 1\n", d.bound);
    snprintf(b.trust, sizeof b.trust, "%s", veil_entity_identifier(alice));
    peer_start(&b);

    char text[600];
    snprintf(text, sizeof text, "%s => prekeys", d.bound);
    veil_route dir = route_of(text);
    uint8_t bundle[173];
    fetch_published(node, &dir, bundle);
    assert_int_equal(bundle[1], 1);          /* with an OPK */

    /* The channel: bundle from D, handshake with B. */
    snprintf(text, sizeof text, "%s => bob", b.bound);
    veil_route r = route_of(text);
    veil_address ch;
    veil_trust_policy *pol;
    assert_int_equal(veil_trust_policy_new(node, "everyone", NULL, &pol), 0);
    int rc = veil_secure_channel_create(alice, &r, pol, &ch);
    if (rc < 0)
        fail_msg("channel via the directory: %s", veil_last_error());
    round_trip(app, &ch, "Hello Ockam!");
    assert_int_equal(veil_secure_channel_close(node, &ch), 0);

    /* Top-up: the channel took the second of the 3 published OPKs, this
     * fetch the third; Bob learns the directory is low from the next
     * acknowledgement and publishes more (publish_interval_s = 1). */
    static const uint8_t req[] = { 1, 0x01, 3, 'b', 'o', 'b' };
    uint8_t ans[512];
    uint32_t first = be32(bundle + 136);
    assert_int_equal(ask(node, &dir, req, sizeof req, ans, sizeof ans), 3 + 173);
    assert_int_equal(be32(ans + 3 + 136), first + 2);
    bool topped = false;
    for (int i = 0; i < 100 && !topped; i++) {
        size_t got = ask(node, &dir, req, sizeof req, ans, sizeof ans);
        assert_int_equal(ans[2], 0);
        if (got == 3 + 173) {
            assert_true(be32(ans + 3 + 136) >= first + 3);
            topped = true;
        } else {
            assert_int_equal(got, 3 + 136);   /* meanwhile: 3-DH bundles */
            struct timespec ts = { 0, 50000000 };
            nanosleep(&ts, NULL);
        }
    }
    assert_true(topped);

    /* D refuses a publication whose SPK signature is wrong ... */
    uint8_t pub[512];
    size_t n = publication(bundle, pub);
    pub[3 + 7 + 9 + 72] ^= 0x01;             /* first byte of the SPK signature */
    refused(node, &dir, pub, n, "is not a valid XEdDSA signature by IK over Encode(SPK)");
    /* ... and one with a valid SPK signature but not signed as a whole. */
    n = publication(bundle, pub);
    refused(node, &dir, pub, n, "its signature does not verify under the bundle's identity key");

    veil_entity_free(alice);
    assert_int_equal(veil_node_stop(node), 0);
    peer_join(&b);
    peer_join(&d);
    assert_int_equal(b.echo.count, 1);
}

/* ---- the directory's rules, on the wire (one node) -------------------- */

typedef struct signer {
    veil_vault *v;
    veil_secret ik, spk;
    uint8_t ik_pub[32], spk_pub[32];
} signer;

static void signer_new(veil_vault *v, signer *s)
{
    veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
    size_t n;
    s->v = v;
    assert_int_equal(veil_vault_generate(v, &a, &s->ik), 0);
    assert_int_equal(veil_vault_generate(v, &a, &s->spk), 0);
    assert_int_equal(veil_vault_public_key(v, s->ik, s->ik_pub, 32, &n), 0);
    assert_int_equal(veil_vault_public_key(v, s->spk, s->spk_pub, 32, &n), 0);
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* A publication signed by s (docs/X3DH.md, "Prekey service"): SPK id 7,
 * OPKs with ids first_id.. (fresh X25519 keys; opk_zero: the first is the
 * low-order point 0). */
static size_t sign_pub(const signer *s, const char *name, uint64_t seq, uint8_t flags,
                       unsigned n, uint32_t first_id, bool opk_zero, uint8_t *out)
{
    static const char dom[] = "veil.x3dh.publish.v1";
    uint8_t buf[2048], enc[33] = { 0x05 };
    size_t d = sizeof dom - 1, pos = d, nl = strlen(name);
    memcpy(buf, dom, d);
    buf[pos++] = 1;
    buf[pos++] = 0x02;
    buf[pos++] = (uint8_t)nl;
    memcpy(buf + pos, name, nl);
    pos += nl;
    put_be(buf + pos, seq, 8);
    pos += 8;
    buf[pos++] = flags;
    buf[pos++] = 1;                                   /* bundle version */
    buf[pos++] = 0;                                   /* no OPK */
    buf[pos++] = 0x05;
    memcpy(buf + pos, s->ik_pub, 32);
    pos += 32;
    put_be(buf + pos, 7, 4);
    pos += 4;
    buf[pos++] = 0x05;
    memcpy(buf + pos, s->spk_pub, 32);
    pos += 32;
    memcpy(enc + 1, s->spk_pub, 32);
    assert_int_equal(veil_vault_sign(s->v, s->ik, enc, 33, buf + pos), 0); /* XEdDSA */
    pos += 64;
    put_be(buf + pos, n, 2);
    pos += 2;
    for (unsigned i = 0; i < n; i++) {
        veil_secret k;
        veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
        size_t len;
        put_be(buf + pos, first_id + i, 4);
        buf[pos + 4] = 0x05;
        assert_int_equal(veil_vault_generate(s->v, &a, &k), 0);
        assert_int_equal(veil_vault_public_key(s->v, k, buf + pos + 5, 32, &len), 0);
        if (opk_zero && i == 0)
            memset(buf + pos + 5, 0, 32);
        assert_int_equal(veil_vault_destroy(s->v, k), 0);
        pos += 37;
    }
    assert_int_equal(veil_vault_sign(s->v, s->ik, buf, pos, buf + pos), 0);
    pos += 64;
    memcpy(out, buf + d, pos - d);
    return pos - d;
}

/* Send to "prekeys", expect a reply to op with status want; the reply's
 * body (after version, op, status) NUL-terminated in body. */
static size_t expect(veil_node *node, const uint8_t *req, size_t len, uint8_t op, int want,
                     uint8_t *body)
{
    uint8_t ans[1024];
    veil_route r = route_of("prekeys");
    size_t n = ask(node, &r, req, len, ans, sizeof ans - 1);
    assert_true(n >= 3);
    assert_int_equal(ans[0], 1);
    assert_int_equal(ans[1], op | 0x80);
    if (-(int)ans[2] != want)
        fail_msg("status %d (%.*s), expected %d", -(int)ans[2], (int)(n - 3),
                 (const char *)ans + 3, want);
    memcpy(body, ans + 3, n - 3);
    body[n - 3] = '\0';
    return n - 3;
}

static void refused_because(veil_node *node, const uint8_t *req, size_t len, int want,
                            const char *why)
{
    uint8_t body[1024];
    expect(node, req, len, req[1], want, body);
    size_t skip = req[1] == 0x02 ? 1u + body[0] : 0u;  /* publish replies name first */
    if (strstr((char *)body + skip, why) == NULL)
        fail_msg("detail '%s' lacks '%s'", (char *)body + skip, why);
}

static void test_directory_rules(void **state)
{
    (void)state;
    veil_node *node;
    veil_context *app;
    veil_vault *v;
    node_from("[key_agreement]\nplugin = x3dh\n", &node, &app);
    assert_int_equal(veil_vault_open(node, NULL, &v), 0);
    assert_int_equal(veil_prekey_directory_start(node, v), 0);
    signer s, other;
    signer_new(v, &s);
    signer_new(v, &other);
    uint8_t pub[2048], body[1024];
    static const uint8_t fetch[] = { 1, 0x01, 5, 'c', 'a', 'r', 'o', 'l' };

    /* Accepted: 2 OPKs held; handed out once each, then 3-DH bundles. */
    size_t n = sign_pub(&s, "carol", 5, 0, 2, 100, false, pub);
    assert_int_equal(expect(node, pub, n, 0x02, 0, body), 1 + 5 + 4);
    assert_int_equal(body[1 + 5 + 3], 2);
    for (uint32_t id = 100; id < 102; id++) {
        assert_int_equal(expect(node, fetch, sizeof fetch, 0x01, 0, body), 173);
        assert_int_equal(body[1], 1);
        assert_memory_equal(body + 3, s.ik_pub, 32);
        assert_int_equal(((uint32_t)body[136] << 24 | (uint32_t)body[137] << 16 |
                          (uint32_t)body[138] << 8 | body[139]), id);
    }
    assert_int_equal(expect(node, fetch, sizeof fetch, 0x01, 0, body), 136);
    assert_int_equal(body[1], 0);

    /* The same publication again; an older one: replays. */
    refused_because(node, pub, n, VEIL_EREPLAY, "sequence 5 is not above the last accepted (5)");
    n = sign_pub(&s, "carol", 4, 0, 1, 200, false, pub);
    refused_because(node, pub, n, VEIL_EREPLAY, "replayed or stale");
    /* The name belongs to the first identity key. */
    n = sign_pub(&other, "carol", 9, 0, 1, 300, false, pub);
    refused_because(node, pub, n, VEIL_EEXIST, "published by another identity key");
    /* Malformed: one byte more, ten bytes fewer, unknown flags. */
    n = sign_pub(&s, "carol", 10, 0, 1, 400, false, pub);
    pub[n] = 0;
    refused_because(node, pub, n + 1, VEIL_ETRAILING, "1 OPKs need exactly");
    refused_because(node, pub, n - 10, VEIL_ETRUNCATED, "1 OPKs need exactly");
    n = sign_pub(&s, "carol", 11, 0x80, 0, 0, false, pub);
    refused_because(node, pub, n, VEIL_EFORMAT, "unknown flags 0x80");
    /* Too short to hold a name and an SPK bundle; a NUL byte in the name
     * (sequence 14 is refused both times: 12 and 13 below still count). */
    n = sign_pub(&s, "carol", 14, 0, 0, 0, false, pub);
    refused_because(node, pub, 2 + 1 + 5 + 9, VEIL_ETRUNCATED, "15 bytes is too short");
    pub[4] = 0;                                       /* "c\0rol" */
    refused_because(node, pub, n, VEIL_EFORMAT, "NUL byte in the name");
    /* A low-order OPK (u = 0), validly signed. */
    n = sign_pub(&s, "carol", 12, 0, 2, 500, true, pub);
    refused_because(node, pub, n, VEIL_ELOWORDER, "published OPK");
    /* require_opk in the publication, no OPK left: no bundle at all. */
    n = sign_pub(&s, "carol", 13, 0x01, 0, 0, false, pub);
    assert_int_equal(expect(node, pub, n, 0x02, 0, body), 1 + 5 + 4);
    refused_because(node, fetch, sizeof fetch, VEIL_EAGAIN, "requires one (require_opk)");
    /* Fetch errors: unknown name, bad length, another version. */
    static const uint8_t nobody[] = { 1, 0x01, 3, 'b', 'o', 'b' };
    refused_because(node, nobody, sizeof nobody, VEIL_ENOTFOUND, "no bundle for 'bob'");
    static const uint8_t bad_len[] = { 1, 0x01, 9, 'b', 'o', 'b' };
    refused_because(node, bad_len, sizeof bad_len, VEIL_EFORMAT, "name_len:u8 | name");
    static const uint8_t v2[] = { 2, 0x01, 3, 'b', 'o', 'b' };
    refused_because(node, v2, sizeof v2, VEIL_EVERSION, "request version 2");

    veil_vault_close(v);
    assert_int_equal(veil_node_stop(node), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directory_third_node),
        cmocka_unit_test(test_directory_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
