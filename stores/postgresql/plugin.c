/* Store "postgresql": records in one PostgreSQL database (libpq), for
 * deployments where several nodes — directory and relay nodes behind one
 * name — share their state.
 *
 *   [store]
 *   plugin = postgresql
 *   conninfo = host=db.example port=5432 dbname=veil user=veil
 *   password_file = /etc/veil/db-password     # or password_env = VAR
 *
 * The password never goes in the configuration: a conninfo holding one is
 * refused.  Guarantees come from the database's transactions, never from
 * a lock of ours: a conditional write is one UPDATE ... WHERE version = n
 * (for "absent" an INSERT ... ON CONFLICT DO NOTHING, whose unique key
 * decides between two creators); take is one DELETE of the row a sub-select locked FOR UPDATE
 * SKIP LOCKED, so two takers on two nodes never get one record, and a
 * take whose value does not fit the caller's buffer is rolled back.
 * Commits are synchronous (the server's synchronous_commit, on by
 * default): durable on return.  One connection per instance, under a
 * mutex.  Rows are decoded with bounds (VEIL_EFORMAT naming table and
 * record).  Transactions of one op and batches: txn.c. */
#include <veil/error.h>
#include <veil/plugin.h>
#include <veil/store.h>

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_store.h"
#include "store_common.h"

#define FORMAT 1
#define TABLE "veil_records"
#define PASSWORD_MAX 1024u

static const char schema[] =
    "BEGIN; SELECT pg_advisory_xact_lock(1986356588); "
    "CREATE TABLE IF NOT EXISTS " TABLE " (ns TEXT COLLATE \"C\" NOT NULL, "
    "key TEXT COLLATE \"C\" NOT NULL, version BIGINT NOT NULL, value BYTEA NOT NULL, "
    "PRIMARY KEY (ns, key));"
    "CREATE TABLE IF NOT EXISTS veil_store_meta (name TEXT PRIMARY KEY, value BIGINT);"
    "INSERT INTO veil_store_meta VALUES ('format', 1) ON CONFLICT DO NOTHING; COMMIT;";

#define COLS "key, version, value"
static const char q_get[] = "SELECT " COLS " FROM " TABLE " WHERE ns = $1 AND key = $2";
/* a conflict returns no row (explain() says why) instead of an error, which
 * would abort a batch's transaction */
static const char q_insert[] = "INSERT INTO " TABLE " VALUES ($1, $2, 1, $3) ON CONFLICT DO "
                               "NOTHING RETURNING version";
static const char q_upsert[] = "INSERT INTO " TABLE " VALUES ($1, $2, 1, $3) ON CONFLICT (ns, "
                               "key) DO UPDATE SET version = " TABLE ".version + 1, value = "
                               "excluded.value RETURNING version";
static const char q_update[] = "UPDATE " TABLE " SET version = version + 1, value = $3 WHERE ns "
                               "= $1 AND key = $2 AND version = $4::bigint RETURNING version";
static const char q_delete[] = "DELETE FROM " TABLE " WHERE ns = $1 AND key = $2 AND "
                               "($3::bigint IS NULL OR version = $3::bigint) RETURNING version";
static const char q_take[] = "DELETE FROM " TABLE " WHERE ns = $1 AND key = $2 RETURNING " COLS;
static const char q_take_first[] =
    "DELETE FROM " TABLE " WHERE (ns, key) = (SELECT ns, key FROM " TABLE " WHERE ns = $1 AND "
    "key >= $2 AND key < $2 || chr(127) ORDER BY key LIMIT 1 FOR UPDATE SKIP LOCKED) "
    "RETURNING " COLS;
static const char q_list[] = "SELECT " COLS " FROM " TABLE " WHERE ns = $1 AND key >= $2 AND "
                             "key < $2 || chr(127) ORDER BY key";

typedef struct row {
    const char *key;
    uint64_t version;
    const uint8_t *value;
    size_t len;
} row;

static const char *const config_keys[] = { "conninfo", "password_file", "password_env", NULL };

static void instance_free(void *inst)
{
    pg_store *s = inst;
    if (s == NULL)
        return;
    PQfinish(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- configuration -------------------------------------------------------- */

/* The password from password_file (first line; the file must not be
 * readable by group or others) or password_env; "" for none. */
static int read_password(const veil_config_scope *scope, char *out, size_t cap)
{
    const char *file = veil_config_scope_get(scope, "password_file");
    const char *env = veil_config_scope_get(scope, "password_env");
    out[0] = '\0';
    if (file != NULL && env != NULL)
        return veil_error_set(VEIL_ECONFIG, "[%s]: password_file and password_env are "
                              "exclusive", scope->section);
    if (env != NULL) {
        const char *v = getenv(env);
        if (v == NULL || strlen(v) >= cap)
            return veil_error_set(VEIL_ECONFIG, "[%s]: password_env names %s, which is %s",
                                  scope->section, env, v == NULL ? "not set" : "too long");
        memcpy(out, v, strlen(v) + 1);
        return 0;
    }
    if (file == NULL)
        return 0;
    int rc = store_read_secret_file(file, out, cap);
    return rc < 0 ? veil_error_wrap(rc, "[%s] password_file", scope->section) : 0;
}

static int check_conninfo(const veil_config_scope *scope, const char *conninfo)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
    int rc = 0;
    if (opts == NULL) {
        rc = veil_error_set(VEIL_ECONFIG, "%s: conninfo does not parse: %s",
                            veil_config_scope_origin(scope, "conninfo"),
                            err != NULL ? err : "out of memory");
        PQfreemem(err);
        return rc;
    }
    for (PQconninfoOption *o = opts; o->keyword != NULL && rc == 0; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
            rc = veil_error_set(VEIL_ECONFIG, "%s: conninfo holds a password; the password "
                                "never goes in the configuration: use password_file or "
                                "password_env", veil_config_scope_origin(scope, "conninfo"));
    PQconninfoFree(opts);
    return rc;
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* NOTICEs ("relation already exists, skipping") */
}

static int prepare(pg_store *s)
{
    PQsetNoticeProcessor(s->db, quiet, NULL);
    PGresult *r = PQexec(s->db, schema);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : pg_db_error(s, r, "creating the tables");
    PQclear(r);
    if (rc < 0)
        return rc;
    r = PQexec(s->db, "SELECT value FROM veil_store_meta WHERE name = 'format'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = pg_db_error(s, r, "reading the format");
    else if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0))
        rc = veil_error_set(VEIL_EFORMAT, "%s: table veil_store_meta, record 'format': "
                            "missing", s->where);
    else if (strcmp(PQgetvalue(r, 0, 0), "1") != 0)
        rc = veil_error_set(VEIL_EVERSION, "%s: format %s, this veil reads %d", s->where,
                            PQgetvalue(r, 0, 0), FORMAT);
    PQclear(r);
    return rc;
}

static int connect_db(pg_store *s, const char *conninfo, const char *password)
{
    const char *keys[] = { "dbname", "password", "fallback_application_name", NULL };
    const char *vals[] = { conninfo, password[0] != '\0' ? password : NULL, "veil", NULL };
    if (password[0] == '\0')
        keys[1] = NULL;
    s->db = PQconnectdbParams(keys, vals, 1);
    if (s->db == NULL)
        return veil_error_set(VEIL_ENOMEM, "postgresql store: out of memory");
    snprintf(s->where, sizeof s->where, "postgresql store (database %s on %s)", PQdb(s->db),
             PQhost(s->db) != NULL ? PQhost(s->db) : "?");
    if (PQstatus(s->db) != CONNECTION_OK)
        return pg_db_error(s, NULL, "connecting");
    return prepare(s);
}

static int instance_new(void *plugin_state, const veil_config_scope *scope, void **inst)
{
    char password[PASSWORD_MAX];
    (void)plugin_state;
    const char *conninfo = veil_config_scope_get(scope, "conninfo");
    if (conninfo == NULL)
        return veil_error_set(VEIL_ECONFIG, "postgresql store [%s]: 'conninfo' is required",
                              scope->section);
    int rc = check_conninfo(scope, conninfo);
    if (rc == 0)
        rc = read_password(scope, password, sizeof password);
    if (rc < 0)
        return rc;
    pg_store *s = calloc(1, sizeof *s);
    if (s == NULL) {
        veil_memzero(password, sizeof password);
        return veil_error_set(VEIL_ENOMEM, "postgresql store: out of memory");
    }
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    rc = connect_db(s, conninfo, password);
    veil_memzero(password, sizeof password);
    if (rc < 0) {
        instance_free(s);
        return rc;
    }
    *inst = s;
    return 0;
}

/* ---- rows ------------------------------------------------------------------ */

static int bad_row(const pg_store *s, const char *ns, const char *key, const char *what)
{
    return veil_error_set(VEIL_EFORMAT, "%s: table " TABLE ", record %s/%s: %s", s->where, ns,
                          key != NULL ? key : "?", what);
}

/* Row i of a binary result (columns key, version, value). */
static int decode(const pg_store *s, const PGresult *r, int i, const char *ns, row *out)
{
    if (PQgetisnull(r, i, 0) || PQgetisnull(r, i, 1) || PQgetisnull(r, i, 2))
        return bad_row(s, ns, NULL, "a NULL column");
    const char *key = PQgetvalue(r, i, 0);
    int n = PQgetlength(r, i, 0);
    if (n < 1 || (unsigned)n > VEIL_STORE_KEY_MAX || strlen(key) != (size_t)n)
        return bad_row(s, ns, NULL, "key length is out of 1..255 (or holds a NUL)");
    if (store_check_key_bytes(key) < 0)
        return bad_row(s, ns, key, "key holds a byte outside 0x21..0x7e");
    if (PQgetlength(r, i, 1) != 8)
        return bad_row(s, ns, key, "version is not a bigint");
    uint64_t v = 0;
    for (int b = 0; b < 8; b++)
        v = v << 8 | (uint8_t)PQgetvalue(r, i, 1)[b];
    if (v < 1 || v > INT64_MAX)
        return bad_row(s, ns, key, "version is not an integer >= 1");
    n = PQgetlength(r, i, 2);
    if ((unsigned)n > VEIL_STORE_VALUE_MAX)
        return bad_row(s, ns, key, "value is over VEIL_STORE_VALUE_MAX bytes");
    *out = (row){ key, v, (const uint8_t *)PQgetvalue(r, i, 2), (size_t)n };
    return 0;
}

/* Run q with up to 4 parameters (text, but $3 binary: the value); binary
 * results.  NULL parameters are SQL NULL. */
static PGresult *run(pg_store *s, const char *q, int n, const char *p1, const char *p2,
                     const uint8_t *value, size_t len, const char *p4)
{
    const char *vals[4] = { p1, p2, (const char *)value, p4 };
    int lens[4] = { 0, 0, (int)len, 0 };
    int fmts[4] = { 0, 0, 1, 0 };
    if (value == NULL && n >= 3)
        vals[2] = "";
    return PQexecParams(s->db, q, n, NULL, vals, lens, fmts, 1);
}

/* ---- ops -------------------------------------------------------------------- */

static int get_in(pg_store *s, const char *ns, const char *key, uint8_t *value, size_t cap,
                  size_t *len, uint64_t *version)
{
    row w;
    PGresult *r = run(s, q_get, 2, ns, key, NULL, 0, NULL);
    int rc = PQresultStatus(r) != PGRES_TUPLES_OK ? pg_db_error(s, r, "reading a record")
             : PQntuples(r) == 0 ? veil_error_set(VEIL_ENOTFOUND, "postgresql store: no record "
                                                  "%s/%s", ns, key)
                                 : decode(s, r, 0, ns, &w);
    if (rc == 0) {
        rc = store_copy_out("postgresql store", ns, key, w.value, w.len, value, cap, len);
        *version = w.version;
    }
    PQclear(r);
    return rc;
}

static int get(void *inst, const char *ns, const char *key, uint8_t *value, size_t cap,
               size_t *len, uint64_t *version)
{
    pg_store *s = inst;
    pthread_mutex_lock(&s->lock);
    int rc = pg_start(s, false);
    if (rc == 0)
        rc = pg_finish(s, false, get_in(s, ns, key, value, cap, len, version));
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Why a conditional write or delete of ns/key found nothing to change. */
static int explain(pg_store *s, const char *ns, const char *key, uint64_t expected, bool del)
{
    PGresult *r = run(s, q_get, 2, ns, key, NULL, 0, NULL);
    row w;
    int rc = PQresultStatus(r) != PGRES_TUPLES_OK ? pg_db_error(s, r, "reading a record") : 0;
    bool found = rc == 0 && PQntuples(r) > 0;
    if (rc == 0 && found)
        rc = decode(s, r, 0, ns, &w);
    if (rc == 0 && !found && del)
        rc = veil_error_set(VEIL_ENOTFOUND, "postgresql store: no record %s/%s", ns, key);
    if (rc == 0)
        rc = store_check_version(ns, key, found, found ? w.version : 0, expected);
    if (rc == 0) /* it changed back meanwhile: report the race as a conflict */
        rc = veil_error_set(VEIL_ESTATE, "store: record %s/%s changed during the write", ns,
                            key);
    PQclear(r);
    return rc;
}

static int put_in(pg_store *s, const char *ns, const char *key, const uint8_t *value,
                  size_t len, uint64_t expected, uint64_t *version)
{
    char ver[24];
    snprintf(ver, sizeof ver, "%llu", (unsigned long long)expected);
    const char *q = expected == VEIL_STORE_ANY      ? q_upsert
                    : expected == VEIL_STORE_ABSENT ? q_insert
                                                    : q_update;
    PGresult *r = run(s, q, q == q_update ? 4 : 3, ns, key, value, len, ver);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = pg_db_error(s, r, "writing a record");
    else if (PQntuples(r) == 0)
        rc = explain(s, ns, key, expected, false);
    else if (PQgetlength(r, 0, 0) != 8)
        rc = bad_row(s, ns, key, "version is not a bigint");
    if (rc == 0) {
        uint64_t v = 0;
        for (int b = 0; b < 8; b++)
            v = v << 8 | (uint8_t)PQgetvalue(r, 0, 0)[b];
        *version = v;
    }
    PQclear(r);
    return rc;
}

static int put(void *inst, const char *ns, const char *key, const uint8_t *value, size_t len,
               uint64_t expected, uint64_t *version)
{
    pg_store *s = inst;
    pthread_mutex_lock(&s->lock);
    int rc = pg_start(s, false);
    if (rc == 0)
        rc = pg_finish(s, false, put_in(s, ns, key, value, len, expected, version));
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int del_in(pg_store *s, const char *ns, const char *key, uint64_t expected)
{
    char ver[24];
    snprintf(ver, sizeof ver, "%llu", (unsigned long long)expected);
    const char *vals[3] = { ns, key, expected == VEIL_STORE_ANY ? NULL : ver };
    PGresult *r = PQexecParams(s->db, q_delete, 3, NULL, vals, NULL, NULL, 1);
    int rc = PQresultStatus(r) != PGRES_TUPLES_OK ? pg_db_error(s, r, "deleting a record")
             : PQntuples(r) == 0                  ? explain(s, ns, key, expected, true)
                                                  : 0;
    PQclear(r);
    return rc;
}

static int del(void *inst, const char *ns, const char *key, uint64_t expected)
{
    pg_store *s = inst;
    pthread_mutex_lock(&s->lock);
    int rc = pg_start(s, false);
    if (rc == 0)
        rc = pg_finish(s, false, del_in(s, ns, key, expected));
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* In a transaction: delete the record (or the first unlocked one under
 * the prefix), copy it out; anything wrong rolls the take back. */
static int take_in(pg_store *s, const char *ns, const char *key, unsigned flags, char *key_out,
                   uint8_t *value, size_t cap, size_t *len)
{
    bool prefix = (flags & VEIL_STORE_PREFIX) != 0;
    PGresult *r = run(s, prefix ? q_take_first : q_take, 2, ns, key, NULL, 0, NULL);
    row w;
    int rc = PQresultStatus(r) != PGRES_TUPLES_OK ? pg_db_error(s, r, "taking a record")
             : PQntuples(r) == 0 ? veil_error_set(VEIL_ENOTFOUND, "postgresql store: no record "
                                                  "%s/%s%s", ns, key, prefix ? "*" : "")
                                 : decode(s, r, 0, ns, &w);
    if (rc == 0)
        rc = store_copy_out("postgresql store", ns, w.key, w.value, w.len, value, cap, len);
    if (rc == 0)
        memcpy(key_out, w.key, strlen(w.key) + 1);
    PQclear(r);
    return rc;
}

static int take(void *inst, const char *ns, const char *key, unsigned flags, char *key_out,
                uint8_t *value, size_t cap, size_t *len)
{
    pg_store *s = inst;
    pthread_mutex_lock(&s->lock);
    int rc = pg_start(s, true);
    if (rc == 0)
        rc = pg_finish(s, true, take_in(s, ns, key, flags, key_out, value, cap, len));
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int list_in(pg_store *s, const char *ns, const char *prefix, veil_store_fn fn, void *arg)
{
    row w;
    PGresult *r = run(s, q_list, 2, ns, prefix, NULL, 0, NULL);
    int rc = PQresultStatus(r) != PGRES_TUPLES_OK ? pg_db_error(s, r, "listing records") : 0;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++)
        if ((rc = decode(s, r, i, ns, &w)) == 0)
            rc = fn(arg, w.key, w.value, w.len, w.version);
    PQclear(r);
    return rc;
}

static int list(void *inst, const char *ns, const char *prefix, veil_store_fn fn, void *arg)
{
    pg_store *s = inst;
    pthread_mutex_lock(&s->lock);
    int rc = pg_start(s, false);
    if (rc == 0)
        rc = pg_finish(s, false, list_in(s, ns, prefix, fn, arg));
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
    .batch_begin = pg_batch_begin,
    .batch_commit = pg_batch_commit,
};

static const veil_plugin_descriptor descriptor = {
    VEIL_PLUGIN_ABI,
    .kind = VEIL_PLUGIN_STORE,
    .name = "postgresql",
    .version = "1.0",
    .description = "state store in a PostgreSQL database, shared by several nodes",
    .config_keys = config_keys,
    .ops = &ops,
};

VEIL_PLUGIN_ENTRY(descriptor)
