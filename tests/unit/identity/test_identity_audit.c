/* Regression tests for issue #10 ("Security: fix what an outside audit
 * found"), items 1 and 2, over real secure channels between entities of
 * one node (both roles), with file vaults where something must persist or
 * be copied.  (Item 6, signing domains: test_history.c.)
 *
 * The attacker of item 1 holds a copy of Alice's vault taken before she
 * rotated (an old backup): her root key, its static key and attestation,
 * and the one-event history.  Bob, who has seen Alice's new history, must
 * refuse that copy (VEIL_EREVOKED) whether it presents the old history
 * (rollback) or rotates on its own (fork), in both channel roles. */
#include "world.h"
#include "assert_error.h"

#include <time.h>
#include <unistd.h>

typedef struct audit_world {
    char dir[64];
    veil_node *node;
    veil_context *app;
    veil_vault *alice_v, *old_v, *bob_v;
    veil_entity *alice, *bob, *mallory;
    echo_state echo;
} audit_world;

/* The listener-side refusals end in the initiator's handshake timeout:
 * short, unless VEIL_TEST_HANDSHAKE_MS asks for more (valgrind). */
static void node_up(audit_world *w, const char *extra)
{
    char conf[2048];
    const char *ms = getenv("VEIL_TEST_HANDSHAKE_MS");
    snprintf(conf, sizeof conf,
             "[vault]\nplugin = software\n"
             "[vault.alice]\nplugin = file\npath = %s/alice.vault\n"
             "passphrase_env = VEIL_TEST_PASSPHRASE\nkdf_n = 1024\nkdf_r = 1\n"
             "[vault.old]\nplugin = file\npath = %s/old.vault\n"
             "passphrase_env = VEIL_TEST_PASSPHRASE\nkdf_n = 1024\nkdf_r = 1\n"
             "[vault.bob]\nplugin = file\npath = %s/bob.vault\n"
             "passphrase_env = VEIL_TEST_PASSPHRASE\nkdf_n = 1024\nkdf_r = 1\n"
             "[secure_channel]\nhandshake_timeout_ms = %s\n%s",
             w->dir, w->dir, w->dir, ms != NULL ? ms : "300", extra != NULL ? extra : "");
    node_from(conf, &w->node, &w->app);
    assert_int_equal(veil_ctx_start_worker(w->app, "echoer", &echo_ops, &w->echo), 0);
}

static void audit_up(audit_world *w)
{
    memset(w, 0, sizeof *w);
    snprintf(w->dir, sizeof w->dir, "/tmp/veil-audit-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    setenv("VEIL_TEST_PASSPHRASE", "audit", 1);
    node_up(w, NULL);
}

static void node_down(audit_world *w)
{
    veil_entity_close(w->alice);
    veil_entity_close(w->bob);
    veil_entity_close(w->mallory);
    veil_vault_close(w->alice_v);
    veil_vault_close(w->old_v);
    veil_vault_close(w->bob_v);
    w->alice = w->bob = w->mallory = NULL;
    w->alice_v = w->old_v = w->bob_v = NULL;
    assert_int_equal(veil_node_free(w->node), 0);
}

static void audit_down(audit_world *w)
{
    char cmd[128];
    node_down(w);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->dir);
    assert_int_equal(system(cmd), 0);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

static void alice_to_bob(audit_world *w, const char *text)
{
    veil_route r = route_of("bob");
    veil_address ch;
    assert_int_equal(veil_secure_channel_open(w->alice, &r, trust_only(w->node, w->bob), &ch),
                     0);
    round_trip(w->app, &ch, text);
}

/* Alice in her file vault; a copy of it taken now (before any rotation);
 * then she rotates and opens a channel to Bob's listener, so Bob learns
 * her two-event history.  Bob lives in the node's software vault unless
 * bob_in_file.  With talk_first, Alice also talks to Bob before rotating:
 * Bob's node has then verified (and cached) exactly the proof the old
 * copy will present. */
static void alice_rotates_after_backup(audit_world *w, bool bob_in_file, bool talk_first)
{
    char from[128], to[128];
    assert_int_equal(veil_vault_open(w->node, "vault.alice", &w->alice_v), 0);
    assert_int_equal(veil_entity_open(w->node, w->alice_v, "alice", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &w->alice), 0);
    snprintf(from, sizeof from, "%s/alice.vault", w->dir);
    snprintf(to, sizeof to, "%s/old.vault", w->dir);
    copy_file(from, to);
    if (bob_in_file)
        assert_int_equal(veil_vault_open(w->node, "vault.bob", &w->bob_v), 0);
    assert_int_equal(veil_entity_open(w->node, w->bob_v, "bob", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &w->bob), 0);
    assert_int_equal(veil_secure_channel_listener_open(w->bob, "bob",
                                                         trust_only(w->node, w->alice)), 0);
    if (talk_first)
        alice_to_bob(w, "from alice before her rotation");
    assert_int_equal(veil_entity_rotate(w->alice), 0);
    alice_to_bob(w, "from the rotated alice");
}

/* The attacker: the old copy of Alice's vault, opened as an entity. */
static void mallory_from_backup(audit_world *w)
{
    assert_int_equal(veil_vault_open(w->node, "vault.old", &w->old_v), 0);
    assert_int_equal(veil_entity_open(w->node, w->old_v, "alice", 0, &w->mallory), 0);
    assert_string_equal(veil_entity_identifier(w->mallory), veil_entity_identifier(w->alice));
}

/* Mallory → Bob's listener: refused there (logged, naming the identifier
 * and the counts); the initiator gets an authenticated REFUSE saying the
 * history is revoked, and nothing is delivered. */
static void expect_listener_refuses(audit_world *w, const char *needle)
{
    veil_route r = route_of("bob");
    veil_address ch;
    unsigned before = w->echo.count;
    char want[512];
    snprintf(want, sizeof want, "peer %s refused this channel: it knows a newer change history "
             "of %s than the one presented (this one is revoked)", veil_entity_identifier(w->bob),
             veil_entity_identifier(w->alice));
    logs_start();
    int rc = veil_secure_channel_open(w->mallory, &r, trust_only(w->node, w->bob), &ch);
    if (rc != VEIL_EREVOKED)
        fail_msg("the listener accepted Alice's old copy: %d %s", rc, veil_last_error());
    assert_last_error(want);
    settle(w->node);
    logs_stop();
    assert_non_null(strstr(LOGS.text, needle));
    assert_non_null(strstr(LOGS.text, veil_entity_identifier(w->alice)));
    assert_non_null(strstr(LOGS.text, "listener 'bob'"));
    assert_int_equal(w->echo.count, before);
}

/* Bob → Mallory's listener: Bob's own create fails with VEIL_EREVOKED. */
static void expect_initiator_refuses(audit_world *w, const char *needle)
{
    veil_route r = route_of("mallory");
    veil_address ch;
    memset(&ch, 0, sizeof ch);   /* a refused create leaves it untouched */
    unsigned before = w->echo.count;
    assert_int_equal(veil_secure_channel_listener_open(w->mallory, "mallory",
                                                       trust_only(w->node, w->bob)), 0);
    logs_start();
    int rc = veil_secure_channel_open(w->bob, &r, trust_only(w->node, w->alice), &ch);
    char detail[1024];
    snprintf(detail, sizeof detail, "%s", veil_last_error());
    settle(w->node);
    logs_stop();
    if (rc != VEIL_EREVOKED || strstr(detail, needle) == NULL ||
        strstr(detail, veil_entity_identifier(w->alice)) == NULL)
        fail_msg("expected VEIL_EREVOKED with '%s', got %d: %s", needle, rc, detail);
    assert_non_null(strstr(LOGS.text, needle)); /* logged too */
    veil_channel_stats s;
    assert_int_equal(veil_secure_channel_stats(w->node, &ch, &s), VEIL_ENOTFOUND);
    assert_int_equal(w->echo.count, before);
    assert_int_equal(veil_ctx_stop_worker(w->app, "mallory"), 0);
}

/* Item 1: after Alice rotated (and Bob saw it), the holder of only her old
 * root key presents the one-event history: Bob's listener refuses — also
 * when Bob verified exactly that proof before (a cache hit never skips the
 * contacts check). */
static void test_item1_rollback_refused_listener(void **state)
{
    (void)state;
    audit_world w;
    audit_up(&w);
    alice_rotates_after_backup(&w, false, true);
    mallory_from_backup(&w);
    expect_listener_refuses(&w, "presented a change history of 1 events, older than the 2 "
                                "events this node knows");
    audit_down(&w);
}

/* Item 1, the other role: Bob dials the old copy's listener. */
static void test_item1_rollback_refused_initiator(void **state)
{
    (void)state;
    audit_world w;
    audit_up(&w);
    alice_rotates_after_backup(&w, false, false);
    mallory_from_backup(&w);
    expect_initiator_refuses(&w, "presented a change history of 1 events, older than the 2 "
                                 "events this node knows");
    audit_down(&w);
}

/* Item 1: the old root key appends a rotation of its own (a fork). */
static void test_item1_fork_refused(void **state)
{
    (void)state;
    audit_world w;
    audit_up(&w);
    alice_rotates_after_backup(&w, false, false);
    mallory_from_backup(&w);
    assert_int_equal(veil_entity_rotate(w.mallory), 0);
    expect_listener_refuses(&w, "presented a change history of 2 events that forks from the 2 "
                                "events this node knows at event 1");
    expect_initiator_refuses(&w, "forks from the 2 events this node knows at event 1");
    audit_down(&w);
}

/* Item 1: a longer valid history is accepted and updates the contact (in
 * the table and in the learning entity's vault). */
static void test_item1_longer_history_updates_contact(void **state)
{
    (void)state;
    audit_world w;
    audit_up(&w);
    alice_rotates_after_backup(&w, false, false);
    veil_contacts *c;
    veil_contact_info info;
    const char *id = veil_entity_identifier(w.alice);
    assert_int_equal(veil_contacts_of(w.node, &c), 0);
    assert_int_equal(veil_contacts_get(c, id, &info), 0);
    assert_int_equal(info.history.events, 2);
    assert_false(info.pinned);
    assert_int_equal(veil_entity_rotate(w.alice), 0);
    veil_route r = route_of("bob");
    veil_address ch;
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch), 0);
    round_trip(w.app, &ch, "three events");
    assert_int_equal(veil_contacts_get(c, id, &info), 0);
    assert_int_equal(info.history.events, 3);
    size_t hlen, rlen;
    const uint8_t *h = veil_entity_history(w.alice, &hlen);
    char rec[VEIL_RECORD_NAME_MAX + 1];
    uint8_t stored[4096];
    snprintf(rec, sizeof rec, "veil.contact.%s", id);
    assert_int_equal(veil_vault_record_get(veil_entity_vault(w.bob), rec, stored, sizeof stored,
                                           &rlen), 0);
    assert_int_equal(rlen, 2 + hlen);
    assert_int_equal(stored[0], 1);
    assert_int_equal(stored[1], 0);
    assert_memory_equal(stored + 2, h, hlen);
    /* The two-event history is now older than what Bob knows. */
    mallory_from_backup(&w);
    assert_int_equal(veil_entity_rotate(w.mallory), 0);
    expect_initiator_refuses(&w, "forks from the 3 events this node knows at event 1");
    audit_down(&w);
}

/* Item 1: what Bob learned lives in his file vault and survives a restart
 * of the node (a new node knows Alice again once Bob's entity is open). */
static void test_item1_contact_survives_reopen(void **state)
{
    (void)state;
    audit_world w;
    audit_up(&w);
    alice_rotates_after_backup(&w, true, false);
    node_down(&w);
    node_up(&w, NULL);
    veil_contacts *c;
    assert_int_equal(veil_contacts_of(w.node, &c), 0);
    assert_int_equal(veil_contacts_count(c), 0);
    assert_int_equal(veil_vault_open(w.node, "vault.alice", &w.alice_v), 0);
    assert_int_equal(veil_entity_open(w.node, w.alice_v, "alice", 0, &w.alice), 0);
    assert_int_equal(veil_vault_open(w.node, "vault.bob", &w.bob_v), 0);
    assert_int_equal(veil_entity_open(w.node, w.bob_v, "bob", 0, &w.bob), 0);
    veil_contact_info info;
    assert_int_equal(veil_contacts_get(c, veil_entity_identifier(w.alice), &info), 0);
    assert_int_equal(info.history.events, 2);
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob",
                                                       trust_only(w.node, w.alice)), 0);
    mallory_from_backup(&w);
    expect_listener_refuses(&w, "presented a change history of 1 events, older than the 2 "
                                "events this node knows");
    audit_down(&w);
}

/* Item 1: an expired current key is refused in both roles (times given
 * through the API: no waiting). */
static void test_item1_expired_key_refused(void **state)
{
    (void)state;
    audit_world w;
    audit_up(&w);
    uint64_t now = (uint64_t)time(NULL);
    veil_key_times t = { now - 1000, now - 400, 0 }; /* past the 300 s skew allowance */
    veil_entity *eve;
    assert_int_equal(veil_entity_open_with(w.node, NULL, "eve", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                           &t, &eve), 0);
    assert_int_equal(veil_entity_open(w.node, NULL, "bob", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &w.bob), 0);
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob", trust_only(w.node, eve)),
                     0);
    veil_route r = route_of("bob");
    veil_address ch;
    char needle[160];
    snprintf(needle, sizeof needle, "its current key (event 0) expired at %llu (now ",
             (unsigned long long)(now - 400));
    char want[512];
    snprintf(want, sizeof want, "peer %s refused this channel: the identity key or attestation "
             "of %s presented has expired by its clock", veil_entity_identifier(w.bob),
             veil_entity_identifier(eve));
    logs_start();
    int rc = veil_secure_channel_open(eve, &r, trust_only(w.node, w.bob), &ch);
    assert_error(rc, VEIL_EEXPIRED, want);
    settle(w.node);
    logs_stop();
    assert_non_null(strstr(LOGS.text, needle));
    assert_non_null(strstr(LOGS.text, veil_entity_identifier(eve)));
    assert_int_equal(veil_secure_channel_listener_open(eve, "eve", trust_only(w.node, w.bob)),
                     0);
    r = route_of("eve");
    assert_error_contains(veil_secure_channel_open(w.bob, &r, trust_only(w.node, eve), &ch),
                          VEIL_EEXPIRED, needle);
    settle(w.node);
    assert_int_equal(w.echo.count, 0);
    veil_entity_close(eve);
    audit_down(&w);
}

/* Item 1 on the real clock: [identity] key_lifetime = 1 and no skew
 * allowance; a channel works at once, and two seconds later the same peer,
 * presenting the very proof verified and cached then, is refused. */
static void test_item1_expired_key_by_lifetime(void **state)
{
    (void)state;
    audit_world w;
    memset(&w, 0, sizeof w);
    snprintf(w.dir, sizeof w.dir, "/tmp/veil-audit-XXXXXX");
    assert_non_null(mkdtemp(w.dir));
    node_up(&w, "[identity]\nkey_lifetime = 1\nclock_skew = 0\n");
    assert_int_equal(veil_entity_open(w.node, NULL, "alice", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &w.alice), 0);
    assert_int_equal(veil_entity_open(w.node, NULL, "bob", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &w.bob), 0);
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob",
                                                         trust_only(w.node, w.alice)), 0);
    assert_int_equal(veil_secure_channel_listener_open(w.alice, "alice",
                                                       trust_only(w.node, w.bob)), 0);
    /* Valid for one more second at least: a channel now works, and its
     * proofs are verified and cached. */
    veil_route r = route_of("alice");
    veil_address ch;
    assert_int_equal(veil_secure_channel_open(w.bob, &r, trust_only(w.node, w.alice), &ch), 0);
    veil_history_info info;
    size_t hlen;
    const uint8_t *h = veil_entity_history(w.alice, &hlen);
    assert_int_equal(veil_history_verify_at(veil_entity_vault(w.alice), h, hlen, NULL, &info), 0);
    assert_int_equal(info.expires, info.created + 1);
    while ((uint64_t)time(NULL) <= info.expires) /* at most 2 s */
        usleep(20000);
    r = route_of("alice");
    assert_error_contains(veil_secure_channel_open(w.bob, &r, trust_only(w.node, w.alice), &ch),
                          VEIL_EEXPIRED, "clock skew allowance 0 s");
    settle(w.node);
    audit_down(&w);
}

/* Item 2: rotation makes a new static key, attested by the new identity
 * key, and destroys the old one in the vault; channels made before keep
 * working, new ones use the new key. */
static void test_item2_static_key_rotates(void **state)
{
    (void)state;
    audit_world w;
    audit_up(&w);
    veil_vault *v;
    assert_int_equal(veil_vault_open(w.node, NULL, &v), 0);
    assert_int_equal(veil_entity_open(w.node, v, "alice", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &w.alice), 0);
    assert_int_equal(veil_entity_open(w.node, NULL, "bob", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &w.bob), 0);
    veil_secret s0, s1, gone;
    uint8_t p0[32], p1[32];
    size_t n;
    veil_secret_attrs a;
    assert_int_equal(veil_vault_find_by_label(v, "veil.entity.alice.ka.0", &s0), 0);
    assert_int_equal(veil_vault_public_key(v, s0, p0, sizeof p0, &n), 0);
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob",
                                                       trust_only(w.node, w.alice)), 0);
    veil_route r = route_of("bob");
    veil_address before, after;
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &before),
                     0);
    assert_int_equal(veil_entity_rotate(w.alice), 0);
    assert_int_equal(veil_vault_attributes(v, s0, &a), VEIL_EBADHANDLE);
    assert_int_equal(veil_vault_find_by_label(v, "veil.entity.alice.ka.0", &gone),
                     VEIL_ENOTFOUND);
    assert_int_equal(veil_vault_find_by_label(v, "veil.entity.alice.ka.1", &s1), 0);
    assert_int_equal(veil_vault_public_key(v, s1, p1, sizeof p1, &n), 0);
    assert_memory_not_equal(p0, p1, 32);
    r = route_of("bob");
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &after),
                     0);
    round_trip(w.app, &after, "with the new static key");
    round_trip(w.app, &before, "the channel made before still works");
    veil_vault_close(v);
    audit_down(&w);
}

/* Item 2: everything a thief of the vault before the rotation has — the
 * old static key with its old attestation (and the old history, the only
 * one that attestation verifies under) — no longer opens a channel to a
 * peer who saw the rotation. */
static void test_item2_old_static_key_refused(void **state)
{
    (void)state;
    audit_world w;
    audit_up(&w);
    alice_rotates_after_backup(&w, false, false);
    mallory_from_backup(&w);
    veil_secret s;
    assert_int_equal(veil_vault_find_by_label(w.old_v, "veil.entity.alice.ka.0", &s), 0);
    assert_int_equal(veil_vault_find_by_label(w.alice_v, "veil.entity.alice.ka.0", &s),
                     VEIL_ENOTFOUND);
    expect_listener_refuses(&w, "older than the 2 events this node knows");
    expect_initiator_refuses(&w, "older than the 2 events this node knows");
    audit_down(&w);
}

/* Item 2 with X3DH: a listener's prekey bundles name (and are signed by)
 * the static key it started with.  After a rotation that key is gone, so
 * the old listener's handshakes fail (explicitly, HSERR: the listener has
 * no prekeys for the entity's new static key) instead of ever using the
 * destroyed key; a listener made after the rotation serves the new one. */
static void test_item2_x3dh_listener_after_rotation(void **state)
{
    (void)state;
    audit_world w;
    memset(&w, 0, sizeof w);
    snprintf(w.dir, sizeof w.dir, "/tmp/veil-audit-XXXXXX");
    assert_non_null(mkdtemp(w.dir));
    node_up(&w, "[key_agreement]\nplugin = x3dh\n");
    assert_int_equal(veil_entity_open(w.node, NULL, "alice", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &w.alice), 0);
    assert_int_equal(veil_entity_open(w.node, NULL, "bob", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &w.bob), 0);
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob",
                                                         trust_only(w.node, w.alice)), 0);
    veil_route r = route_of("bob");
    veil_address ch;
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch), 0);
    assert_int_equal(veil_entity_rotate(w.bob), 0);
    r = route_of("bob");
    int rc = veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch);
    /* HSERR carries the code and its fixed reason only; the detail (no
     * prekey store for the new identity key) stays in Bob's log. */
    assert_error(rc, VEIL_EHANDSHAKE,
                 "secure channel: the responder refused handshake message 1 (not found): unknown "
                 "prekey");
    settle(w.node);
    assert_int_equal(veil_secure_channel_listener_open(w.bob, "bob2",
                                                       trust_only(w.node, w.alice)), 0);
    r = route_of("bob2");
    assert_int_equal(veil_secure_channel_open(w.alice, &r, trust_only(w.node, w.bob), &ch), 0);
    round_trip(w.app, &ch, "x3dh after the rotation");
    audit_down(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_item1_rollback_refused_listener),
        cmocka_unit_test(test_item1_rollback_refused_initiator),
        cmocka_unit_test(test_item1_fork_refused),
        cmocka_unit_test(test_item1_longer_history_updates_contact),
        cmocka_unit_test(test_item1_contact_survives_reopen),
        cmocka_unit_test(test_item1_expired_key_refused),
        cmocka_unit_test(test_item1_expired_key_by_lifetime),
        cmocka_unit_test(test_item2_static_key_rotates),
        cmocka_unit_test(test_item2_old_static_key_refused),
        cmocka_unit_test(test_item2_x3dh_listener_after_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
