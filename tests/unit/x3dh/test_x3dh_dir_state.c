/* The prekey directory's state in the node's store
 * (plugins/x3dh/x3dh_dir_store.c): two directory nodes on one sqlite state
 * directory (two connections to one database) share names, sequences and
 * OPKs — every OPK is handed out once, by either node — and a directory
 * restarted on its state directory still knows what was published and
 * never hands out an OPK it handed out before the restart.  A damaged
 * store record is refused naming it.  The same over PostgreSQL, with
 * concurrent fetches from several processes: tests/unit/store. */
#include "test_prekeys.h"
#include "assert_error.h"

#include <veil/store.h>

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[PATH_MAX - 128];
static char statedir[PATH_MAX - 64]; /* per test, under dir */

static void new_statedir(const char *name)
{
    snprintf(statedir, sizeof statedir, "%s/%s", dir, name);
    assert_int_equal(mkdir(statedir, 0700), 0);
}

static const uint8_t FETCH_CAROL[] = { 2, 0x01, 5, 'c', 'a', 'r', 'o', 'l' };

typedef struct dnode {
    veil_node *node;
    veil_context *app;
    veil_vault *v;
} dnode;

static void dir_start(dnode *d)
{
    char text[PATH_MAX + 256];
    snprintf(text, sizeof text, "[node]\nstate_dir = %s\n[key_agreement]\nplugin = x3dh\n"
             "[prekeys]\nrequest_rate = 100000\nrequest_burst = 100000\n", statedir);
    node_from(text, &d->node, &d->app);
    assert_int_equal(veil_vault_open(d->node, NULL, &d->v), 0);
    assert_int_equal(veil_key_agreement_directory_start(d->node, d->v), 0);
}

static void dir_stop(dnode *d)
{
    veil_vault_close(d->v);
    assert_int_equal(veil_node_free(d->node), 0);
}

/* A fetch of carol's bundle from d: the OPK id, or 0 for none. */
static uint32_t fetch_id(dnode *d)
{
    uint8_t body[1024];
    size_t n = expect(d->node, FETCH_CAROL, sizeof FETCH_CAROL, 0x01, 0, body);
    assert_true(n == 136 || n == 173);
    return n == 173 ? be32(body + 136) : 0;
}

static void test_two_directories_share_one_store(void **state)
{
    dnode a, b;
    signer s;
    uint8_t pub[PUB_MAX];
    bool seen[40] = { false };
    (void)state;
    new_statedir("shared");
    dir_start(&a);
    dir_start(&b);
    signer_new(a.node, a.v, &s);
    size_t n = sign_pub(&s, "carol", 5, 0, 40, 100, false, pub);
    publish_ok(a.node, pub, n, 40, 100);
    /* the sequence is shared: the same publication at b is a replay */
    publish_refused(b.node, pub, n, VEIL_EREPLAY, "publication for 'carol': sequence 5 is not "
                    "above the last accepted (5): replayed or stale");
    for (int i = 0; i < 40; i++) {
        uint32_t id = fetch_id(i % 3 == 0 ? &a : &b);
        assert_true(id >= 100 && id < 140);
        assert_false(seen[id - 100]);
        seen[id - 100] = true;
    }
    assert_int_equal(fetch_id(&a), 0);
    assert_int_equal(fetch_id(&b), 0);
    signer_free(&s);
    dir_stop(&a);
    dir_stop(&b);
}

static void test_directory_restarts_with_its_state(void **state)
{
    dnode a;
    signer s;
    uint8_t pub[PUB_MAX];
    dnode pubr; /* the publisher outlives the directory's restart */
    (void)state;
    new_statedir("restart");
    node_from("[vault]\nplugin = software\n", &pubr.node, &pubr.app);
    assert_int_equal(veil_vault_open(pubr.node, NULL, &pubr.v), 0);
    signer_new(pubr.node, pubr.v, &s);
    dir_start(&a);
    size_t n = sign_pub(&s, "carol", 7, 0, 4, 200, false, pub);
    publish_ok(a.node, pub, n, 4, 200);
    assert_int_equal(fetch_id(&a), 200);
    assert_int_equal(fetch_id(&a), 201);
    dir_stop(&a);
    dir_start(&a); /* a new node and vault: only the store remains */
    assert_int_equal(fetch_id(&a), 202);
    publish_refused(a.node, pub, n, VEIL_EREPLAY, "publication for 'carol': sequence 7 is not "
                    "above the last accepted (7): replayed or stale");
    assert_int_equal(fetch_id(&a), 203);
    assert_int_equal(fetch_id(&a), 0);
    /* a damaged record: refused, naming it */
    veil_store *st;
    assert_int_equal(veil_node_store(a.node, &st), 0);
    char key[VEIL_STORE_KEY_MAX + 1];
    uint8_t v[512];
    size_t len = 0;
    assert_int_equal(veil_store_take(st, "x3dh.dir", "", VEIL_STORE_PREFIX, key, v, sizeof v,
                                     &len), 0);
    v[1 + 1 + 8] = 'X'; /* the identifier's 'P' */
    assert_int_equal(veil_store_put(st, "x3dh.dir", key, v, len, VEIL_STORE_ABSENT, NULL), 0);
    fetch_refused(a.node, FETCH_CAROL, sizeof FETCH_CAROL, VEIL_EFORMAT); /* detail: debug log */
    dir_stop(&a);
    signer_free(&s);
    dir_stop(&pubr);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/veil-dir-state.XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_directories_share_one_store),
        cmocka_unit_test(test_directory_restarts_with_its_state),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return rc | (system(cmd) != 0);
}
