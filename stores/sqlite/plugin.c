/* Store "sqlite": records in one SQLite database file, the embedded
 * default when [store] path or [node] state_dir is set.
 *
 *   [store]
 *   plugin = sqlite
 *   path = /var/lib/veil/state.db
 *
 * The database runs in WAL mode with synchronous=FULL on every write: a
 * write (a consumed one-time prekey, an extended contact) is on disk when
 * the call returns and survives a crash of the process or of the machine.
 * Every op that reads before it writes (put with a version, delete, take)
 * runs in one BEGIN IMMEDIATE transaction, which SQLite serialises across
 * processes: a record is taken once even by two processes on one file.
 * The file is created 0600.  Rows are decoded with bounds (type, version,
 * key bytes, value size); a row that breaks them is VEIL_EFORMAT naming
 * the table, the record and what was wrong. */
#include <veil/error.h>
#include <veil/plugin.h>
#include <veil/store.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_common.h"

#define FORMAT 1
#define BUSY_TIMEOUT_MS 10000
#define TABLE "veil_records"

enum { Q_GET, Q_UPSERT, Q_DELETE, Q_FIRST, Q_LIST, Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_SAVE,
       Q_RELEASE, Q_ROLLTO, NQ };

static const char *const sql[NQ] = {
    [Q_GET] = "SELECT key, version, value FROM " TABLE " WHERE ns = ?1 AND key = ?2",
    [Q_UPSERT] = "INSERT INTO " TABLE " (ns, key, version, value) VALUES (?1, ?2, 1, ?3) "
                 "ON CONFLICT (ns, key) DO UPDATE SET version = version + 1, "
                 "value = excluded.value RETURNING version",
    [Q_DELETE] = "DELETE FROM " TABLE " WHERE ns = ?1 AND key = ?2",
    [Q_FIRST] = "SELECT key, version, value FROM " TABLE " WHERE ns = ?1 AND key >= ?2 "
                "AND key < ?2 || char(127) ORDER BY key LIMIT 1",
    [Q_LIST] = "SELECT key, version, value FROM " TABLE " WHERE ns = ?1 AND key >= ?2 "
               "AND key < ?2 || char(127) ORDER BY key",
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVE] = "SAVEPOINT op",           /* an op inside a batch */
    [Q_RELEASE] = "RELEASE op",
    [Q_ROLLTO] = "ROLLBACK TO op",
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS " TABLE " (ns TEXT NOT NULL, key TEXT NOT NULL, "
    "version INTEGER NOT NULL, value BLOB NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS veil_store_meta (name TEXT PRIMARY KEY, value INTEGER);"
    "INSERT OR IGNORE INTO veil_store_meta VALUES ('format', 1);";

typedef struct sqlite_store {
    pthread_mutex_t lock;              /* recursive: a batch holds it across ops */
    bool batch;                        /* the lock's holder is inside a batch */
    sqlite3 *db;
    sqlite3_stmt *q[NQ];
    char *path;
} sqlite_store;

/* One decoded row: pointers into the statement, valid until it steps. */
typedef struct row {
    const char *key;
    uint64_t version;
    const uint8_t *value;
    size_t len;
} row;

static const char *const config_keys[] = { "path", NULL };

static int db_error(const sqlite_store *s, const char *what)
{
    return veil_error_set(VEIL_EIO, "sqlite store %s: %s: %s", s->path, what,
                          sqlite3_errmsg(s->db));
}

static void instance_free(void *inst)
{
    sqlite_store *s = inst;
    if (s == NULL)
        return;
    for (int i = 0; i < NQ; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
}

/* Create the file 0600 before SQLite does (it would use the umask). */
static int create_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return veil_error_set(errno == ENOSPC ? VEIL_ENOSPC : VEIL_EIO,
                              "sqlite store: cannot open or create '%s': %s", path,
                              strerror(errno));
    close(fd);
    return 0;
}

static int check_format(sqlite_store *s)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM veil_store_meta WHERE name = 'format'",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(s, "reading the format");
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) != SQLITE_INTEGER)
        rc = veil_error_set(VEIL_EFORMAT, "sqlite store %s: table veil_store_meta, record "
                            "'format': missing or not an integer", s->path);
    else if (sqlite3_column_int64(st, 0) != FORMAT)
        rc = veil_error_set(VEIL_EVERSION, "sqlite store %s: format %lld, this veil reads %d",
                            s->path, (long long)sqlite3_column_int64(st, 0), FORMAT);
    sqlite3_finalize(st);
    return rc;
}

static int open_db(sqlite_store *s)
{
    static const char pragmas[] = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;";
    int rc = create_file(s->path);
    if (rc < 0)
        return rc;
    if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK)
        return db_error(s, "open");
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    if (sqlite3_exec(s->db, pragmas, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(s, "setting WAL and synchronous=FULL");
    if (sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(s, "creating the tables");
    if ((rc = check_format(s)) < 0)
        return rc;
    for (int i = 0; i < NQ; i++)
        if (sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL) !=
            SQLITE_OK)
            return db_error(s, "preparing a statement");
    return 0;
}

static int instance_new(void *plugin_state, const veil_config_scope *scope, void **inst)
{
    (void)plugin_state;
    const char *path = veil_config_scope_get(scope, "path");
    if (path == NULL || path[0] == '\0')
        return veil_error_set(VEIL_ECONFIG, "sqlite store [%s]: 'path' (the database file) "
                              "is required", scope->section);
    sqlite_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        return veil_error_set(VEIL_ENOMEM, "sqlite store: out of memory");
    }
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    int rc = open_db(s);
    if (rc < 0) {
        instance_free(s);
        return rc;
    }
    *inst = s;
    return 0;
}

/* ---- rows ---------------------------------------------------------------- */

static int bad_row(const sqlite_store *s, const char *ns, const char *key, const char *what)
{
    return veil_error_set(VEIL_EFORMAT, "sqlite store %s: table " TABLE ", record %s/%s: %s",
                          s->path, ns, key != NULL ? key : "?", what);
}

/* Decode the current row of st (columns key, version, value). */
static int decode(const sqlite_store *s, sqlite3_stmt *st, const char *ns, row *r)
{
    const char *key = (const char *)sqlite3_column_text(st, 0);
    int n = sqlite3_column_bytes(st, 0);
    if (sqlite3_column_type(st, 0) != SQLITE_TEXT || key == NULL)
        return bad_row(s, ns, NULL, "key is not text");
    if (n < 1 || (unsigned)n > VEIL_STORE_KEY_MAX || strlen(key) != (size_t)n)
        return bad_row(s, ns, key, "key length is out of 1..255 (or holds a NUL)");
    if (store_check_key_bytes(key) < 0)
        return bad_row(s, ns, key, "key holds a byte outside 0x21..0x7e");
    if (sqlite3_column_type(st, 1) != SQLITE_INTEGER || sqlite3_column_int64(st, 1) < 1)
        return bad_row(s, ns, key, "version is not an integer >= 1");
    if (sqlite3_column_type(st, 2) != SQLITE_BLOB)
        return bad_row(s, ns, key, "value is not a blob");
    n = sqlite3_column_bytes(st, 2);
    if ((unsigned)n > VEIL_STORE_VALUE_MAX)
        return bad_row(s, ns, key, "value is over VEIL_STORE_VALUE_MAX bytes");
    r->key = key;
    r->version = (uint64_t)sqlite3_column_int64(st, 1);
    r->value = sqlite3_column_blob(st, 2);
    r->len = (size_t)n;
    return 0;
}

static void bind_nk(sqlite3_stmt *st, const char *ns, const char *key)
{
    sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
}

/* Step a statement that selects at most one row: 1 row, 0 none, < 0. */
static int step_one(sqlite_store *s, sqlite3_stmt *st, const char *ns, row *r)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return db_error(s, "reading a record");
    rc = decode(s, st, ns, r);
    return rc < 0 ? rc : 1;
}

static int run(sqlite_store *s, int q, const char *what)
{
    int rc = sqlite3_step(s->q[q]);
    sqlite3_reset(s->q[q]);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_error(s, what);
}

/* ---- ops ------------------------------------------------------------------ */

static int get(void *inst, const char *ns, const char *key, uint8_t *value, size_t cap,
               size_t *len, uint64_t *version)
{
    sqlite_store *s = inst;
    sqlite3_stmt *st = s->q[Q_GET];
    row r;
    pthread_mutex_lock(&s->lock);
    bind_nk(st, ns, key);
    int rc = step_one(s, st, ns, &r);
    if (rc == 0)
        rc = veil_error_set(VEIL_ENOTFOUND, "sqlite store: no record %s/%s", ns, key);
    if (rc > 0) {
        rc = store_copy_out("sqlite store", ns, r.key, r.value, r.len, value, cap, len);
        *version = r.version;
    }
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Under the lock, in a transaction: the current version of ns/key. */
static int current(sqlite_store *s, const char *ns, const char *key, bool *found,
                   uint64_t *version)
{
    row r;
    bind_nk(s->q[Q_GET], ns, key);
    int rc = step_one(s, s->q[Q_GET], ns, &r);
    *found = rc > 0;
    *version = rc > 0 ? r.version : 0;
    sqlite3_reset(s->q[Q_GET]);
    return rc < 0 ? rc : 0;
}

/* Begin an op's transaction (a savepoint inside a batch). */
static int start(sqlite_store *s)
{
    return run(s, s->batch ? Q_SAVE : Q_BEGIN, "begin");
}

/* End the op's transaction: COMMIT (inside a batch: RELEASE) when rc is
 * 0, ROLLBACK (ROLLBACK TO, RELEASE) otherwise. */
static int finish(sqlite_store *s, int rc)
{
    if (rc == 0 && (rc = run(s, s->batch ? Q_RELEASE : Q_COMMIT, "commit")) == 0)
        return 0;
    /* keeps rc's detail; a failed rollback ends anyway */
    sqlite3_step(s->q[s->batch ? Q_ROLLTO : Q_ROLLBACK]);
    sqlite3_reset(s->q[s->batch ? Q_ROLLTO : Q_ROLLBACK]);
    if (s->batch) {
        sqlite3_step(s->q[Q_RELEASE]);
        sqlite3_reset(s->q[Q_RELEASE]);
    }
    return rc;
}

/* The lock stays held from here to batch_commit (recursive: this
 * thread's ops take it again; others wait). */
static int batch_begin(void *inst)
{
    sqlite_store *s = inst;
    pthread_mutex_lock(&s->lock);
    int rc = s->batch ? veil_error_set(VEIL_ESTATE, "sqlite store %s: a batch is already "
                                       "open in this thread", s->path)
                      : run(s, Q_BEGIN, "begin");
    if (rc < 0) {
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    s->batch = true;
    return 0;
}

static int batch_commit(void *inst)
{
    sqlite_store *s = inst;
    pthread_mutex_lock(&s->lock);
    if (!s->batch) {
        pthread_mutex_unlock(&s->lock);
        return veil_error_set(VEIL_ESTATE, "sqlite store %s: batch_commit without a "
                              "batch_begin", s->path);
    }
    s->batch = false;
    int rc = finish(s, 0);
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_unlock(&s->lock); /* batch_begin's */
    return rc;
}

static int upsert(sqlite_store *s, const char *ns, const char *key, const uint8_t *value,
                  size_t len, uint64_t *version)
{
    sqlite3_stmt *st = s->q[Q_UPSERT];
    bind_nk(st, ns, key);
    sqlite3_bind_blob(st, 3, len > 0 ? (const void *)value : "", (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *version = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    rc = rc == SQLITE_ROW ? 0 : db_error(s, "writing a record");
    sqlite3_reset(st);
    return rc;
}

static int remove_row(sqlite_store *s, const char *ns, const char *key)
{
    bind_nk(s->q[Q_DELETE], ns, key);
    return run(s, Q_DELETE, "deleting a record");
}

/* BEGIN IMMEDIATE, then check ns/key against `expected` (and that it
 * exists when must_exist).  0: the transaction is open; < 0: it is not. */
static int begin_at(sqlite_store *s, const char *ns, const char *key, uint64_t expected,
                    bool must_exist)
{
    bool found;
    uint64_t have;
    int rc = start(s);
    if (rc < 0)
        return rc;
    rc = current(s, ns, key, &found, &have);
    if (rc == 0 && must_exist && !found)
        rc = veil_error_set(VEIL_ENOTFOUND, "sqlite store: no record %s/%s", ns, key);
    if (rc == 0)
        rc = store_check_version(ns, key, found, have, expected);
    return rc < 0 ? finish(s, rc) : 0;
}

static int put(void *inst, const char *ns, const char *key, const uint8_t *value, size_t len,
               uint64_t expected, uint64_t *version)
{
    sqlite_store *s = inst;
    pthread_mutex_lock(&s->lock);
    int rc = begin_at(s, ns, key, expected, false);
    if (rc == 0)
        rc = finish(s, upsert(s, ns, key, value, len, version));
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int del(void *inst, const char *ns, const char *key, uint64_t expected)
{
    sqlite_store *s = inst;
    pthread_mutex_lock(&s->lock);
    int rc = begin_at(s, ns, key, expected, true);
    if (rc == 0)
        rc = finish(s, remove_row(s, ns, key));
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* In the transaction: find the record, copy it out, delete it. */
static int take_in(sqlite_store *s, const char *ns, const char *key, unsigned flags,
                   char *key_out, uint8_t *value, size_t cap, size_t *len)
{
    sqlite3_stmt *st = s->q[(flags & VEIL_STORE_PREFIX) != 0 ? Q_FIRST : Q_GET];
    row r;
    bind_nk(st, ns, key);
    int rc = step_one(s, st, ns, &r);
    if (rc == 0)
        rc = veil_error_set(VEIL_ENOTFOUND, "sqlite store: no record %s/%s%s", ns, key,
                            (flags & VEIL_STORE_PREFIX) != 0 ? "*" : "");
    if (rc > 0)
        rc = store_copy_out("sqlite store", ns, r.key, r.value, r.len, value, cap, len);
    if (rc == 0)
        memcpy(key_out, r.key, strlen(r.key) + 1);
    sqlite3_reset(st);
    return rc == 0 ? remove_row(s, ns, key_out) : rc;
}

static int take(void *inst, const char *ns, const char *key, unsigned flags, char *key_out,
                uint8_t *value, size_t cap, size_t *len)
{
    sqlite_store *s = inst;
    pthread_mutex_lock(&s->lock);
    int rc = start(s);
    if (rc == 0)
        rc = finish(s, take_in(s, ns, key, flags, key_out, value, cap, len));
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int list(void *inst, const char *ns, const char *prefix, veil_store_fn fn, void *arg)
{
    sqlite_store *s = inst;
    sqlite3_stmt *st = s->q[Q_LIST];
    row r;
    int rc;
    pthread_mutex_lock(&s->lock);
    bind_nk(st, ns, prefix);
    while ((rc = step_one(s, st, ns, &r)) > 0 &&
           (rc = fn(arg, r.key, r.value, r.len, r.version)) == 0)
        ;
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static const veil_store_ops ops = {
    .size = sizeof ops,
    .instance_new = instance_new,
    .instance_free = instance_free,
    .get = get,
    .put = put,
    .del = del,
    .take = take,
    .list = list,
    .batch_begin = batch_begin,
    .batch_commit = batch_commit,
};

static const veil_plugin_descriptor descriptor = {
    VEIL_PLUGIN_ABI,
    .kind = VEIL_PLUGIN_STORE,
    .name = "sqlite",
    .version = "1.0",
    .description = "state store in an SQLite database (WAL, synchronous=FULL)",
    .config_keys = config_keys,
    .ops = &ops,
};

VEIL_PLUGIN_ENTRY(descriptor)
