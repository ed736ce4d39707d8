/* The instance's partial_frame_budget: what the receive buffers of all its
 * connections may hold beyond their first TCP_READER_BASE bytes each,
 * together.  Only frames larger than the base buffer need that memory, and
 * a buffer grows only as the frame's bytes arrive (tcp_frame.c), so the
 * budget is paid for in bytes sent, not in headers.
 *
 * When a connection's next read needs a bigger buffer and the budget has
 * no room (docs/PROTOCOL.md, "Security properties and limits"):
 *   1. grown buffers that hold nothing (a big frame was read, none is
 *      arriving) are freed: nothing is lost, the next frame grows again;
 *   2. then the connections whose incomplete frames began first are
 *      closed (VEIL_EBUSY), oldest first, until the growth fits, even
 *      when that is the connection asking.
 * Closing the oldest, not refusing the newest, is what keeps the budget
 * from being held forever: a peer that trickles bytes to keep its frames
 * open is the first to go, and pushing a frame that is being received out
 * takes more budget bytes than the budget holds, sent after that frame
 * began.  Refusing to grow (stalling the asker) would instead let a few
 * slow peers stall everyone's large frames until frame_timeout. */
#include "tcp.h"

#include <veil/error.h>

size_t tcp_budget_charge(size_t cap)
{
    return cap > TCP_READER_BASE ? cap - TCP_READER_BASE : 0;
}

static bool fits(const tcp_inst *inst, size_t extra)
{
    return inst->stats.partial_frame_memory + extra <= inst->cfg.partial_frame_budget;
}

/* Free grown buffers that hold no byte (c's is never idle here: it is
 * full).  Returns whether the growth fits now. */
static bool reclaim_idle(tcp_inst *inst, size_t extra)
{
    for (tcp_conn *d = inst->conns; d != NULL && !fits(inst, extra); d = d->next) {
        size_t cap = d->rd.cap;
        if (tcp_budget_charge(cap) == 0 || tcp_frame_reader_partial(&d->rd) != 0)
            continue;
        tcp_frame_reader_release(&d->rd);
        tcp_budget_account(d, cap);
        inst->stats.partial_frame_reclaims++;
    }
    return fits(inst, extra);
}

/* Is d a better victim than best?  A connection holding a complete frame
 * for a full next hop (tcp_recv.c) goes last: it is waiting on someone
 * else, not trickling; but it is not exempt, or held buffers could keep
 * the budget forever. */
static bool before(const tcp_conn *d, const tcp_conn *best)
{
    if (best == NULL)
        return true;
    if (d->held != best->held)
        return !d->held;
    return d->frame_start_ms < best->frame_start_ms ||
           (d->frame_start_ms == best->frame_start_ms &&
            tcp_frame_reader_partial(&d->rd) > tcp_frame_reader_partial(&best->rd));
}

/* The connection whose incomplete frame began first among those holding
 * budget (ties: the one holding more); held connections after the rest. */
static tcp_conn *oldest_partial(tcp_inst *inst)
{
    tcp_conn *best = NULL;
    for (tcp_conn *d = inst->conns; d != NULL; d = d->next) {
        if (d->state != TCP_OPEN || tcp_budget_charge(d->rd.cap) == 0 ||
            tcp_frame_reader_partial(&d->rd) == 0)
            continue;
        if (before(d, best))
            best = d;
    }
    return best;
}

bool tcp_budget_make_room(tcp_conn *c, size_t extra)
{
    tcp_inst *inst = c->inst;
    if (fits(inst, extra) || reclaim_idle(inst, extra))
        return true;
    uint64_t now = veil_node_now_ms(inst->node);
    while (!fits(inst, extra)) {
        tcp_conn *v = oldest_partial(inst);
        if (v == NULL)
            return true; /* c's own growth: one frame always fits (read_config) */
        inst->stats.partial_frame_evictions++;
        tcp_conn_fail(v, VEIL_EBUSY, VEIL_LOG_WARN, "partial_frame_budget (%zu bytes) "
                      "exhausted: closing the connection whose incomplete frame began first "
                      "(%zu of %zu bytes, %llu ms ago)", inst->cfg.partial_frame_budget,
                      tcp_frame_reader_partial(&v->rd),
                      TCP_FRAME_HEADER + tcp_frame_reader_expected(&v->rd),
                      (unsigned long long)(now - v->frame_start_ms));
        if (v == c)
            return false;
    }
    return true;
}

void tcp_budget_account(tcp_conn *c, size_t cap_before)
{
    tcp_inst *inst = c->inst;
    size_t cap = c->rd.cap;
    if (cap == cap_before)
        return;
    inst->stats.buffer_bytes += cap;
    inst->stats.buffer_bytes -= cap_before;
    inst->stats.partial_frame_memory += tcp_budget_charge(cap);
    inst->stats.partial_frame_memory -= tcp_budget_charge(cap_before);
    if (inst->stats.partial_frame_memory > inst->stats.partial_frame_memory_peak)
        inst->stats.partial_frame_memory_peak = inst->stats.partial_frame_memory;
    if (cap > cap_before)
        inst->stats.buffer_allocs++;
}

void tcp_budget_partial(tcp_conn *c, size_t partial)
{
    c->inst->stats.partial_frame_bytes += partial;
    c->inst->stats.partial_frame_bytes -= c->partial_counted;
    c->partial_counted = partial;
}
