/* BLAKE2s-256 (RFC 7693), unkeyed.  libsodium ships BLAKE2b only, and Noise
 * names BLAKE2s, so the sodium backend uses this; OpenSSL has its own. */
#include <string.h>

#include "backend.h"

static const uint32_t blake2s_iv[8] = {
    0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
    0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u,
};

/* RFC 7693 §2.7: message word schedule. */
static const uint8_t sigma[10][16] = {
    { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
    { 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
    { 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
    { 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
    { 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
    { 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
    { 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
    { 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
    { 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
    { 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

static uint32_t rotr32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static uint32_t load32_le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* RFC 7693 §3.1, rotations (16, 12, 8, 7) for BLAKE2s. */
#define G(a, b, c, d, x, y)                                                   \
    do {                                                                      \
        v[a] = v[a] + v[b] + (x);                                             \
        v[d] = rotr32(v[d] ^ v[a], 16);                                       \
        v[c] = v[c] + v[d];                                                   \
        v[b] = rotr32(v[b] ^ v[c], 12);                                       \
        v[a] = v[a] + v[b] + (y);                                             \
        v[d] = rotr32(v[d] ^ v[a], 8);                                        \
        v[c] = v[c] + v[d];                                                   \
        v[b] = rotr32(v[b] ^ v[c], 7);                                        \
    } while (0)

/* RFC 7693 §3.2: compression function F. */
static void compress(vc_blake2s *s, const uint8_t block[64], int last)
{
    uint32_t v[16], m[16];
    for (int i = 0; i < 16; i++)
        m[i] = load32_le(block + 4 * i);
    for (int i = 0; i < 8; i++) {
        v[i] = s->h[i];
        v[i + 8] = blake2s_iv[i];
    }
    v[12] ^= s->t[0];
    v[13] ^= s->t[1];
    if (last)
        v[14] = ~v[14];
    for (int r = 0; r < 10; r++) {
        const uint8_t *z = sigma[r];
        G(0, 4, 8, 12, m[z[0]], m[z[1]]);
        G(1, 5, 9, 13, m[z[2]], m[z[3]]);
        G(2, 6, 10, 14, m[z[4]], m[z[5]]);
        G(3, 7, 11, 15, m[z[6]], m[z[7]]);
        G(0, 5, 10, 15, m[z[8]], m[z[9]]);
        G(1, 6, 11, 12, m[z[10]], m[z[11]]);
        G(2, 7, 8, 13, m[z[12]], m[z[13]]);
        G(3, 4, 9, 14, m[z[14]], m[z[15]]);
    }
    for (int i = 0; i < 8; i++)
        s->h[i] ^= v[i] ^ v[i + 8];
    /* Message and state words may derive from keys (HMAC pads, HKDF
     * chaining keys): wiped like blake2b.c's. */
    explicit_bzero(v, sizeof v);
    explicit_bzero(m, sizeof m);
}

static void add_counter(vc_blake2s *s, uint32_t n)
{
    s->t[0] += n;
    if (s->t[0] < n)
        s->t[1]++;
}

void vc_blake2s_init(vc_blake2s *s)
{
    memset(s, 0, sizeof *s);
    memcpy(s->h, blake2s_iv, sizeof s->h);
    /* Parameter block: digest length 32, key length 0, fanout 1, depth 1. */
    s->h[0] ^= 0x01010000u ^ 32u;
}

void vc_blake2s_update(vc_blake2s *s, const void *data, size_t len)
{
    const uint8_t *in = data;
    while (len > 0) {
        /* Keep the last block buffered: it must be compressed with the
         * final flag, and we cannot know yet whether more input follows. */
        if (s->buflen == 64) {
            add_counter(s, 64);
            compress(s, s->buf, 0);
            s->buflen = 0;
        }
        size_t take = 64 - s->buflen;
        if (take > len)
            take = len;
        memcpy(s->buf + s->buflen, in, take);
        s->buflen += take;
        in += take;
        len -= take;
    }
}

void vc_blake2s_final(vc_blake2s *s, uint8_t out[32])
{
    add_counter(s, (uint32_t)s->buflen);
    memset(s->buf + s->buflen, 0, 64 - s->buflen);
    compress(s, s->buf, 1);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)s->h[i];
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 3] = (uint8_t)(s->h[i] >> 24);
    }
}
