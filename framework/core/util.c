/* Core-internal helpers: randomness, strlcpy, log rate limits; the public
 * forms of the wiping and comparing helpers (helpers.h). */
#include "util.h"

#include <veil/error.h>
#include <veil/plugin.h>

#include <errno.h>
#include <string.h>
#include <sys/random.h>

int veil__random(void *buf, size_t len)
{
    uint8_t *p = buf;
    size_t done = 0;

    while (done < len) {
        /* getrandom() may return fewer bytes than asked (requests above
         * 256 bytes can be interrupted), so loop until all are filled. */
        ssize_t n = getrandom(p + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return veil_error_set(VEIL_EIO, "getrandom(%zu bytes) failed: %s",
                                  len - done, strerror(errno));
        }
        done += (size_t)n;
    }
    return 0;
}

/* The public forms of two helpers, for plugins built out of tree
 * (<veil/plugin.h>). */
void veil_memzero(void *p, size_t n)
{
    veil__memzero(p, n);
}

int veil_memcmp_ct(const void *a, const void *b, size_t n)
{
    return veil__memcmp_ct(a, b, n);
}

size_t veil__strlcpy(char *dst, const char *src, size_t cap)
{
    size_t n = strlen(src);

    if (cap > 0) {
        size_t k = n < cap - 1 ? n : cap - 1;
        memcpy(dst, src, k);
        dst[k] = '\0';
    }
    return n;
}

bool veil__ratelimit_pass(veil_ratelimit *rl, uint64_t now_ms, uint32_t burst, uint64_t *skipped)
{
    if (now_ms >= rl->window_ms + 1000u || now_ms < rl->window_ms) {
        rl->window_ms = now_ms;
        rl->used = 0;
    }
    if (rl->used >= burst) {
        rl->skipped++;
        rl->suppressed++;
        return false;
    }
    rl->used++;
    *skipped = rl->skipped;
    rl->skipped = 0;
    return true;
}
