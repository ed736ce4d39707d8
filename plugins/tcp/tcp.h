/* The tcp transport plugin: internal declarations shared by its files.
 *
 *   plugin.c        configuration, instance, ops, timers, stats, descriptor
 *   tcp_listener.c  listening sockets and accept
 *   tcp_conn.c      connections: dial, read, write, close, reap
 *   tcp_table.c     connections by name (hash table)
 *   tcp_budget.c    partial_frame_budget: grown receive buffers, node-wide
 *   tcp_resolver.c  host name lookups on a helper thread
 *   tcp_frame.c     the frame reader and writer (docs/PROTOCOL.md "TCP framing")
 *   tcp_preamble.c  the connection preamble both ends send first
 *   tcp_address.c   "host:port" parsing, name resolution, address text
 *
 * Everything runs on the node's thread (the node's epoll loop). */
#ifndef VEIL_TCP_H
#define VEIL_TCP_H

#include <veil/address.h>
#include <veil/codec.h>
#include <veil/message.h>
#include <veil/node.h>
#include <veil/plugin.h>
#include <veil/transport.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* ---- frames -------------------------------------------------------------
 * frame = length:u32 big-endian (1..max_frame) body
 * body  = one message in the wire codec (veil/codec.h) */

#define TCP_FRAME_HEADER 4u
#define TCP_FRAME_MIN_MAX 64u
#define TCP_FRAME_MAX_MAX (16u << 20)

/* Every receive buffer's first size: enough for many small frames per
 * recv().  Growth beyond it is what partial_frame_budget bounds. */
#define TCP_READER_BASE (16u << 10)

/* Incoming bytes of one connection.  Frames are parsed in place; the
 * buffer doubles when the bytes of an incomplete frame fill it, up to that
 * frame's size (header + announced length, at most header + max_frame)
 * plus TCP_READER_BASE, and then stays, so steady state reads cost no
 * malloc.  Its size is never more than TCP_READER_BASE or twice the bytes
 * received of the frame being read. */
typedef struct tcp_frame_reader {
    uint8_t *buf;
    size_t cap;
    size_t len;        /* bytes held */
    size_t off;        /* bytes consumed (frames handed out) */
    size_t max_frame;
    size_t base;       /* first size: TCP_READER_BASE (the fuzzer's is tiny) */
    size_t grows;      /* reallocations, for the no-malloc check */
} tcp_frame_reader;

void tcp_frame_reader_init(tcp_frame_reader *r, size_t max_frame);
void tcp_frame_reader_free(tcp_frame_reader *r);
/* The buffer size the next read needs: the current one while a byte
 * fits, else the next doubling (up to the incomplete frame's size). */
size_t tcp_frame_reader_need(const tcp_frame_reader *r);
/* Where to read next and how much fits (always > 0); makes room (compacts,
 * grows to tcp_frame_reader_need).  VEIL_ENOMEM only. */
int tcp_frame_reader_space(tcp_frame_reader *r, uint8_t **p, size_t *n);
void tcp_frame_reader_commit(tcp_frame_reader *r, size_t n);
/* Free the buffer if it holds no byte (the next read allocates the base
 * size again); a partial frame is never dropped. */
void tcp_frame_reader_release(tcp_frame_reader *r);
/* 1: a whole frame (*body, *len valid until the next space() call);
 * 0: need more bytes; <0: the stream is broken (VEIL_ELIMIT frame over
 * max_frame, VEIL_EFORMAT zero-length frame), detail set. */
int tcp_frame_next(tcp_frame_reader *r, const uint8_t **body, size_t *len);
/* tcp_frame_next in two steps, for a frame the caller may have to keep
 * (a relay's next hop is full): peek returns the same but consumes
 * nothing, so the frame stays at the front, in place and unmoved (no
 * offset is reset) until tcp_frame_consume(r, len) takes exactly that
 * frame.  *body stays valid until consume or the next space() call. */
int tcp_frame_peek(const tcp_frame_reader *r, const uint8_t **body, size_t *len);
void tcp_frame_consume(tcp_frame_reader *r, size_t len);
/* Bytes of an incomplete frame held (0 when between frames). */
size_t tcp_frame_reader_partial(const tcp_frame_reader *r);
/* Length announced by the incomplete frame's header (0 if not yet known). */
size_t tcp_frame_reader_expected(const tcp_frame_reader *r);

/* ---- preamble (tcp_preamble.c) -------------------------------------------
 * preamble = magic "\x89VEIL\n" (6 bytes)  version:u16 big-endian
 * Sent first by both ends of every connection; no frame is parsed before
 * the peer's arrived (within preamble_timeout) and matched. */

#define TCP_PREAMBLE_MAGIC_LEN 6u
#define TCP_PREAMBLE_LEN 8u
#define TCP_WIRE_VERSION 1u
/* Bytes of a wrong preamble quoted in the error. */
#define TCP_PREAMBLE_QUOTE 32u

extern const uint8_t tcp_preamble[TCP_PREAMBLE_LEN]; /* this node's */
/* Check the peer's preamble at the front of r: 1 matched (its 8 bytes
 * consumed), 0 need more (every byte held matches so far), VEIL_EFORMAT
 * not a veil node / VEIL_EVERSION another veil-tcp version, detail set. */
int tcp_preamble_check(tcp_frame_reader *r);
/* Up to max_in bytes of p as printable text (\r \n \t \\ \' \xNN) into
 * out (cap > 5); returns how many input bytes it shows. */
size_t tcp_escape(const uint8_t *p, size_t n, size_t max_in, char *out, size_t cap);

/* Outgoing bytes of one connection: a ring of frames back to back, sent
 * with one sendmsg() of at most two iovecs per flush (writev-style: the
 * ring's two segments), so queued bytes are never moved.  Never holds
 * more than max bytes. */
typedef struct tcp_frame_writer {
    uint8_t *buf;
    size_t cap;
    size_t head;       /* first unsent byte */
    size_t len;        /* bytes queued (may wrap past the end of buf) */
    size_t max;        /* send_queue_max */
    size_t grows;
} tcp_frame_writer;

void tcp_frame_writer_init(tcp_frame_writer *w, size_t max);
void tcp_frame_writer_free(tcp_frame_writer *w);
static inline size_t tcp_frame_writer_queued(const tcp_frame_writer *w)
{
    return w->len;
}
/* Append one frame holding the message (onward, ret, payload).
 * VEIL_ELIMIT: the body would exceed max_frame; VEIL_EAGAIN: the queue
 * would exceed max (nothing appended); VEIL_ENOMEM. */
int tcp_frame_write(tcp_frame_writer *w, size_t max_frame, const veil_route *onward,
                    const veil_route *ret, const uint8_t *payload, size_t payload_len);
/* The two halves of tcp_frame_write, for a sender that offers the frame
 * to the socket itself first (tcp_conn_queue's direct path): encode the
 * frame's prefix (length and codec header; same errors, nothing queued),
 * then queue what the socket did not take: the frame's bytes from skip on
 * (skip = bytes already sent; nothing when the whole frame went). */
#define TCP_FRAME_PREFIX_MAX (TCP_FRAME_HEADER + VEIL_CODEC_HEADER_MAX)
int tcp_frame_prefix(const tcp_frame_writer *w, size_t max_frame, const veil_route *onward,
                     const veil_route *ret, size_t payload_len,
                     uint8_t prefix[TCP_FRAME_PREFIX_MAX], size_t *prefix_len);
int tcp_frame_write_rest(tcp_frame_writer *w, const uint8_t *prefix, size_t prefix_len,
                         const uint8_t *payload, size_t payload_len, size_t skip);
/* The queued bytes as up to two segments (iov[0] first); returns how many. */
int tcp_frame_writer_iov(const tcp_frame_writer *w, struct iovec iov[2]);
/* Drop n sent bytes from the front. */
void tcp_frame_writer_consume(tcp_frame_writer *w, size_t n);

/* ---- addresses ---------------------------------------------------------- */

#define TCP_MAX_CANDIDATES 8u

typedef struct tcp_endpoint {
    char host[VEIL_ADDRESS_MAX + 1];  /* without brackets */
    uint16_t port;
    bool numeric;                     /* an IPv4/IPv6 literal */
} tcp_endpoint;

/* "host:port", "[v6]:port", "*:port" (listen only).  VEIL_EINVAL with a
 * detail naming the text. */
int tcp_endpoint_parse(const char *text, size_t len, tcp_endpoint *out);
/* Socket addresses for ep: the literal itself (no resolver call), else
 * getaddrinfo.  passive: for bind ("*" means any). */
int tcp_resolve(const tcp_endpoint *ep, bool passive, struct sockaddr_storage *out,
                socklen_t *lens, size_t cap, size_t *n);
/* "1.2.3.4:5" / "[::1]:5" into out (cap >= 64). */
void tcp_sockaddr_format(const struct sockaddr *sa, char *out, size_t cap);

/* ---- configuration, instance, connections ------------------------------ */

typedef struct tcp_config {
    size_t max_frame;
    size_t send_queue_max;
    bool auto_connect;
    int keepalive_s;           /* 0: off */
    int connect_timeout_ms;
    int frame_timeout_ms;      /* an incomplete frame must finish within this */
    int preamble_timeout_ms;   /* the peer's preamble must arrive within this */
    size_t max_connections;
    size_t partial_frame_budget; /* receive buffers beyond TCP_READER_BASE, all together */
    int listen_backlog;        /* listen(2)'s backlog (the kernel caps it at somaxconn) */
} tcp_config;

typedef struct tcp_inst tcp_inst;
typedef struct tcp_conn tcp_conn;
typedef struct tcp_listener tcp_listener;

/* RESOLVING: a name lookup runs on a helper thread (tcp_resolver.c). */
enum tcp_conn_state { TCP_CONNECTING = 1, TCP_OPEN = 2, TCP_DEAD = 3, TCP_RESOLVING = 4 };

typedef struct tcp_resolve_job tcp_resolve_job;

struct tcp_conn {
    tcp_inst *inst;
    int fd;
    int state;
    bool inbound;
    bool dirty;                 /* on the instance's flush list */
    bool want_write;            /* the watch asks for WRITE */
    uint64_t id;
    veil_address addr;          /* type 1, bytes = the connection's name */
    veil_watch *watch;
    tcp_frame_reader rd;
    tcp_frame_writer wr;
    uint64_t deadline_ms;       /* connect deadline while connecting; the
                                 * preamble's while !preamble_ok */
    bool preamble_ok;           /* the peer's preamble arrived and matched */
    size_t preamble_unsent;     /* bytes of our preamble not sent yet */
    uint64_t frame_start_ms;    /* when the incomplete frame began (0: none) */
    uint64_t last_rx_ms;        /* when bytes last came in (or it was made) */
    size_t partial_counted;     /* its bytes in stats.partial_frame_bytes */
    /* dial candidates (resolved addresses), tried in order */
    struct sockaddr_storage cand[TCP_MAX_CANDIDATES];
    socklen_t cand_len[TCP_MAX_CANDIDATES];
    size_t ncand, cur_cand;
    tcp_resolve_job *job;       /* while RESOLVING */
    /* why it died (TCP_DEAD): handed to route-lost subscribers */
    int fail_code;
    char fail_detail[700];
    tcp_conn *prev, *next;      /* instance's live list */
    tcp_conn *hnext;            /* name hash chain */
    uint32_t hash;
    tcp_conn *next_dirty;
    tcp_conn *next_dead;
    /* Complete frames left in rd after a round's share (TCP_FRAMES_PER_ROUND):
     * the instance's prepoll parses more each round; no recv meanwhile. */
    bool backlog;
    tcp_conn *next_backlog;
    uint64_t share_round;       /* the round share_used counts for */
    unsigned share_used;        /* frames parsed in that round */
    /* The frame at the front of rd is for a next hop whose send queue is
     * full (veil_node_forward_frame said VEIL_FORWARD_HELD): it stays
     * there unconsumed, no later frame is parsed and the socket is not
     * read (no READ watch) until tcp_conn_held_retry offers it again. */
    bool held;
    tcp_conn *next_held;        /* the instance's held list, in hold order */
    uint64_t held_since_ms;     /* the front frame was first held (0: not) */
    uint64_t no_hold_until_ms;  /* after a frame was held frame_timeout: a
                                 * full next hop drops frames until then */
};

struct tcp_listener {
    tcp_inst *inst;
    int fd;
    veil_watch *watch;
    veil_timer *pause;          /* out of fds: accepting resumes when it fires */
    veil_address bound;
    tcp_listener *next;
};

struct tcp_inst {
    veil_node *node;
    tcp_config cfg;
    tcp_listener *listeners;
    tcp_conn *conns;
    size_t nconns;
    tcp_conn **buckets;         /* by name: the per-message lookup */
    size_t nbuckets;            /* power of two, >= nconns when it can */
    tcp_conn *dirty;
    tcp_conn *dead;
    tcp_conn *backlog;          /* connections with frames still to parse */
    tcp_conn *held;             /* connections holding a frame (tcp_recv.c) */
    tcp_conn **held_tail;
    bool resume;                /* a send queue drained: retry the held ones */
    veil_timer *held_timer;     /* the fallback retry, only while one is held */
    uint64_t round;             /* loop rounds (prepoll calls) */
    veil_timer *tick;
    tcp_resolve_job *jobs;      /* lookups in flight (joined at free) */
    bool stopping;              /* instance_free: failures are not news */
    uint64_t next_id;
    /* connect(): the connection being waited for and how it ended */
    uint64_t wait_id;
    int wait_code;
    char wait_detail[700];
    veil_transport_stats stats;
};

/* tcp_table.c: connections by name */
tcp_conn *tcp_conn_find(tcp_inst *inst, const uint8_t *name, size_t len);
/* c is on inst->conns already (a growth rehashes from that list). */
void tcp_table_add(tcp_inst *inst, tcp_conn *c);
void tcp_table_remove(tcp_inst *inst, tcp_conn *c);
void tcp_conn_table_free(tcp_inst *inst);

/* tcp_recv.c */
/* Parse the next share of frames of every backlogged connection (prepoll). */
void tcp_conn_backlog_run(tcp_inst *inst);
/* Read what the socket has (its READ event), frames into messages. */
void tcp_conn_read(tcp_conn *c);
/* Offer every held connection's front frame again, in hold order (a
 * next hop still full holds it again); READ comes back for the others. */
void tcp_conn_held_retry(tcp_inst *inst);
/* c goes away: off the held list. */
void tcp_conn_unhold(tcp_conn *c);

/* tcp_conn.c */
/* Start a non-blocking connect to name ("host:port").  Errors are returned
 * (parse, resolve, immediate connect failure) with detail. */
int tcp_conn_dial(tcp_inst *inst, const char *name, size_t len, tcp_conn **out);
/* Take an accepted socket. */
int tcp_conn_adopt(tcp_inst *inst, int fd, const struct sockaddr *peer);
/* Queue one frame of the message (onward: its front already popped) to
 * conn; takes nothing (payload is copied into the send queue). */
int tcp_conn_queue(tcp_conn *c, const veil_route *onward, const veil_route *ret,
                   const uint8_t *payload, size_t plen);
/* Write what the socket takes now (called before the loop polls). */
void tcp_conn_flush(tcp_conn *c);
/* The watch's events again after c->held changed (READ unless held);
 * false: c was closed. */
bool tcp_conn_watch_update(tcp_conn *c);
/* Close with a reason: logged, queued bytes dropped, subscribers told at
 * the next reap.  code/detail describe why. */
void tcp_conn_fail(tcp_conn *c, int code, veil_log_level level, const char *fmt, ...)
    VEIL_PRINTF(4, 5);
/* Free dead connections and tell route-lost subscribers (safe points only:
 * the top of a loop callback, never inside route_fn). */
void tcp_conn_reap(tcp_inst *inst);
/* At instance free: best-effort flush, close, free, no notifications. */
void tcp_conn_destroy_all(tcp_inst *inst);
/* Periodic check of connect and frame deadlines. */
void tcp_conn_check_timeouts(tcp_inst *inst, uint64_t now);

/* Connect to the current candidate, else the next ones (tcp_conn.c). */
int tcp_conn_dial_next(tcp_conn *c);

/* tcp_resolver.c: names resolve on a helper thread; the result comes back
 * through an eventfd watched by the loop, which then dials.  Literals never
 * get here. */
int tcp_resolver_start(tcp_conn *c, const tcp_endpoint *ep);
/* The connection goes away: the lookup finishes unseen. */
void tcp_resolver_detach(tcp_conn *c);
/* Instance free: wait for every lookup thread (a lookup cannot be
 * interrupted, and its code lives in this plugin, which is unloaded next). */
void tcp_resolver_join_all(tcp_inst *inst);

/* tcp_budget.c: partial_frame_budget */
/* What a receive buffer of cap bytes takes from the budget. */
size_t tcp_budget_charge(size_t cap);
/* c's next read needs extra more budget bytes: free idle grown buffers,
 * then close connections, oldest incomplete frame first.  false: c itself
 * was closed (it held the oldest). */
bool tcp_budget_make_room(tcp_conn *c, size_t extra);
/* c's receive buffer changed size from cap_before: the counters follow. */
void tcp_budget_account(tcp_conn *c, size_t cap_before);
/* c now holds partial bytes of an incomplete frame. */
void tcp_budget_partial(tcp_conn *c, size_t partial);

/* tcp_listener.c */
int tcp_listener_open(tcp_inst *inst, const char *where, veil_address *bound);
void tcp_listener_close_all(tcp_inst *inst);

/* plugin.c */
void tcp_inst_arm_tick(tcp_inst *inst);

#endif
