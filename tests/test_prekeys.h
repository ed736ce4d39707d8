/* Shared by the X3DH channel tests (test_channel_x3dh*.c): a raw request
 * to a worker and its first answer, and big-endian reads of the wire
 * formats (docs/X3DH.md). */
#ifndef VEIL_TEST_PREKEYS_H
#define VEIL_TEST_PREKEYS_H

#include "test_channel.h"

static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Send req along r from a fresh mailbox of node, wait for the first
 * answer; returns its length (payload copied to out), or fails. */
static inline size_t ask(veil_node *node, const veil_route *r, const uint8_t *req, size_t len,
                         uint8_t *out, size_t cap)
{
    veil_context *c;
    veil_message *m;
    assert_int_equal(veil_ctx_new_detached(node, NULL, &c), 0);
    assert_int_equal(veil_ctx_send(c, r, req, len), 0);
    int rc = veil_ctx_receive(c, &m, 3000);
    if (rc < 0)
        fail_msg("no answer: %s", veil_last_error());
    size_t n;
    const uint8_t *p = veil_message_payload(m, &n);
    assert_true(n <= cap);
    memcpy(out, p, n);
    veil_message_free(m);
    veil_ctx_free(c);
    return n;
}

static inline size_t ask_at(veil_node *node, const char *route, const uint8_t *req, size_t len,
                            uint8_t *out, size_t cap)
{
    veil_route r = route_of(route);
    return ask(node, &r, req, len, out, cap);
}

#endif
