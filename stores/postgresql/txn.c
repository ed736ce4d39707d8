/* Store "postgresql": transactions, of one op and of a batch.
 *
 * Batches: batch_begin sends BEGIN and keeps the (recursive) mutex until
 * batch_commit, so the connection carries only this thread's ops, each
 * under SAVEPOINT op (a failing op is rolled back to it alone); COMMIT at
 * batch_commit.  A COMMIT the server refuses leaves nothing of the batch.
 * When the connection is lost in a batch (or at its COMMIT, whose outcome
 * the client then cannot know) the commit connects again and asks the
 * server what became of the batch's transaction (pg_xact_status of the id
 * taken at BEGIN): aborted is an error saying none of the batch is kept,
 * committed is success; an error says so when the server cannot be asked. */
#include <veil/error.h>

#include <stdio.h>
#include <string.h>

#include "pg_store.h"

/* msg on one line: each line break and the blanks around it become one
 * space ("server closed the connection unexpectedly This probably ..."). */
void pg_one_line(const char *msg, char *out, size_t cap)
{
    size_t n = 0;
    for (; *msg != '\0' && n + 1 < cap; msg++) {
        if (*msg != '\n' && *msg != '\t') {
            out[n++] = *msg;
            continue;
        }
        while (n > 0 && out[n - 1] == ' ')
            n--;
        while (msg[1] == '\n' || msg[1] == '\t' || msg[1] == ' ')
            msg++;
        out[n++] = ' ';
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

/* The server's message (or libpq's) on one line; the first one that finds
 * the connection lost in a batch is kept for the commit's error. */
int pg_db_error(pg_store *s, const PGresult *r, const char *what)
{
    char msg[512];
    const char *m = r != NULL ? PQresultErrorMessage(r) : "";
    pg_one_line(m[0] != '\0' ? m : PQerrorMessage(s->db), msg, sizeof msg);
    if (s->batch && s->lost[0] == '\0' && PQstatus(s->db) != CONNECTION_OK)
        snprintf(s->lost, sizeof s->lost, "%.60s: %.180s", what, msg);
    return veil_error_set(VEIL_EIO, "%s: %s: %s", s->where, what, msg);
}

int pg_command(pg_store *s, const char *sql)
{
    PGresult *r = PQexec(s->db, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : pg_db_error(s, r, sql);
    PQclear(r);
    return rc;
}

/* ---- transactions -------------------------------------------------------- */

/* Outside a batch, a connection found lost before is made again (inside
 * one never: the batch is gone with it, and the op would run outside it). */
static int connected(pg_store *s)
{
    if (PQstatus(s->db) != CONNECTION_BAD)
        return 0;
    PQreset(s->db);
    return PQstatus(s->db) == CONNECTION_OK ? 0 : pg_db_error(s, NULL, "connecting again");
}

/* Open an op: inside a batch a savepoint (a failing op undoes only
 * itself; the last op's is released in the same round trip); outside one
 * BEGIN for an op of several statements (take), else nothing (one
 * statement is its own transaction). */
int pg_start(pg_store *s, bool several)
{
    if (s->batch) {
        bool held = s->held;
        s->held = false;
        int rc = pg_command(s, held ? "RELEASE SAVEPOINT op; SAVEPOINT op" : "SAVEPOINT op");
        s->held = rc == 0;
        return rc;
    }
    int rc = connected(s);
    return rc == 0 && several ? pg_command(s, "BEGIN") : rc;
}

/* Close it: when rc is 0, COMMIT (in a batch nothing: the savepoint is
 * released by the next op or the commit); else ROLLBACK (ROLLBACK TO and
 * RELEASE), keeping rc's detail. */
int pg_finish(pg_store *s, bool several, int rc)
{
    if (s->batch && rc == 0)
        return 0;
    if (s->batch) {
        s->held = false;
        PQclear(PQexec(s->db, "ROLLBACK TO SAVEPOINT op; RELEASE SAVEPOINT op"));
        return rc;
    }
    if (!several)
        return rc;
    if (rc == 0 && (rc = pg_command(s, "COMMIT")) == 0)
        return 0;
    PQclear(PQexec(s->db, "ROLLBACK"));
    return rc;
}

/* BEGIN, keeping the transaction's id (to ask about it after a lost
 * connection).  A connection the server closed while it was idle (a
 * restart) is found out only here; nothing has happened yet, so it is
 * made again and BEGIN sent once more. */
static int begin_batch(pg_store *s)
{
    PGresult *r = NULL;
    int rc = 0;
    for (int tries = 0; tries < 2; tries++) {
        PQclear(r);
        r = NULL;
        if ((rc = connected(s)) < 0)
            return rc;
        r = PQexec(s->db, "BEGIN; SELECT pg_current_xact_id()::text");
        if (PQresultStatus(r) == PGRES_TUPLES_OK || PQstatus(s->db) != CONNECTION_BAD)
            break;
    }
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
        PQgetlength(r, 0, 0) < (int)sizeof s->xid)
        memcpy(s->xid, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0) + 1);
    else
        rc = pg_db_error(s, r, "BEGIN");
    PQclear(r);
    if (rc < 0 && PQtransactionStatus(s->db) != PQTRANS_IDLE)
        PQclear(PQexec(s->db, "ROLLBACK"));
    return rc;
}

/* The lock stays held from here to batch_commit (recursive: this
 * thread's ops take it again; other threads wait). */
int pg_batch_begin(void *inst)
{
    pg_store *s = inst;
    pthread_mutex_lock(&s->lock);
    int rc = s->batch ? veil_error_set(VEIL_ESTATE, "%s: a batch is already open in this "
                                       "thread", s->where)
                      : begin_batch(s);
    if (rc < 0) {
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    s->batch = true;
    s->held = false;
    s->lost[0] = '\0';
    return 0;
}

/* After a lost connection, on a new one: what became of the batch's
 * transaction.  1 committed, 0 aborted, -1 unknown; why says which. */
static int ask_outcome(pg_store *s, char *why, size_t cap)
{
    char msg[256];
    PQreset(s->db);
    if (PQstatus(s->db) != CONNECTION_OK) {
        pg_one_line(PQerrorMessage(s->db), msg, sizeof msg);
        snprintf(why, cap, "connecting again to ask: %s", msg);
        return -1;
    }
    const char *v[1] = { s->xid };
    PGresult *r = PQexecParams(s->db, "SELECT pg_xact_status($1::xid8)", 1, NULL, v, NULL,
                               NULL, 0);
    int rc = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
        rc = strcmp(PQgetvalue(r, 0, 0), "committed") == 0 ? 1
             : strcmp(PQgetvalue(r, 0, 0), "aborted") == 0 ? 0
                                                            : -1;
        snprintf(why, cap, "transaction %s %s", s->xid, PQgetvalue(r, 0, 0));
    } else {
        pg_one_line(PQresultErrorMessage(r), msg, sizeof msg);
        snprintf(why, cap, "asking about transaction %s: %s", s->xid,
                 msg[0] != '\0' ? msg : "no answer");
    }
    PQclear(r);
    return rc;
}

/* The connection was lost in the batch or at its COMMIT (lost: where and
 * what libpq or the server said). */
static int lost_batch(pg_store *s, const char *lost)
{
    char why[320];
    int rc = ask_outcome(s, why, sizeof why);
    if (rc == 1) /* the COMMIT was done, only its answer lost */
        return 0;
    if (rc == 0)
        return veil_error_set(VEIL_EIO, "%s: batch_commit: the connection was lost (%s); the "
                              "server rolled the batch back (%s): none of its writes is kept",
                              s->where, lost, why);
    return veil_error_set(VEIL_EIO, "%s: batch_commit: the connection was lost (%s) and what "
                          "became of the batch is unknown (%s): PostgreSQL commits it wholly "
                          "or not at all", s->where, lost, why);
}

/* COMMIT, and what its failure means for the batch's writes. */
static int commit(pg_store *s)
{
    char lost[sizeof s->lost], msg[512];
    memcpy(lost, s->lost, sizeof lost);
    PGresult *r = lost[0] == '\0' ? PQexec(s->db, "COMMIT") : NULL;
    const char *m = PQresultErrorMessage(r);
    pg_one_line(m[0] != '\0' ? m : PQerrorMessage(s->db), msg, sizeof msg);
    int rc = 0;
    if (lost[0] == '\0' && PQstatus(s->db) != CONNECTION_OK)
        snprintf(lost, sizeof lost, "COMMIT: %.200s", msg);
    if (lost[0] != '\0')
        rc = lost_batch(s, lost);
    else if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = veil_error_set(VEIL_EIO, "%s: batch_commit: the server refused the commit, the "
                            "batch is undone (none of its writes is kept): COMMIT: %s",
                            s->where, msg);
    else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
        rc = veil_error_set(VEIL_EIO, "%s: batch_commit: the server rolled the batch back "
                            "(its transaction had failed), none of its writes is kept",
                            s->where);
    PQclear(r);
    if (PQstatus(s->db) == CONNECTION_OK && PQtransactionStatus(s->db) != PQTRANS_IDLE)
        PQclear(PQexec(s->db, "ROLLBACK"));
    return rc;
}

int pg_batch_commit(void *inst)
{
    pg_store *s = inst;
    pthread_mutex_lock(&s->lock);
    if (!s->batch) {
        pthread_mutex_unlock(&s->lock);
        return veil_error_set(VEIL_ESTATE, "%s: batch_commit without a batch_begin",
                              s->where);
    }
    s->batch = false;
    int rc = commit(s);
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_unlock(&s->lock); /* batch_begin's */
    return rc;
}
