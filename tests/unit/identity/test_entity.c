/* Entities (framework/identity/entity.c) with the software vault loaded through
 * the real plugin loader (VEIL_PLUGIN_PATH), and the file vault across
 * processes.
 *
 * The history layout is checked against the encoding as written in
 * docs/PROTOCOL.md, byte by byte, by code in this file (test_identity.h),
 * not by the encoder under test.  Known answer: the identifier of RFC 8032
 * section 7.1 TEST 1's public key is "P" + SHA-256 of it, computed
 * independently with Python's hashlib. */
#include "test_identity.h"
#include "assert_error.h"

#include <sys/wait.h>
#include <unistd.h>

static int setup(void **state)
{
    return world_setup(state, "[vault]\nplugin = software\n[identity]\nkey_lifetime = 1000\n");
}

static void label(char *out, const char *name, const char *what, int i)
{
    if (i < 0)
        snprintf(out, VEIL_LABEL_MAX + 1, "veil.entity.%s.%s", name, what);
    else
        snprintf(out, VEIL_LABEL_MAX + 1, "veil.entity.%s.%s.%d", name, what, i);
}

static bool has_secret(veil_vault *v, const char *name, const char *what, int i)
{
    char l[VEIL_LABEL_MAX + 1];
    veil_secret s;
    label(l, name, what, i);
    return veil_vault_find_by_label(v, l, &s) == 0;
}

static void test_create_layout(void **state)
{
    world *w = *state;
    veil_entity *e;
    uint64_t before = (uint64_t)time(NULL);
    assert_int_equal(veil_entity_open(w->node, w->v, "layout", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &e), 0);
    uint64_t after = (uint64_t)time(NULL);
    const char *id = veil_entity_identifier(e);
    assert_int_equal(strlen(id), VEIL_IDENTIFIER_LEN);
    assert_int_equal(id[0], 'P');
    assert_int_equal(strspn(id + 1, "0123456789abcdef"), 64);

    uint8_t pub[32], digest[32], parsed[32];
    char hex[65];
    assert_int_equal(ed_key(e, pub), 0);
    sha256(w->v, pub, 32, digest);
    hexof(digest, 32, hex);
    assert_string_equal(id + 1, hex);
    assert_int_equal(veil_identifier_parse(id, parsed), 0);
    assert_memory_equal(parsed, digest, 32);

    size_t len;
    const uint8_t *h = veil_entity_history(e, &len);
    assert_int_equal(len, HDR + CREATE_LEN);
    assert_int_equal(h[0], 2);          /* version */
    assert_int_equal(h[1], 1);          /* count */
    const uint8_t *e0 = h + HDR;
    assert_int_equal(e0[0], 1);         /* kind create */
    assert_int_equal(e0[1], 0);         /* seq */
    static const uint8_t zero[32];
    assert_memory_equal(e0 + EV_PREV, zero, 32);
    uint64_t created = get64(e0 + EV_CREATED);
    assert_true(created >= before && created <= after);
    assert_int_equal(get64(e0 + EV_EXPIRES), created + 1000); /* [identity] key_lifetime */
    assert_int_equal(e0[EV_KEY_TYPE], 1);
    assert_memory_equal(e0 + EV_KEY, pub, 32);
    assert_int_equal(spec_verify(w->v, pub, EVENT_DOMAIN, e0, EV_BODY, e0 + EV_SIG_NEW), 0);
    /* The history is the record; key 0 and static key 0 are in the vault. */
    char l[VEIL_LABEL_MAX + 1];
    uint8_t stored[512];
    size_t n;
    label(l, "layout", "history", -1);
    assert_int_equal(veil_vault_record_get(w->v, l, stored, sizeof stored, &n), 0);
    assert_int_equal(n, len);
    assert_memory_equal(stored, h, len);
    assert_true(has_secret(w->v, "layout", "key", 0));
    assert_true(has_secret(w->v, "layout", "ka", 0));
    veil_history_info info;
    assert_int_equal(veil_history_verify(w->v, h, len, &info), 0);
    assert_int_equal(info.created, created);
    assert_int_equal(info.expires, created + 1000);
    veil_entity_close(e);
}

/* A history built here from the RFC 8032 TEST 1 key, by the document. */
static void test_known_answer(void **state)
{
    world *w = *state;
    uint8_t seed[32], pub[32], h[HDR + CREATE_LEN];
    unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, 32);
    unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", pub, 32);
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = VEIL_SECRET_ED25519;
    veil_secret k;
    assert_int_equal(veil_vault_import(w->v, &a, seed, 32, &k), 0);
    static const uint8_t zero[32];
    h[0] = 2, h[1] = 1;
    spec_body(h + HDR, 0, zero, 1700000000u, 0, pub);
    spec_sign(w->v, k, EVENT_DOMAIN, h + HDR, EV_BODY, h + HDR + EV_SIG_NEW);
    veil_history_info info;
    assert_int_equal(veil_history_verify_at(w->v, h, sizeof h, NULL, &info), 0);
    assert_string_equal(info.identifier,
                        "P21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9");
    assert_memory_equal(info.current_key, pub, 32);
    assert_int_equal(info.events, 1);
    assert_int_equal(info.created, 1700000000u);
    assert_int_equal(info.expires, 0);
    assert_int_equal(veil_vault_secret_destroy(w->v, k), 0);
}

/* Event 1 by hand; the previous identity key and static key are gone from
 * the vault after each rotation. */
static void test_rotate(void **state)
{
    world *w = *state;
    veil_entity *e;
    uint8_t k0[32], k1[32], k2[32];
    assert_int_equal(veil_entity_open(w->node, w->v, "rot", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &e), 0);
    char id[VEIL_IDENTIFIER_LEN + 1];
    strcpy(id, veil_entity_identifier(e));
    assert_int_equal(ed_key(e, k0), 0);
    assert_int_equal(veil_entity_rotate(e), 0);
    assert_int_equal(ed_key(e, k1), 0);
    assert_false(has_secret(w->v, "rot", "key", 0));
    assert_false(has_secret(w->v, "rot", "ka", 0));
    assert_true(has_secret(w->v, "rot", "key", 1));
    assert_true(has_secret(w->v, "rot", "ka", 1));
    assert_int_equal(veil_entity_rotate(e), 0);
    assert_int_equal(ed_key(e, k2), 0);
    assert_false(has_secret(w->v, "rot", "key", 1));
    assert_true(has_secret(w->v, "rot", "key", 2));
    assert_string_equal(veil_entity_identifier(e), id);
    assert_memory_not_equal(k0, k1, 32);
    assert_memory_not_equal(k1, k2, 32);

    size_t len;
    const uint8_t *h = veil_entity_history(e, &len);
    assert_int_equal(len, HDR + CREATE_LEN + 2 * ROTATE_LEN);
    assert_int_equal(h[1], 3);
    const uint8_t *e1 = h + HDR + CREATE_LEN;
    uint8_t link[32];
    sha256(w->v, h + HDR, CREATE_LEN, link);
    assert_int_equal(e1[0], 2);
    assert_int_equal(e1[1], 1);
    assert_memory_equal(e1 + EV_PREV, link, 32);
    assert_true(get64(e1 + EV_CREATED) >= get64(h + HDR + EV_CREATED));
    assert_memory_equal(e1 + EV_KEY, k1, 32);
    assert_int_equal(spec_verify(w->v, k1, EVENT_DOMAIN, e1, EV_BODY, e1 + EV_SIG_NEW), 0);
    assert_int_equal(spec_verify(w->v, k0, EVENT_DOMAIN, e1, EV_BODY, e1 + EV_SIG_PREV), 0);

    veil_history_info info;
    assert_int_equal(veil_history_verify(w->v, h, len, &info), 0);
    assert_string_equal(info.identifier, id);
    assert_memory_equal(info.current_key, k2, 32);
    assert_int_equal(info.events, 3);
    veil_entity_close(e);
}

/* 64 events fit (VEIL_HISTORY_MAX_EVENTS, under VEIL_HISTORY_MAX_BYTES);
 * the 64th rotation is refused and changes nothing. */
static void test_rotation_limit(void **state)
{
    world *w = *state;
    veil_entity *e, *again;
    assert_int_equal(veil_entity_open(w->node, w->v, "many", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &e), 0);
    for (unsigned i = 1; i < VEIL_HISTORY_MAX_EVENTS; i++)
        assert_int_equal(veil_entity_rotate(e), 0);
    size_t len, len2;
    const uint8_t *h = veil_entity_history(e, &len);
    assert_int_equal(len, HDR + CREATE_LEN + 63 * ROTATE_LEN);
    assert_true(len <= VEIL_HISTORY_MAX_BYTES);
    assert_error(veil_entity_rotate(e), VEIL_ELIMIT,
                 "entity 'many': 64 events already, the history holds at most 64");
    assert_ptr_equal(veil_entity_history(e, &len2), h);
    assert_int_equal(len2, len);
    assert_false(has_secret(w->v, "many", "key", 64));
    veil_history_info info;
    assert_int_equal(veil_history_verify(w->v, h, len, &info), 0);
    assert_int_equal(info.events, 64);
    assert_int_equal(veil_entity_open(w->node, w->v, "many", 0, &again), 0);
    const uint8_t *h2 = veil_entity_history(again, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(h2, h, len);
    veil_entity_close(again);
    veil_entity_close(e);
}

static void test_open_same_process(void **state)
{
    world *w = *state;
    veil_entity *a, *b, *c;
    assert_int_equal(veil_entity_open(w->node, w->v, "alice", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &a), 0);
    assert_int_equal(veil_entity_rotate(a), 0);
    assert_error_contains(veil_entity_open(w->node, w->v, "alice", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                           &c), VEIL_EEXIST,
                          "entity 'alice' already exists in this vault (record "
                          "'veil.entity.alice.history')");
    assert_int_equal(veil_entity_open(w->node, w->v, "alice", 0, &b), 0);
    assert_string_equal(veil_entity_identifier(a), veil_entity_identifier(b));
    size_t la, lb;
    const uint8_t *ha = veil_entity_history(a, &la), *hb = veil_entity_history(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(ha, hb, la);   /* the stored bytes */
    veil_entity_close(b);
    assert_error_contains(veil_entity_open(w->node, w->v, "nobody", 0, &c), VEIL_ENOTFOUND,
                          "no entity 'nobody' in this vault (no record "
                          "'veil.entity.nobody.history')");
    assert_error_contains(veil_entity_open(w->node, w->v, "no.dots", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                           &c), VEIL_EINVAL,
                          "offset 2");
    veil_entity_close(a);
}

/* veil_entity_open's flags work as open(2)'s O_CREAT and O_EXCL. */
static void test_open_flags(void **state)
{
    world *w = *state;
    veil_entity *a = NULL, *b = NULL, *c = NULL;
    assert_error_contains(veil_entity_open(w->node, w->v, "flags", 0, &c), VEIL_ENOTFOUND,
                          "no entity 'flags' in this vault");
    assert_null(c);
    assert_int_equal(veil_entity_open(w->node, w->v, "flags", VEIL_ENTITY_CREATE, &a), 0);
    assert_int_equal(veil_entity_open(w->node, w->v, "flags", VEIL_ENTITY_CREATE, &b), 0);
    assert_string_equal(veil_entity_identifier(a), veil_entity_identifier(b)); /* re-opened */
    assert_error_contains(veil_entity_open(w->node, w->v, "flags",
                                           VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL, &c),
                          VEIL_EEXIST, "entity 'flags' already exists in this vault");
    assert_error(veil_entity_open(w->node, w->v, NULL, 0, &c), VEIL_EINVAL,
                 "veil_entity_open: a NULL (random) name without VEIL_ENTITY_CREATE");
    assert_error(veil_entity_open(w->node, w->v, "flags", VEIL_ENTITY_EXCL, &c), VEIL_EINVAL,
                 "veil_entity_open: VEIL_ENTITY_EXCL without VEIL_ENTITY_CREATE");
    veil_key_times t = {.created = 1, .expires = 0};
    assert_error(veil_entity_open_with(w->node, w->v, "flags", 0, &t, &c), VEIL_EINVAL,
                 "veil_entity_open: key times without VEIL_ENTITY_CREATE");
    assert_error(veil_entity_open(w->node, w->v, "flags", 0x80, &c), VEIL_EINVAL,
                 "veil_entity_open: unknown flags (expected VEIL_ENTITY_CREATE, "
                 "VEIL_ENTITY_EXCL)");
    assert_null(c);
    veil_entity_close(b);
    veil_entity_close(a);
}

/* The node's default vault, owned by the entity. */
static void test_default_vault(void **state)
{
    world *w = *state;
    veil_entity *e;
    assert_int_equal(veil_entity_open(w->node, NULL, NULL, VEIL_ENTITY_CREATE, &e), 0);
    assert_non_null(veil_entity_vault(e));
    assert_ptr_equal(veil_entity_node(e), w->node);
    veil_entity_close(e);
}

/* Explicit times, and what they may not be. */
static void test_key_times(void **state)
{
    world *w = *state;
    veil_entity *e;
    veil_history_info info;
    size_t len;
    veil_key_times t = { 1800000000u, VEIL_EXPIRES_NEVER, 0 };
    assert_int_equal(veil_entity_open_with(w->node, w->v, "times", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                           &t, &e), 0);
    const uint8_t *h = veil_entity_history(e, &len);
    assert_int_equal(veil_history_verify_at(w->v, h, len, NULL, &info), 0);
    assert_int_equal(info.created, 1800000000u);
    assert_int_equal(info.expires, 0);
    veil_key_times back = { 1700000000u, 0, 0 };
    assert_error_contains(veil_entity_rotate_with(e, &back), VEIL_EFORMAT,
                          "before the previous event's 1800000000");
    assert_false(has_secret(w->v, "times", "key", 1));   /* nothing left behind */
    assert_false(has_secret(w->v, "times", "ka", 1));
    veil_key_times bad = { 1800000100u, 1800000100u, 0 };
    assert_error_contains(veil_entity_rotate_with(e, &bad), VEIL_EINVAL,
                          "a key expiring at 1800000100 is not valid after its creation at "
                          "1800000100");
    veil_key_times next = { 1800000100u, 1800000200u, 0 };
    assert_int_equal(veil_entity_rotate_with(e, &next), 0);
    h = veil_entity_history(e, &len);
    assert_int_equal(veil_history_verify_at(w->v, h, len, NULL, &info), 0);
    assert_int_equal(info.events, 2);
    assert_int_equal(info.expires, 1800000200u);
    /* An expired key cannot authorise a successor: refused, nothing changes. */
    veil_key_times late = { 1800000201u, 0, 0 };
    assert_error_contains(veil_entity_rotate_with(e, &late), VEIL_EEXPIRED,
                          "its current key expired at 1800000200, before the rotation's time "
                          "1800000201");
    assert_false(has_secret(w->v, "times", "key", 2));
    veil_entity_close(e);
}

/* An entity of an older veil (keys, no stored history) is refused clearly,
 * and keys an interrupted change left behind are removed at open. */
static void test_old_and_leftovers(void **state)
{
    world *w = *state;
    veil_entity *e;
    veil_secret s;
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = VEIL_SECRET_ED25519;
    a.persistence = VEIL_PERSISTENT;
    label(a.label, "oldone", "key", 0);
    assert_int_equal(veil_vault_generate(w->v, &a, &s), 0);
    assert_error_contains(veil_entity_open(w->node, w->v, "oldone", 0, &e), VEIL_EVERSION,
                          "made by a veil older than history version 2");
    assert_error_contains(veil_entity_open(w->node, w->v, "oldone", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                           &e), VEIL_EEXIST,
                          "holds its key 'veil.entity.oldone.key.0' but no history");
    assert_int_equal(veil_entity_open(w->node, w->v, "crash", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &e), 0);
    veil_entity_close(e);
    label(a.label, "crash", "key", 1);      /* a rotation that died before storing */
    assert_int_equal(veil_vault_generate(w->v, &a, &s), 0);
    a.type = VEIL_SECRET_X25519;
    label(a.label, "crash", "ka", 1);
    assert_int_equal(veil_vault_generate(w->v, &a, &s), 0);
    assert_int_equal(veil_entity_open(w->node, w->v, "crash", 0, &e), 0);
    assert_false(has_secret(w->v, "crash", "key", 1));
    assert_false(has_secret(w->v, "crash", "ka", 1));
    assert_true(has_secret(w->v, "crash", "key", 0));
    /* The stored history names a key the vault does not have. */
    label(a.label, "crash", "key", 0);
    assert_int_equal(veil_vault_find_by_label(w->v, a.label, &s), 0);
    assert_int_equal(veil_vault_secret_destroy(w->v, s), 0);
    veil_entity *again;
    assert_error_contains(veil_entity_open(w->node, w->v, "crash", 0, &again), VEIL_ENOTFOUND,
                          "its history names key 0 but the vault has no secret "
                          "'veil.entity.crash.key.0'");
    veil_entity_close(e);
}

/* [identity] is checked when the node's first entity is made. */
static void test_identity_config(void **state)
{
    (void)state;
    static const struct { const char *text, *needle; } bad[] = {
        { "[identity]\nkey_lifetme = 5\n", "unknown key 'key_lifetme' in [identity]" },
        { "[identity]\nclock_skew = 100000\n", "clock_skew = '100000'" },
        { "[identity]\ncontacts_max = 0\n", "contacts_max = '0'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        veil_config *cfg;
        veil_node *n = (veil_node *)1;
        veil_context *app;
        assert_int_equal(veil_config_new_from_text(&cfg, bad[i].text, "id.conf"), 0);
        veil_node_options o = { sizeof o, cfg, NULL };
        /* Refused when the node is made, not at the first entity (issue #16). */
        assert_error_contains(veil_node_new(&n, &app, &o), VEIL_ECONFIG, "id.conf:2: ");
        assert_last_error_contains(bad[i].needle);
        assert_null(n);
        veil_config_free(cfg);
    }
}

/* ---- persistence across processes (file vault) ------------------------- */
#ifdef VEIL_TEST_FILE_VAULT

/* A child process creates and rotates an entity in a file vault and prints
 * its identifier and key; this process re-opens it and must find the same
 * history, and no key of the first event. */
static void test_file_vault_across_processes(void **state)
{
    (void)state;
    char dir[] = "/tmp/veil-entity-XXXXXX", conf[512];
    assert_non_null(mkdtemp(dir));
    snprintf(conf, sizeof conf, "[vault]\nplugin = file\npath = %s/vault\n"
             "passphrase_env = VEIL_TEST_PASSPHRASE\nkdf_n = 1024\n", dir);
    setenv("VEIL_TEST_PASSPHRASE", "correct horse battery staple", 1);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        veil_config *cfg;
        veil_node *n;
        veil_context *app;
        veil_entity *e;
        uint8_t pub[32];
        char line[256], hex[65];
        close(fds[0]);
        if (veil_config_new_from_text(&cfg, conf, "<child>") < 0)
            _exit(2);
        veil_node_options o = { sizeof o, cfg, NULL };
        if (veil_node_new(&n, &app, &o) < 0 || veil_entity_open(n, NULL, "dave", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                                                &e) < 0 ||
            veil_entity_rotate(e) < 0 || ed_key(e, pub) < 0) {
            fprintf(stderr, "child: %s\n", veil_last_error());
            _exit(3);
        }
        hexof(pub, 32, hex);
        int len = snprintf(line, sizeof line, "%s %s\n", veil_entity_identifier(e), hex);
        if (write(fds[1], line, (size_t)len) != len)
            _exit(4);
        veil_entity_close(e);
        veil_config_free(cfg);
        _exit(veil_node_free(n) == 0 ? 0 : 5);
    }
    close(fds[1]);
    char got[256] = {0};
    ssize_t r = read(fds[0], got, sizeof got - 1);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(r > 0);

    veil_config *cfg;
    veil_node *n;
    veil_context *app;
    veil_entity *e;
    uint8_t pub[32];
    char mine[256], hex[65];
    assert_int_equal(veil_config_new_from_text(&cfg, conf, "<parent>"), 0);
    veil_node_options o = { sizeof o, cfg, NULL };
    assert_int_equal(veil_node_new(&n, &app, &o), 0);
    if (veil_entity_open(n, NULL, "dave", 0, &e) < 0)
        fail_msg("open: %s", veil_last_error());
    assert_int_equal(ed_key(e, pub), 0);
    hexof(pub, 32, hex);
    snprintf(mine, sizeof mine, "%s %s\n", veil_entity_identifier(e), hex);
    assert_string_equal(mine, got);
    size_t len;
    const uint8_t *h = veil_entity_history(e, &len);
    veil_history_info info;
    assert_int_equal(veil_history_verify(veil_entity_vault(e), h, len, &info), 0);
    assert_int_equal(info.events, 2);
    assert_false(has_secret(veil_entity_vault(e), "dave", "key", 0));
    assert_false(has_secret(veil_entity_vault(e), "dave", "ka", 0));
    veil_entity_close(e);
    veil_config_free(cfg);
    assert_int_equal(veil_node_free(n), 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_layout),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_rotate),
        cmocka_unit_test(test_rotation_limit),
        cmocka_unit_test(test_open_same_process),
        cmocka_unit_test(test_open_flags),
        cmocka_unit_test(test_default_vault),
        cmocka_unit_test(test_key_times),
        cmocka_unit_test(test_old_and_leftovers),
        cmocka_unit_test(test_identity_config),
#ifdef VEIL_TEST_FILE_VAULT
        cmocka_unit_test(test_file_vault_across_processes),
#endif
    };
    return cmocka_run_group_tests(tests, setup, world_teardown);
}
