/* libFuzzer target on the tcp frame reader (plugins/tcp/tcp_frame.c).
 *
 * Input: byte 0 picks max_frame (64 .. 64+255*16), byte 1 seeds the chunk
 * sizes, the rest is the stream.  The stream is fed to the reader in
 * chunks; every frame it hands out and the error it stops with must match
 * a straightforward reference parse of the whole stream at once, and each
 * body goes through the message decoder (which must not crash). */
#include "tcp.h"

#include <veil/codec.h>
#include <veil/error.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct ref {
    size_t start[4096];   /* body offsets in the stream */
    size_t len[4096];
    size_t n;
    int err;              /* 0, VEIL_ELIMIT, VEIL_EFORMAT */
} ref;

static void reference(const uint8_t *s, size_t n, size_t max_frame, ref *r)
{
    size_t pos = 0;
    r->n = 0;
    r->err = 0;
    while (n - pos >= 4 && r->n < 4096) {
        uint32_t len = (uint32_t)s[pos] << 24 | (uint32_t)s[pos + 1] << 16 |
                       (uint32_t)s[pos + 2] << 8 | s[pos + 3];
        if (len == 0) {
            r->err = VEIL_EFORMAT;
            return;
        }
        if (len > max_frame) {
            r->err = VEIL_ELIMIT;
            return;
        }
        if (n - pos - 4 < len)
            return;
        r->start[r->n] = pos + 4;
        r->len[r->n++] = len;
        pos += 4 + len;
    }
}

static ref expect;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max_frame = 64 + (size_t)data[0] * 16;
    unsigned seed = data[1];
    const uint8_t *s = data + 2;
    size_t n = size - 2;
    reference(s, n, max_frame, &expect);

    tcp_frame_reader r;
    tcp_frame_reader_init(&r, max_frame);
    size_t fed = 0, got = 0;
    int err = 0;
    while (fed < n && err == 0 && got < 4096) {
        uint8_t *dst;
        size_t room;
        if (tcp_frame_reader_space(&r, &dst, &room) < 0 || room == 0)
            abort();
        seed = seed * 1103515245u + 12345u;
        size_t chunk = 1 + (seed >> 16) % 97;
        if (chunk > room)
            chunk = room;
        if (chunk > n - fed)
            chunk = n - fed;
        memcpy(dst, s + fed, chunk);
        tcp_frame_reader_commit(&r, chunk);
        fed += chunk;
        const uint8_t *body;
        size_t len;
        int rc;
        while ((rc = tcp_frame_next(&r, &body, &len)) == 1) {
            if (got >= expect.n || len != expect.len[got] ||
                memcmp(body, s + expect.start[got], len) != 0)
                abort(); /* a frame the reference does not have */
            veil_route on, ret;
            const uint8_t *payload;
            size_t plen;
            if (veil_codec_decode(body, len, max_frame, &on, &ret, &payload, &plen) == 0 &&
                (payload < body || payload + plen > body + len))
                abort();
            got++;
            if (got >= 4096)
                break;
        }
        if (rc < 0)
            err = rc;
    }
    if (got < 4096 && (got != expect.n || err != expect.err))
        abort();
    if (err == 0 && got < 4096 &&
        tcp_frame_reader_partial(&r) != n - (expect.n ? expect.start[expect.n - 1] +
                                             expect.len[expect.n - 1] : 0))
        abort();
    tcp_frame_reader_free(&r);
    return 0;
}
