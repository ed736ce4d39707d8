/* Core-internal helpers shared by libveil's own sources.  Not installed, not
 * exported: every name is veil__* and carries hidden visibility, so plugins
 * cannot come to depend on them (what plugins share with libveil is the
 * static inline helpers.h, included here). */
#ifndef VEIL_UTIL_H
#define VEIL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "helpers.h"

#define VEIL_HIDDEN __attribute__((visibility("hidden")))

/* Fill buf with len bytes from the kernel CSPRNG (getrandom(2)); retries on
 * EINTR and short reads.  0, or VEIL_EIO with a detail naming errno. */
VEIL_HIDDEN int veil__random(void *buf, size_t len);

/* Lifetime references (node thread only, like the objects themselves).
 * veil_vault_close() and veil_entity_close() drop the caller's reference;
 * the object is really closed/freed when the last reference goes.  Secure
 * channels, listeners and entities hold references on what they use, so an
 * application may free an entity or close a vault while channels still
 * run: keys and key agreement sessions are then destroyed in the vault
 * when the channel stops (at the latest at veil_node_free), never leaked,
 * never used after free. */
struct veil_vault;
struct veil_entity;
VEIL_HIDDEN struct veil_vault *veil__vault_ref(struct veil_vault *v);
VEIL_HIDDEN struct veil_entity *veil__entity_ref(struct veil_entity *e);

/* BSD strlcpy: copies at most cap-1 bytes, always NUL-terminates when
 * cap > 0, returns strlen(src) so truncation is (ret >= cap). */
VEIL_HIDDEN size_t veil__strlcpy(char *dst, const char *src, size_t cap);

/* Log rate limit for lines strangers can trigger: at most `burst` lines
 * per second pass; the rest are counted.  veil__ratelimit_pass() says
 * whether this line may be logged and, when it may, sets *skipped to the
 * lines suppressed since the last one that passed (to mention in it). */
typedef struct veil_ratelimit {
    uint64_t window_ms;        /* start of the current one-second window */
    uint32_t used;             /* lines passed in that window */
    uint64_t skipped;          /* suppressed since the last line that passed */
    uint64_t suppressed;       /* suppressed in total */
} veil_ratelimit;
VEIL_HIDDEN bool veil__ratelimit_pass(veil_ratelimit *rl, uint64_t now_ms, uint32_t burst,
                                      uint64_t *skipped);

#endif
