/* Core-internal helpers: randomness, wiping, constant-time compare, hex,
 * log rate limits. */
#include "util.h"

#include <veil/error.h>

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

void veil__memzero(void *p, size_t n)
{
    if (p != NULL && n > 0)
        explicit_bzero(p, n);
}

int veil__memcmp_ct(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t acc = 0;

    /* No early exit: every byte is visited whatever the data. */
    for (size_t i = 0; i < n; i++)
        acc |= (uint8_t)(x[i] ^ y[i]);
    return acc != 0;
}

void veil__hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int veil__hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = strlen(hex);

    if (n % 2 != 0)
        return veil_error_set(VEIL_EFORMAT,
                              "hex string has odd length %zu", n);
    if (n / 2 > cap)
        return veil_error_set(VEIL_ELIMIT,
                              "hex string decodes to %zu bytes, room for %zu",
                              n / 2, cap);
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_nibble(hex[i]);
        int lo = hex_nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            size_t at = hi < 0 ? i : i + 1;
            unsigned char c = (unsigned char)hex[at];
            if (c >= 0x20 && c < 0x7f)
                return veil_error_set(VEIL_EFORMAT,
                                      "bad hex character '%c' at offset %zu",
                                      c, at);
            return veil_error_set(VEIL_EFORMAT,
                                  "bad hex character 0x%02x at offset %zu",
                                  c, at);
        }
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    if (len != NULL)
        *len = n / 2;
    return 0;
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

void veil__store_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

uint64_t veil__load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
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
