/* Per-node freelists for message objects and payload buffers.  Not
 * thread-safe: a pool belongs to its node's thread.
 *
 * Buffers come in power-of-two size classes from VEIL_POOL_MIN_BUF (64 B)
 * to VEIL_PAYLOAD_MAX, each VEIL_POOL_TAILROOM bytes longer than its power
 * of two: a payload of exactly 1 KiB or 16 KiB can then grow by a secure
 * channel's frame overhead (routes, length, tag, nonce and type: under 200
 * bytes for short routes) in place, instead of moving to the next class
 * (a copy and a wipe of the whole payload per message).  A request is
 * served from the smallest class that fits; a miss calls malloc and is counted, so benchmarks and tests can
 * check that steady state costs no malloc per message.  Idle buffers are
 * kept up to a byte budget, idle message objects up to a count. */
#ifndef VEIL_POOL_H
#define VEIL_POOL_H

#include <veil/message.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEIL_POOL_MIN_SHIFT 6u
#define VEIL_POOL_MIN_BUF (1u << VEIL_POOL_MIN_SHIFT)
#define VEIL_POOL_CLASSES 15u   /* 2^6 .. 2^20, plus the tailroom */
#define VEIL_POOL_TAILROOM 192u

typedef struct veil_pool_buf {
    struct veil_pool_buf *next;
} veil_pool_buf;

typedef struct veil_pool {
    veil_message *free_msgs;
    size_t nfree_msgs;
    size_t max_free_msgs;
    veil_pool_buf *free_bufs[VEIL_POOL_CLASSES];
    size_t cached_bytes;
    size_t max_cached_bytes;
    uint64_t message_allocs;
    uint64_t buffer_allocs;
} veil_pool;

#define VEIL_POOL_HIDDEN __attribute__((visibility("hidden")))

VEIL_POOL_HIDDEN void veil__pool_init(veil_pool *p, size_t max_free_msgs,
                                      size_t max_cached_bytes);
/* Frees every idle object (messages still in use are not the pool's). */
VEIL_POOL_HIDDEN void veil__pool_fini(veil_pool *p);

/* Size class index for len (1..VEIL_PAYLOAD_MAX) and that class's size. */
VEIL_POOL_HIDDEN unsigned veil__pool_class(size_t len);
static inline size_t veil__pool_class_size(unsigned cls)
{
    return ((size_t)VEIL_POOL_MIN_BUF << cls) + VEIL_POOL_TAILROOM;
}

/* A buffer of at least len bytes (len <= VEIL_PAYLOAD_MAX); *cap gets its
 * size.  NULL on out of memory. */
VEIL_POOL_HIDDEN uint8_t *veil__pool_buf_get(veil_pool *p, size_t len, size_t *cap);
/* Give back a buffer of size cap; the first `used` bytes are wiped first
 * (payloads may be decrypted plaintext). */
VEIL_POOL_HIDDEN void veil__pool_buf_put(veil_pool *p, uint8_t *buf, size_t cap,
                                         size_t used);

/* Message objects: raw storage; message.c initialises them. */
VEIL_POOL_HIDDEN veil_message *veil__pool_msg_get(veil_pool *p);
/* false: the pool is full, the caller frees the object itself. */
VEIL_POOL_HIDDEN bool veil__pool_msg_put(veil_pool *p, veil_message *m);

#endif
