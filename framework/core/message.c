/* Messages: pooled objects with two routes, a pooled payload buffer and
 * node-local information.  See message.h for the ownership rules. */
#include "runtime.h"
#include "upper.h"

#include <veil/error.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void link_live(veil_node *node, veil_message *m)
{
    m->all_prev = NULL;
    m->all_next = node->live_msgs;
    if (node->live_msgs != NULL)
        node->live_msgs->all_prev = m;
    node->live_msgs = m;
}

static void unlink_live(veil_node *node, veil_message *m)
{
    if (m->all_prev != NULL)
        m->all_prev->all_next = m->all_next;
    else
        node->live_msgs = m->all_next;
    if (m->all_next != NULL)
        m->all_next->all_prev = m->all_prev;
}

int veil_message_new(veil_node *node, veil_message **out)
{
    if (node == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_message_new: node and out must not be NULL");
    veil_message *m = veil__pool_msg_get(&node->pool);
    if (m == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory allocating a message (%zu bytes)",
                              sizeof *m);
    m->next = NULL;
    m->node = node;
    m->payload = NULL;
    m->len = 0;
    m->cap = 0;
    m->onward_idx = 0;
    m->sealed = false;
    m->info.via_channel = false;
    m->info.channel.type = 0;
    m->info.channel.len = 0;
    m->info.channel.bytes[0] = '\0';
    m->info.peer_identifier[0] = '\0';
    m->info.from_transport = false;
    m->info.transport_type = 0;
    m->info.admitted = false; /* connection: meaningless without from_transport */
    veil_route_init(&m->routes[0]);
    veil_route_init(&m->routes[1]);
    link_live(node, m);
    *out = m;
    return 0;
}

/* Return a message's storage without touching node->current_msg. */
static void message_release(veil_message *m)
{
    veil_node *node = m->node;
    unlink_live(node, m);
    /* A sealed payload is what the wire carries: nothing to wipe. */
    veil__pool_buf_put(&node->pool, m->payload, m->cap, m->sealed ? 0 : m->len);
    m->payload = NULL;
    m->cap = m->len = 0;
    m->sealed = false;
    /* who the peer was is node-local and must not linger in the pool */
    if (m->info.via_channel || m->info.peer_identifier[0] != '\0')
        veil__local_info_wipe(&m->info);
    if (!veil__pool_msg_put(&node->pool, m))
        free(m);
}

void veil_message_free(veil_message *m)
{
    if (m == NULL)
        return;
    if (m->node->current_msg == m)
        m->node->current_msg = NULL;
    message_release(m);
}

/* At node stop: messages the application never freed. */
void veil__message_release_all(veil_node *node)
{
    while (node->live_msgs != NULL)
        message_release(node->live_msgs);
}

veil_route *veil_message_onward(veil_message *m)
{
    return &m->routes[m->onward_idx];
}

veil_route *veil_message_return(veil_message *m)
{
    return &m->routes[m->onward_idx ^ 1u];
}

const veil_route *veil_message_onward_const(const veil_message *m)
{
    return &m->routes[m->onward_idx];
}

const veil_route *veil_message_return_const(const veil_message *m)
{
    return &m->routes[m->onward_idx ^ 1u];
}

const uint8_t *veil_message_payload(const veil_message *m, size_t *len)
{
    if (len != NULL)
        *len = m->len;
    return m->payload != NULL ? m->payload : (const uint8_t *)"";
}

uint8_t *veil_message_payload_mut(veil_message *m, size_t *len)
{
    m->sealed = false; /* the caller may write anything into it */
    if (len != NULL)
        *len = m->len;
    return m->payload;
}

int veil_message_resize_payload(veil_message *m, size_t len, uint8_t **data)
{
    size_t max = m->node->limits.max_payload;
    m->sealed = false; /* the caller writes into *data */
    if (len > max)
        return veil_error_set(VEIL_ELIMIT, "payload of %zu bytes exceeds the limit of %zu bytes",
                              len, max);
    if (len > m->cap) {
        size_t cap;
        uint8_t *nb = veil__pool_buf_get(&m->node->pool, len, &cap);
        if (nb == NULL)
            return veil_error_set(VEIL_ENOMEM, "out of memory for a %zu-byte payload", len);
        if (m->len > 0)
            memcpy(nb, m->payload, m->len);
        veil__pool_buf_put(&m->node->pool, m->payload, m->cap, m->len);
        m->payload = nb;
        m->cap = cap;
    } else if (len < m->len) {
        veil__memzero(m->payload + len, m->len - len);
    }
    m->len = len;
    if (data != NULL)
        *data = m->payload;
    return 0;
}

void veil__message_sealed(veil_message *m)
{
    m->sealed = true;
}

void veil__message_shrink_unwritten(veil_message *m, size_t len)
{
    if (len < m->len)
        m->len = len; /* the tail was never written: nothing to wipe */
}

int veil_message_set_payload(veil_message *m, const void *data, size_t len)
{
    m->sealed = false;
    if (data == NULL && len > 0)
        return veil_error_set(VEIL_EINVAL, "payload data is NULL but length is %zu", len);
    size_t max = m->node->limits.max_payload;
    if (len > max)
        return veil_error_set(VEIL_ELIMIT, "payload of %zu bytes exceeds the limit of %zu bytes",
                              len, max);
    /* data may point into the current payload: reuse the buffer when it is
     * big enough (memmove), else copy into a fresh one before releasing. */
    if (len <= m->cap) {
        if (len > 0)
            memmove(m->payload, data, len);
        if (len < m->len)
            veil__memzero(m->payload + len, m->len - len);
        m->len = len;
        return 0;
    }
    size_t cap;
    uint8_t *nb = veil__pool_buf_get(&m->node->pool, len, &cap);
    if (nb == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory for a %zu-byte payload", len);
    memcpy(nb, data, len);
    veil__pool_buf_put(&m->node->pool, m->payload, m->cap, m->len);
    m->payload = nb;
    m->cap = cap;
    m->len = len;
    return 0;
}

const veil_local_info *veil_message_local_info(const veil_message *m)
{
    return &m->info;
}

void veil__local_info_wipe(veil_local_info *li)
{
    veil__memzero(li, offsetof(veil_local_info, connection));
}

veil_local_info *veil__message_local_info(veil_message *m)
{
    return &m->info;
}

void veil_message_set_local_info(veil_message *m, const veil_local_info *info)
{
    if (info == NULL)
        veil__memzero(&m->info, sizeof m->info);
    else
        m->info = *info;
}
