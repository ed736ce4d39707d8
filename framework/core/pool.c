/* Per-node pools: freelists of message objects and of payload buffers in
 * power-of-two classes.  See pool.h. */
#include "runtime.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void veil__pool_init(veil_pool *p, size_t max_free_msgs, size_t max_cached_bytes)
{
    memset(p, 0, sizeof *p);
    p->max_free_msgs = max_free_msgs;
    p->max_cached_bytes = max_cached_bytes;
}

void veil__pool_fini(veil_pool *p)
{
    while (p->free_msgs != NULL) {
        veil_message *m = p->free_msgs;
        p->free_msgs = m->next;
        free(m);
    }
    for (unsigned c = 0; c < VEIL_POOL_CLASSES; c++) {
        while (p->free_bufs[c] != NULL) {
            veil_pool_buf *b = p->free_bufs[c];
            p->free_bufs[c] = b->next;
            free(b);
        }
    }
    p->nfree_msgs = 0;
    p->cached_bytes = 0;
}

unsigned veil__pool_class(size_t len)
{
    unsigned cls = 0;
    while (cls + 1 < VEIL_POOL_CLASSES && veil__pool_class_size(cls) < len)
        cls++;
    return cls;
}

uint8_t *veil__pool_buf_get(veil_pool *p, size_t len, size_t *cap)
{
    unsigned cls = veil__pool_class(len);
    size_t size = veil__pool_class_size(cls);
    veil_pool_buf *b = p->free_bufs[cls];
    if (b != NULL) {
        p->free_bufs[cls] = b->next;
        p->cached_bytes -= size;
        *cap = size;
        return (uint8_t *)b;
    }
    b = malloc(size);
    if (b == NULL)
        return NULL;
    p->buffer_allocs++;
    *cap = size;
    return (uint8_t *)b;
}

void veil__pool_buf_put(veil_pool *p, uint8_t *buf, size_t cap, size_t used)
{
    if (buf == NULL)
        return;
    veil__memzero(buf, used < cap ? used : cap);
    if (p->cached_bytes + cap > p->max_cached_bytes) {
        free(buf);
        return;
    }
    unsigned cls = veil__pool_class(cap);
    veil_pool_buf *b = (veil_pool_buf *)(void *)buf;
    b->next = p->free_bufs[cls];
    p->free_bufs[cls] = b;
    p->cached_bytes += cap;
}

veil_message *veil__pool_msg_get(veil_pool *p)
{
    veil_message *m = p->free_msgs;
    if (m != NULL) {
        p->free_msgs = m->next;
        p->nfree_msgs--;
        return m;
    }
    m = malloc(sizeof *m);
    if (m != NULL)
        p->message_allocs++;
    return m;
}

bool veil__pool_msg_put(veil_pool *p, veil_message *m)
{
    if (p->nfree_msgs >= p->max_free_msgs)
        return false;
    m->next = p->free_msgs;
    p->free_msgs = m;
    p->nfree_msgs++;
    return true;
}
