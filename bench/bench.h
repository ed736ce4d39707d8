/* veil-bench: a registry of benchmark cases.
 *
 * To add a case: write bench/bench_<name>.c defining
 *     const bench_case bench_case_<name> = {"name", "what it measures", run};
 * add one line X(<name>) to BENCH_CASE_LIST in bench/cases.c, and append
 * the file to veil_bench_SOURCES in bench/Makefile.inc.
 *
 * A case reports results with bench_emit(); the driver prints them as a
 * table and (with --json FILE) as JSON. */
#ifndef VEIL_BENCH_H
#define VEIL_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bench_run bench_run;

typedef struct bench_case {
    const char *name;
    const char *description;
    /* 0 on success; a negative VEIL_E* code fails the run. */
    int (*run)(bench_run *b);
} bench_case;

/* --smoke: run for a tiny amount of time (CI); numbers are meaningless. */
bool bench_smoke(const bench_run *b);
/* Record one result: variant is e.g. "hops=3", metric e.g. "deliveries/s". */
void bench_emit(bench_run *b, const char *variant, const char *metric, double value,
                const char *unit);

/* Helpers for cases. */
double bench_now_s(void);          /* monotonic seconds */
long bench_rss_kib(void);          /* VmRSS from /proc/self/status, -1 if unknown */
double bench_median(double *v, size_t n); /* sorts v */

/* The vault case's token part (bench_vault_pkcs11.c). */
int bench_vault_pkcs11(bench_run *b);

/* NULL-terminated, in cases.c. */
extern const bench_case *const bench_cases[];

#endif
