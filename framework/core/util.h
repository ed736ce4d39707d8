/* Core-internal helpers shared by libveil's own sources.  Not installed, not
 * exported: every name is veil__* and carries hidden visibility, so plugins
 * cannot come to depend on them. */
#ifndef VEIL_UTIL_H
#define VEIL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEIL_HIDDEN __attribute__((visibility("hidden")))

/* Fill buf with len bytes from the kernel CSPRNG (getrandom(2)); retries on
 * EINTR and short reads.  0, or VEIL_EIO with a detail naming errno. */
VEIL_HIDDEN int veil__random(void *buf, size_t len);

/* Lifetime references (node thread only, like the objects themselves).
 * veil_vault_close() and veil_entity_free() drop the caller's reference;
 * the object is really closed/freed when the last reference goes.  Secure
 * channels, listeners and entities hold references on what they use, so an
 * application may free an entity or close a vault while channels still
 * run: keys and key agreement sessions are then destroyed in the vault
 * when the channel stops (at the latest at veil_node_stop), never leaked,
 * never used after free. */
struct veil_vault;
struct veil_entity;
VEIL_HIDDEN struct veil_vault *veil__vault_ref(struct veil_vault *v);
VEIL_HIDDEN struct veil_entity *veil__entity_ref(struct veil_entity *e);

/* Wipe memory in a way the compiler may not elide. */
VEIL_HIDDEN void veil__memzero(void *p, size_t n);

/* 0 when the n bytes are equal, non-zero otherwise; time depends only on n. */
VEIL_HIDDEN int veil__memcmp_ct(const void *a, const void *b, size_t n);

/* Lower-case hex of n bytes into out (which holds 2n+1 chars, NUL-terminated). */
VEIL_HIDDEN void veil__hex_encode(const uint8_t *in, size_t n, char *out);

/* Decode a NUL-terminated hex string (either case) into out[0..cap).
 * VEIL_EFORMAT on odd length or a non-hex character (detail names the
 * offset and character), VEIL_ELIMIT when the result exceeds cap. */
VEIL_HIDDEN int veil__hex_decode(const char *hex, uint8_t *out, size_t cap,
                                 size_t *len);

/* BSD strlcpy: copies at most cap-1 bytes, always NUL-terminates when
 * cap > 0, returns strlen(src) so truncation is (ret >= cap). */
VEIL_HIDDEN size_t veil__strlcpy(char *dst, const char *src, size_t cap);

/* Big-endian 64-bit integers at p (8 bytes). */
VEIL_HIDDEN void veil__store_be64(uint8_t *p, uint64_t v);
VEIL_HIDDEN uint64_t veil__load_be64(const uint8_t *p);
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
