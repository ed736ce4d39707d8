/* The tcp benchmark case (bench_tcp.c): a secure channel between two
 * processes over loopback TCP (bench_tcp_veil.c) against OpenSSL TLS 1.3
 * between two processes over loopback TCP (bench_tcp_tls.c).  Each side is
 * a "peer": a forked server process and this process as the client. */
#ifndef VEIL_BENCH_TCP_H
#define VEIL_BENCH_TCP_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Throughput acknowledgements: the receiver acks every TCPB_ACK_BYTES of
 * payload; the veil sender keeps at most TCPB_WINDOW_BYTES unacknowledged
 * (TCP's own flow control does this for TLS). */
#define TCPB_ACK_BYTES (64u * 1024u)
#define TCPB_WINDOW_BYTES (2048u * 1024u)
#define TCPB_MAX_MESSAGE 16384u

typedef struct tcpb_peer tcpb_peer;

typedef struct tcpb_ops {
    const char *name;
    /* Fork the server process, connect, authenticate.  0 or -1 (reason on
     * stderr). */
    int (*open)(tcpb_peer **out);
    /* count messages of size bytes, one direction, until the receiver has
     * acknowledged all of them (size * count a multiple of TCPB_ACK_BYTES). */
    int (*oneway)(tcpb_peer *p, size_t size, long count);
    /* count request/response exchanges of size bytes each way; the
     * round-trip time of each in seconds into samples[]. */
    int (*rtt)(tcpb_peer *p, size_t size, long count, double *samples);
    /* Tell the server to exit, wait for it, free everything. */
    void (*close)(tcpb_peer *p);
    /* Set the CPU affinity of the peer's processes (the server, and a
     * relay in between) to set; 0 or -1.  NULL: not offered. */
    int (*pin)(tcpb_peer *p, const cpu_set_t *set);
    /* CPU time one of the peer's processes (TCPB_SERVER, TCPB_RELAY) has
     * used so far, in ns (its threads' schedstat); 0 for a relay the peer
     * does not have; -1 when unknown.  NULL: not offered. */
    double (*cpu_ns)(tcpb_peer *p, int process);
    /* The pid of one of the peer's processes (TCPB_SERVER, TCPB_RELAY), 0
     * for a relay the peer does not have.  NULL: not offered. */
    pid_t (*pid_of)(tcpb_peer *p, int process);
} tcpb_ops;

/* The processes of a path, for CPU accounting: this one (the client), the
 * server, a relay in between. */
enum { TCPB_CLIENT, TCPB_SERVER, TCPB_RELAY, TCPB_PROCESSES };

extern const tcpb_ops tcpb_veil_ops;
extern const tcpb_ops tcpb_veil_relay_ops; /* the server through a relay process */
extern const tcpb_ops tcpb_tls_ops;   /* open fails without OpenSSL */

/* One side of a comparison: its ops and the open peer (NULL: skipped). */
typedef struct tcpb_side {
    const tcpb_ops *ops;
    tcpb_peer *peer;
} tcpb_side;

struct bench_run;
/* One-direction runs of size bytes (about 64 MiB each), s[0] and s[1]
 * alternating run by run (5 runs; 1 with --smoke); the median MB/s of each
 * side into out (0 for a skipped side).  0 or -1. */
int tcpb_oneway_medians(struct bench_run *b, tcpb_side s[2], size_t size, double out[2]);
/* The same, also the median CPU time per payload byte of each process of
 * each path (ns/B; 0 for a process a path does not have, and for every
 * process of a side whose ops has no cpu_ns).  0 or -1. */
int tcpb_oneway_cpu_medians(struct bench_run *b, tcpb_side s[2], size_t size, double out[2],
                            double cpu[2][TCPB_PROCESSES]);
/* CPU time a process has used so far, in ns (/proc/PID/schedstat), or -1. */
double tcpb_pid_cpu_ns(pid_t pid);

/* Fork a server: serve(wfd, arg) runs in the child, writes one line to wfd
 * when it is ready (e.g. its port), serves, and its return value becomes
 * the child's exit status.  The parent gets the pid and that line (waits
 * at most 20 s).  The child dies with the parent (PR_SET_PDEATHSIG). */
int tcpb_spawn(int (*serve)(int wfd, void *arg), void *arg, pid_t *pid, char *line,
               size_t cap);
/* Wait up to 5 s for the child, then kill it; 0 when it exited 0. */
int tcpb_reap(pid_t pid);
/* Write a NUL-terminated line to fd (all of it); 0 or -1. */
int tcpb_write_line(int fd, const char *line);

#endif
