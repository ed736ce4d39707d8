/* Contacts (framework/identity/contacts*.c, identity_node.c) through the public
 * API, without channels: the node's table, pinning with the extend-only
 * rule, the count limit, forgetting, and the records that keep contacts in
 * the vaults of the node's entities (merged back when an entity is opened
 * on a new node).  The channel checks: test_identity_audit.c. */
#include "test_identity.h"
#include "assert_error.h"

#include <unistd.h>

static int setup(void **state)
{
    return world_setup(state, "[vault]\nplugin = software\n[identity]\ncontacts_max = 4\n");
}

typedef struct hbuf {
    uint8_t b[2048];
    size_t len;
} hbuf;

static hbuf history_of(const veil_entity *e)
{
    hbuf h;
    const uint8_t *p = veil_entity_history(e, &h.len);
    assert_true(h.len <= sizeof h.b);
    memcpy(h.b, p, h.len);
    return h;
}

static veil_contacts *table(world *w)
{
    veil_contacts *c;
    assert_int_equal(veil_contacts_of(w->node, &c), 0);
    return c;
}

/* The pin rules, one per test: Carol (a new entity each time) with her
 * one-event history h1 and, after a rotation, the two-event h2.  Each test
 * leaves the node's table empty. */
typedef struct pins {
    world *w;
    veil_contacts *c;
    veil_entity *carol;
    char id[VEIL_IDENTIFIER_LEN + 1];
    hbuf h1, h2;
} pins;

static int pins_up(void **state)
{
    static pins P;
    world *w = *state;
    memset(&P, 0, sizeof P);
    P.w = w;
    P.c = table(w);
    assert_int_equal(veil_entity_open(w->node, w->v, NULL, VEIL_ENTITY_CREATE, &P.carol), 0);
    snprintf(P.id, sizeof P.id, "%s", veil_entity_identifier(P.carol));
    P.h1 = history_of(P.carol);
    assert_int_equal(veil_entity_rotate(P.carol), 0);
    P.h2 = history_of(P.carol);
    *state = &P;
    return 0;
}

static int pins_down(void **state)
{
    pins *p = *state;
    int rc = veil_contacts_forget(p->c, p->id);
    assert_true(rc == 0 || rc == VEIL_ENOTFOUND);
    assert_int_equal(veil_contacts_count(p->c), 0);
    veil_entity_close(p->carol);
    *state = p->w;
    return 0;
}

/* One table per node; unknown until pinned; an extension replaces it. */
static void test_pin_then_extension(void **state)
{
    pins *p = *state;
    veil_contacts *c;
    veil_contact_info info;
    assert_int_equal(veil_contacts_of(p->w->node, &c), 0);
    assert_ptr_equal(table(p->w), c);
    assert_error_contains(veil_contacts_get(p->c, p->id, &info), VEIL_ENOTFOUND, "no contact P");
    assert_int_equal(veil_contacts_pin(p->c, p->w->v, p->h1.b, p->h1.len, &info), 0);
    assert_true(info.pinned);
    assert_string_equal(info.history.identifier, p->id);
    assert_int_equal(info.history.events, 1);
    assert_int_equal(veil_contacts_count(p->c), 1);
    assert_int_equal(veil_contacts_pin(p->c, p->w->v, p->h2.b, p->h2.len, &info), 0);
    assert_int_equal(info.history.events, 2);
}

/* Pinning the older one keeps the longer known one; its bytes come back
 * whole, or not at all into a buffer too small. */
static void test_pin_older_keeps_longer(void **state)
{
    pins *p = *state;
    veil_contact_info info;
    uint8_t got[2048];
    size_t n;
    assert_int_equal(veil_contacts_pin(p->c, p->w->v, p->h2.b, p->h2.len, &info), 0);
    assert_int_equal(veil_contacts_pin(p->c, p->w->v, p->h1.b, p->h1.len, &info), 0);
    assert_int_equal(info.history.events, 2);
    assert_int_equal(veil_contacts_history(p->c, p->id, got, sizeof got, &n), 0);
    assert_int_equal(n, p->h2.len);
    assert_memory_equal(got, p->h2.b, n);
    assert_error_contains(veil_contacts_history(p->c, p->id, got, 10, &n), VEIL_ELIMIT,
                          "the buffer holds 10");
}

/* A fork: the same root, two different rotations (made here by the
 * document, the root key being ours), refused until the contact is
 * forgotten. */
static void test_pin_fork_refused_until_forgotten(void **state)
{
    pins *p = *state;
    world *w = p->w;
    veil_contact_info info;
    uint8_t p0[32], pa[32], pb[32], ha[HDR + CREATE_LEN + ROTATE_LEN], hb[sizeof ha];
    veil_secret k0 = test_key(w->v, p0), ka = test_key(w->v, pa), kb = test_key(w->v, pb);
    uint64_t now = (uint64_t)time(NULL);
    size_t fl = spec_history2(w->v, k0, p0, ka, pa, now, 0, now, 0, ha);
    spec_history2(w->v, k0, p0, kb, pb, now, 0, now, 0, hb);
    assert_int_equal(veil_contacts_pin(p->c, w->v, ha, fl, &info), 0);
    assert_error_contains(veil_contacts_pin(p->c, w->v, hb, fl, NULL), VEIL_EREVOKED,
                          "the history (2 events) forks from the 2 events this node knows at "
                          "event 1; forget the contact first to pin it");
    assert_int_equal(veil_contacts_get(p->c, info.history.identifier, &info), 0);
    assert_memory_equal(info.history.current_key, pa, 32);
    assert_int_equal(veil_contacts_forget(p->c, info.history.identifier), 0);
    assert_int_equal(veil_contacts_pin(p->c, w->v, hb, fl, &info), 0);   /* now it may */
    assert_memory_equal(info.history.current_key, pb, 32);
    assert_int_equal(veil_contacts_forget(p->c, info.history.identifier), 0);
    assert_int_equal(veil_vault_secret_destroy(w->v, k0), 0);
    assert_int_equal(veil_vault_secret_destroy(w->v, ka), 0);
    assert_int_equal(veil_vault_secret_destroy(w->v, kb), 0);
}

/* Forget, then a pin of anything works again. */
static void test_forget_then_pin_again(void **state)
{
    pins *p = *state;
    veil_contact_info info;
    assert_int_equal(veil_contacts_pin(p->c, p->w->v, p->h2.b, p->h2.len, &info), 0);
    assert_int_equal(veil_contacts_forget(p->c, p->id), 0);
    assert_error_contains(veil_contacts_forget(p->c, p->id), VEIL_ENOTFOUND, "no contact");
    assert_int_equal(veil_contacts_count(p->c), 0);
    assert_int_equal(veil_contacts_pin(p->c, p->w->v, p->h1.b, p->h1.len, &info), 0);
    assert_int_equal(info.history.events, 1);
}

/* Bad input changes nothing. */
static void test_pin_bad_input_changes_nothing(void **state)
{
    pins *p = *state;
    veil_contacts *c;
    veil_contact_info info;
    assert_int_equal(veil_contacts_pin(p->c, p->w->v, p->h1.b, p->h1.len, &info), 0);
    p->h2.b[p->h2.len - 1] ^= 1;
    assert_error_contains(veil_contacts_pin(p->c, p->w->v, p->h2.b, p->h2.len, NULL), VEIL_EAUTH,
                          "veil_contacts_pin");
    assert_int_equal(veil_contacts_get(p->c, p->id, &info), 0);
    assert_int_equal(info.history.events, 1);
    assert_error(veil_contacts_get(p->c, "Pxyz", &info), VEIL_EFORMAT,
                 "veil_contacts_get: identifier 'Pxyz' is not 65 characters (expected P followed "
                 "by 64 hex digits)");
    assert_error_contains(veil_contacts_pin(NULL, p->w->v, p->h1.b, p->h1.len, NULL), VEIL_EINVAL,
                          "contacts");
    assert_error(veil_contacts_of(NULL, &c), VEIL_EINVAL, "veil_contacts_of: node is NULL");
}

typedef struct listed {
    unsigned n, pinned;
} listed;

static int count_one(void *arg, const veil_contact_info *info)
{
    listed *l = arg;
    l->n++;
    l->pinned += info->pinned;
    return l->n == 100 ? 9 : 0;
}

/* contacts_max = 4: the fifth is refused, nothing is evicted. */
static void test_limit_and_list(void **state)
{
    world *w = *state;
    veil_contacts *c = table(w);
    char ids[5][VEIL_IDENTIFIER_LEN + 1];
    for (int i = 0; i < 5; i++) {
        veil_entity *x;
        assert_int_equal(veil_entity_open(w->node, w->v, NULL, VEIL_ENTITY_CREATE, &x), 0);
        hbuf h = history_of(x);
        strcpy(ids[i], veil_entity_identifier(x));
        int rc = veil_contacts_pin(c, w->v, h.b, h.len, NULL);
        if (i < 4)
            assert_int_equal(rc, 0);
        else
            assert_error(rc, VEIL_ELIMIT,
                         "veil_contacts_pin: the table is full (contacts_max = 4)");
        veil_entity_close(x);
    }
    listed l = { 0, 0 };
    assert_int_equal(veil_contacts_list(c, count_one, &l), 0);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.pinned, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(veil_contacts_forget(c, ids[i]), 0);
    assert_int_equal(veil_contacts_count(c), 0);
}

/* ---- persistence: records in the entities' file vaults ------------------- */

static void file_node(const char *dir, veil_node **n, veil_context **app)
{
    char conf[512];
    veil_config *cfg;
    snprintf(conf, sizeof conf, "[vault]\nplugin = file\npath = %s/vault\n"
             "passphrase_env = VEIL_TEST_PASSPHRASE\nkdf_n = 1024\nkdf_r = 1\n", dir);
    assert_int_equal(veil_config_new_from_text(&cfg, conf, "<file>"), 0);
    veil_node_options o = { sizeof o, cfg, NULL };
    assert_int_equal(veil_node_new(n, app, &o), 0);
    veil_config_free(cfg);
}

static void test_persisted_pin_and_forget(void **state)
{
    world *w = *state;
    char dir[] = "/tmp/veil-contacts-XXXXXX", cmd[128];
    assert_non_null(mkdtemp(dir));
    setenv("VEIL_TEST_PASSPHRASE", "contacts", 1);
    veil_node *n;
    veil_context *app;
    veil_entity *me, *peer, *other;
    veil_contacts *c;
    veil_contact_info info;
    assert_int_equal(veil_entity_open(w->node, w->v, NULL, VEIL_ENTITY_CREATE, &peer), 0);
    assert_int_equal(veil_entity_open(w->node, w->v, NULL, VEIL_ENTITY_CREATE, &other), 0);
    hbuf hp = history_of(peer), ho = history_of(other);
    /* First run: pin two peers; they go into "me"'s file vault. */
    file_node(dir, &n, &app);
    assert_int_equal(veil_entity_open(n, NULL, "me", VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                                      &me), 0);
    assert_int_equal(veil_contacts_of(n, &c), 0);
    assert_int_equal(veil_contacts_pin(c, veil_entity_vault(me), hp.b, hp.len, NULL), 0);
    assert_int_equal(veil_contacts_pin(c, veil_entity_vault(me), ho.b, ho.len, NULL), 0);
    char rec[VEIL_RECORD_NAME_MAX + 1];
    size_t len;
    snprintf(rec, sizeof rec, "veil.contact.%s", veil_entity_identifier(peer));
    assert_int_equal(veil_vault_record_get(veil_entity_vault(me), rec, NULL, 0, &len), 0);
    assert_int_equal(len, 2 + hp.len);
    assert_int_equal(veil_contacts_forget(c, veil_entity_identifier(other)), 0);
    veil_entity_close(me);
    assert_int_equal(veil_node_free(n), 0);
    /* Second run: a new node knows nothing until "me" is opened. */
    file_node(dir, &n, &app);
    assert_int_equal(veil_contacts_of(n, &c), 0);
    assert_int_equal(veil_contacts_count(c), 0);
    assert_int_equal(veil_entity_open(n, NULL, "me", 0, &me), 0);
    assert_int_equal(veil_contacts_count(c), 1);
    assert_int_equal(veil_contacts_get(c, veil_entity_identifier(peer), &info), 0);
    assert_true(info.pinned);
    assert_int_equal(veil_contacts_get(c, veil_entity_identifier(other), &info), VEIL_ENOTFOUND);
    /* A damaged stored contact is skipped (logged), not fatal. */
    uint8_t junk[3] = { 1, 0, 2 };
    snprintf(rec, sizeof rec, "veil.contact.%s", veil_entity_identifier(other));
    assert_int_equal(veil_vault_record_put(veil_entity_vault(me), rec, junk, 3), 0);
    veil_entity_close(me);
    assert_int_equal(veil_node_free(n), 0);
    file_node(dir, &n, &app);
    assert_int_equal(veil_entity_open(n, NULL, "me", 0, &me), 0);
    assert_int_equal(veil_contacts_of(n, &c), 0);
    assert_int_equal(veil_contacts_count(c), 1);
    veil_entity_close(me);
    assert_int_equal(veil_node_free(n), 0);
    veil_entity_close(peer);
    veil_entity_close(other);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

#define PIN_TEST(f) cmocka_unit_test_setup_teardown(f, pins_up, pins_down)
int main(void)
{
    const struct CMUnitTest tests[] = {
        PIN_TEST(test_pin_then_extension),
        PIN_TEST(test_pin_older_keeps_longer),
        PIN_TEST(test_pin_fork_refused_until_forgotten),
        PIN_TEST(test_forget_then_pin_again),
        PIN_TEST(test_pin_bad_input_changes_nothing),
        cmocka_unit_test(test_limit_and_list),
        cmocka_unit_test(test_persisted_pin_and_forget),
    };
    return cmocka_run_group_tests(tests, setup, world_teardown);
}
