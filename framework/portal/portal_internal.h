/* Portals: what the inlet, the outlet and their streams share
 * (docs/ARCHITECTURE.md, "Portals").  Built on the public API of the
 * layers below only. */
#ifndef VEIL_PORTAL_INTERNAL_H
#define VEIL_PORTAL_INTERNAL_H

#include <stdbool.h>
#include <sys/socket.h>

#include <veil/error.h>
#include <veil/log.h>
#include <veil/message.h>
#include <veil/node.h>
#include <veil/plugin.h> /* VEIL_ABI_HAS */
#include <veil/portal.h>
#include <veil/secure_channel.h>

#define PORTAL_NAME_MAX VEIL_ADDRESS_MAX

typedef struct portal_side portal_side;

/* One TCP connection carried as one stream. */
typedef struct portal_stream {
    portal_side *side;
    uint32_t id;
    int fd;
    veil_watch *watch;
    uint32_t events;        /* what watch asks for now */
    uint32_t credit;        /* bytes we may still send to the peer */
    uint32_t window;        /* what the peer may have sent us uncredited (it grows) */
    uint32_t unacked;       /* bytes written to fd the peer was not credited for yet */
    uint8_t *buf;           /* bytes from the peer fd did not take (a ring of cap bytes) */
    uint32_t cap, head, len;
    uint32_t tx_seq;        /* the number of our next frame to the peer */
    uint32_t rx_seq;        /* the number the peer's next frame must have */
    bool connecting;        /* outlet: connect(2) in progress, or queued (fd -1) */
    bool rd_eof;            /* fd said EOF: FIN sent */
    bool peer_fin;          /* FIN received: shut fd for writing once buf drained */
    bool wr_shut;
    veil_address channel;   /* the channel carrying it (len 0: none yet) */
    veil_route *route;      /* onward route of frames to the peer (NULL: none yet) */
    bool own_route;
} portal_stream;

struct portal_side {
    veil_node *node;
    veil_context *ctx;      /* the worker's */
    bool inlet;
    char name[PORTAL_NAME_MAX + 1];
    portal_stream **streams;
    uint32_t n, cap;
    char target[96];        /* outlet: its "to", for logs and reasons */
    char transport[32];     /* whose send queue gates reads ("" none) */
    veil_timer *gate;       /* re-arms the streams while the gate is shut */
    bool closing;
    veil_secure_channel_event_fn watching; /* subscribed (NULL: not) */
    /* outlet: a dial finished or a dialing stream went: start queued ones */
    void (*dial_done)(portal_side *side);
    uint32_t max_window;    /* a stream's receive window grows up to this */
    uint64_t budget;        /* ... while grown stays within this */
    uint64_t grown;         /* the streams' windows beyond VEIL_PORTAL_WINDOW, summed */
    veil_portal_stats stats;
};

/* portal_stream.c */
/* max_window and budget as the options give them (0: the defaults);
 * VEIL_EINVAL when max_window is out of range. */
int portal_side_init(portal_side *s, veil_node *node, bool inlet, const char *name,
                     uint32_t cap, uint32_t max_window, uint32_t budget);
void portal_side_fini(portal_side *s);   /* resets every stream, frees the table */
/* A stream on fd (non-blocking, owned from now on); added to the table. */
int portal_stream_new(portal_side *side, int fd, uint32_t id, portal_stream **out);
portal_stream *portal_stream_find(portal_side *side, const veil_address *channel,
                                  uint32_t id);
/* Start moving bytes (after the route is set / the connect finished). */
void portal_stream_arm(portal_stream *st);
/* A frame from the peer for st. */
void portal_stream_recv(portal_stream *st, const veil_portal_frame *f);
/* End st with a reset: RST on fd, RESET to the peer when tell_peer. */
void portal_stream_reset(portal_stream *st, bool tell_peer, const char *why);
/* Send a frame without data (OPEN, FIN, RESET with reason, CREDIT). */
int portal_send_ctl(portal_stream *st, uint8_t type, uint32_t credit, const char *reason);
/* Reset the streams of a channel that is gone (all when channel is NULL). */
void portal_side_reset_channel(portal_side *side, const veil_address *channel,
                               const char *why);
/* Streams of a channel that closed go at once: fn (the inlet's or
 * outlet's) is subscribed to the node's channel closes
 * (veil_secure_channel_on_close) while the side runs. */
int portal_side_watch(portal_side *side, veil_secure_channel_event_fn fn);
/* How many streams ride on channel. */
uint32_t portal_side_count(const portal_side *side, const veil_address *channel);

/* portal_addr.c: split "HOST:PORT" / "[IPv6]:PORT" (what names the
 * option in errors); host gets the address without brackets. */
int portal_split(const char *text, const char *what, char *host, size_t cap,
                 unsigned long *port);
/* A numeric "IPv4:PORT" or "[IPv6]:PORT" into ss. */
int portal_parse_numeric(const char *text, struct sockaddr_storage *ss, socklen_t *len);

#define plog(level, ...) veil_log(level, "portal", __VA_ARGS__)

#endif
