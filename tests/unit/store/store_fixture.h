/* The store conformance fixture: a backend (plugin name and how to open a
 * store of it in a temporary directory) and the store a case runs on. */
#ifndef VEIL_TEST_STORE_FIXTURE_H
#define VEIL_TEST_STORE_FIXTURE_H

#include <veil/store.h>

#include <limits.h>
#include <stdbool.h>

typedef struct store_fixture store_fixture;

typedef struct store_backend {
    const char *plugin;
    /* A second instance on the same data (NULL: the backend cannot, as
     * memory: one instance is its data). */
    veil_store *(*open_another)(store_fixture *f);
} store_backend;

struct store_fixture {
    const store_backend *backend;
    bool skipped;                     /* the backend is not available here */
    veil_store *store;
    veil_store *(*open_another)(store_fixture *f);
    char dir[PATH_MAX - 64];
    char path[PATH_MAX];
};

extern store_backend store_backend_memory;
extern store_backend store_backend_sqlite;
extern store_backend store_backend_postgresql;

/* The throwaway PostgreSQL server (tests/support/pg-server.sh), started on
 * first use and stopped at exit: its conninfo and password file, or NULL
 * with *why saying why there is none (the server package is missing). */
const char *store_pg_server(const char **password_file, const char **why);
/* Drop the store's tables (a fresh database for the next case). */
void store_pg_reset(void);
/* Run SQL on the server's database as the veil role. */
void store_pg_exec(const char *sql);
/* Run a query on it; its first column of its first row as a number. */
long store_pg_number(const char *sql);

/* postgresql only (store_pg_cases.c, store_batch_cases.c). */
void test_pg_corrupt_row(void **state);
void test_pg_password_never_in_config(void **state);
void test_pg_batch_connection_lost(void **state);
void test_pg_batch_op_after_loss(void **state);
void test_pg_batch_commit_refused(void **state);
void test_pg_batch_begin_after_restart(void **state);
void test_pg_batch_commit_answer_lost(void **state);
void test_pg_batch_commit_unknown(void **state);

/* A relay to the test server (store_pg_proxy.c): listening at
 * dir/.s.PGSQL.5433 (conninfo host=dir port=5433), it forwards to
 * server_dir/.s.PGSQL.5432; armed, it loses the answer to the next COMMIT
 * (the commit is done) and closes that connection; with refuse_after it
 * then closes every new connection at once. */
typedef struct pg_proxy pg_proxy;
pg_proxy *pg_proxy_start(const char *server_dir, const char *dir);
void pg_proxy_lose_commit_answer(pg_proxy *p, bool refuse_after);
void pg_proxy_stop(pg_proxy *p);

/* Every backend (store_batch_cases.c). */
void test_batch(void **state);
void test_batch_failed_ops(void **state);
void test_batch_threads(void **state);

/* The fixture's store (skips the case when the backend is unavailable);
 * a put that must succeed with want_version; a get that must find v at
 * want_version. */
veil_store *S(void **state);
void put_ok(veil_store *s, const char *ns, const char *key, const char *v, uint64_t expected,
            uint64_t want_version);
void get_is(veil_store *s, const char *ns, const char *key, const char *v,
            uint64_t want_version);

/* cmocka setup/teardown: *state is the backend on entry, the fixture after. */
int store_fixture_open(void **state);
int store_fixture_close(void **state);
/* A store of the fixture's backend on the fixture's data. */
veil_store *store_fixture_reopen(store_fixture *f);

/* sqlite only (store_sqlite_cases.c). */
void test_sqlite_reopen(void **state);
void test_sqlite_corrupt_row(void **state);
void test_sqlite_file_mode(void **state);

#endif
