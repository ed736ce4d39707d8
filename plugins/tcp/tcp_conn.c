/* TCP connections: dialing (non-blocking connect over the resolved
 * candidates, in order), queueing and flushing frames, and closing with a
 * reason; reading frames into messages is tcp_recv.c.
 *
 * A connection that fails is marked dead and unlinked at once (its fd
 * closed, its queued bytes dropped, the reason logged); it is freed, and
 * route-lost subscribers are told, at the next safe point (tcp_conn_reap,
 * at the top of the loop callbacks), never inside a sender's call. */
#include "tcp.h"

#include <veil/codec.h>
#include <veil/error.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Frames with at least this much payload skip the send queue when it is
 * empty (tcp_conn_queue): below it, the copy costs less than the syscall
 * a batched flush saves. */
#define TCP_DIRECT_MIN (8u << 10)
/* Queued bytes that are written in the sender's call, not at the round's
 * end (tcp_conn_queue): a sender making many small frames in one round
 * (a channel encrypting a burst, a relay forwarding a read's worth) would
 * otherwise leave the next hop idle until it finished the whole round. */
#define TCP_FLUSH_MIN (64u << 10)

static void conn_event(veil_node *node, int fd, uint32_t events, void *arg);
static void mark_dirty(tcp_conn *c);

/* A connection's queue changed from before to after bytes.  One that
 * drained below half of send_queue_max (or closed) may be the next hop a
 * held connection waits for: the next prepoll retries them all. */
static void update_queued(tcp_inst *inst, size_t before, size_t after)
{
    inst->stats.queued_bytes += after;
    inst->stats.queued_bytes -= before;
    if (inst->held != NULL && after < before && after <= inst->cfg.send_queue_max / 2)
        inst->resume = true;
}

static tcp_conn *conn_new(tcp_inst *inst, const char *name, size_t len, bool inbound)
{
    tcp_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        veil_error_set(VEIL_ENOMEM, "tcp: out of memory for a connection");
        return NULL;
    }
    if (veil_address_set(&c->addr, VEIL_ADDRESS_TYPE_TCP, name, len) < 0) {
        free(c);
        return NULL;
    }
    c->inst = inst;
    c->fd = -1;
    c->inbound = inbound;
    c->preamble_unsent = TCP_PREAMBLE_LEN;
    c->id = ++inst->next_id;
    c->last_rx_ms = veil_node_now_ms(inst->node);
    tcp_frame_reader_init(&c->rd, inst->cfg.max_frame);
    tcp_frame_writer_init(&c->wr, inst->cfg.send_queue_max);
    c->next = inst->conns;
    if (c->next != NULL)
        c->next->prev = c;
    inst->conns = c;
    inst->nconns++;
    tcp_table_add(inst, c);
    inst->stats.connections_open++;
    return c;
}

static void set_options(tcp_inst *inst, int fd)
{
    int one = 1;
    /* Frames are batched by the flush; Nagle would only add latency. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (inst->cfg.keepalive_s > 0) {
        int idle = inst->cfg.keepalive_s, intvl = inst->cfg.keepalive_s, cnt = 3;
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    }
}

/* READ unless connecting or holding a frame; WRITE when asked. */
static int watch_set(tcp_conn *c, bool want_write)
{
    uint32_t ev = (c->state == TCP_CONNECTING || c->held ? 0 : VEIL_WATCH_READ) |
                  (want_write ? VEIL_WATCH_WRITE : 0);
    return veil_node_watch_modify(c->watch, ev);
}

static void set_want_write(tcp_conn *c, bool on)
{
    if (c->want_write == on || c->watch == NULL)
        return;
    if (watch_set(c, on) == 0)
        c->want_write = on;
}

bool tcp_conn_watch_update(tcp_conn *c)
{
    if (c->state != TCP_OPEN || c->watch == NULL)
        return c->state != TCP_DEAD;
    if (watch_set(c, c->want_write) < 0) {
        tcp_conn_fail(c, VEIL_EIO, VEIL_LOG_ERROR, "%s", veil_last_error());
        return false;
    }
    return true;
}

static void unlink_backlog(tcp_conn *c)
{
    if (!c->backlog)
        return;
    for (tcp_conn **pp = &c->inst->backlog; *pp != NULL; pp = &(*pp)->next_backlog) {
        if (*pp == c) {
            *pp = c->next_backlog;
            break;
        }
    }
    c->backlog = false;
    c->next_backlog = NULL;
}

static void unlink_dirty(tcp_conn *c)
{
    tcp_inst *inst = c->inst;
    if (!c->dirty)
        return;
    for (tcp_conn **pp = &inst->dirty; *pp != NULL; pp = &(*pp)->next_dirty) {
        if (*pp == c) {
            *pp = c->next_dirty;
            break;
        }
    }
    c->dirty = false;
    c->next_dirty = NULL;
}

/* Release the socket and buffers; c stays allocated. */
static void conn_release(tcp_conn *c)
{
    tcp_inst *inst = c->inst;
    if (c->job != NULL)
        tcp_resolver_detach(c);
    if (c->watch != NULL)
        veil_node_watch_remove(c->watch);
    c->watch = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    unlink_dirty(c);
    unlink_backlog(c);
    tcp_conn_unhold(c);
    update_queued(inst, tcp_frame_writer_queued(&c->wr), 0);
    size_t rd_cap = c->rd.cap;
    tcp_frame_reader_free(&c->rd);
    tcp_budget_account(c, rd_cap);
    tcp_budget_partial(c, 0);
    inst->stats.buffer_bytes -= c->wr.cap;
    tcp_frame_writer_free(&c->wr);
    tcp_table_remove(inst, c);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        inst->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    inst->nconns--;
    inst->stats.connections_open--;
    inst->stats.connections_closed++;
}

void tcp_conn_fail(tcp_conn *c, int code, veil_log_level level, const char *fmt, ...)
{
    if (c->state == TCP_DEAD)
        return;
    char why[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    size_t unsent = tcp_frame_writer_queued(&c->wr);
    if (unsent > 0)
        snprintf(c->fail_detail, sizeof c->fail_detail, "tcp: connection %s: %s (%zu queued "
                 "bytes dropped)", c->addr.bytes, why, unsent);
    else
        snprintf(c->fail_detail, sizeof c->fail_detail, "tcp: connection %s: %s", c->addr.bytes,
                 why);
    c->fail_code = code;
    veil_log(c->inst->stopping ? VEIL_LOG_DEBUG : level, "tcp", "%s", c->fail_detail);
    conn_release(c);
    c->state = TCP_DEAD;
    c->next_dead = c->inst->dead;
    c->inst->dead = c;
}

void tcp_conn_reap(tcp_inst *inst)
{
    while (inst->dead != NULL) {
        tcp_conn *c = inst->dead;
        inst->dead = c->next_dead;
        if (c->id == inst->wait_id) {
            inst->wait_code = c->fail_code;
            snprintf(inst->wait_detail, sizeof inst->wait_detail, "%s", c->fail_detail);
        }
        veil_node_route_lost(inst->node, &c->addr, c->fail_code, c->fail_detail);
        free(c);
    }
}

void tcp_conn_destroy_all(tcp_inst *inst)
{
    inst->stopping = true;
    while (inst->conns != NULL) {
        tcp_conn *c = inst->conns;
        if (c->state == TCP_OPEN)
            tcp_conn_flush(c); /* best effort: what the socket takes now */
        if (inst->conns == c) {
            conn_release(c);
            free(c);
        }
    }
    while (inst->dead != NULL) {
        tcp_conn *c = inst->dead;
        inst->dead = c->next_dead;
        free(c);
    }
}

/* ---- dialing -------------------------------------------------------------- */

/* Start connecting to the current candidate; on an immediate failure try
 * the next.  Returns 0 (in progress or connected) or the last error. */
int tcp_conn_dial_next(tcp_conn *c)
{
    tcp_inst *inst = c->inst;
    int err = 0;
    while (c->cur_cand < c->ncand) {
        const struct sockaddr *sa = (const struct sockaddr *)&c->cand[c->cur_cand];
        int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            c->cur_cand++;
            continue;
        }
        set_options(inst, fd);
        if (connect(fd, sa, c->cand_len[c->cur_cand]) == 0 || errno == EINPROGRESS) {
            int rc = veil_node_watch_add(inst->node, fd, VEIL_WATCH_WRITE, conn_event, c,
                                           &c->watch);
            if (rc < 0) {
                close(fd);
                return rc;
            }
            c->fd = fd;
            c->want_write = true;
            c->state = TCP_CONNECTING;
            return 0;
        }
        err = errno;
        close(fd);
        c->cur_cand++;
    }
    return veil_error_set(VEIL_EIO, "tcp: connect to %s failed: %s", c->addr.bytes,
                          strerror(err));
}

int tcp_conn_dial(tcp_inst *inst, const char *name, size_t len, tcp_conn **out)
{
    tcp_endpoint ep;
    int rc = tcp_endpoint_parse(name, len, &ep);
    if (rc < 0)
        return rc;
    if (ep.port == 0)
        return veil_error_set(VEIL_EINVAL, "tcp: cannot connect to port 0 ('%.*s')", (int)len,
                              name);
    if (inst->nconns >= inst->cfg.max_connections)
        return veil_error_set(VEIL_ELIMIT, "tcp: cannot connect to %.*s: %zu connections open "
                              "(max_connections)", (int)len, name, inst->nconns);
    tcp_conn *c = conn_new(inst, name, len, false);
    if (c == NULL)
        return VEIL_ENOMEM;
    if (ep.numeric) { /* no resolver call: dial now */
        rc = tcp_resolve(&ep, false, c->cand, c->cand_len, TCP_MAX_CANDIDATES, &c->ncand);
        if (rc == 0)
            rc = tcp_conn_dial_next(c);
    } else {
        rc = tcp_resolver_start(c, &ep);
    }
    if (rc < 0) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", veil_last_error());
        conn_release(c);
        free(c);
        return veil_error_set(rc, "%s", detail);
    }
    c->deadline_ms = veil_node_now_ms(inst->node) + (uint64_t)inst->cfg.connect_timeout_ms;
    inst->stats.connections_dialed++;
    tcp_inst_arm_tick(inst);
    *out = c;
    return 0;
}

/* The connect finished (WRITE or ERROR on a connecting socket). */
static void connect_done(tcp_conn *c)
{
    int err = 0;
    socklen_t elen = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
        err = errno;
    if (err == 0) {
        bool pending = true; /* the preamble, at least */
        c->state = TCP_OPEN;
        c->deadline_ms = veil_node_now_ms(c->inst->node) +
                         (uint64_t)c->inst->cfg.preamble_timeout_ms;
        if (veil_node_watch_modify(c->watch, VEIL_WATCH_READ |
                                                 (pending ? VEIL_WATCH_WRITE : 0)) < 0) {
            tcp_conn_fail(c, VEIL_EIO, VEIL_LOG_ERROR, "%s", veil_last_error());
            return;
        }
        c->want_write = pending;
        tcp_conn_flush(c);
        return;
    }
    /* Try the next candidate (e.g. "localhost" -> ::1 refused, 127.0.0.1). */
    veil_node_watch_remove(c->watch);
    c->watch = NULL;
    close(c->fd);
    c->fd = -1;
    c->cur_cand++;
    if (c->cur_cand < c->ncand && tcp_conn_dial_next(c) == 0)
        return;
    tcp_conn_fail(c, VEIL_EIO, VEIL_LOG_WARN, "connect failed: %s", strerror(err));
}

/* ---- accepting ------------------------------------------------------------ */

int tcp_conn_adopt(tcp_inst *inst, int fd, const struct sockaddr *peer)
{
    char name[80];
    tcp_sockaddr_format(peer, name, sizeof name);
    if (inst->nconns >= inst->cfg.max_connections) {
        close(fd);
        veil_log(VEIL_LOG_WARN, "tcp", "tcp: refused connection from %s: %zu connections open "
                "(max_connections)", name, inst->nconns);
        return veil_error_set(VEIL_ELIMIT, "tcp: max_connections reached");
    }
    tcp_conn *c = conn_new(inst, name, strlen(name), true);
    if (c == NULL) {
        close(fd);
        return VEIL_ENOMEM;
    }
    set_options(inst, fd);
    c->fd = fd;
    c->state = TCP_OPEN;
    c->deadline_ms = veil_node_now_ms(inst->node) + (uint64_t)inst->cfg.preamble_timeout_ms;
    int rc = veil_node_watch_add(inst->node, fd, VEIL_WATCH_READ, conn_event, c, &c->watch);
    if (rc < 0) {
        conn_release(c);
        free(c);
        return rc;
    }
    inst->stats.connections_accepted++;
    mark_dirty(c); /* the preamble goes out before the loop polls */
    tcp_inst_arm_tick(inst);
    return 0;
}

/* ---- sending -------------------------------------------------------------- */

static void mark_dirty(tcp_conn *c)
{
    if (!c->dirty) {
        c->dirty = true;
        c->next_dirty = c->inst->dirty;
        c->inst->dirty = c;
    }
}

/* A large frame on a connection with nothing queued goes to the socket at
 * once, straight from the caller's buffer (header and payload in one
 * sendmsg): the send queue then holds only what the kernel did not take,
 * so a bulk stream's 64 KiB chunks are not copied into the ring first.
 * Small frames still wait for the prepoll flush, which batches a round's
 * frames into one write.  A send error here is left for that flush to
 * find (the frame is queued whole), so no connection fails inside a
 * sender's call. */
static size_t send_direct(tcp_conn *c, const uint8_t *prefix, size_t prefix_len,
                          const uint8_t *payload, size_t plen)
{
    struct iovec iov[2] = {
        {.iov_base = (void *)prefix, .iov_len = prefix_len},
        {.iov_base = (void *)payload, .iov_len = plen},
    };
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t w;
    do
        w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    if (w <= 0)
        return 0;
    c->inst->stats.writes++;
    c->inst->stats.bytes_sent += (uint64_t)w;
    return (size_t)w;
}

/* The queue of a connection whose socket took everything so far (no
 * WRITE watch), written now because it reached TCP_FLUSH_MIN: one sendmsg.
 * What the kernel does not take stays queued for the prepoll flush (a
 * WRITE watch is set, so no later sender's call tries again before the
 * socket has room); an error is left for that flush too, so no connection
 * fails inside a sender's call. */
static void flush_early(tcp_conn *c)
{
    tcp_inst *inst = c->inst;
    struct iovec iov[2];
    size_t n = tcp_frame_writer_queued(&c->wr);
    struct msghdr mh = {.msg_iov = iov};
    mh.msg_iovlen = (size_t)tcp_frame_writer_iov(&c->wr, iov);
    ssize_t w;
    do
        w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    if (w > 0) {
        inst->stats.writes++;
        inst->stats.bytes_sent += (uint64_t)w;
        tcp_frame_writer_consume(&c->wr, (size_t)w);
        update_queued(inst, n, n - (size_t)w);
    }
    if (w < 0 || (size_t)w < n)
        set_want_write(c, true);
}

int tcp_conn_queue(tcp_conn *c, const veil_route *onward, const veil_route *ret,
                   const uint8_t *payload, size_t plen)
{
    tcp_inst *inst = c->inst;
    size_t before = tcp_frame_writer_queued(&c->wr);
    size_t cap_before = c->wr.cap;
    uint8_t prefix[TCP_FRAME_PREFIX_MAX];
    size_t prefix_len, sent = 0;
    int rc = tcp_frame_prefix(&c->wr, inst->cfg.max_frame, onward, ret, plen, prefix,
                              &prefix_len);
    if (rc == 0 && plen >= TCP_DIRECT_MIN && before == 0 && c->preamble_unsent == 0 &&
        c->state == TCP_OPEN)
        sent = send_direct(c, prefix, prefix_len, payload, plen);
    if (rc == 0)
        rc = tcp_frame_write_rest(&c->wr, prefix, prefix_len, payload, plen, sent);
    inst->stats.buffer_bytes += c->wr.cap - cap_before;
    if (c->wr.cap != cap_before)
        inst->stats.buffer_allocs++;
    if (rc < 0) {
        if (rc == VEIL_EAGAIN)
            inst->stats.queue_full++;
        return veil_error_wrap(rc, "sending to 1#%s", c->addr.bytes);
    }
    size_t after = tcp_frame_writer_queued(&c->wr);
    update_queued(inst, before, after);
    if (after > inst->stats.queued_bytes_peak)
        inst->stats.queued_bytes_peak = after;
    inst->stats.frames_sent++;
    if (after >= TCP_FLUSH_MIN && !c->want_write && c->preamble_unsent == 0 &&
        c->state == TCP_OPEN)
        flush_early(c);
    if (tcp_frame_writer_queued(&c->wr) > 0)
        mark_dirty(c);
    return 0;
}

/* What one sendmsg offers: the rest of our preamble (sent first on every
 * connection, from a constant: no send buffer for it), then the queue. */
static size_t flush_iov(const tcp_conn *c, struct iovec iov[3], size_t *pre)
{
    size_t k = 0;
    *pre = c->preamble_unsent;
    if (*pre > 0) {
        iov[k].iov_base = (void *)(tcp_preamble + TCP_PREAMBLE_LEN - *pre);
        iov[k++].iov_len = *pre;
    }
    return k + (size_t)tcp_frame_writer_iov(&c->wr, iov + k);
}

void tcp_conn_flush(tcp_conn *c)
{
    tcp_inst *inst = c->inst;
    if (c->state != TCP_OPEN)
        return;
    while (tcp_frame_writer_queued(&c->wr) + c->preamble_unsent > 0) {
        size_t n = tcp_frame_writer_queued(&c->wr), pre;
        struct iovec iov[3];
        struct msghdr mh = {.msg_iov = iov};
        mh.msg_iovlen = flush_iov(c, iov, &pre);
        /* sendmsg = writev with MSG_NOSIGNAL: a reset peer is an error
         * code, not a SIGPIPE. */
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (w < 0) {
            int e = errno;
            tcp_conn_fail(c, VEIL_ECLOSED, VEIL_LOG_WARN, "send failed: %s", strerror(e));
            return;
        }
        inst->stats.writes++;
        inst->stats.bytes_sent += (uint64_t)w;
        size_t from_pre = (size_t)w < pre ? (size_t)w : pre;
        c->preamble_unsent -= from_pre;
        tcp_frame_writer_consume(&c->wr, (size_t)w - from_pre);
        update_queued(inst, n, n - ((size_t)w - from_pre));
    }
    set_want_write(c, tcp_frame_writer_queued(&c->wr) + c->preamble_unsent > 0);
}

static void conn_event(veil_node *node, int fd, uint32_t events, void *arg)
{
    tcp_conn *c = arg;
    tcp_inst *inst = c->inst;
    (void)node;
    (void)fd;
    if (c->state == TCP_CONNECTING) {
        if (events & (VEIL_WATCH_WRITE | VEIL_WATCH_ERROR | VEIL_WATCH_HUP))
            connect_done(c);
    } else if (c->held && (events & (VEIL_WATCH_ERROR | VEIL_WATCH_HUP))) {
        /* Not reading while a frame is held, but a reset or error is
         * reported anyway (level-triggered): the connection is over. */
        tcp_conn_fail(c, VEIL_ECLOSED, VEIL_LOG_WARN, "reset while holding a frame for a full "
                      "next hop (%zu received bytes dropped)", tcp_frame_reader_partial(&c->rd));
    } else {
        if (events & (VEIL_WATCH_READ | VEIL_WATCH_ERROR | VEIL_WATCH_HUP))
            tcp_conn_read(c);
        if (c->state == TCP_OPEN && (events & VEIL_WATCH_WRITE))
            tcp_conn_flush(c);
    }
    tcp_conn_reap(inst);
}
