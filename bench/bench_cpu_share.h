/* A CPU share of its own for a process (bench_cpu_share.c): as if it ran
 * on a host of `cpus` CPUs, on a machine with fewer cores than processes.
 * Needs root and the cgroup v1 cpu controller; without them _new says why. */
#ifndef VEIL_BENCH_CPU_SHARE_H
#define VEIL_BENCH_CPU_SHARE_H

#include <stddef.h>
#include <sys/types.h>

typedef struct bench_cpu_share bench_cpu_share;

/* A new share (a cgroup named after this process and name) of cpus CPUs;
 * 0, or -1 with the reason in why. */
int bench_cpu_share_new(const char *name, double cpus, bench_cpu_share **out, char *why,
                        size_t cap);
/* Move the process pid (all its threads) into s; 0 or -1. */
int bench_cpu_share_add(bench_cpu_share *s, pid_t pid);
/* Move s's processes back to the root group and remove s (NULL: nothing). */
void bench_cpu_share_free(bench_cpu_share *s);

#endif
