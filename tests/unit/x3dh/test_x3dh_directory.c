/* The X3DH prekey directory's rules over the wire, on one node
 * (plugins/x3dh/x3dh_directory.c; formats: docs/X3DH.md, "Prekey service",
 * version 2), one scenario per test.  Each test starts from a directory
 * (directory_opk_max = 3) that has accepted Carol's publication of
 * sequence 5 with two OPKs (ids 100, 101) from signer s; signer `other` is
 * another identity.  The directory on a third node over TCP is tested in
 * test_channel_x3dh_dir.c. */
#include "test_prekeys.h"
#include "assert_error.h"

typedef struct dir {
    veil_node *node;
    veil_context *app;
    veil_vault *v;
    signer s, other;
    uint8_t pub[PUB_MAX], body[1024];
    char want[512];
} dir;

static const uint8_t FETCH_CAROL[] = { 2, 0x01, 5, 'c', 'a', 'r', 'o', 'l' };

static int dir_up(void **state)
{
    dir *d = calloc(1, sizeof *d);
    assert_non_null(d);
    node_from("[key_agreement]\nplugin = x3dh\n[prekeys]\ndirectory_opk_max = 3\n", &d->node,
              &d->app);
    assert_int_equal(veil_vault_open(d->node, NULL, &d->v), 0);
    assert_int_equal(veil_key_agreement_directory_start(d->node, d->v), 0);
    signer_new(d->node, d->v, &d->s);
    signer_new(d->node, d->v, &d->other);
    size_t n = sign_pub(&d->s, "carol", 5, 0, 2, 100, false, d->pub);
    publish_ok(d->node, d->pub, n, 2, 100);
    *state = d;
    return 0;
}

static int dir_down(void **state)
{
    dir *d = *state;
    signer_free(&d->s);
    signer_free(&d->other);
    veil_vault_close(d->v);
    assert_int_equal(veil_node_free(d->node), 0);
    free(d);
    return 0;
}

/* Accepted: 2 OPKs held; handed out once each, then 3-DH bundles. */
static void test_directory_hands_out_each_opk_once(void **state)
{
    dir *d = *state;
    for (uint32_t id = 100; id < 102; id++) {
        assert_int_equal(expect(d->node, FETCH_CAROL, sizeof FETCH_CAROL, 0x01, 0, d->body), 173);
        assert_int_equal(d->body[1], 1);
        assert_memory_equal(d->body + 3, d->s.ik_pub, 32);
        assert_int_equal(be32(d->body + 136), id);
    }
    assert_int_equal(expect(d->node, FETCH_CAROL, sizeof FETCH_CAROL, 0x01, 0, d->body), 136);
    assert_int_equal(d->body[1], 0);
}

/* The same publication again; an older one: replays. */
static void test_directory_refuses_replayed_or_stale(void **state)
{
    dir *d = *state;
    size_t n = sign_pub(&d->s, "carol", 5, 0, 2, 100, false, d->pub);
    publish_refused(d->node, d->pub, n, VEIL_EREPLAY, "publication for 'carol': sequence 5 is "
                    "not above the last accepted (5): replayed or stale");
    n = sign_pub(&d->s, "carol", 4, 0, 1, 200, false, d->pub);
    publish_refused(d->node, d->pub, n, VEIL_EREPLAY, "publication for 'carol': sequence 4 is "
                    "not above the last accepted (5): replayed or stale");
}

/* The name is bound to the first identity that published it. */
static void test_directory_binds_name_to_first_identity(void **state)
{
    dir *d = *state;
    size_t n = sign_pub(&d->other, "carol", 9, 0, 1, 300, false, d->pub);
    publish_refused(d->node, d->pub, n, VEIL_EEXIST, "publication for 'carol': the name is "
                    "bound to another identity");
}

/* Malformed: one byte more, ten bytes fewer, unknown flags. */
static void test_directory_refuses_malformed_publication(void **state)
{
    dir *d = *state;
    size_t n = sign_pub(&d->s, "carol", 10, 0, 1, 400, false, d->pub);
    d->pub[n] = 0;
    snprintf(d->want, sizeof d->want, "publication for 'carol': %zu bytes, 1 OPKs and a "
             "%zu-byte proof need exactly %zu", n - 1, d->s.proof_len, n - 2);
    publish_refused(d->node, d->pub, n + 1, VEIL_ETRAILING, d->want);
    snprintf(d->want, sizeof d->want, "publication for 'carol': %zu bytes, 1 OPKs and a "
             "%zu-byte proof need exactly %zu", n - 12, d->s.proof_len, n - 2);
    publish_refused(d->node, d->pub, n - 10, VEIL_ETRUNCATED, d->want);
    n = sign_pub(&d->s, "carol", 11, 0x80, 0, 0, false, d->pub);
    publish_refused(d->node, d->pub, n, VEIL_EFORMAT, "publication for 'carol': unknown flags "
                    "0x80");
}

/* Too short to hold a name and an SPK bundle; a NUL byte in the name. */
static void test_directory_refuses_short_or_nul_name(void **state)
{
    dir *d = *state;
    size_t n = sign_pub(&d->s, "carol", 14, 0, 0, 0, false, d->pub);
    publish_refused(d->node, d->pub, 2 + 1 + 5 + 9, VEIL_ETRUNCATED, "publication: 15 bytes is "
                    "too short");
    d->pub[4] = 0;                                    /* "c\0rol" */
    expect(d->node, d->pub, n, 0x02, VEIL_EFORMAT, d->body);
    assert_int_equal(d->body[0], 0);                  /* no name could be echoed */
    assert_string_equal((char *)d->body + 17, "publication: NUL byte in the name");
}

/* A low-order OPK (u = 0), validly signed. */
static void test_directory_refuses_low_order_opk(void **state)
{
    dir *d = *state;
    size_t n = sign_pub(&d->s, "carol", 12, 0, 2, 500, true, d->pub);
    publish_refused(d->node, d->pub, n, VEIL_ELOWORDER, "x3dh: published OPK is a low-order "
                    "X25519 point (DH with it does not depend on the private key)");
}

/* A proof that attests another key than the publication's IK. */
static void test_directory_refuses_proof_of_another_key(void **state)
{
    dir *d = *state;
    size_t n = sign_pub_proof(&d->other, "erin", 1, 0, 0, 0, false, d->s.proof, d->s.proof_len,
                              d->pub);
    expect(d->node, d->pub, n, 0x02, VEIL_EAUTH, d->body);
    const char *pre = "publication for 'erin': its identity proof does not attest the bundle's "
                      "identity key: ";
    if (strncmp((char *)d->body + 1 + 4 + 16, pre, strlen(pre)) != 0)
        fail_msg("detail '%s'", (char *)d->body + 1 + 4 + 16);
}

/* require_opk in the publication, no OPK left (both handed out first): no
 * bundle at all. */
static void test_directory_require_opk_without_opks(void **state)
{
    dir *d = *state;
    for (int i = 0; i < 2; i++)
        assert_int_equal(expect(d->node, FETCH_CAROL, sizeof FETCH_CAROL, 0x01, 0, d->body), 173);
    size_t n = sign_pub(&d->s, "carol", 13, 0x01, 0, 0, false, d->pub);
    publish_ok(d->node, d->pub, n, 0, 0);
    fetch_refused(d->node, FETCH_CAROL, sizeof FETCH_CAROL, VEIL_EAGAIN);
}

/* Fetch errors: unknown name, bad length, another version. */
static void test_directory_fetch_errors(void **state)
{
    dir *d = *state;
    static const uint8_t nobody[] = { 2, 0x01, 3, 'b', 'o', 'b' };
    fetch_refused(d->node, nobody, sizeof nobody, VEIL_ENOTFOUND);
    static const uint8_t bad_len[] = { 2, 0x01, 9, 'b', 'o', 'b' };
    fetch_refused(d->node, bad_len, sizeof bad_len, VEIL_EFORMAT);
    static const uint8_t v1[] = { 1, 0x01, 3, 'b', 'o', 'b' };
    fetch_refused(d->node, v1, sizeof v1, VEIL_EVERSION);
}

/* directory_opk_max = 3: the oldest (never handed out) make room; a
 * publication of 5 keeps its newest 3; a new store (flag reset) replaces
 * what the name held. */
static void test_directory_opk_cap_and_reset(void **state)
{
    dir *d = *state;
    static const uint8_t fetch_dave[] = { 2, 0x01, 4, 'd', 'a', 'v', 'e' };
    size_t n = sign_pub(&d->s, "dave", 1, 0, 2, 10, false, d->pub);
    publish_ok(d->node, d->pub, n, 2, 10);
    n = sign_pub(&d->s, "dave", 2, 0, 2, 20, false, d->pub);
    publish_ok(d->node, d->pub, n, 3, 11);
    n = sign_pub(&d->s, "dave", 3, 0, 5, 30, false, d->pub);
    publish_ok(d->node, d->pub, n, 3, 32);
    n = sign_pub(&d->s, "dave", 4, 0x02, 1, 40, false, d->pub);
    publish_ok(d->node, d->pub, n, 1, 40);
    assert_int_equal(expect(d->node, fetch_dave, sizeof fetch_dave, 0x01, 0, d->body), 173);
    assert_int_equal(be32(d->body + 136), 40);
}

#define DIR_TEST(f) cmocka_unit_test_setup_teardown(f, dir_up, dir_down)
int main(void)
{
    const struct CMUnitTest tests[] = {
        DIR_TEST(test_directory_hands_out_each_opk_once),
        DIR_TEST(test_directory_refuses_replayed_or_stale),
        DIR_TEST(test_directory_binds_name_to_first_identity),
        DIR_TEST(test_directory_refuses_malformed_publication),
        DIR_TEST(test_directory_refuses_short_or_nul_name),
        DIR_TEST(test_directory_refuses_low_order_opk),
        DIR_TEST(test_directory_refuses_proof_of_another_key),
        DIR_TEST(test_directory_require_opk_without_opks),
        DIR_TEST(test_directory_fetch_errors),
        DIR_TEST(test_directory_opk_cap_and_reset),
    };
    return cmocka_run_group_tests_name("x3dh_directory", tests, NULL, NULL);
}
