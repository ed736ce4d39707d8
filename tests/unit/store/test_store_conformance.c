/* Store conformance: every store plugin runs the same cases (like the vault
 * conformance tests), through the public veil_store_* API and the real
 * plugin loader.  Backends: memory; sqlite on a file in a temporary
 * directory (plus reopening, and a corrupted row); postgresql on a server
 * the fixture starts (tests/support/pg-server.sh; store_pg_cases.c).
 * Batches: store_batch_cases.c. */
#include <veil/error.h>
#include <veil/store.h>

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "assert_error.h"
#include "store_fixture.h"

#define NS "test.ns"

static void test_put_get_versions(void **state)
{
    veil_store *s = S(state);
    uint8_t buf[4];
    size_t len = 0;
    put_ok(s, NS, "a", "one", VEIL_STORE_ANY, 1);
    get_is(s, NS, "a", "one", 1);
    put_ok(s, NS, "a", "two", VEIL_STORE_ANY, 2);
    put_ok(s, NS, "a", "three", 2, 3);
    get_is(s, NS, "a", "three", 3);
    put_ok(s, NS, "empty", "", VEIL_STORE_ABSENT, 1);
    get_is(s, NS, "empty", "", 1);
    assert_error_contains(veil_store_get(s, NS, "missing", buf, sizeof buf, &len, NULL),
                          VEIL_ENOTFOUND, "no record test.ns/missing");
    /* too small a buffer: the length needed, nothing else */
    assert_error_contains(veil_store_get(s, NS, "a", buf, 2, &len, NULL), VEIL_ELIMIT,
                          "record test.ns/a holds 5 bytes, the buffer 2");
    assert_int_equal(len, 5);
    /* namespaces are separate */
    assert_error_contains(veil_store_get(s, "other", "a", buf, sizeof buf, &len, NULL),
                          VEIL_ENOTFOUND, "no record other/a");
}

static void test_compare_and_set(void **state)
{
    veil_store *s = S(state);
    put_ok(s, NS, "k", "v1", VEIL_STORE_ABSENT, 1);
    assert_error(veil_store_put(s, NS, "k", (const uint8_t *)"x", 1, VEIL_STORE_ABSENT, NULL),
                 VEIL_EEXIST, "store: record test.ns/k exists (version 1), expected none");
    assert_error(veil_store_put(s, NS, "k", (const uint8_t *)"x", 1, 7, NULL), VEIL_ESTATE,
                 "store: record test.ns/k is at version 1, expected version 7");
    assert_error(veil_store_put(s, NS, "nope", (const uint8_t *)"x", 1, 1, NULL), VEIL_ESTATE,
                 "store: record test.ns/nope is absent, version 0, expected version 1");
    get_is(s, NS, "k", "v1", 1); /* refused writes changed nothing */
    put_ok(s, NS, "k", "v2", 1, 2);
    assert_error(veil_store_delete(s, NS, "k", 1), VEIL_ESTATE,
                 "store: record test.ns/k is at version 2, expected version 1");
    get_is(s, NS, "k", "v2", 2);
    assert_int_equal(veil_store_delete(s, NS, "k", 2), 0);
    assert_error_contains(veil_store_delete(s, NS, "k", VEIL_STORE_ANY), VEIL_ENOTFOUND,
                          "no record test.ns/k");
    /* a record made again starts at version 1 */
    put_ok(s, NS, "k", "v3", VEIL_STORE_ABSENT, 1);
}

static void test_take(void **state)
{
    veil_store *s = S(state);
    char key[VEIL_STORE_KEY_MAX + 1];
    uint8_t buf[16];
    size_t len = 0;
    put_ok(s, NS, "id1/0003", "c", VEIL_STORE_ANY, 1);
    put_ok(s, NS, "id1/0001", "a", VEIL_STORE_ANY, 1);
    put_ok(s, NS, "id1/0002", "bbbbbbbbbbbbbbbbbbbbbbbb", VEIL_STORE_ANY, 1);
    put_ok(s, NS, "id2/0000", "z", VEIL_STORE_ANY, 1);
    put_ok(s, NS, "id0", "y", VEIL_STORE_ANY, 1);
    /* the lowest key with the prefix */
    assert_int_equal(veil_store_take(s, NS, "id1/", VEIL_STORE_PREFIX, key, buf, sizeof buf,
                                     &len), 0);
    assert_string_equal(key, "id1/0001");
    assert_int_equal(len, 1);
    assert_memory_equal(buf, "a", 1);
    /* too small a buffer: nothing taken */
    assert_error_contains(veil_store_take(s, NS, "id1/", VEIL_STORE_PREFIX, key, buf,
                                          sizeof buf, &len), VEIL_ELIMIT, "holds 24 bytes");
    get_is(s, NS, "id1/0002", "bbbbbbbbbbbbbbbbbbbbbbbb", 1);
    assert_int_equal(veil_store_delete(s, NS, "id1/0002", 1), 0);
    /* an exact take */
    assert_int_equal(veil_store_take(s, NS, "id1/0003", 0, key, buf, sizeof buf, &len), 0);
    assert_string_equal(key, "id1/0003");
    assert_error_contains(veil_store_take(s, NS, "id1/0003", 0, key, buf, sizeof buf, &len),
                          VEIL_ENOTFOUND, "no record test.ns/id1/0003");
    assert_error_contains(veil_store_take(s, NS, "id1/", VEIL_STORE_PREFIX, key, buf,
                                          sizeof buf, &len), VEIL_ENOTFOUND,
                          "no record test.ns/id1/*");
    /* neighbours untouched */
    get_is(s, NS, "id2/0000", "z", 1);
    get_is(s, NS, "id0", "y", 1);
    assert_error(veil_store_take(s, NS, "x", 0x8, key, buf, sizeof buf, &len), VEIL_EINVAL,
                 "veil_store_take: unknown flags 0x8");
}

typedef struct walk {
    char keys[8][32];
    size_t n;
    size_t stop_at;
} walk;

static int on_record(void *arg, const char *key, const uint8_t *value, size_t len,
                     uint64_t version)
{
    walk *w = arg;
    (void)value;
    (void)len;
    assert_int_equal(version, 1);
    snprintf(w->keys[w->n++], sizeof w->keys[0], "%s", key);
    return w->n == w->stop_at ? 42 : 0;
}

static void test_list(void **state)
{
    veil_store *s = S(state);
    walk w = { .stop_at = 99 };
    put_ok(s, NS, "b/2", "x", VEIL_STORE_ANY, 1);
    put_ok(s, NS, "a", "x", VEIL_STORE_ANY, 1);
    put_ok(s, NS, "b/1", "x", VEIL_STORE_ANY, 1);
    put_ok(s, NS, "b~", "x", VEIL_STORE_ANY, 1);
    put_ok(s, "test.other", "b/0", "x", VEIL_STORE_ANY, 1);
    assert_int_equal(veil_store_list(s, NS, "b/", on_record, &w), 0);
    assert_int_equal(w.n, 2);
    assert_string_equal(w.keys[0], "b/1");
    assert_string_equal(w.keys[1], "b/2");
    w.n = 0;
    assert_int_equal(veil_store_list(s, NS, NULL, on_record, &w), 0);
    assert_int_equal(w.n, 4);
    assert_string_equal(w.keys[0], "a");
    assert_string_equal(w.keys[3], "b~");
    w = (walk){ .stop_at = 2 };
    assert_int_equal(veil_store_list(s, NS, "", on_record, &w), 42);
    assert_int_equal(w.n, 2);
}

static void test_bounds(void **state)
{
    veil_store *s = S(state);
    char key[VEIL_STORE_KEY_MAX + 2];
    static uint8_t big[VEIL_STORE_VALUE_MAX + 1];
    const uint8_t *v = (const uint8_t *)"v";
    assert_error(veil_store_put(s, "Bad", "k", v, 1, VEIL_STORE_ANY, NULL), VEIL_EINVAL,
                 "veil_store_put: namespace 'Bad': byte 0 (0x42) is not one of [a-z0-9._-]");
    assert_error(veil_store_put(s, "", "k", v, 1, VEIL_STORE_ANY, NULL), VEIL_EINVAL,
                 "veil_store_put: namespace must be 1..64 characters (got \"\")");
    assert_error(veil_store_put(s, NS, "a b", v, 1, VEIL_STORE_ANY, NULL), VEIL_EINVAL,
                 "veil_store_put: key byte 1 (0x20) is not printable ASCII other than space");
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    assert_error(veil_store_put(s, NS, key, v, 1, VEIL_STORE_ANY, NULL), VEIL_EINVAL,
                 "veil_store_put: key must be 1..255 bytes (got more)");
    key[VEIL_STORE_KEY_MAX] = '\0';
    put_ok(s, NS, key, "v", VEIL_STORE_ANY, 1);
    assert_error(veil_store_put(s, NS, "big", big, sizeof big, VEIL_STORE_ANY, NULL),
                 VEIL_ELIMIT, "veil_store_put: value of 65537 bytes for test.ns/big is over "
                 "VEIL_STORE_VALUE_MAX (65536)");
    assert_int_equal(veil_store_put(s, NS, "big", big, VEIL_STORE_VALUE_MAX, VEIL_STORE_ANY,
                                    NULL), 0);
    size_t len = 0;
    assert_int_equal(veil_store_get(s, NS, "big", big, sizeof big, &len, NULL), 0);
    assert_int_equal(len, VEIL_STORE_VALUE_MAX);
}

/* ---- concurrent takes: each record handed out exactly once -------------- */

#define RECORDS 400
#define THREADS 4

typedef struct taker {
    veil_store *s;
    int got[RECORDS];
    int n;
} taker;

static void *take_all(void *arg)
{
    taker *t = arg;
    char key[VEIL_STORE_KEY_MAX + 1];
    uint8_t buf[8];
    size_t len;
    int rc;
    while ((rc = veil_store_take(t->s, NS, "opk/", VEIL_STORE_PREFIX, key, buf, sizeof buf,
                                 &len)) == 0)
        t->got[t->n++] = atoi(key + 4);
    assert_int_equal(rc, VEIL_ENOTFOUND);
    return NULL;
}

static void test_concurrent_take(void **state)
{
    store_fixture *f = *state;
    (void)S(state);
    taker t[THREADS] = { { 0 } };
    pthread_t th[THREADS];
    char key[32];
    int seen[RECORDS] = { 0 };
    for (int i = 0; i < RECORDS; i++) {
        snprintf(key, sizeof key, "opk/%05d", i);
        put_ok(f->store, NS, key, "p", VEIL_STORE_ABSENT, 1);
    }
    /* each thread its own instance when the backend can share (a second
     * connection to the same database), else the same instance */
    for (int i = 0; i < THREADS; i++) {
        t[i].s = f->open_another != NULL ? f->open_another(f) : f->store;
        assert_non_null(t[i].s);
        assert_int_equal(pthread_create(&th[i], NULL, take_all, &t[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        for (int j = 0; j < t[i].n; j++)
            seen[t[i].got[j]]++;
        total += t[i].n;
        if (t[i].s != f->store)
            veil_store_close(t[i].s);
    }
    assert_int_equal(total, RECORDS);
    for (int i = 0; i < RECORDS; i++)
        assert_int_equal(seen[i], 1);
}

/* One TAP plan: every backend's cases in one group, named "<plugin>: <case>". */
#define CASE(fn, backend) \
    { #backend ": " #fn, fn, store_fixture_open, store_fixture_close, &store_backend_##backend }
#define CASES(b)                                                                         \
    CASE(test_put_get_versions, b), CASE(test_compare_and_set, b), CASE(test_take, b), \
        CASE(test_list, b), CASE(test_bounds, b), CASE(test_concurrent_take, b),       \
        CASE(test_batch, b), CASE(test_batch_failed_ops, b), CASE(test_batch_threads, b)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASES(memory),
        CASES(sqlite),
        CASES(postgresql),
        CASE(test_pg_corrupt_row, postgresql),
        CASE(test_pg_password_never_in_config, postgresql),
        CASE(test_pg_batch_connection_lost, postgresql),
        CASE(test_pg_batch_op_after_loss, postgresql),
        CASE(test_pg_batch_commit_refused, postgresql),
        CASE(test_pg_batch_begin_after_restart, postgresql),
        CASE(test_pg_batch_commit_answer_lost, postgresql),
        CASE(test_pg_batch_commit_unknown, postgresql),
        CASE(test_sqlite_reopen, sqlite),
        CASE(test_sqlite_corrupt_row, sqlite),
        CASE(test_sqlite_file_mode, sqlite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
