/* Opening and closing a store of each backend for the conformance cases. */
#include <veil/error.h>
#include <veil/store.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libpq-fe.h>
#include <cmocka.h>

#include "store_fixture.h"

veil_store *store_fixture_reopen(store_fixture *f)
{
    veil_store *s = NULL;
    const char *kv[] = { "path", f->path, NULL };
    const char *pw = NULL, *why = NULL;
    const char *pg[] = { "conninfo", store_pg_server(&pw, &why), "password_file", pw, NULL };
    const char *const *keys = f->path[0] != '\0' ? kv : NULL;
    if (strcmp(f->backend->plugin, "postgresql") == 0)
        keys = pg;
    int rc = veil_store_new(f->backend->plugin, keys, &s);
    if (rc < 0)
        print_error("opening a %s store: %s\n", f->backend->plugin, veil_last_error());
    return rc == 0 ? s : NULL;
}

veil_store *S(void **state)
{
    store_fixture *f = *state;
    if (f->skipped)
        skip(); /* the reason was printed by the fixture */
    return f->store;
}

void put_ok(veil_store *s, const char *ns, const char *key, const char *v,
                   uint64_t expected, uint64_t want_version)
{
    uint64_t ver = 0;
    assert_int_equal(veil_store_put(s, ns, key, (const uint8_t *)v, strlen(v), expected, &ver),
                     0);
    assert_int_equal(ver, want_version);
}

void get_is(veil_store *s, const char *ns, const char *key, const char *v,
                   uint64_t want_version)
{
    uint8_t buf[256];
    size_t len = 0;
    uint64_t ver = 0;
    assert_int_equal(veil_store_get(s, ns, key, buf, sizeof buf, &len, &ver), 0);
    assert_int_equal(len, strlen(v));
    assert_memory_equal(buf, v, len);
    assert_int_equal(ver, want_version);
}

store_backend store_backend_memory = { "memory", NULL };
store_backend store_backend_sqlite = { "sqlite", store_fixture_reopen };
store_backend store_backend_postgresql = { "postgresql", store_fixture_reopen };

static char pg_dir[PATH_MAX - 64], pg_conninfo[PATH_MAX + 64], pg_password[PATH_MAX];
static const char *pg_why;

static void pg_stop(void)
{
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "sh '%s/tests/support/pg-server.sh' stop '%s'; rm -rf '%s'",
             getenv("VEIL_TOP_SRCDIR"), pg_dir, pg_dir);
    if (system(cmd) != 0)
        print_error("stopping the postgresql server in %s failed\n", pg_dir);
}

const char *store_pg_server(const char **password_file, const char **why)
{
    static bool tried;
    static char reason[512];
    char cmd[3 * PATH_MAX];
    if (!tried) {
        tried = true;
        snprintf(pg_dir, sizeof pg_dir, "/tmp/veil-pg.XXXXXX");
        assert_non_null(mkdtemp(pg_dir));
        snprintf(cmd, sizeof cmd, "sh '%s/tests/support/pg-server.sh' start '%s' 2>'%s.err'",
                 getenv("VEIL_TOP_SRCDIR"), pg_dir, pg_dir);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        if (fgets(pg_conninfo, sizeof pg_conninfo, p) != NULL)
            pg_conninfo[strcspn(pg_conninfo, "\n")] = '\0';
        int st = pclose(p);
        snprintf(cmd, sizeof cmd, "%s.err", pg_dir);
        FILE *e = fopen(cmd, "r");
        reason[0] = '\0';
        if (e != NULL && fgets(reason, sizeof reason, e) != NULL)
            reason[strcspn(reason, "\n")] = '\0';
        if (e != NULL)
            fclose(e);
        unlink(cmd);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
            pg_why = reason;
            pg_conninfo[0] = '\0';
        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fail_msg("starting postgresql failed: %s", reason);
        } else {
            snprintf(pg_password, sizeof pg_password, "%s/password", pg_dir);
            atexit(pg_stop);
        }
    }
    *password_file = pg_password;
    *why = pg_why;
    return pg_conninfo[0] != '\0' ? pg_conninfo : NULL;
}

void store_pg_reset(void)
{
    store_pg_exec("DROP TABLE IF EXISTS veil_records, veil_store_meta");
}

/* A connection of the veil role to the server's database (NULL: no server). */
static PGconn *pg_connect(void)
{
    const char *pw, *why;
    char password[256] = "";
    const char *ci = store_pg_server(&pw, &why);
    if (ci == NULL)
        return NULL;
    FILE *f = fopen(pw, "r");
    assert_non_null(f);
    assert_non_null(fgets(password, sizeof password, f));
    fclose(f);
    const char *keys[] = { "dbname", "password", NULL };
    const char *vals[] = { ci, password, NULL };
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connecting to the test server: %s", PQerrorMessage(c));
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    return c;
}

void store_pg_exec(const char *sql)
{
    PGconn *c = pg_connect();
    if (c == NULL)
        return;
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

long store_pg_number(const char *sql)
{
    PGconn *c = pg_connect();
    assert_non_null(c);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    long n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return n;
}

int store_fixture_open(void **state)
{
    store_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->backend = *state;
    f->open_another = f->backend->open_another;
    if (strcmp(f->backend->plugin, "memory") != 0) {
        snprintf(f->dir, sizeof f->dir, "%s/veil-store.XXXXXX",
                 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
    }
    *state = f;
    if (strcmp(f->backend->plugin, "postgresql") == 0) {
        const char *pw, *why = NULL;
        if (store_pg_server(&pw, &why) == NULL) {
            print_message("postgresql cases skipped: %s\n", why);
            f->skipped = true;
            return 0;
        }
        store_pg_reset();
    }
    f->store = store_fixture_reopen(f);
    assert_non_null(f->store);
    return 0;
}

int store_fixture_close(void **state)
{
    store_fixture *f = *state;
    char cmd[PATH_MAX + 16];
    veil_store_close(f->store);
    if (f->dir[0] != '\0') {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
    }
    free(f);
    return 0;
}
