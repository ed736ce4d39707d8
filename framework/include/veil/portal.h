/* veil — TCP portals (docs/ARCHITECTURE.md, "Portals"; the stream protocol:
 * docs/PROTOCOL.md, "Portal streams").
 *
 * An outlet is a worker that dials a TCP target for each stream a secure
 * channel's peer opens to it, if its policy trusts that peer.  An inlet
 * listens on a TCP address and carries every connection it accepts as one
 * stream through ONE secure channel (opened on first use, reopened after
 * it died) to an outlet: no handshake per connection.  Bytes are carried
 * exactly, half-closes and resets too, with a credit window per stream so
 * a slow reader never makes either node buffer without bound.
 *
 * Both run on the node's loop; every call is made on the node's thread. */
#ifndef VEIL_PORTAL_H
#define VEIL_PORTAL_H

#include <veil/common.h>
#include <veil/address.h>
#include <veil/entity.h>
#include <veil/trust_policy.h>

VEIL_BEGIN_DECLS

#define VEIL_PORTAL_VERSION 2u            /* the stream protocol's version byte */
/* Flow control (docs/PROTOCOL.md, "Portal streams"): each stream and
 * direction starts with VEIL_PORTAL_WINDOW bytes of credit; a receiver
 * whose socket takes every byte at once may grow the window, doubling it,
 * up to VEIL_PORTAL_WINDOW_MAX, while the growth of all the streams of
 * one inlet / outlet stays within VEIL_PORTAL_GROWTH_BUDGET. */
#define VEIL_PORTAL_WINDOW (256u * 1024u)
#define VEIL_PORTAL_WINDOW_MAX (4u * 1024u * 1024u)
#define VEIL_PORTAL_GROWTH_BUDGET (32u * 1024u * 1024u)
#define VEIL_PORTAL_DATA_MAX (64u * 1024u) /* payload bytes in one DATA frame */
#define VEIL_PORTAL_STREAMS_DEFAULT 512u  /* streams at once per inlet / outlet */
#define VEIL_PORTAL_DIALS_DEFAULT 64u     /* an outlet's connects in progress */
/* Sockets are not read while the transport's send queues plus the node's
 * queued messages (counted as full DATA frames) pass this many bytes. */
#define VEIL_PORTAL_GATE (2u * 1024u * 1024u)

/* Makes the trust policy for the outlet's identity each time the inlet
 * opens its channel (open takes ownership of a policy). */
typedef int (*veil_portal_policy_fn)(veil_node *node, void *user, veil_trust_policy **out);

typedef struct veil_portal_inlet_options {
    size_t size;                /* sizeof(veil_portal_inlet_options) */
    const char *address;        /* the inlet's worker address (its name) */
    const char *from;           /* "IPv4:port" or "[IPv6]:port"; port 0 picks one */
    const veil_route *route;    /* to the secure-channel listener of the outlet's node */
    const char *outlet;         /* the outlet's address at that node */
    veil_entity *entity;        /* this node's identity; must outlive the inlet */
    veil_portal_policy_fn policy; /* trust for the outlet's node (required) */
    void *policy_user;          /* passed to policy; must outlive the inlet */
    uint32_t max_streams;       /* 0: VEIL_PORTAL_STREAMS_DEFAULT */
    /* The transport of route's first hop (e.g. "tcp"): it dials that hop
     * before each channel open, and its send queue gates reading from
     * sockets (backpressure up to the transport); NULL: neither. */
    const char *transport;
    /* The channel heals (veil_secure_channel_options.resilient, the
     * keep-alive and backoff of [secure_channel]): when it loses its peer
     * the streams on it are reset (their bytes in flight are gone with the
     * old session), connections accepted while it reconnects wait for it,
     * and new ones go through it again once it opened; if it gives up,
     * the waiting ones are reset and the next connection opens a new
     * channel.  false: a dead channel resets its streams and the next
     * connection opens a new one. */
    bool resilient;
    /* Flow control (docs/PROTOCOL.md, "Portal streams"), appended in
     * portal version 2 (an options struct whose size ends before them gets
     * the defaults): the largest a stream's receive window may grow to,
     * VEIL_PORTAL_WINDOW .. VEIL_PORTAL_WINDOW_MAX (VEIL_PORTAL_WINDOW: it
     * never grows), 0: VEIL_PORTAL_WINDOW_MAX; and how far all streams'
     * windows together may grow beyond VEIL_PORTAL_WINDOW, bytes, 0:
     * VEIL_PORTAL_GROWTH_BUDGET. */
    uint32_t max_window;
    uint32_t window_budget;
} veil_portal_inlet_options;

typedef struct veil_portal_outlet_options {
    size_t size;                /* sizeof(veil_portal_outlet_options) */
    const char *address;        /* the outlet's worker address (its name) */
    const char *to;             /* "IPv4:port", "[IPv6]:port" or "name:port" (resolved at open) */
    veil_trust_policy *policy;  /* channel peers that may open streams; taken, also on error */
    uint32_t max_streams;       /* 0: VEIL_PORTAL_STREAMS_DEFAULT */
    uint32_t max_dials;         /* 0: VEIL_PORTAL_DIALS_DEFAULT; OPENs past it wait */
    /* The transport the channels come over (e.g. "tcp"): its send queue
     * gates reading from targets; NULL: none. */
    const char *transport;
    /* Flow control (docs/PROTOCOL.md, "Portal streams"), appended in
     * portal version 2 (an options struct whose size ends before them gets
     * the defaults): the largest a stream's receive window may grow to,
     * VEIL_PORTAL_WINDOW .. VEIL_PORTAL_WINDOW_MAX (VEIL_PORTAL_WINDOW: it
     * never grows), 0: VEIL_PORTAL_WINDOW_MAX; and how far all streams'
     * windows together may grow beyond VEIL_PORTAL_WINDOW, bytes, 0:
     * VEIL_PORTAL_GROWTH_BUDGET. */
    uint32_t max_window;
    uint32_t window_budget;
} veil_portal_outlet_options;

/* Start an inlet / outlet worker.  VEIL_EINVAL (options), VEIL_EEXIST
 * (address taken), VEIL_EIO (bind, listen or resolve: detail says which),
 * VEIL_ENOMEM.  A secure-channel listener must let channels reach an
 * outlet ([listener.NAME] allowed_workers, veil_secure_channel_listener_allow). */
VEIL_EXPORT int veil_portal_inlet_open(veil_node *node,
                                       const veil_portal_inlet_options *o) VEIL_WUR;
VEIL_EXPORT int veil_portal_outlet_open(veil_node *node,
                                        const veil_portal_outlet_options *o) VEIL_WUR;
/* Stop it: every stream is reset (its TCP connection closed with RST).
 * VEIL_ENOTFOUND when no inlet / outlet runs at address. */
VEIL_EXPORT int veil_portal_inlet_close(veil_node *node, const char *address) VEIL_WUR;
VEIL_EXPORT int veil_portal_outlet_close(veil_node *node, const char *address) VEIL_WUR;

typedef struct veil_portal_stats {
    uint32_t streams;           /* open now */
    uint16_t port;              /* an inlet's listening port (0 for an outlet) */
    uint64_t opened;            /* streams opened since the start */
    uint64_t refused;           /* OPENs refused (policy, limits) or dials failed */
    uint64_t resets;            /* streams that ended with a reset */
    uint64_t bytes_out;         /* bytes read from local sockets and sent */
    uint64_t bytes_in;          /* bytes received and written to local sockets */
} veil_portal_stats;
/* VEIL_ENOTFOUND when no inlet (outlet) runs at address. */
VEIL_EXPORT int veil_portal_inlet_stats(veil_node *node, const char *address,
                                        veil_portal_stats *out) VEIL_WUR;
VEIL_EXPORT int veil_portal_outlet_stats(veil_node *node, const char *address,
                                         veil_portal_stats *out) VEIL_WUR;

/* ---- the stream codec (docs/PROTOCOL.md, "Portal streams") --------------
 * A frame: version:u8 (2) | type:u8 | stream:u32 | seq:u32 | body (big
 * endian).  seq numbers a stream's frames in each direction from 0, so a
 * frame lost on the way (a relay's full queue, a hop that drops it) is
 * seen and the stream reset, never a silent gap in its bytes. */
#define VEIL_PORTAL_HEADER 10u
#define VEIL_PORTAL_REASON_MAX 200u       /* bytes of a RESET's reason text */
typedef enum veil_portal_type {
    VEIL_PORTAL_OPEN = 1,   /* inlet -> outlet: dial the target; no body */
    VEIL_PORTAL_DATA = 2,   /* bytes, 1..VEIL_PORTAL_DATA_MAX */
    VEIL_PORTAL_FIN = 3,    /* the sender will send no more data (half-close); no body */
    VEIL_PORTAL_RESET = 4,  /* the stream is gone; body: reason text (0..REASON_MAX) */
    VEIL_PORTAL_CREDIT = 5, /* body: u32, bytes the sender may send more */
} veil_portal_type;

typedef struct veil_portal_frame {
    uint8_t type;
    uint32_t stream;
    uint32_t seq;           /* the frame's number in its stream and direction */
    const uint8_t *body;    /* points into the decoded buffer */
    size_t body_len;
    uint32_t credit;        /* CREDIT only */
} veil_portal_frame;

/* Check and split one frame.  VEIL_ETRUNCATED (shorter than the header or
 * a CREDIT body), VEIL_EVERSION, VEIL_EFORMAT (unknown type, stream 0, a
 * body where none belongs, empty DATA, zero credit), VEIL_ELIMIT (DATA or
 * reason over its maximum), VEIL_ETRAILING (bytes after a CREDIT). */
VEIL_EXPORT int veil_portal_frame_decode(const uint8_t *buf, size_t len,
                                         veil_portal_frame *out) VEIL_WUR;
/* Write the header of a frame (and a CREDIT's body) into out, which has
 * VEIL_PORTAL_HEADER (+4 for CREDIT) bytes; returns the bytes written. */
VEIL_EXPORT size_t veil_portal_frame_header(uint8_t *out, uint8_t type, uint32_t stream,
                                            uint32_t seq, uint32_t credit);

VEIL_END_DECLS
#endif
