/* Portal streams: one TCP connection each, carried as frames through a
 * secure channel (docs/PROTOCOL.md, "Portal streams").  Bytes read from
 * the socket go straight into the payload of the message that carries
 * them (no copy beyond the channel's); bytes from the peer are written to
 * the socket at once and only what it does not take is kept, at most the
 * stream's window because the peer sends no more than the credit it was
 * given.  The window starts at VEIL_PORTAL_WINDOW and doubles, up to
 * VEIL_PORTAL_WINDOW_MAX, each time credit goes back while the socket took
 * every byte at once (the consumer keeps up: the window, not the consumer,
 * is what could hold the stream back), up to the side's max_window and
 * within its budget: memory per side stays at most max_streams windows of
 * VEIL_PORTAL_WINDOW plus that budget. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <veil/transport.h>

#include "core/upper.h"
#include "helpers.h"
#include "portal_internal.h"

#define READS_PER_EVENT 4
/* Bytes read into one DATA frame: less than VEIL_PORTAL_DATA_MAX so that
 * the whole frame (portal, channel and routing headers, the transport's
 * length) stays within 64 KiB, one full-sized TCP segment.  A 64 KiB
 * payload made a ~65.6 KB frame: a full segment plus a ~100-byte tail
 * segment per frame, measured at -35 % bulk throughput through a portal
 * (veil-bench portal; docs/ARCHITECTURE.md, "Portals"). */
#define READ_MAX (VEIL_PORTAL_DATA_MAX - 1024u)
/* Credit goes back once a quarter of the window was written. */
#define CREDIT_BATCH(st) ((st)->window / 4u)

/* ---- the table ------------------------------------------------------------ */

int portal_side_init(portal_side *s, veil_node *node, bool inlet, const char *name,
                     uint32_t cap, uint32_t max_window, uint32_t budget)
{
    if (max_window != 0 && (max_window < VEIL_PORTAL_WINDOW || max_window > VEIL_PORTAL_WINDOW_MAX))
        return veil_error_set(VEIL_EINVAL, "portal %s: max_window %u out of range (%u..%u)",
                              name, max_window, VEIL_PORTAL_WINDOW, VEIL_PORTAL_WINDOW_MAX);
    s->max_window = max_window != 0 ? max_window : VEIL_PORTAL_WINDOW_MAX;
    s->budget = budget != 0 ? budget : VEIL_PORTAL_GROWTH_BUDGET;
    s->node = node;
    s->inlet = inlet;
    s->cap = cap;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->streams = calloc(cap, sizeof *s->streams);
    return s->streams != NULL ? 0 : veil_error_set(VEIL_ENOMEM, "portal %s: table", name);
}

void portal_side_fini(portal_side *s)
{
    s->closing = true;
    if (s->watching != NULL)
        veil_secure_channel_off_close(s->node, s->watching, s);
    s->watching = NULL;
    portal_side_reset_channel(s, NULL, "the portal closed");
    if (s->gate != NULL)
        veil_node_timer_cancel(s->gate);
    s->gate = NULL;
    free(s->streams);
    s->streams = NULL;
}

int portal_stream_new(portal_side *side, int fd, uint32_t id, portal_stream **out)
{
    if (side->n == side->cap)
        return veil_error_set(VEIL_EBUSY, "portal %s: %u streams open (the limit)", side->name,
                              side->cap);
    portal_stream *st = calloc(1, sizeof *st);
    if (st == NULL)
        return veil_error_set(VEIL_ENOMEM, "portal %s: stream", side->name);
    st->side = side;
    st->fd = fd;
    st->id = id;
    st->credit = VEIL_PORTAL_WINDOW;
    st->window = VEIL_PORTAL_WINDOW;
    side->streams[side->n++] = st;
    side->stats.streams = side->n;
    side->stats.opened++;
    *out = st;
    return 0;
}

portal_stream *portal_stream_find(portal_side *side, const veil_address *channel, uint32_t id)
{
    for (uint32_t i = 0; i < side->n; i++) {
        portal_stream *st = side->streams[i];
        if (st->id == id && veil_address_equal(&st->channel, channel))
            return st;
    }
    return NULL;
}

static void stream_free(portal_stream *st)
{
    portal_side *side = st->side;
    for (uint32_t i = 0; i < side->n; i++)
        if (side->streams[i] == st) {
            side->streams[i] = side->streams[--side->n];
            break;
        }
    side->stats.streams = side->n;
    side->grown -= st->window - VEIL_PORTAL_WINDOW;
    if (st->watch != NULL)
        veil_node_watch_remove(st->watch);
    bool was_dialing = st->connecting && st->fd >= 0;
    if (st->fd >= 0)
        close(st->fd);
    if (st->own_route)
        free(st->route);
    free(st->buf);
    free(st);
    if (was_dialing && !side->closing && side->dial_done != NULL)
        side->dial_done(side);
}

/* ---- the gate: backpressure from the transport ---------------------------- */

static bool gate_open(portal_side *side)
{
    veil_transport_stats ts;
    if (side->transport[0] == '\0')
        return true;
    ts.size = sizeof ts;
    uint64_t q = veil_node_transport_stats(side->node, side->transport, &ts) == 0
                     ? ts.queued_bytes : 0;
    q += (uint64_t)veil_node_pending(side->node) * (VEIL_PORTAL_HEADER + VEIL_PORTAL_DATA_MAX);
    return q <= VEIL_PORTAL_GATE;
}

static void on_gate(veil_node *node, void *arg)
{
    portal_side *side = arg;
    (void)node;
    side->gate = NULL;
    for (uint32_t i = side->n; i-- > 0;)
        if (i < side->n)
            portal_stream_arm(side->streams[i]);
}

static void gate_wait(portal_side *side)
{
    if (side->gate == NULL &&
        veil_node_timer_add(side->node, 1, on_gate, side, &side->gate) != 0)
        side->gate = NULL;
}

void portal_side_reset_channel(portal_side *side, const veil_address *channel, const char *why)
{
    for (uint32_t i = side->n; i-- > 0;) {
        if (i >= side->n)
            continue;
        portal_stream *st = side->streams[i];
        if (channel == NULL || veil_address_equal(&st->channel, channel))
            portal_stream_reset(st, false, why);
    }
}

int portal_side_watch(portal_side *side, veil_secure_channel_event_fn fn)
{
    int rc = veil_secure_channel_on_close(side->node, fn, side);
    if (rc == 0)
        side->watching = fn;
    return rc;
}

uint32_t portal_side_count(const portal_side *side, const veil_address *channel)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < side->n; i++)
        n += veil_address_equal(&side->streams[i]->channel, channel);
    return n;
}

/* ---- frames to the peer --------------------------------------------------- */

static int send_message(portal_stream *st, veil_message *m)
{
    veil_route *ret = veil_message_return(m);
    veil_route_copy(veil_message_onward(m), st->route);
    veil_route_init(ret);
    int rc = veil_route_append(ret, veil_ctx_address(st->side->ctx));
    if (rc != 0) {
        veil_message_free(m);
        return rc;
    }
    return veil_ctx_forward(st->side->ctx, m);
}

int portal_send_ctl(portal_stream *st, uint8_t type, uint32_t credit, const char *reason)
{
    size_t rlen = reason != NULL ? strnlen(reason, VEIL_PORTAL_REASON_MAX) : 0;
    veil_message *m = NULL;
    uint8_t *p;
    if (st->route == NULL)
        return VEIL_ESTATE;
    int rc = veil_message_new(st->side->node, &m);
    if (rc == 0)
        rc = veil_message_resize_payload(m, VEIL_PORTAL_HEADER + 4u + rlen, &p);
    if (rc != 0) {
        veil_message_free(m);
        return rc;
    }
    size_t h = veil_portal_frame_header(p, type, st->id, st->tx_seq, credit);
    if (rlen > 0)
        memcpy(p + h, reason, rlen);
    if ((rc = veil_message_resize_payload(m, h + rlen, &p)) != 0) {
        veil_message_free(m);
        return rc;
    }
    /* A frame not sent takes no number: the next one must not look like
     * one lost on the way. */
    if ((rc = send_message(st, m)) == 0)
        st->tx_seq++;
    return rc;
}

static void set_linger0(int fd)
{
    struct linger l = { 1, 0 };
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

void portal_stream_reset(portal_stream *st, bool tell_peer, const char *why)
{
    if (tell_peer)
        (void)portal_send_ctl(st, VEIL_PORTAL_RESET, 0, why);
    plog(VEIL_LOG_DEBUG, "%s %s: stream %u reset: %s", st->side->inlet ? "inlet" : "outlet",
         st->side->name, st->id, why);
    st->side->stats.resets++;
    if (st->fd >= 0)
        set_linger0(st->fd);
    stream_free(st);
}

static void maybe_finish(portal_stream *st)
{
    if (st->rd_eof && st->wr_shut)
        stream_free(st);
    else
        portal_stream_arm(st);
}

/* ---- socket -> peer ----------------------------------------------------- */

/* One read into a new DATA frame.  1: sent, 0: nothing to read now,
 * negative: the stream is gone. */
static int read_once(portal_stream *st)
{
    size_t want = st->credit < READ_MAX ? st->credit : READ_MAX;
    veil_message *m = NULL;
    uint8_t *p;
    int rc = veil_message_new(st->side->node, &m);
    if (rc == 0)
        rc = veil_message_resize_payload(m, VEIL_PORTAL_HEADER + want, &p);
    if (rc != 0) {
        veil_message_free(m);
        portal_stream_reset(st, true, "out of memory");
        return rc;
    }
    ssize_t n = read(st->fd, p + VEIL_PORTAL_HEADER, want);
    if (n <= 0) {
        int e = errno;
        veil_message_free(m);
        if (n < 0 && (e == EAGAIN || e == EINTR))
            return 0;
        if (n < 0) {
            portal_stream_reset(st, true, strerror(e));
            return VEIL_EIO;
        }
        st->rd_eof = true;
        if (portal_send_ctl(st, VEIL_PORTAL_FIN, 0, NULL) != 0) {
            portal_stream_reset(st, false, "the channel is gone");
            return VEIL_ECLOSED;
        }
        return 0;
    }
    (void)veil_portal_frame_header(p, VEIL_PORTAL_DATA, st->id, st->tx_seq, 0);
    /* The read wrote n of the want bytes offered: the rest was never
     * written, so it is cut off without a wipe (core/upper.h). */
    veil__message_shrink_unwritten(m, VEIL_PORTAL_HEADER + (size_t)n);
    rc = send_message(st, m);
    if (rc != 0) {
        portal_stream_reset(st, false, "the channel is gone");
        return rc;
    }
    st->tx_seq++;
    st->credit -= (uint32_t)n;
    st->side->stats.bytes_out += (uint64_t)n;
    return (size_t)n == want ? 1 : 0;
}

/* ---- peer -> socket ----------------------------------------------------- */

/* How much to grow st's window with the next credit: double it while the
 * socket takes every byte at once, within the maximum and the side's
 * budget; 0 otherwise. */
static uint32_t window_growth(const portal_stream *st, bool drained)
{
    uint64_t left = st->side->budget - st->side->grown;
    uint32_t g = st->window;
    if (!drained || st->window >= st->side->max_window)
        return 0;
    if (g > st->side->max_window - st->window)
        g = st->side->max_window - st->window;
    return g <= left ? g : (uint32_t)left;
}

/* n more bytes went to the socket; drained: it took every byte we had. */
static void credit_back(portal_stream *st, uint32_t n, bool drained)
{
    st->unacked += n;
    st->side->stats.bytes_in += n;
    if (st->unacked >= CREDIT_BATCH(st) && !st->peer_fin) {
        uint32_t g = window_growth(st, drained);
        if (portal_send_ctl(st, VEIL_PORTAL_CREDIT, st->unacked + g, NULL) == 0) {
            st->unacked = 0;
            st->window += g;
            st->side->grown += g;
        }
    }
}

/* Write what buf holds.  0, or negative when the stream is gone. */
static int flush(portal_stream *st)
{
    while (st->len > 0) {
        uint32_t chunk = st->cap - st->head;
        if (chunk > st->len)
            chunk = st->len;
        ssize_t n = send(st->fd, st->buf + st->head, chunk, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (n < 0) {
            portal_stream_reset(st, true, strerror(errno));
            return VEIL_EIO;
        }
        st->head = (st->head + (uint32_t)n) % st->cap;
        st->len -= (uint32_t)n;
        credit_back(st, (uint32_t)n, st->len == 0);
    }
    free(st->buf); /* an idle stream keeps no buffer */
    st->buf = NULL;
    st->cap = st->head = 0;
    if (st->peer_fin && !st->wr_shut && !st->connecting) {
        (void)shutdown(st->fd, SHUT_WR);
        st->wr_shut = true;
    }
    return 0;
}

/* Room in the ring for n more bytes: a ring of the window's size (which
 * holds whatever the credit lets the peer send), the held bytes moved to
 * its start when the window grew since the last one was made. */
static int ring_room(portal_stream *st, size_t n)
{
    if (st->buf != NULL && st->len + n <= st->cap)
        return 0;
    uint8_t *b = malloc(st->window);
    if (b == NULL)
        return VEIL_ENOMEM;
    for (uint32_t k = 0; k < st->len; k++) /* rare: only after a growth */
        b[k] = st->buf[(st->head + k) % st->cap];
    free(st->buf);
    st->buf = b;
    st->cap = st->window;
    st->head = 0;
    return 0;
}

static int take_data(portal_stream *st, const uint8_t *d, size_t n)
{
    if (st->peer_fin || n + st->len + st->unacked > st->window) {
        portal_stream_reset(st, true, "flow control violated (data past the credit or FIN)");
        return VEIL_EFORMAT;
    }
    if (st->len == 0 && !st->connecting) {
        ssize_t w = send(st->fd, d, n, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            portal_stream_reset(st, true, strerror(errno));
            return VEIL_EIO;
        }
        if (w > 0) {
            credit_back(st, (uint32_t)w, (size_t)w == n);
            d += w;
            n -= (size_t)w;
        }
        if (n == 0)
            return 0;
    }
    if (ring_room(st, n) != 0) {
        portal_stream_reset(st, true, "out of memory");
        return VEIL_ENOMEM;
    }
    uint32_t tail = (st->head + st->len) % st->cap;
    size_t first = st->cap - tail < n ? st->cap - tail : n;
    memcpy(st->buf + tail, d, first);
    memcpy(st->buf, d + first, n - first);
    st->len += (uint32_t)n;
    return 0;
}

/* Frames come numbered: one that is not the next (a frame before it was
 * lost on the way: a relay's full queue, or a hop that drops frames)
 * resets the stream rather than leave a gap in its bytes.  A RESET ends
 * the stream whatever its number. */
static bool in_sequence(portal_stream *st, const veil_portal_frame *f)
{
    char why[96];
    if (f->type == VEIL_PORTAL_RESET || f->seq == st->rx_seq) {
        st->rx_seq++;
        return true;
    }
    snprintf(why, sizeof why, "frames lost on the way (frame %u, expected %u)", f->seq,
             st->rx_seq);
    plog(VEIL_LOG_WARN, "%s %s: stream %u: %s", st->side->inlet ? "inlet" : "outlet",
         st->side->name, st->id, why);
    portal_stream_reset(st, true, why);
    return false;
}

void portal_stream_recv(portal_stream *st, const veil_portal_frame *f)
{
    if (!in_sequence(st, f))
        return;
    switch (f->type) {
    case VEIL_PORTAL_DATA:
        if (take_data(st, f->body, f->body_len) != 0)
            return;
        break;
    case VEIL_PORTAL_FIN:
        st->peer_fin = true;
        if (st->len == 0 && !st->connecting && flush(st) != 0)
            return;
        break;
    case VEIL_PORTAL_CREDIT:
        if ((uint64_t)st->credit + f->credit > VEIL_PORTAL_WINDOW_MAX) {
            portal_stream_reset(st, true, "flow control violated (credit past the window)");
            return;
        }
        st->credit += f->credit;
        break;
    case VEIL_PORTAL_RESET: {
        char why[VEIL_PORTAL_REASON_MAX + 1];
        size_t k = 0;
        for (; k < f->body_len; k++) /* printable only: it goes to the log */
            why[k] = f->body[k] >= 0x20 && f->body[k] < 0x7f ? (char)f->body[k] : '?';
        why[k] = '\0';
        plog(st->side->inlet ? VEIL_LOG_WARN : VEIL_LOG_INFO, "%s %s: stream %u reset by the "
             "peer: %s", st->side->inlet ? "inlet" : "outlet", st->side->name, st->id,
             k > 0 ? why : "(no reason)");
        portal_stream_reset(st, false, "reset by the peer");
        return;
    }
    default: /* OPEN for a stream that exists */
        portal_stream_reset(st, true, "OPEN for a stream already open");
        return;
    }
    maybe_finish(st);
}

/* ---- the socket's events ------------------------------------------------ */

static void connected(portal_stream *st)
{
    int err = 0;
    socklen_t l = sizeof err;
    if (getsockopt(st->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
        err = errno;
    if (err == EINPROGRESS)
        return;
    st->connecting = false;
    if (st->side->dial_done != NULL)
        st->side->dial_done(st->side);
    if (err != 0) {
        char why[VEIL_PORTAL_REASON_MAX];
        snprintf(why, sizeof why, "connect %s: %s", st->side->target, strerror(err));
        plog(VEIL_LOG_WARN, "outlet %s: stream %u: %s", st->side->name, st->id, why);
        st->side->stats.refused++;
        portal_stream_reset(st, true, why);
        return;
    }
    if (flush(st) == 0)
        maybe_finish(st);
}

static void on_io(veil_node *node, int fd, uint32_t events, void *arg)
{
    portal_stream *st = arg;
    (void)node;
    (void)fd;
    if (st->connecting) {
        connected(st);
        return;
    }
    if ((events & VEIL_WATCH_WRITE) && st->len > 0 && flush(st) != 0)
        return;
    if (events & (VEIL_WATCH_READ | VEIL_WATCH_ERROR | VEIL_WATCH_HUP)) {
        if (st->events & VEIL_WATCH_READ) {
            for (int i = 0; i < READS_PER_EVENT && st->credit > 0 && !st->rd_eof &&
                            gate_open(st->side); i++) {
                int r = read_once(st);
                if (r < 0)
                    return;
                if (r == 0)
                    break;
            }
        } else if (events & VEIL_WATCH_ERROR) {
            int err = 0;
            socklen_t l = sizeof err;
            (void)getsockopt(st->fd, SOL_SOCKET, SO_ERROR, &err, &l);
            portal_stream_reset(st, true, err != 0 ? strerror(err) : "socket error");
            return;
        } else if (st->watch != NULL) { /* HUP while waiting for credit: park */
            veil_node_watch_remove(st->watch);
            st->watch = NULL;
            st->events = 0;
        }
    }
    maybe_finish(st);
}

void portal_stream_arm(portal_stream *st)
{
    uint32_t want = 0;
    if (st->fd < 0)
        return; /* queued for a dial */
    if (st->connecting)
        want = VEIL_WATCH_WRITE;
    else {
        if (!st->rd_eof && st->credit > 0 && st->route != NULL) {
            if (gate_open(st->side))
                want |= VEIL_WATCH_READ;
            else
                gate_wait(st->side);
        }
        if (st->len > 0)
            want |= VEIL_WATCH_WRITE;
    }
    if (st->watch != NULL && want == st->events)
        return;
    if (want == 0) {
        if (st->watch != NULL)
            veil_node_watch_remove(st->watch);
        st->watch = NULL;
        st->events = 0;
        return;
    }
    int rc = st->watch != NULL ? veil_node_watch_modify(st->watch, want)
                               : veil_node_watch_add(st->side->node, st->fd, want, on_io, st,
                                                     &st->watch);
    if (rc != 0) {
        portal_stream_reset(st, true, "cannot watch the socket");
        return;
    }
    st->events = want;
}
