/* libFuzzer target on the tcp frame reader (plugins/tcp/tcp_frame.c) and
 * the connection preamble check (plugins/tcp/tcp_preamble.c).
 *
 * Input: byte 0 picks max_frame (64 .. 64+255*16), byte 1 seeds the chunk
 * sizes and the reader's first buffer size (8 .. 71 bytes instead of
 * TCP_READER_BASE, so that small inputs make it grow), the rest is the
 * stream, which starts with the peer's preamble as on a connection.  The
 * stream is fed to the reader in chunks; the preamble check must agree
 * with a reference (mismatch of the magic: VEIL_EFORMAT as soon as a
 * differing byte is held; another version: VEIL_EVERSION), and every
 * frame it hands out and the error it stops with must match
 * a straightforward reference parse of the whole stream at once, and each
 * body goes through the message decoder (which must not crash).  The
 * buffer must follow the bytes received: never more than its first size
 * or twice the most bytes it ever held (a header alone allocates nothing),
 * and freeing it between frames (as the budget does) loses nothing.
 *
 * Second, the same bytes cut into payloads go through the frame writer
 * (a small ring, drained by uneven amounts so frames wrap) onto a "wire";
 * reading the wire back must give every payload in order. */
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

/* The reference preamble check of the whole stream: 8 (matched), 0
 * (incomplete), or the error. */
static int ref_preamble(const uint8_t *s, size_t n)
{
    static const uint8_t magic[6] = {0x89, 'V', 'E', 'I', 'L', '\n'};
    if (memcmp(s, magic, n < 6 ? n : 6) != 0)
        return VEIL_EFORMAT;
    if (n < TCP_PREAMBLE_LEN)
        return 0;
    if (((unsigned)s[6] << 8 | s[7]) != TCP_WIRE_VERSION)
        return VEIL_EVERSION;
    return TCP_PREAMBLE_LEN;
}

static uint8_t wire[1u << 16];

static void roundtrip(const uint8_t *s, size_t n, unsigned seed)
{
    veil_route on, ret;
    if (veil_route_parse(&on, "echoer") < 0 || veil_route_parse(&ret, "1#[::1]:4000 => app") < 0)
        abort();
    tcp_frame_writer w;
    tcp_frame_writer_init(&w, 600);
    size_t wlen = 0, pos = 0, npay = 0;
    size_t starts[512], lens[512];
    while (pos < n && npay < 512) {
        seed = seed * 1103515245u + 12345u;
        size_t plen = (seed >> 16) % 300;
        if (plen > n - pos)
            plen = n - pos;
        int rc = tcp_frame_write(&w, 1024, &on, &ret, s + pos, plen);
        if (rc == VEIL_EAGAIN || tcp_frame_writer_queued(&w) > 0) {
            /* drain an uneven amount to the wire (frames wrap in the ring) */
            struct iovec iov[2];
            int k = tcp_frame_writer_iov(&w, iov);
            size_t take = tcp_frame_writer_queued(&w);
            if (rc != VEIL_EAGAIN)
                take = take / 2 + 1 > take ? take : take / 2 + 1;
            size_t got = 0;
            for (int i = 0; i < k && got < take; i++) {
                size_t m = iov[i].iov_len < take - got ? iov[i].iov_len : take - got;
                if (wlen + m > sizeof wire)
                    abort();
                memcpy(wire + wlen, iov[i].iov_base, m);
                wlen += m;
                got += m;
            }
            tcp_frame_writer_consume(&w, got);
        }
        if (rc == VEIL_EAGAIN)
            continue; /* retry the same payload with room made */
        if (rc < 0)
            abort();
        starts[npay] = pos;
        lens[npay++] = plen;
        pos += plen;
    }
    struct iovec iov[2];
    int k = tcp_frame_writer_iov(&w, iov);
    for (int i = 0; i < k; i++) {
        memcpy(wire + wlen, iov[i].iov_base, iov[i].iov_len);
        wlen += iov[i].iov_len;
    }
    tcp_frame_writer_free(&w);
    tcp_frame_reader r;
    tcp_frame_reader_init(&r, 1024);
    r.base = 16;
    size_t fed = 0, seen = 0;
    while (fed < wlen) {
        uint8_t *dst;
        size_t room;
        if (tcp_frame_reader_space(&r, &dst, &room) < 0)
            abort();
        size_t m = room < wlen - fed ? room : wlen - fed;
        memcpy(dst, wire + fed, m);
        tcp_frame_reader_commit(&r, m);
        fed += m;
        const uint8_t *body, *payload;
        size_t len, plen;
        veil_route o2, r2;
        int rc;
        while ((rc = tcp_frame_next(&r, &body, &len)) == 1) {
            if (seen >= npay ||
                veil_codec_decode(body, len, 0, &o2, &r2, &payload, &plen) < 0 ||
                plen != lens[seen] || (plen > 0 && memcmp(payload, s + starts[seen], plen) != 0) ||
                !veil_route_equal(&o2, &on) || !veil_route_equal(&r2, &ret))
                abort();
            seen++;
        }
        if (rc < 0)
            abort();
    }
    if (seen != npay || tcp_frame_reader_partial(&r) != 0)
        abort();
    tcp_frame_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max_frame = 64 + (size_t)data[0] * 16;
    unsigned seed = data[1];
    const uint8_t *s = data + 2;
    size_t n = size - 2;
    int pre = ref_preamble(s, n);
    size_t skip = pre > 0 ? TCP_PREAMBLE_LEN : 0;
    memset(&expect, 0, sizeof expect);
    if (pre > 0)
        reference(s + skip, n - skip, max_frame, &expect);
    else
        expect.err = pre;
    bool pre_ok = false;

    tcp_frame_reader r;
    tcp_frame_reader_init(&r, max_frame);
    r.base = 8 + seed % 64;
    size_t fed = 0, got = 0, peak = 0;
    int err = 0;
    while (fed < n && err == 0 && got < 4096) {
        uint8_t *dst;
        size_t room;
        seed = seed * 1103515245u + 12345u;
        if ((seed & 0x800000u) && tcp_frame_reader_partial(&r) == 0) {
            tcp_frame_reader_release(&r);
            if (r.cap != 0 || r.buf != NULL)
                abort();
        }
        if (tcp_frame_reader_space(&r, &dst, &room) < 0 || room == 0)
            abort();
        if (r.cap > r.base && r.cap > 2 * peak)
            abort(); /* grew ahead of the bytes received */
        size_t chunk = 1 + (seed >> 16) % 97;
        if (chunk > room)
            chunk = room;
        if (chunk > n - fed)
            chunk = n - fed;
        memcpy(dst, s + fed, chunk);
        tcp_frame_reader_commit(&r, chunk);
        fed += chunk;
        if (tcp_frame_reader_partial(&r) > peak)
            peak = tcp_frame_reader_partial(&r);
        const uint8_t *body;
        size_t len;
        int rc = 1;
        if (!pre_ok && (rc = tcp_preamble_check(&r)) <= 0) {
            err = rc;
            continue;
        }
        pre_ok = true;
        while ((rc = tcp_frame_next(&r, &body, &len)) == 1) {
            if (got >= expect.n || len != expect.len[got] ||
                memcmp(body, s + skip + expect.start[got], len) != 0)
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
        tcp_frame_reader_partial(&r) != n - (expect.n ? skip + expect.start[expect.n - 1] +
                                             expect.len[expect.n - 1] : skip))
        abort();
    tcp_frame_reader_free(&r);
    roundtrip(s, n, seed);
    return 0;
}
