/* X3DH prekey directory on a third node (plugins/x3dh/x3dh_directory.c):
 * three nodes in one process, each on its own thread, over the tcp
 * transport on loopback:
 *   D  the directory (veil_key_agreement_directory_start), no listener;
 *   B  Bob's listener, publishing to D ([prekeys] directory_route), and
 *      topping D up when D reports fewer OPKs than opk_low_water;
 *   A  Alice (this thread), fetching bundles from D ([prekeys] route) and
 *      opening a channel to Bob on B.
 * Also: D refuses a publication whose SPK signature does not verify under
 * its IK, and one whose publication signature does not (exact errors).
 * The directory's other rules, on one node, are in test_x3dh_directory.c.
 * Formats: docs/X3DH.md, "Prekey service" (version 2). */
#include "test_prekeys.h"
#include "assert_error.h"

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
        rc = veil_key_agreement_directory_start(node, *v);
    if (rc == 0 && p->trust[0] != '\0' &&
        (rc = veil_entity_open(node, *v, NULL, VEIL_ENTITY_CREATE, bob)) == 0 &&
        (rc = veil_trust_policy_new_identifier(node, &id, 1, &pol)) == 0)
        rc = veil_secure_channel_listener_open(*bob, "bob", pol);
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
    int rc = veil_config_new_from_text(&cfg, p->config, "<peer>");
    /* Bob's channels may reach his echoer (flow control) */
    if (rc == 0)
        rc = veil_config_set(cfg, "secure_channel", "allowed_workers", "echoer");
    o.config = cfg;
    if (rc == 0)
        rc = veil_node_new(&node, &app, &o);
    if (rc == 0)
        rc = peer_setup(p, node, app, &v, &bob);
    if (rc < 0)
        snprintf(p->error, sizeof p->error, "%s: %s", veil_strerror(rc), veil_last_error());
    atomic_store(&p->ready, rc < 0 ? -1 : 1);
    while (rc == 0 && !atomic_load(&p->stop))
        rc = veil_node_run_once(node, 20);
    veil_entity_close(bob);
    veil_vault_close(v);
    (void)veil_node_free(node);
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
    static const uint8_t req[] = { 2, 0x01, 3, 'b', 'o', 'b' };
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
        assert_int_equal(n, 3);
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    fail_msg("the directory never had Bob's bundle");
}

/* A publication for "mallory" built from bundle b (its first 136 bytes,
 * the OPK flag cleared), no OPKs, no proof and a zero signature. */
static size_t publication(const uint8_t *b, uint8_t *out)
{
    size_t n = 0;
    out[n++] = 2;
    out[n++] = 0x02;
    out[n++] = 7;
    memcpy(out + n, "mallory", 7);
    n += 7;
    memset(out + n, 0, 8);
    out[n + 7] = 1;                        /* seq 1 */
    n += 8;
    memset(out + n, 0xa5, 16);             /* nonce */
    n += 16;
    out[n++] = 0;                          /* flags */
    memcpy(out + n, b, 136);
    out[n + 1] = 0;                        /* bundle flags: no OPK */
    n += 136;
    out[n++] = 0;
    out[n++] = 0;                          /* no OPKs */
    out[n++] = 0;
    out[n++] = 0;                          /* no proof */
    memset(out + n, 0, 64);
    return n + 64;
}

#define MALLORY_SPK_SIG (3 + 7 + 8 + 16 + 1 + 72)

static void refused(veil_node *node, const veil_route *dir, uint8_t *pub, size_t len,
                    const char *want)
{
    uint8_t ans[1024];
    static const uint8_t nonce[16] = { 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
                                       0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5 };
    size_t n = ask(node, dir, pub, len, ans, sizeof ans - 1);
    assert_true(n > 3 + 8 + 16);
    assert_int_equal(ans[1], 0x82);
    assert_int_equal(-(int)ans[2], VEIL_EAUTH);
    assert_int_equal(ans[3], 7);            /* the name, the nonce, then the detail */
    assert_memory_equal(ans + 4, "mallory", 7);
    assert_memory_equal(ans + 11, nonce, 16);
    ans[n] = '\0';
    if (strcmp((char *)ans + 27, want) != 0)
        fail_msg("refusal detail '%s', expected '%s'", (char *)ans + 27, want);
}

#define DIAL "[transport.tcp]\nauto_connect = true\n"

static void test_directory_third_node(void **state)
{
    (void)state;
    static peer d, b;
    memset(&d, 0, sizeof d);
    /* every node here dials the others on first use (auto_connect) */
    snprintf(d.config, sizeof d.config, "[key_agreement]\nplugin = x3dh\n" DIAL);
    d.directory = true;
    peer_start(&d);

    veil_node *node;
    veil_context *app;
    char conf[512];
    snprintf(conf, sizeof conf, DIAL "[key_agreement]\nplugin = x3dh\n[prekeys]\n"
             "route = %s => prekeys\n", d.bound);
    node_from(conf, &node, &app);
    assert_int_equal(veil_node_transport_start(node, "tcp"), 0);
    veil_entity *alice;
    assert_int_equal(veil_entity_open(node, NULL, NULL, VEIL_ENTITY_CREATE, &alice), 0);

    memset(&b, 0, sizeof b);
    snprintf(b.config, sizeof b.config, DIAL "[key_agreement]\nplugin = x3dh\n[prekeys]\n"
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
    int rc = veil_secure_channel_open(alice, &r, pol, &ch);
    if (rc < 0)
        fail_msg("channel via the directory: %s", veil_last_error());
    round_trip(app, &ch, "Hello Ockam!");
    assert_int_equal(veil_secure_channel_close(node, &ch), 0);

    /* Top-up: the channel took the second of the 3 published OPKs, this
     * fetch the third; Bob learns the directory is low from the next
     * acknowledgement and publishes more (publish_interval_s = 1). */
    static const uint8_t req[] = { 2, 0x01, 3, 'b', 'o', 'b' };
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
    pub[MALLORY_SPK_SIG] ^= 0x01;            /* first byte of the SPK signature */
    char want[400];
    snprintf(want, sizeof want, "prekey directory 'prekeys': refused the publication for "
             "'mallory': x3dh: bundle: the signature of SPK %u is not a valid XEdDSA signature "
             "by IK over Encode(SPK)", (unsigned)be32(bundle + 35));
    size_t wl = strlen(want);
    uint8_t why[1024];
    size_t got = ask(node, &dir, pub, n, why, sizeof why - 1);
    why[got] = '\0';
    assert_int_equal(-(int)why[2], VEIL_EAUTH);
    if (strncmp((char *)why + 27, want, wl) != 0) /* then the vault's reason */
        fail_msg("refusal detail '%s' does not start with '%s'", (char *)why + 27, want);
    /* ... and one with a valid SPK signature but not signed as a whole. */
    n = publication(bundle, pub);
    refused(node, &dir, pub, n, "publication for 'mallory': its signature does not verify "
            "under the bundle's identity key");

    veil_entity_close(alice);
    assert_int_equal(veil_node_free(node), 0);
    peer_join(&b);
    peer_join(&d);
    assert_int_equal(b.echo.count, 1);
}

static void directory_up(const char *prekeys, veil_node **node, veil_vault **v)
{
    char conf[1024];
    veil_context *app;
    snprintf(conf, sizeof conf, "[key_agreement]\nplugin = x3dh\n[prekeys]\n%s", prekeys);
    node_from(conf, node, &app);
    assert_int_equal(veil_vault_open(*node, NULL, v), 0);
    assert_int_equal(veil_key_agreement_directory_start(*node, *v), 0);
}

static void directory_down(veil_node *node, veil_vault *v)
{
    veil_vault_close(v);
    assert_int_equal(veil_node_free(node), 0);
}

/* A node that only holds the publishers' identities (in its vault). */
static void holder_up(veil_node **node, veil_vault **v)
{
    veil_context *app;
    node_from(NULL, node, &app);
    assert_int_equal(veil_vault_open(*node, NULL, v), 0);
}

/* Issue #10 item 7, squatting: a publication must be signed by the
 * identity it names, and a name is bound to an identifier — configured
 * ([prekeys] directory_names, so from the directory's start, across
 * restarts), or else the first verified identity that publishes it.
 * Bob and Mallory are real identities (their proofs attest the keys that
 * sign); the directory is restarted with the same configuration.  Before
 * the fix (v1 wire format) Mallory's publication for 'bob' was accepted
 * (first publisher wins, by key, until a restart). */
static void test_squatting_refused(void **state)
{
    (void)state;
    veil_node *holder, *node;
    veil_vault *hv, *v;
    holder_up(&holder, &hv);
    signer bob, mallory;
    signer_new(holder, hv, &bob);
    signer_new(holder, hv, &mallory);
    char conf[512], upper[VEIL_IDENTIFIER_LEN + 1];
    snprintf(upper, sizeof upper, "%s", veil_entity_identifier(bob.e));
    for (char *c = upper + 1; *c; c++)  /* identifiers are case-insensitive */
        *c = (char)(*c >= 'a' && *c <= 'f' ? *c - 32 : *c);
    snprintf(conf, sizeof conf, "directory_names = bob = %s , bobby=%s\n", upper,
             veil_entity_identifier(bob.e));
    uint8_t pub[PUB_MAX], body[1024];
    static const uint8_t fetch[] = { 2, 0x01, 3, 'b', 'o', 'b' };
    size_t n;
    for (int run = 0; run < 2; run++) { /* the second run: a restarted directory */
        directory_up(conf, &node, &v);
        n = sign_pub(&mallory, "bob", 100 + run, 0, 1, 1, false, pub);
        publish_refused(node, pub, n, VEIL_EEXIST, "publication for 'bob': the name is bound "
                        "to another identity");
        fetch_refused(node, fetch, sizeof fetch, VEIL_ENOTFOUND);
        n = sign_pub(&bob, "bob", 10 + run, 0, 1, 7, false, pub);
        publish_ok(node, pub, n, 1, 7);
        assert_int_equal(expect(node, fetch, sizeof fetch, 0x01, 0, body), 173);
        assert_memory_equal(body + 3, bob.ik_pub, 32);
        /* An unconfigured name: the first verified identity takes it, until
         * a restart (run 0: Mallory first; run 1: Bob first). */
        signer *first = run == 0 ? &mallory : &bob, *second = run == 0 ? &bob : &mallory;
        n = sign_pub(first, "carol", 1, 0, 0, 0, false, pub);
        publish_ok(node, pub, n, 0, 0);
        n = sign_pub(second, "carol", 2, 0, 0, 0, false, pub);
        publish_refused(node, pub, n, VEIL_EEXIST, "publication for 'carol': the name is bound "
                        "to another identity");
        directory_down(node, v);
    }
    /* directory_open = no: only configured names. */
    snprintf(conf, sizeof conf, "directory_open = no\ndirectory_names = bob=%s\n",
             veil_entity_identifier(bob.e));
    directory_up(conf, &node, &v);
    n = sign_pub(&mallory, "dave", 1, 0, 0, 0, false, pub);
    publish_refused(node, pub, n, VEIL_EPERM, "publication for 'dave': this directory takes "
                    "only the names configured in directory_names");
    directory_down(node, v);
    /* Configuration errors name the key's origin and the bad item. */
    static const char *const bad[][2] = {
        { "directory_names = bob\n", "veil_key_agreement_directory_start: <test>:4: [prekeys] directory_names: 'bob' is not "
          "name=identifier" },
        { "directory_names = a=P00, b=Q\n", "veil_key_agreement_directory_start: <test>:4: [prekeys] directory_names: 'P00' is not "
          "an identifier (P and 64 hex digits)" },
    };
    for (size_t i = 0; i < 2; i++) {
        veil_context *app;
        snprintf(conf, sizeof conf, "[key_agreement]\nplugin = x3dh\n[prekeys]\n%s", bad[i][0]);
        node_from(conf, &node, &app);
        assert_int_equal(veil_vault_open(node, NULL, &v), 0);
        assert_error(veil_key_agreement_directory_start(node, v), VEIL_ECONFIG, bad[i][1]);
        directory_down(node, v);
    }
    signer_free(&bob);
    signer_free(&mallory);
    directory_down(holder, hv);
}

/* Issue #10 item 7, the number of names: directory_names_max = 2 bounds
 * the names bound at run time; beyond: VEIL_ELIMIT and its detail, and
 * nothing is served for the refused name; configured names and names
 * already bound are still taken.  Before the fix (v1) 2000 names of one
 * publisher were all accepted. */
static void test_directory_names_limit(void **state)
{
    (void)state;
    veil_node *holder, *node;
    veil_vault *hv, *v;
    holder_up(&holder, &hv);
    signer s;
    signer_new(holder, hv, &s);
    char conf[256];
    snprintf(conf, sizeof conf, "directory_names_max = 2\ndirectory_names = bob=%s\n",
             veil_entity_identifier(s.e));
    directory_up(conf, &node, &v);
    uint8_t pub[PUB_MAX];
    size_t n = sign_pub(&s, "n1", 1, 0, 1, 1, false, pub);
    publish_ok(node, pub, n, 1, 1);
    n = sign_pub(&s, "n2", 1, 0, 1, 1, false, pub);
    publish_ok(node, pub, n, 1, 1);
    n = sign_pub(&s, "n3", 1, 0, 1, 1, false, pub);
    publish_refused(node, pub, n, VEIL_ELIMIT, "publication for 'n3': the directory holds as "
                    "many names as it takes (directory_names_max)");
    static const uint8_t fetch_n3[] = { 2, 0x01, 2, 'n', '3' };
    fetch_refused(node, fetch_n3, sizeof fetch_n3, VEIL_ENOTFOUND);
    n = sign_pub(&s, "bob", 1, 0, 1, 1, false, pub);
    publish_ok(node, pub, n, 1, 1);
    n = sign_pub(&s, "n1", 2, 0, 1, 5, false, pub);
    publish_ok(node, pub, n, 2, 1);
    directory_down(node, v);
    signer_free(&s);
    directory_down(holder, hv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directory_third_node),
        cmocka_unit_test(test_squatting_refused),
        cmocka_unit_test(test_directory_names_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
