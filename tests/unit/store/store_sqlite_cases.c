/* sqlite-only conformance cases: what persists across reopening, a row
 * damaged behind the store's back, the database file's mode. */
#include <veil/error.h>
#include <veil/store.h>

#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "assert_error.h"
#include "store_fixture.h"

void test_sqlite_reopen(void **state)
{
    store_fixture *f = *state;
    char key[VEIL_STORE_KEY_MAX + 1];
    uint8_t buf[8];
    size_t len = 0;
    uint64_t ver = 0;
    assert_int_equal(veil_store_put(f->store, "n", "kept", (const uint8_t *)"k", 1,
                                    VEIL_STORE_ANY, NULL), 0);
    assert_int_equal(veil_store_put(f->store, "n", "kept", (const uint8_t *)"K", 1, 1, NULL), 0);
    assert_int_equal(veil_store_put(f->store, "n", "opk/1", (const uint8_t *)"o", 1,
                                    VEIL_STORE_ANY, NULL), 0);
    assert_int_equal(veil_store_take(f->store, "n", "opk/1", 0, key, buf, sizeof buf, &len), 0);
    veil_store_close(f->store);
    f->store = store_fixture_reopen(f);
    assert_non_null(f->store);
    assert_int_equal(veil_store_get(f->store, "n", "kept", buf, sizeof buf, &len, &ver), 0);
    assert_int_equal(ver, 2);
    assert_memory_equal(buf, "K", 1);
    assert_error_contains(veil_store_take(f->store, "n", "opk/1", 0, key, buf, sizeof buf, &len),
                          VEIL_ENOTFOUND, "no record n/opk/1");
}

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
    sqlite3_close(db);
}

void test_sqlite_corrupt_row(void **state)
{
    store_fixture *f = *state;
    uint8_t buf[8];
    size_t len;
    assert_int_equal(veil_store_put(f->store, "n", "text", (const uint8_t *)"v", 1,
                                    VEIL_STORE_ANY, NULL), 0);
    assert_int_equal(veil_store_put(f->store, "n", "ver", (const uint8_t *)"v", 1,
                                    VEIL_STORE_ANY, NULL), 0);
    exec_sql(f->path, "UPDATE veil_records SET value = 'now text' WHERE key = 'text';"
                      "UPDATE veil_records SET version = -3 WHERE key = 'ver';"
                      "INSERT INTO veil_records VALUES ('n', 'sp ace', 1, x'00');");
    assert_error_contains(veil_store_get(f->store, "n", "text", buf, sizeof buf, &len, NULL),
                          VEIL_EFORMAT, ": table veil_records, record n/text: value is not a blob");
    assert_error_contains(veil_store_get(f->store, "n", "ver", buf, sizeof buf, &len, NULL),
                          VEIL_EFORMAT,
                          ": table veil_records, record n/ver: version is not an integer >= 1");
    char key[VEIL_STORE_KEY_MAX + 1];
    assert_error_contains(veil_store_take(f->store, "n", "sp", VEIL_STORE_PREFIX, key, buf,
                                          sizeof buf, &len), VEIL_EFORMAT,
                          "record n/sp ace: key holds a byte outside 0x21..0x7e");
    /* the damaged row was not taken: the transaction rolled back */
    assert_error_contains(veil_store_take(f->store, "n", "sp", VEIL_STORE_PREFIX, key, buf,
                                          sizeof buf, &len), VEIL_EFORMAT, "record n/sp ace");
    exec_sql(f->path, "UPDATE veil_store_meta SET value = 9 WHERE name = 'format'");
    veil_store_close(f->store);
    f->store = NULL;
    const char *kv[] = { "path", f->path, NULL };
    assert_error_contains(veil_store_new("sqlite", kv, &f->store), VEIL_EVERSION,
                          "/state.db: format 9, this veil reads 1");
}

void test_sqlite_file_mode(void **state)
{
    store_fixture *f = *state;
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    const char *kv[] = { "path", "/nonexistent-dir/x/state.db", NULL };
    veil_store *s = NULL;
    assert_error_contains(veil_store_new("sqlite", kv, &s), VEIL_EIO,
                          "sqlite store: cannot open or create '/nonexistent-dir/x/state.db'");
    assert_null(s);
    assert_error_contains(veil_store_new("sqlite", NULL, &s), VEIL_ECONFIG,
                          "'path' (the database file) is required");
    const char *bad[] = { "pth", "x", NULL };
    assert_error_contains(veil_store_new("sqlite", bad, &s), VEIL_ECONFIG, "pth");
}
