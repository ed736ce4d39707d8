/* The postgresql store's instance and what its ops share with its
 * transactions (txn.c).  Private to stores/postgresql. */
#ifndef VEIL_STORE_PG_STORE_H
#define VEIL_STORE_PG_STORE_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct pg_store {
    pthread_mutex_t lock;        /* recursive: a batch holds it across ops */
    bool batch;                  /* the lock's holder is inside a batch */
    bool held;                   /* in it, the last op's savepoint is still to release */
    PGconn *db;
    char where[160];             /* "postgresql store host=... dbname=..." for errors */
    char lost[256];              /* in a batch: the error that lost the connection */
    char xid[24];                /* the batch's transaction id */
} pg_store;

/* msg on one line (line breaks and the blanks around them: one space). */
void pg_one_line(const char *msg, char *out, size_t cap);
/* VEIL_EIO "<where>: <what>: <the server's or libpq's message>". */
int pg_db_error(pg_store *s, const PGresult *r, const char *what);
/* Run sql expecting no rows. */
int pg_command(pg_store *s, const char *sql);
/* Open an op's transaction (several: more than one statement) and close
 * it with the op's result rc (txn.c). */
int pg_start(pg_store *s, bool several);
int pg_finish(pg_store *s, bool several, int rc);
int pg_batch_begin(void *inst);
int pg_batch_commit(void *inst);

#endif
