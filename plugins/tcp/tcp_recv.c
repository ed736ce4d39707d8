/* TCP connections, receiving: bytes from the socket into the frame
 * reader within the partial-frame budget, the peer's preamble, then each
 * complete frame into a message for the router (or straight on, for a
 * relay's fast path), a bounded share of frames per connection and loop
 * round. */
#include "tcp.h"

#include <veil/codec.h>
#include <veil/error.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* Bytes one READ event may consume before yielding to other connections. */
#define READ_BUDGET (256u << 10)
/* Frames one connection may turn into messages per loop round.  The rest
 * wait in its receive buffer (no recv meanwhile), so one peer can never
 * fill the node's delivery queue with thousands of messages at once (a
 * flood of small frames would otherwise cost a pooled message each before
 * any of them is handled), and connections take turns. */
#define TCP_FRAMES_PER_ROUND 128u

/* While a connection holds a frame for a next hop of another transport
 * (whose draining this instance does not see), the held connections are
 * offered again this often: one timer per instance, only while one is
 * held, never a busy loop. */
#define TCP_HELD_RETRY_MS 10u

/* One frame body -> a message for the router.  The peer's address goes in
 * front of the return route so replies come back over this connection.
 * 0: taken; 1: held (the next hop is full: the frame stays in rd). */
static int deliver_frame(tcp_conn *c, const uint8_t *body, size_t len)
{
    tcp_inst *inst = c->inst;
    veil_message *m;
    const uint8_t *payload;
    size_t plen;
    /* A frame a relaying node only passes on goes straight to the next
     * send queue (veil_node_forward_frame); the rest becomes a message. */
    int fw = veil_node_forward_frame(inst->node, &c->addr, body, len);
    if (fw == VEIL_FORWARD_HELD)
        return 1;
    if (fw > 0) {
        inst->stats.frames_received++;
        return 0;
    }
    int rc = veil_message_new(inst->node, &m);
    if (rc < 0)
        return rc;
    rc = veil_codec_decode(body, len, inst->cfg.max_frame, veil_message_onward(m),
                           veil_message_return(m), &payload, &plen);
    if (rc == 0 && veil_route_count(veil_message_onward_const(m)) == 0)
        rc = veil_error_set(VEIL_EFORMAT, "tcp: message with an empty onward route");
    if (rc == 0)
        rc = veil_message_set_payload(m, payload, plen);
    if (rc < 0) {
        veil_message_free(m);
        return rc;
    }
    if (veil_route_prepend(veil_message_return(m), &c->addr) < 0) {
        /* A well-formed message whose return route is full: drop it alone. */
        veil_log(VEIL_LOG_WARN, "tcp", "tcp: message from %s dropped: %s", c->addr.bytes,
                veil_last_error());
        veil_message_free(m);
        return 0;
    }
    inst->stats.frames_received++;
    rc = veil_node_deliver(inst->node, m);
    if (rc < 0) /* e.g. the node's queue is full: this message only */
        veil_log(VEIL_LOG_WARN, "tcp", "tcp: message from %s dropped: %s", c->addr.bytes,
                veil_last_error());
    return 0;
}

static void held_tick(veil_node *node, void *arg)
{
    tcp_inst *inst = arg;
    (void)node;
    inst->held_timer = NULL;
    tcp_conn_held_retry(inst);
    tcp_conn_reap(inst);
}

static void arm_held_timer(tcp_inst *inst)
{
    if (inst->held_timer == NULL && inst->held != NULL &&
        veil_node_timer_add(inst->node, TCP_HELD_RETRY_MS, held_tick, inst,
                            &inst->held_timer) < 0)
        inst->held_timer = NULL; /* out of memory: a drain still resumes */
}

/* The front frame stays in rd; c stops reading until it is offered again. */
static bool hold(tcp_conn *c)
{
    tcp_inst *inst = c->inst;
    c->held = true;
    c->next_held = NULL;
    if (inst->held == NULL)
        inst->held_tail = &inst->held;
    *inst->held_tail = c;
    inst->held_tail = &c->next_held;
    arm_held_timer(inst);
    return tcp_conn_watch_update(c);
}

/* Off the held list.  One not on it is on the list tcp_conn_held_retry
 * is walking: its next_held stays (the walk skips it, as it is closed). */
void tcp_conn_unhold(tcp_conn *c)
{
    tcp_inst *inst = c->inst;
    if (!c->held)
        return;
    for (tcp_conn **pp = &inst->held; *pp != NULL; pp = &(*pp)->next_held) {
        if (*pp == c) {
            *pp = c->next_held;
            if (*pp == NULL)
                inst->held_tail = pp;
            c->next_held = NULL;
            break;
        }
    }
    c->held = false;
    if (inst->held == NULL && inst->held_timer != NULL) {
        veil_node_timer_cancel(inst->held_timer);
        inst->held_timer = NULL;
    }
}

/* The next hop cannot take c's front frame.  Hold it (true), unless it
 * was held frame_timeout already or c is within the frame_timeout after
 * such a frame: then it is dropped as a relay without backpressure would
 * (logged, counted in timeouts), so a peer that stops reading cannot
 * stall the other traffic of a connection that sends to it for longer
 * than that (docs/PROTOCOL.md, "Relay registration"). */
static bool may_hold(tcp_conn *c)
{
    tcp_inst *inst = c->inst;
    uint64_t now = veil_node_now_ms(inst->node), limit = (uint64_t)inst->cfg.frame_timeout_ms;
    if (c->held_since_ms == 0)
        c->held_since_ms = now;
    if (now < c->no_hold_until_ms || now - c->held_since_ms < limit)
        return now >= c->no_hold_until_ms;
    c->no_hold_until_ms = now + limit;
    return false;
}

static void drop_unheld(tcp_conn *c)
{
    tcp_inst *inst = c->inst;
    inst->stats.timeouts++;
    veil_log(VEIL_LOG_WARN, "tcp", "tcp: frame from %s dropped: its next hop stayed full "
             "(held for frame_timeout, %d ms; frames to a full next hop are dropped for as "
             "long again)", c->addr.bytes, inst->cfg.frame_timeout_ms);
}

/* Parse every complete frame held; false when the connection was closed.
 * A frame is consumed only once it was taken: one the next hop cannot
 * take yet stays at the front (hold), so frames keep their order. */
static bool parse_frames(tcp_conn *c)
{
    tcp_inst *inst = c->inst;
    const uint8_t *body;
    size_t len;
    int rc = 0;
    bool delivered = false;
    /* One share per connection per loop round, whether its frames come
     * from the backlog (prepoll) or from a read in the same round. */
    if (c->share_round != inst->round) {
        c->share_round = inst->round;
        c->share_used = 0;
    }
    while (c->share_used < TCP_FRAMES_PER_ROUND &&
           (rc = tcp_frame_peek(&c->rd, &body, &len)) == 1) {
        rc = deliver_frame(c, body, len);
        if (c->state != TCP_OPEN)
            return false;
        if (rc == 1 && may_hold(c)) {
            rc = 0;
            if (!hold(c))
                return false;
            break;
        }
        if (rc == 1) {
            drop_unheld(c);
            rc = 0;
        }
        c->held_since_ms = 0;
        tcp_frame_consume(&c->rd, len);
        delivered = true;
        c->share_used++;
        if (rc < 0)
            break;
    }
    if (rc >= 0 && c->share_used == TCP_FRAMES_PER_ROUND && !c->backlog && !c->held) {
        c->backlog = true; /* maybe more complete frames: next round */
        c->next_backlog = inst->backlog;
        inst->backlog = c;
    }
    if (rc < 0) {
        inst->stats.frames_rejected++;
        tcp_conn_fail(c, rc, VEIL_LOG_WARN, "bad frame, closing: %s", veil_last_error());
        return false;
    }
    size_t partial = tcp_frame_reader_partial(&c->rd);
    tcp_budget_partial(c, partial);
    /* A frame that began in this read began now: frame_timeout and the
     * budget's "oldest first" count from there, not from an earlier
     * frame's start. */
    if (partial == 0)
        c->frame_start_ms = 0;
    else if (c->frame_start_ms == 0 || delivered)
        c->frame_start_ms = veil_node_now_ms(inst->node);
    return true;
}

/* Room for the next recv: the buffer grows only within the instance's
 * partial_frame_budget (tcp_budget.c).  false: c was closed. */
static bool read_space(tcp_conn *c, uint8_t **p, size_t *room)
{
    size_t cap = c->rd.cap;
    size_t need = tcp_frame_reader_need(&c->rd);
    if (need > cap &&
        !tcp_budget_make_room(c, tcp_budget_charge(need) - tcp_budget_charge(cap)))
        return false;
    int rc = tcp_frame_reader_space(&c->rd, p, room);
    tcp_budget_account(c, cap);
    if (rc < 0) {
        tcp_conn_fail(c, rc, VEIL_LOG_ERROR, "%s", veil_last_error());
        return false;
    }
    return true;
}

/* The peer's preamble, before any frame: 1 matched, 0 more bytes
 * needed, <0 the connection was closed. */
static int peer_preamble(tcp_conn *c)
{
    int rc = tcp_preamble_check(&c->rd);
    if (rc < 0) {
        c->inst->stats.frames_rejected++;
        tcp_conn_fail(c, rc, VEIL_LOG_WARN, "%s", veil_last_error());
    } else if (rc == 1) {
        c->preamble_ok = true;
    }
    return rc;
}

/* Read what the socket has (its READ event), frames into messages. */
void tcp_conn_read(tcp_conn *c)
{
    tcp_inst *inst = c->inst;
    size_t budget = READ_BUDGET;
    if (c->backlog || c->held)
        return; /* its frames first (tcp_conn_backlog_run, tcp_conn_held_retry) */
    while (budget > 0 && c->state == TCP_OPEN) {
        uint8_t *p;
        size_t room;
        if (!read_space(c, &p, &room))
            return;
        ssize_t n = recv(c->fd, p, room, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            int e = errno;
            tcp_conn_fail(c, VEIL_ECLOSED, VEIL_LOG_WARN, "receive failed: %s", strerror(e));
            return;
        }
        if (n == 0) {
            size_t partial = tcp_frame_reader_partial(&c->rd);
            if (!c->preamble_ok)
                tcp_conn_fail(c, VEIL_ECLOSED, VEIL_LOG_WARN, "closed by peer after %zu of the "
                              "%u bytes of its veil-tcp preamble: not a veil node?", partial,
                              TCP_PREAMBLE_LEN);
            else if (partial > 0)
                tcp_conn_fail(c, VEIL_ECLOSED, VEIL_LOG_WARN, "peer closed mid-frame (%zu of "
                              "%zu bytes received)", partial,
                              TCP_FRAME_HEADER + tcp_frame_reader_expected(&c->rd));
            else
                tcp_conn_fail(c, VEIL_ECLOSED, VEIL_LOG_INFO, "closed by peer");
            return;
        }
        inst->stats.bytes_received += (uint64_t)n;
        c->last_rx_ms = veil_node_now_ms(inst->node);
        tcp_frame_reader_commit(&c->rd, (size_t)n);
        budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
        int pre = c->preamble_ok ? 1 : peer_preamble(c);
        if (pre < 0)
            return;
        if (pre == 1 && (!parse_frames(c) || c->backlog || c->held))
            return;
        /* A short read drained the socket: the (level-triggered) watch
         * fires again when more arrives, so skip the recv that would only
         * say EAGAIN. */
        if ((size_t)n < room)
            return;
    }
}

void tcp_conn_backlog_run(tcp_inst *inst)
{
    tcp_conn *list = inst->backlog;
    inst->backlog = NULL;
    while (list != NULL) {
        tcp_conn *c = list;
        list = c->next_backlog;
        c->backlog = false;
        c->next_backlog = NULL;
        if (c->state == TCP_OPEN)
            (void)parse_frames(c); /* may put c back on inst->backlog */
    }
}

void tcp_conn_held_retry(tcp_inst *inst)
{
    tcp_conn *list = inst->held;
    inst->resume = false;
    inst->held = NULL;
    inst->held_tail = &inst->held;
    uint64_t now = veil_node_now_ms(inst->node);
    while (list != NULL) {
        tcp_conn *c = list;
        list = c->next_held;
        c->next_held = NULL;
        c->held = false;
        if (c->state != TCP_OPEN)
            continue;
        /* Held frames are complete: whatever follows them is timed from
         * now (frame_timeout never counts time spent held). */
        c->frame_start_ms = now;
        if (parse_frames(c) && !c->held)
            (void)tcp_conn_watch_update(c); /* reading again */
    }
    if (inst->held == NULL && inst->held_timer != NULL) {
        veil_node_timer_cancel(inst->held_timer);
        inst->held_timer = NULL;
    }
    arm_held_timer(inst);
}
