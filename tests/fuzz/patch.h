/* The mutation scheme of the fuzz targets that start from an honest input
 * made at run time (a valid change history, a handshake message, a signed
 * bundle): random bytes almost never pass a signature or an AEAD tag, so
 * these targets take the honest bytes and let the fuzzer change a few.
 *
 *   ops = (offset:u16 big-endian, byte)*  [length]
 *
 * Each triple stores byte at offset % (len + FUZZ_PATCH_SLACK); a last
 * lone byte L sets the length to len + FUZZ_PATCH_SLACK - L % (len +
 * FUZZ_PATCH_SLACK) (shorter, or up to FUZZ_PATCH_SLACK bytes longer).
 * No ops at all leaves the honest input as it is: the seed "mode byte
 * only" is the honest run, so the seeds stay valid when formats change. */
#ifndef VEIL_FUZZ_PATCH_H
#define VEIL_FUZZ_PATCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_PATCH_SLACK 16u

/* A malloc'd copy of honest[0..len) with ops applied; *out_len its length
 * (exactly the patched bytes: ASan sees a read past the end).  NULL when
 * out of memory. */
static inline uint8_t *fuzz_patch(const uint8_t *honest, size_t len, const uint8_t *ops,
                                  size_t n, size_t *out_len)
{
    size_t room = len + FUZZ_PATCH_SLACK;
    uint8_t *h = calloc(1, room);
    if (h == NULL)
        return NULL;
    memcpy(h, honest, len);
    size_t i = 0;
    for (; i + 3 <= n; i += 3)
        h[((size_t)ops[i] << 8 | ops[i + 1]) % room] = ops[i + 2];
    size_t final = i < n ? room - (size_t)ops[i] % room : len;
    uint8_t *out = malloc(final ? final : 1);
    if (out != NULL)
        memcpy(out, h, final);
    free(h);
    *out_len = final;
    return out;
}

#endif
