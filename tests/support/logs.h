/* Log capture: while started, every record the library logs is kept in
 * LOGS (text, counts, the last one and the last warning) instead of going
 * to stderr.  Tests search LOGS.text or compare the last records. */
#ifndef VEIL_TESTS_LOGS_H
#define VEIL_TESTS_LOGS_H

#include <stddef.h>

#include <veil/veil.h>

typedef struct log_rec {
    char text[16384];           /* "[level component] message\n" per record, as room allows */
    size_t len;
    unsigned count;             /* records since logs_start() */
    unsigned warnings;          /* of which at VEIL_LOG_WARN or above */
    char last_warning[1024];    /* the last of those: its message */
    char last_warning_component[32];
} log_rec;

extern log_rec LOGS;

/* Clear LOGS and capture from now on (the handler is the library's one).
 * The rate limiter's memory is flushed first: a line logged by an earlier
 * test is logged again here (repeats within this capture are still
 * counted, not logged: docs/CONFIG.md, "[log]"). */
void logs_start(void);
/* Back to the default handler (LOGS is kept). */
void logs_stop(void);

#endif
