/* Batches (veil_store_batch_begin/commit, store.h): the calling thread's
 * writes between them are one transaction, durable at the commit; a
 * failing op inside undoes only itself; other threads wait; a failed
 * commit undoes the whole batch.  sqlite and postgresql have batches;
 * memory has none (the calls answer 0, every write happens at once), so
 * its cases check only what holds for every store.  The postgresql cases
 * lose the connection in a batch (the server ends it) and have the server
 * refuse the commit (a deferred constraint trigger). */
#include <veil/error.h>
#include <veil/store.h>

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "assert_error.h"
#include "store_fixture.h"

#define NS "test.ns"

static bool batched(veil_store *s)
{
    return strcmp(veil_store_plugin_name(s), "memory") != 0;
}

/* The last error names the store ("sqlite store /…", "postgresql store (database …"). */
static void detail_names_store(veil_store *s)
{
    char who[64];
    snprintf(who, sizeof who, "%s store ", veil_store_plugin_name(s));
    if (strncmp(veil_last_error(), who, strlen(who)) != 0)
        fail_msg("the detail does not start with '%s': %s", who, veil_last_error());
}

static void absent(veil_store *s, const char *key)
{
    uint8_t buf[64];
    size_t len;
    char want[96];
    snprintf(want, sizeof want, "no record " NS "/%s", key);
    assert_error_contains(veil_store_get(s, NS, key, buf, sizeof buf, &len, NULL),
                          VEIL_ENOTFOUND, want);
}

/* Invisible to a second connection until the commit; nested begins and a
 * commit without a begin refused. */
void test_batch(void **state)
{
    store_fixture *f = *state;
    veil_store *s = S(state);
    bool b = batched(s);
    char key[VEIL_STORE_KEY_MAX + 1];
    uint8_t buf[64];
    size_t len;
    uint64_t ver;
    put_ok(s, NS, "old", "o", VEIL_STORE_ABSENT, 1);
    put_ok(s, NS, "opk", "p", VEIL_STORE_ABSENT, 1);
    /* opened first: opening writes the schema, which waits for the batch */
    veil_store *o = b && f->open_another != NULL ? f->open_another(f) : NULL;
    assert_int_equal(veil_store_batch_begin(s), 0);
    if (b) {
        assert_error_contains(veil_store_batch_begin(s), VEIL_ESTATE,
                              ": a batch is already open in this thread");
        detail_names_store(s);
    }
    put_ok(s, NS, "a", "1", VEIL_STORE_ABSENT, 1);
    put_ok(s, NS, "a", "2", 1, 2);
    assert_int_equal(veil_store_put(s, NS, "b", (const uint8_t *)"x", 1, 7, &ver), VEIL_ESTATE);
    assert_int_equal(veil_store_delete(s, NS, "old", 1), 0);
    assert_int_equal(veil_store_take(s, NS, "opk", 0, key, buf, sizeof buf, &len), 0);
    get_is(s, NS, "a", "2", 2); /* this thread sees its batch */
    if (o != NULL) {
        absent(o, "a");
        get_is(o, NS, "old", "o", 1);
        get_is(o, NS, "opk", "p", 1);
    }
    assert_int_equal(veil_store_batch_commit(s), 0);
    if (b) {
        assert_error_contains(veil_store_batch_commit(s), VEIL_ESTATE,
                              ": batch_commit without a batch_begin");
        detail_names_store(s);
    }
    get_is(s, NS, "a", "2", 2);
    absent(s, "b");
    absent(s, "old");
    if (o != NULL) {
        get_is(o, NS, "a", "2", 2);
        absent(o, "old");
        absent(o, "opk");
        veil_store_close(o);
    }
    assert_true(o != NULL || !b || f->open_another == NULL);
}

/* Each failing op of a batch is undone alone and the batch goes on: a
 * create of an existing record (in SQL a unique key's conflict, which
 * aborts a transaction without a savepoint), a stale version, a delete
 * and a take of nothing, a take whose value does not fit (its DELETE ran
 * and is rolled back). */
void test_batch_failed_ops(void **state)
{
    store_fixture *f = *state;
    veil_store *s = S(state);
    const uint8_t *x = (const uint8_t *)"x";
    char key[VEIL_STORE_KEY_MAX + 1];
    uint8_t buf[4];
    size_t len;
    put_ok(s, NS, "old", "o", VEIL_STORE_ABSENT, 1);
    put_ok(s, NS, "big", "0123456789", VEIL_STORE_ABSENT, 1);
    assert_int_equal(veil_store_batch_begin(s), 0);
    put_ok(s, NS, "a", "1", VEIL_STORE_ABSENT, 1);
    assert_error(veil_store_put(s, NS, "old", x, 1, VEIL_STORE_ABSENT, NULL), VEIL_EEXIST,
                 "store: record test.ns/old exists (version 1), expected none");
    assert_error(veil_store_put(s, NS, "old", x, 1, 5, NULL), VEIL_ESTATE,
                 "store: record test.ns/old is at version 1, expected version 5");
    assert_error_contains(veil_store_delete(s, NS, "nope", VEIL_STORE_ANY), VEIL_ENOTFOUND,
                          "no record test.ns/nope");
    assert_error_contains(veil_store_take(s, NS, "nope", 0, key, buf, sizeof buf, &len),
                          VEIL_ENOTFOUND, "no record test.ns/nope");
    assert_error_contains(veil_store_take(s, NS, "big", 0, key, buf, sizeof buf, &len),
                          VEIL_ELIMIT, "record test.ns/big holds 10 bytes, the buffer 4");
    get_is(s, NS, "big", "0123456789", 1);
    put_ok(s, NS, "a", "2", 1, 2);
    assert_int_equal(veil_store_take(s, NS, "old", 0, key, buf, sizeof buf, &len), 0);
    put_ok(s, NS, "c", "3", VEIL_STORE_ABSENT, 1);
    assert_int_equal(veil_store_batch_commit(s), 0);
    /* what is durable, through a second connection where there can be one */
    veil_store *o = f->open_another != NULL ? f->open_another(f) : s;
    assert_non_null(o);
    get_is(o, NS, "a", "2", 2);
    get_is(o, NS, "c", "3", 1);
    get_is(o, NS, "big", "0123456789", 1);
    absent(o, "old");
    absent(o, "nope");
    if (o != s)
        veil_store_close(o);
}

typedef struct other {
    veil_store *s;
    int rc;
    int done;
} other;

static void *put_other(void *arg)
{
    other *t = arg;
    t->rc = veil_store_put(t->s, NS, "theirs", (const uint8_t *)"T", 1, VEIL_STORE_ABSENT, NULL);
    __atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Another thread's op on the same instance waits for the batch (it would
 * otherwise run inside this thread's transaction on the shared
 * connection).  memory has no batch: the op runs at once. */
void test_batch_threads(void **state)
{
    veil_store *s = S(state);
    other t = { .s = s };
    pthread_t th;
    assert_int_equal(veil_store_batch_begin(s), 0);
    put_ok(s, NS, "mine", "m", VEIL_STORE_ABSENT, 1);
    assert_int_equal(pthread_create(&th, NULL, put_other, &t), 0);
    if (batched(s)) {
        usleep(300 * 1000);
        assert_int_equal(__atomic_load_n(&t.done, __ATOMIC_SEQ_CST), 0);
        assert_int_equal(veil_store_batch_commit(s), 0);
        assert_int_equal(pthread_join(th, NULL), 0);
    } else {
        assert_int_equal(pthread_join(th, NULL), 0);
        assert_int_equal(veil_store_batch_commit(s), 0);
    }
    assert_int_equal(t.rc, 0);
    get_is(s, NS, "mine", "m", 1);
    get_is(s, NS, "theirs", "T", 1);
}

/* ---- postgresql: the connection lost, the commit refused ---------------- */

/* End the backend of a store's connection (the plugin connects as
 * application "veil") that is in `state`, waiting for it to exit. */
#define END_BACKEND(state)                                                                 \
    "WITH t AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE application_name = "  \
    "'veil' AND state = '" state "') SELECT count(*) FROM t WHERE "                        \
    "pg_terminate_backend(pid, 10000)"
#define END_BATCH_BACKEND END_BACKEND("idle in transaction")

/* A record written before the batch and changed in it, one it takes, one it creates. */
static void open_batch(veil_store *s)
{
    char key[VEIL_STORE_KEY_MAX + 1];
    uint8_t buf[8];
    size_t len;
    put_ok(s, NS, "before", "b", VEIL_STORE_ABSENT, 1);
    put_ok(s, NS, "taken", "t", VEIL_STORE_ABSENT, 1);
    assert_int_equal(veil_store_batch_begin(s), 0);
    put_ok(s, NS, "x1", "1", VEIL_STORE_ABSENT, 1);
    put_ok(s, NS, "before", "B", 1, 2);
    assert_int_equal(veil_store_take(s, NS, "taken", 0, key, buf, sizeof buf, &len), 0);
}

/* Nothing of open_batch's batch is in the database; the store that ran it
 * works again (a new connection) and its writes are durable. */
static void batch_undone(store_fixture *f, veil_store *s)
{
    veil_store *o = f->open_another(f);
    assert_non_null(o);
    get_is(o, NS, "before", "b", 1);
    get_is(o, NS, "taken", "t", 1);
    absent(o, "x1");
    absent(o, "x2");
    put_ok(s, NS, "after", "a", VEIL_STORE_ABSENT, 1);
    get_is(o, NS, "after", "a", 1);
    veil_store_close(o);
}

/* open_batch, then the server ends the connection; with an op before the
 * commit, that op fails and so does the next (no new connection inside a
 * batch: they would run outside it).  The commit fails saying where the
 * connection was lost (lost_at) and, asked on a new connection, that the
 * server rolled the batch back; nothing of it is kept. */
static void lose_connection(void **state, bool op_first, const char *lost_at)
{
    store_fixture *f = *state;
    veil_store *s = S(state);
    open_batch(s);
    assert_int_equal(store_pg_number(END_BATCH_BACKEND), 1);
    for (int i = 0; op_first && i < 2; i++)
        assert_error_contains(veil_store_put(s, NS, "x2", (const uint8_t *)"2", 1,
                                             VEIL_STORE_ABSENT, NULL), VEIL_EIO,
                              "SAVEPOINT op: ");
    assert_error_contains(veil_store_batch_commit(s), VEIL_EIO,
                          ": batch_commit: the connection was lost (");
    detail_names_store(s);
    assert_last_error_contains(lost_at);
    assert_last_error_contains("; the server rolled the batch back (transaction ");
    assert_last_error_contains(" aborted): none of its writes is kept");
    batch_undone(f, s);
}

/* Lost before the COMMIT: libpq cannot tell whether the COMMIT got there;
 * the store asks the server. */
void test_pg_batch_connection_lost(void **state)
{
    lose_connection(state, false, "lost (COMMIT: ");
}

/* Lost before another op of the batch. */
void test_pg_batch_op_after_loss(void **state)
{
    lose_connection(state, true, "SAVEPOINT op: ");
}

/* The server ended the store's idle connection (a restart): batch_begin
 * finds out, connects again and begins (nothing had happened yet). */
void test_pg_batch_begin_after_restart(void **state)
{
    store_fixture *f = *state;
    veil_store *s = S(state);
    put_ok(s, NS, "before", "b", VEIL_STORE_ABSENT, 1);
    assert_int_equal(store_pg_number(END_BACKEND("idle")), 1);
    assert_int_equal(veil_store_batch_begin(s), 0);
    put_ok(s, NS, "x1", "1", VEIL_STORE_ABSENT, 1);
    assert_int_equal(veil_store_batch_commit(s), 0);
    veil_store *o = f->open_another(f);
    assert_non_null(o);
    get_is(o, NS, "x1", "1", 1);
    get_is(o, NS, "before", "b", 1);
    veil_store_close(o);
}

/* The server refuses the COMMIT (a deferred constraint trigger rejects a
 * record): the error is the server's, the batch is undone, the connection
 * is out of the transaction and goes on. */
void test_pg_batch_commit_refused(void **state)
{
    store_fixture *f = *state;
    veil_store *s = S(state);
    store_pg_exec("CREATE OR REPLACE FUNCTION veil_test_poison() RETURNS trigger LANGUAGE "
                  "plpgsql AS $$ BEGIN IF NEW.key = 'x2' THEN RAISE EXCEPTION 'record % "
                  "refused', NEW.key; END IF; RETURN NULL; END $$;"
                  "CREATE CONSTRAINT TRIGGER poison AFTER INSERT OR UPDATE ON veil_records "
                  "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "
                  "veil_test_poison()");
    open_batch(s);
    put_ok(s, NS, "x2", "2", VEIL_STORE_ABSENT, 1); /* refused only at the commit */
    assert_error_contains(veil_store_batch_commit(s), VEIL_EIO,
                          ": batch_commit: the server refused the commit, the batch is undone "
                          "(none of its writes is kept): COMMIT: ERROR:  record x2 refused");
    detail_names_store(s);
    batch_undone(f, s);
    /* the same connection, outside any transaction: a new batch commits */
    assert_int_equal(veil_store_batch_begin(s), 0);
    put_ok(s, NS, "x1", "1", VEIL_STORE_ABSENT, 1);
    assert_int_equal(veil_store_batch_commit(s), 0);
    get_is(s, NS, "x1", "1", 1);
}

/* open_batch on a store whose connection goes through a relay that loses
 * the COMMIT's answer; with `refuse`, the server cannot be asked again. */
static void commit_through_proxy(void **state, bool refuse, int want)
{
    store_fixture *f = *state;
    char host[PATH_MAX], conninfo[PATH_MAX + 64];
    const char *pw, *why;
    veil_store *s = NULL;
    (void)S(state);
    assert_int_equal(sscanf(store_pg_server(&pw, &why), "host=%4095s", host), 1);
    pg_proxy *p = pg_proxy_start(host, f->dir);
    snprintf(conninfo, sizeof conninfo, "host=%s port=5433 user=veil dbname=postgres", f->dir);
    assert_int_equal(veil_store_new("postgresql", (const char *[]){ "conninfo", conninfo,
                                        "password_file", pw, NULL }, &s), 0);
    open_batch(s);
    pg_proxy_lose_commit_answer(p, refuse);
    assert_int_equal(veil_store_batch_commit(s), want);
    if (want < 0) {
        detail_names_store(s);
        assert_last_error_contains(": batch_commit: the connection was lost (COMMIT: ");
        assert_last_error_contains(") and what became of the batch is unknown (connecting "
                                   "again to ask: ");
        assert_last_error_contains("): PostgreSQL commits it wholly or not at all");
    }
    veil_store_close(s);
    pg_proxy_stop(p);
    /* the batch was committed, all of it (the server had answered) */
    get_is(f->store, NS, "x1", "1", 1);
    get_is(f->store, NS, "before", "B", 2);
    absent(f->store, "taken");
}

/* The COMMIT was done, only its answer lost: the store asks the server on
 * a new connection and batch_commit answers 0. */
void test_pg_batch_commit_answer_lost(void **state)
{
    commit_through_proxy(state, false, 0);
}

/* ... and the server cannot be asked: an error that says the outcome is
 * unknown (here it was committed). */
void test_pg_batch_commit_unknown(void **state)
{
    commit_through_proxy(state, true, VEIL_EIO);
}
