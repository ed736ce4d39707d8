/* "No such worker" notices (docs/PROTOCOL.md, "Undeliverable notices"):
 * a message that came over a transport for a local address with no worker
 * is answered, along its return route, with a small notice
 *
 *   notice = code:u8 (-VEIL_ENOROUTE)  "veil.undeliverable" (18 bytes)  0x0f
 *
 * so that its sender (a secure channel waiting for handshake message 2)
 * fails at once instead of at its timeout.  Bounded ([node]
 * answer_undeliverable, docs/CONFIG.md): only for messages from a
 * transport, never for a notice, never larger than the message answered
 * (its payload must be at least as long as the notice: the notice's
 * routes are the message's own, swapped), and at most VEIL_RT_ANSWER_BURST
 * answers per source (the connection it came over), then one per
 * VEIL_RT_ANSWER_REFILL_MS. */
#include "runtime.h"
#include "upper.h"

#include <veil/error.h>
#include <veil/log.h>

#include <string.h>

/* A token of the source's bucket (the slot its hash picks; a source that
 * takes the slot of another starts with a full bucket). */
static bool take_token(veil_node *node, uint32_t h)
{
    veil_rt_bucket *b = &node->router.answered[h % VEIL_RT_ANSWER_SLOTS];
    uint64_t now = veil_node_now_ms(node);
    if (b->hash != h || b->since == 0) {
        b->hash = h;
        b->tokens = VEIL_RT_ANSWER_BURST;
        b->since = now;
    } else {
        uint64_t refill = (now - b->since) / VEIL_RT_ANSWER_REFILL_MS;
        if (refill > 0) {
            uint64_t t = b->tokens + refill;
            b->tokens = t > VEIL_RT_ANSWER_BURST ? VEIL_RT_ANSWER_BURST : (unsigned)t;
            b->since += refill * VEIL_RT_ANSWER_REFILL_MS;
        }
    }
    if (b->tokens == 0)
        return false;
    b->tokens--;
    return true;
}

void veil__undeliverable(veil_node *node, const veil_message *msg)
{
    size_t plen;
    int code;
    const uint8_t *p = veil_message_payload(msg, &plen);
    const veil_route *ret = veil_message_return_const(msg);
    uint8_t type;
    const uint8_t *src;
    size_t slen;
    if (!node->answer_undeliverable || !msg->info.from_transport || plen < VEIL_NOTICE_LEN ||
        veil__notice_parse(p, plen, &code) || !veil_route_front(ret, &type, &src, &slen) ||
        !take_token(node, veil__router_hash(src, slen) ^ type))
        return;
    uint8_t body[VEIL_NOTICE_LEN];
    body[0] = (uint8_t)-VEIL_ENOROUTE;
    memcpy(body + 1, VEIL_NOTICE_MAGIC, sizeof VEIL_NOTICE_MAGIC - 1u);
    body[VEIL_NOTICE_LEN - 1] = VEIL_NOTICE_TYPE;
    veil_message *m;
    veil_address missing;
    if (veil_message_new(node, &m) < 0)
        return;
    veil_route_copy(veil_message_onward(m), ret);
    veil_route_init(veil_message_return(m));
    int rc = veil_route_get(veil_message_onward_const(msg), 0, &missing);
    if (rc == 0)
        rc = veil_route_append(veil_message_return(m), &missing);
    if (rc == 0)
        rc = veil_message_set_payload(m, body, sizeof body);
    if (rc == 0) {
        rc = veil__router_enqueue(node, m);
        m = NULL;
    }
    if (m != NULL)
        veil_message_free(m);
    if (rc < 0)
        veil_log(VEIL_LOG_DEBUG, "node", "no notice for an undeliverable message: %s",
                 veil_last_error());
}
