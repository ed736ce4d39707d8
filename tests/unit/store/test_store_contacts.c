/* Contacts in the node's state store (framework/identity/contacts_state.c):
 * with [node] state_dir a node remembers pinned and learned contacts across
 * a restart even when its vault persists nothing (software vault), and a
 * stored history never goes back to a shorter one — not after a restart,
 * and not when another writer (a second node on the same database) stored
 * a longer one first.  A damaged stored contact is skipped, not fatal. */
#include <veil/config.h>
#include <veil/entity.h>
#include <veil/error.h>
#include <veil/node.h>
#include <veil/store.h>
#include <veil/vault.h>

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "assert_error.h"

typedef struct run {
    veil_node *node;
    veil_context *app;
    veil_vault *v;
    veil_entity *me;
    veil_contacts *c;
} run;

static char dir[PATH_MAX - 64];
static char db[PATH_MAX];

/* A node on the state directory with a fresh software vault and one
 * entity open (which merges the stored contacts). */
static void start(run *r)
{
    char text[PATH_MAX + 64];
    veil_config *cfg;
    snprintf(text, sizeof text, "[vault]\nplugin = software\n[node]\nstate_dir = %s\n", dir);
    assert_int_equal(veil_config_new_from_text(&cfg, text, "<test>"), 0);
    veil_node_options o = { .size = sizeof o, .config = cfg };
    assert_int_equal(veil_node_new(&r->node, &r->app, &o), 0);
    veil_config_free(cfg);
    assert_int_equal(veil_vault_open(r->node, NULL, &r->v), 0);
    assert_int_equal(veil_entity_open(r->node, r->v, NULL, VEIL_ENTITY_CREATE, &r->me), 0);
    assert_int_equal(veil_contacts_of(r->node, &r->c), 0);
}

static void stop(run *r)
{
    veil_entity_close(r->me);
    veil_vault_close(r->v);
    assert_int_equal(veil_node_free(r->node), 0);
}

typedef struct hist {
    uint8_t b[4096];
    size_t len;
} hist;

static hist history_of(const veil_entity *e)
{
    hist h;
    const uint8_t *p = veil_entity_history(e, &h.len);
    assert_true(h.len <= sizeof h.b);
    memcpy(h.b, p, h.len);
    return h;
}

static size_t events_of(run *r, const char *id, bool *pinned)
{
    veil_contact_info info;
    assert_int_equal(veil_contacts_get(r->c, id, &info), 0);
    *pinned = info.pinned;
    return info.history.events;
}

/* Carol: a peer with a one-event history h1 and, rotated, h2. */
typedef struct carol {
    veil_entity *e;
    char id[128];
    hist h1, h2;
} carol;

static void make_carol(run *r, carol *k)
{
    assert_int_equal(veil_entity_open(r->node, r->v, NULL, VEIL_ENTITY_CREATE, &k->e), 0);
    snprintf(k->id, sizeof k->id, "%s", veil_entity_identifier(k->e));
    k->h1 = history_of(k->e);
    assert_int_equal(veil_entity_rotate(k->e), 0);
    k->h2 = history_of(k->e);
    /* Carol's own entity registers with the node's table too; only the
     * contact matters here */
}

static void test_pinned_contact_survives_restart(void **state)
{
    run r;
    carol k;
    bool pinned;
    (void)state;
    start(&r);
    make_carol(&r, &k);
    assert_int_equal(veil_contacts_pin(r.c, r.v, k.h2.b, k.h2.len, NULL), 0);
    veil_entity_close(k.e);
    stop(&r);
    start(&r); /* a new vault: nothing of the first run but the store */
    assert_int_equal(events_of(&r, k.id, &pinned), 2);
    assert_true(pinned);
    /* pinning the older history keeps the longer one, also in the store */
    assert_int_equal(veil_contacts_pin(r.c, r.v, k.h1.b, k.h1.len, NULL), 0);
    assert_int_equal(events_of(&r, k.id, &pinned), 2);
    stop(&r);
    start(&r);
    assert_int_equal(events_of(&r, k.id, &pinned), 2);
    /* forgetting removes it from the store */
    assert_int_equal(veil_contacts_forget(r.c, k.id), 0);
    stop(&r);
    start(&r);
    veil_contact_info info;
    assert_error_contains(veil_contacts_get(r.c, k.id, &info), VEIL_ENOTFOUND, "");
    stop(&r);
}

/* Another writer stored the longer history; this node, knowing only the
 * shorter one, pins it: the store keeps the longer (compare, then set). */
static void test_stale_writer_never_shortens(void **state)
{
    run r;
    carol k;
    bool pinned;
    veil_store *other = NULL;
    (void)state;
    start(&r);
    make_carol(&r, &k);
    veil_entity_close(k.e);
    stop(&r);
    const char *kv[] = { "path", db, NULL };
    assert_int_equal(veil_store_new("sqlite", kv, &other), 0);
    uint8_t rec[2 + sizeof k.h2.b];
    rec[0] = 1;
    rec[1] = 0;
    memcpy(rec + 2, k.h2.b, k.h2.len);
    start(&r); /* loads nothing of Carol yet: the record is written after */
    assert_int_equal(veil_store_put(other, "veil.contacts", k.id, rec, 2 + k.h2.len,
                                    VEIL_STORE_ABSENT, NULL), 0);
    assert_int_equal(veil_contacts_pin(r.c, r.v, k.h1.b, k.h1.len, NULL), 0);
    assert_int_equal(events_of(&r, k.id, &pinned), 1); /* this node's table */
    stop(&r);
    size_t len = 0;
    uint64_t ver = 0;
    assert_int_equal(veil_store_get(other, "veil.contacts", k.id, rec, sizeof rec, &len, &ver),
                     0);
    assert_int_equal(len, 2 + k.h2.len);
    assert_int_equal(rec[1], 1); /* now pinned, still the longer history */
    assert_int_equal(ver, 2);
    start(&r);
    assert_int_equal(events_of(&r, k.id, &pinned), 2);
    assert_true(pinned);
    /* a damaged record is skipped at load (logged), the entity opens */
    uint8_t junk[3] = { 1, 0, 2 };
    assert_int_equal(veil_store_put(other, "veil.contacts", k.id, junk, 3, VEIL_STORE_ANY,
                                    NULL), 0);
    stop(&r);
    start(&r);
    veil_contact_info info;
    assert_error_contains(veil_contacts_get(r.c, k.id, &info), VEIL_ENOTFOUND, "");
    stop(&r);
    veil_store_close(other);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/veil-store-contacts.XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(db, sizeof db, "%s/state.db", dir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinned_contact_survives_restart),
        cmocka_unit_test(test_stale_writer_never_shortens),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return rc | (system(cmd) != 0);
}
