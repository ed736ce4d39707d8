/* The case registry: one X(name) line per case (see bench.h). */
#include "bench.h"

#define BENCH_CASE_LIST(X) \
    X(routing) \
    X(vault) \
    X(noise) \
    X(channel) \
    X(tcp) \
    X(flood) \
    X(relay) \
    X(portal) \
    X(state)

#define BENCH_DECLARE(name) extern const bench_case bench_case_##name;
#define BENCH_REF(name) &bench_case_##name,

BENCH_CASE_LIST(BENCH_DECLARE)

const bench_case *const bench_cases[] = {BENCH_CASE_LIST(BENCH_REF) NULL};
