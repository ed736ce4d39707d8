/* SHA-256 (FIPS 180-4) on the x86 SHA extensions, for the libsodium
 * backend.  libsodium's SHA-256 is portable C (~450 ns per 64-byte block
 * here, 5-8x slower than the SHA-NI path OpenSSL takes); a Noise
 * XX_25519_AESGCM_SHA256 exchange runs ~110 compressions (MixHash, HMAC
 * inside HKDF), which was ~8 % of the exchange and most of its distance
 * to the X25519 bound.  Used only when CPUID reports SHA, SSSE3 and
 * SSE4.1; otherwise (and on other architectures) the backend keeps
 * libsodium's.  Checked by the conformance suite (FIPS/RFC known answers,
 * RFC 4231 HMAC, RFC 5869 HKDF, the Noise vectors) and against OpenSSL in
 * test_vault_crossbackend.  No secret-dependent branch or index: the
 * instructions are constant time and the buffering depends on lengths
 * only. */
#include "config.h"

#include <string.h>

#include "backend.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>

#define NI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

bool vc_sha256_ni_available(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return false;
    bool ssse3 = (c >> 9) & 1u, sse41 = (c >> 19) & 1u;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    return ssse3 && sse41 && ((b >> 29) & 1u);
}

/* Compress n 64-byte blocks into h.  The SHA-NI round instruction keeps
 * the state as (A,B,E,F) and (C,D,G,H); each step does four rounds with
 * four message words, the schedule computed four words at a time:
 * W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]. */
NI_TARGET static void compress(uint32_t h[8], const uint8_t *p, size_t n)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&h[0]), 0xB1);
    __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&h[4]), 0x1B);
    __m128i s0 = _mm_alignr_epi8(t, s1, 8);   /* A B E F */
    s1 = _mm_blend_epi16(s1, t, 0xF0);        /* C D G H */
    for (; n > 0; n--, p += 64) {
        __m128i save0 = s0, save1 = s1, w[4];
        for (int i = 0; i < 16; i++) {
            __m128i m;
            if (i < 4) {
                m = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i)),
                                     bswap);
            } else {
                m = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
                m = _mm_add_epi32(m, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
                m = _mm_sha256msg2_epu32(m, w[(i + 3) & 3]);
            }
            w[i & 3] = m;
            __m128i wk = _mm_add_epi32(m, _mm_loadu_si128((const __m128i *)(const void *)&K[4 * i]));
            s1 = _mm_sha256rnds2_epu32(s1, s0, wk);
            s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(wk, 0x0E));
        }
        s0 = _mm_add_epi32(s0, save0);
        s1 = _mm_add_epi32(s1, save1);
    }
    t = _mm_shuffle_epi32(s0, 0x1B);          /* F E B A */
    s1 = _mm_shuffle_epi32(s1, 0xB1);         /* D C H G */
    _mm_storeu_si128((__m128i *)(void *)&h[0], _mm_blend_epi16(t, s1, 0xF0)); /* D C B A */
    _mm_storeu_si128((__m128i *)(void *)&h[4], _mm_alignr_epi8(s1, t, 8));    /* H G F E */
}

void vc_sha256_init(vc_sha256 *s)
{
    static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(s->h, iv, sizeof iv);
    s->len = 0;
    s->buflen = 0;
}

void vc_sha256_update(vc_sha256 *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->len += len;
    if (s->buflen > 0) {
        size_t take = 64 - s->buflen < len ? 64 - s->buflen : len;
        memcpy(s->buf + s->buflen, p, take);
        s->buflen += take;
        p += take;
        len -= take;
        if (s->buflen < 64)
            return;
        compress(s->h, s->buf, 1);
        s->buflen = 0;
    }
    if (len >= 64) {
        compress(s->h, p, len / 64);
        p += len - len % 64;
        len %= 64;
    }
    memcpy(s->buf, p, len);
    s->buflen = len;
}

void vc_sha256_final(vc_sha256 *s, uint8_t out[32])
{
    uint64_t bits = s->len * 8u;
    size_t n = s->buflen;
    s->buf[n++] = 0x80;
    if (n > 56) {
        memset(s->buf + n, 0, 64 - n);
        compress(s->h, s->buf, 1);
        n = 0;
    }
    memset(s->buf + n, 0, 56 - n);
    for (int i = 0; i < 8; i++)
        s->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    compress(s->h, s->buf, 1);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
}

#else

bool vc_sha256_ni_available(void)
{
    return false;
}

/* Never called: the backend checks vc_sha256_ni_available() first. */
void vc_sha256_init(vc_sha256 *s)
{
    memset(s, 0, sizeof *s);
}

void vc_sha256_update(vc_sha256 *s, const void *data, size_t len)
{
    (void)s, (void)data, (void)len;
}

void vc_sha256_final(vc_sha256 *s, uint8_t out[32])
{
    (void)s;
    memset(out, 0, 32);
}

#endif
