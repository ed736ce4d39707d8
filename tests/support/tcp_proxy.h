/* A loopback TCP proxy driven from the test's own loop, to break the paths
 * under secure channels on purpose: cut every connection (both ends see
 * EOF), stop forwarding while connections stay up (a silent dead path; all or
 * only those open now),
 * refuse connections (its port closed), take connections and close them at
 * once, and switch the backend.  Not threaded: tcp_proxy_pump moves what
 * is ready, between rounds of the nodes' loops. */
#ifndef VEIL_TESTS_TCP_PROXY_H
#define VEIL_TESTS_TCP_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#define TCP_PROXY_CONNS 16
#define TCP_PROXY_ACCEPTS 64

typedef struct tcp_proxy {
    int lfd;                          /* -1 while refusing */
    uint16_t port;                    /* its port on 127.0.0.1 */
    uint16_t backend;                 /* where it connects */
    bool frozen;                      /* read nothing, forward nothing */
    bool slam;                        /* accept, then close at once */
    int c[TCP_PROXY_CONNS], s[TCP_PROXY_CONNS]; /* client side, backend side */
    bool stuck[TCP_PROXY_CONNS];      /* this one frozen (tcp_proxy_freeze_open) */
    uint64_t accepted_ms[TCP_PROXY_ACCEPTS]; /* when each connection came */
    unsigned accepted;
    /* veil-tcp frames seen from client to backend (docs/PROTOCOL.md, "TCP
     * framing"): the preamble skipped, then each frame's length read */
    uint32_t skip[TCP_PROXY_CONNS];   /* bytes before the next length */
    bool dropping[TCP_PROXY_CONNS];   /* the skipped bytes are not forwarded */
    uint8_t hdr[TCP_PROXY_CONNS][4];
    uint8_t hdr_len[TCP_PROXY_CONNS];
    uint32_t max_frame;               /* the largest length seen */
    /* Drop, as a hop that loses or deletes frames would, the drop_big-th
     * frame over 32 KiB to the backend (0: none): its length and body are
     * not forwarded; dropped counts the frames dropped. */
    uint32_t drop_big, big_seen, dropped;
} tcp_proxy;

/* Listen on 127.0.0.1:0 for backend port (asserted). */
void tcp_proxy_start(tcp_proxy *p, uint16_t backend);
void tcp_proxy_stop(tcp_proxy *p);
/* Accept and forward what is ready now. */
void tcp_proxy_pump(tcp_proxy *p);
/* Freeze the connections open now (they stay up, nothing passes, as
 * behind a SIGSTOPped peer); later connections carry as usual. */
void tcp_proxy_freeze_open(tcp_proxy *p);
/* Close every connection. */
void tcp_proxy_cut(tcp_proxy *p);
/* Close the listening socket (dials are refused) / listen again on the
 * same port (asserted). */
void tcp_proxy_refuse(tcp_proxy *p);
void tcp_proxy_listen(tcp_proxy *p);
/* The monotonic clock in milliseconds. */
uint64_t tcp_proxy_now_ms(void);

#endif
