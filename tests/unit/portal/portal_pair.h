/* Two nodes in one process over real loopback TCP for the portal stream
 * tests: node B runs a secure-channel listener and an outlet whose target
 * is a TCP socket the test listens on; node A runs an inlet whose route
 * leads to that outlet.  The test's own sockets (clients of the inlet,
 * the target's accepted connections) are plain non-blocking sockets it
 * drives between rounds of both nodes' loops. */
#ifndef VEIL_TESTS_PORTAL_PAIR_H
#define VEIL_TESTS_PORTAL_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <veil/veil.h>

#include "tcp_proxy.h"

#define PAIR_CHANNELS 8

typedef struct pair_opts {
    uint32_t inlet_max, outlet_max;   /* 0: the defaults */
    bool allow_stranger;              /* the outlet allows only another identity */
    bool target_down;                 /* nobody listens at the outlet's target */
    bool ipv6;                        /* inlet from [::1]:0, target on [::1] */
    bool resilient;                   /* the inlet's channel heals */
    bool proxied;                     /* A reaches B through a tcp_proxy (px) */
    uint32_t max_window, window_budget; /* both sides' flow control (0: the defaults) */
} pair_opts;

typedef struct pair {
    veil_node *a, *b;
    veil_context *app_a, *app_b;
    veil_entity *ea, *eb, *stranger;
    int tls;                          /* the target's listening socket (-1: down) */
    char target[64];                  /* the outlet's "to" */
    uint16_t inlet_port;
    /* B's listener channels as its on_open told them, and their closes */
    veil_address opened[PAIR_CHANNELS];
    unsigned nopened, nclosed;
    /* what A's and B's channel-close subscribers heard last */
    int a_reason, b_reason;
    unsigned a_closes, b_closes;
    veil_address a_closed;
    int a_kind;                       /* ... and its kind */
    bool proxied;
    tcp_proxy px;                     /* A's way to B when proxied */
    veil_route to_b;                  /* A's route to B's listener (the inlet's) */
} pair;

/* Build it (asserted); the inlet is "inlet" on A, the outlet "outlet" on B. */
void pair_up(pair *p, const pair_opts *o);
void pair_down(pair *p);
/* One round of both loops (up to 1 ms each). */
void pair_round(pair *p);
/* Milliseconds of the monotonic clock. */
uint64_t now_ms(void);

/* A non-blocking client connected to the inlet (asserted). */
int pair_client(pair *p);
/* The next connection the target accepted, running both nodes until it
 * came (asserted within 5 s). */
int pair_accept(pair *p);
/* A connection waiting at the target now (after a few rounds), or -1. */
int pair_accept_now(pair *p);

/* A socket's state after reads: bytes read into buf (up to cap), and how
 * it ended (0: still open, 1: EOF, -errno: error such as -ECONNRESET). */
typedef struct sock_in {
    uint8_t *buf;
    size_t cap, len;
    int end;
} sock_in;
/* Read what fd has now into in (non-blocking). */
void sock_take(int fd, sock_in *in);
/* Send what fits of data[*off..n) now (non-blocking); false when fd failed. */
bool sock_give(int fd, const uint8_t *data, size_t n, size_t *off);

/* Run both nodes until every fd in fds ended (EOF or error, recorded in
 * ends[i]) or ms passed; the time it took, or UINT64_MAX on timeout. */
uint64_t pair_wait_ends(pair *p, const int *fds, int *ends, size_t n, unsigned ms);

veil_portal_stats pair_inlet_stats(pair *p);
veil_portal_stats pair_outlet_stats(pair *p);

#endif
