/* The floor under any TCP relay on this machine (bench_relay_floor.c). */
#ifndef VEIL_BENCH_RELAY_FLOOR_H
#define VEIL_BENCH_RELAY_FLOOR_H

#include <stddef.h>

struct bench_run;
/* Plain bytes sender -> sink, directly and through a minimal recv/send
 * forwarder, each process its own, in writes of write bytes (at most
 * 64 KiB) as veil sends them; emits the CPU per byte of both paths and
 * puts the median difference (what one more TCP hop costs, ns/B) into
 * *hop_nspb.  0 or -1 (reason on stderr). */
int bench_relay_floor(struct bench_run *b, size_t write, double *hop_nspb);

#endif
