/* TCP framing (docs/PROTOCOL.md, "TCP framing"):
 *
 *   frame = length:u32 big-endian, 1..max_frame   body:length bytes
 *   body  = one message in the wire codec (veil/codec.h)
 *
 * The reader parses frames in place in one per-connection buffer; a frame
 * announcing more than max_frame bytes (or zero) breaks the stream and the
 * caller closes the connection: nothing is truncated or skipped, because
 * after a bad length no later byte can be trusted to start a frame.  The
 * buffer starts at TCP_READER_BASE and doubles only when the bytes already
 * received fill it (up to the announced frame plus TCP_READER_BASE), so a
 * peer that announces a large frame and sends little holds little: memory
 * follows the bytes received, never the length a header claims.
 *
 * The writer encodes frames back to back into one per-connection ring
 * bounded by send_queue_max, so a flush sends many frames with one call
 * (sendmsg over the ring's two segments).
 * Both buffers grow geometrically to what the connection needs and then
 * stay: steady state costs no malloc.  (What the grown receive buffers of
 * all connections may hold together is the instance's partial_frame_budget,
 * tcp_budget.c.) */
#include "tcp.h"

#include <veil/codec.h>
#include <veil/error.h>

#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define WRITER_INITIAL (16u << 10)

/* ---- reader --------------------------------------------------------------- */

void tcp_frame_reader_init(tcp_frame_reader *r, size_t max_frame)
{
    memset(r, 0, sizeof *r);
    r->max_frame = max_frame;
    r->base = TCP_READER_BASE;
}

void tcp_frame_reader_free(tcp_frame_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->cap = r->len = r->off = 0;
}

size_t tcp_frame_reader_partial(const tcp_frame_reader *r)
{
    return r->len - r->off;
}

size_t tcp_frame_reader_expected(const tcp_frame_reader *r)
{
    if (r->len - r->off < TCP_FRAME_HEADER)
        return 0;
    return veil__load_be32(r->buf + r->off);
}

size_t tcp_frame_reader_need(const tcp_frame_reader *r)
{
    if (r->cap == 0)
        return r->base;
    if (r->len - r->off < r->cap)
        return r->cap; /* a byte still fits (at the front, once compacted) */
    /* Full: double, but never past the incomplete frame at the front
     * (its header, checked against max_frame by tcp_frame_next, says how
     * long it is) plus a base buffer for the first bytes of the frames
     * after it, so one recv() still takes several medium frames.  Either
     * way the buffer stays within twice the bytes held. */
    size_t frame = TCP_FRAME_HEADER + tcp_frame_reader_expected(r);
    size_t limit = TCP_FRAME_HEADER + r->max_frame;
    if (frame > limit)
        frame = limit;
    if (frame <= r->cap)
        return 2 * r->cap; /* a whole frame the caller has not taken yet */
    return 2 * r->cap < frame + r->base ? 2 * r->cap : frame + r->base;
}

int tcp_frame_reader_space(tcp_frame_reader *r, uint8_t **p, size_t *n)
{
    size_t held = r->len - r->off;
    /* Move the partial frame to the front when nothing fits after it, or
     * when the consumed part is most of the buffer. */
    if (r->off > 0 && (r->len == r->cap || r->off >= r->cap / 2)) {
        memmove(r->buf, r->buf + r->off, held);
        r->len = held;
        r->off = 0;
    }
    size_t ncap = tcp_frame_reader_need(r);
    if (ncap > r->cap) {
        uint8_t *nb = realloc(r->buf, ncap);
        if (nb == NULL)
            return veil_error_set(VEIL_ENOMEM, "tcp: out of memory for a %zu-byte receive "
                                  "buffer", ncap);
        r->buf = nb;
        r->cap = ncap;
        r->grows++;
    }
    *p = r->buf + r->len;
    *n = r->cap - r->len;
    return 0;
}

void tcp_frame_reader_release(tcp_frame_reader *r)
{
    if (r->len != r->off)
        return; /* holds part of a frame: never dropped here */
    tcp_frame_reader_free(r);
}

void tcp_frame_reader_commit(tcp_frame_reader *r, size_t n)
{
    r->len += n;
}

/* A length over max_frame whose four bytes are printable text is almost
 * surely another protocol (an HTTP server's "HTTP", a client's "GET "):
 * say so, quoting the text up to its first control character, with the
 * bytes in hex (docs/PROTOCOL.md, "TCP framing").  Nothing read is
 * trusted: only held bytes are shown, at most 24. */
static int oversize(const tcp_frame_reader *r, uint32_t flen)
{
    const uint8_t *p = r->buf + r->off;
    size_t held = r->len - r->off, text = 0;
    while (text < held && text < 24 && p[text] >= 0x20 && p[text] < 0x7f)
        text++;
    if (text < TCP_FRAME_HEADER)
        return veil_error_set(VEIL_ELIMIT, "tcp: frame of %u bytes exceeds max_frame (%zu bytes)",
                              flen, r->max_frame);
    return veil_error_set(VEIL_ELIMIT, "tcp: the peer is not a veil node (it sent '%.*s%s' / "
                          "bytes %02x %02x %02x %02x): frame of %u bytes exceeds max_frame "
                          "(%zu bytes)", (int)text, (const char *)p, text < held ? "..." : "",
                          p[0], p[1], p[2], p[3], flen, r->max_frame);
}

int tcp_frame_peek(const tcp_frame_reader *r, const uint8_t **body, size_t *len)
{
    size_t held = r->len - r->off;
    if (held < TCP_FRAME_HEADER)
        return 0;
    uint32_t flen = veil__load_be32(r->buf + r->off);
    if (flen == 0)
        return veil_error_set(VEIL_EFORMAT, "tcp: zero-length frame (a frame holds one message)");
    if (flen > r->max_frame)
        return oversize(r, flen);
    if (held - TCP_FRAME_HEADER < flen)
        return 0;
    *body = r->buf + r->off + TCP_FRAME_HEADER;
    *len = flen;
    return 1;
}

void tcp_frame_consume(tcp_frame_reader *r, size_t len)
{
    r->off += TCP_FRAME_HEADER + len;
    if (r->off == r->len)
        r->off = r->len = 0; /* buffer empty: next read starts at the front */
}

int tcp_frame_next(tcp_frame_reader *r, const uint8_t **body, size_t *len)
{
    int rc = tcp_frame_peek(r, body, len);
    if (rc == 1)
        tcp_frame_consume(r, *len);
    return rc;
}

/* ---- writer --------------------------------------------------------------- */

void tcp_frame_writer_init(tcp_frame_writer *w, size_t max)
{
    memset(w, 0, sizeof *w);
    w->max = max;
}

void tcp_frame_writer_free(tcp_frame_writer *w)
{
    free(w->buf);
    w->buf = NULL;
    w->cap = w->head = w->len = 0;
}

void tcp_frame_writer_consume(tcp_frame_writer *w, size_t n)
{
    if (n == 0)
        return;
    w->head = (w->head + n) % w->cap;
    w->len -= n;
    if (w->len == 0)
        w->head = 0;
}

int tcp_frame_writer_iov(const tcp_frame_writer *w, struct iovec iov[2])
{
    if (w->len == 0)
        return 0;
    size_t first = w->cap - w->head < w->len ? w->cap - w->head : w->len;
    iov[0].iov_base = w->buf + w->head;
    iov[0].iov_len = first;
    if (first == w->len)
        return 1;
    iov[1].iov_base = w->buf;
    iov[1].iov_len = w->len - first;
    return 2;
}

/* Room for need more bytes: grow geometrically (never past what max
 * requires), laying the queued bytes out from the start of the new ring. */
static int writer_room(tcp_frame_writer *w, size_t need)
{
    if (w->cap - w->len >= need)
        return 0;
    size_t ncap = w->cap ? w->cap : WRITER_INITIAL;
    while (ncap < w->len + need)
        ncap *= 2;
    if (ncap > w->max && w->max >= w->len + need)
        ncap = w->max;
    uint8_t *nb = malloc(ncap);
    if (nb == NULL)
        return veil_error_set(VEIL_ENOMEM, "tcp: out of memory for a %zu-byte send queue", ncap);
    struct iovec iov[2];
    size_t at = 0;
    int n = tcp_frame_writer_iov(w, iov);
    for (int i = 0; i < n; i++) {
        memcpy(nb + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    free(w->buf);
    w->buf = nb;
    w->cap = ncap;
    w->head = 0;
    w->grows++;
    return 0;
}

static void ring_put(tcp_frame_writer *w, const uint8_t *p, size_t n)
{
    size_t pos = (w->head + w->len) % w->cap;
    size_t first = w->cap - pos < n ? w->cap - pos : n;
    memcpy(w->buf + pos, p, first);
    memcpy(w->buf, p + first, n - first);
    w->len += n;
}

int tcp_frame_prefix(const tcp_frame_writer *w, size_t max_frame, const veil_route *onward,
                     const veil_route *ret, size_t payload_len,
                     uint8_t prefix[TCP_FRAME_PREFIX_MAX], size_t *prefix_len)
{
    /* The frame's length and the codec's header (docs/PROTOCOL.md). */
    size_t hlen;
    int rc = veil_codec_encode_header(onward, ret, payload_len, prefix + TCP_FRAME_HEADER,
                                      TCP_FRAME_PREFIX_MAX - TCP_FRAME_HEADER, &hlen);
    if (rc < 0)
        return rc;
    size_t body = hlen + payload_len;
    if (body > max_frame)
        return veil_error_set(VEIL_ELIMIT, "tcp: message of %zu bytes (encoded) exceeds "
                              "max_frame (%zu bytes)", body, max_frame);
    size_t need = TCP_FRAME_HEADER + body;
    if (w->len + need > w->max)
        return veil_error_set(VEIL_EAGAIN, "tcp: send queue full (%zu bytes queued + %zu > "
                              "send_queue_max %zu): the peer is not reading fast enough",
                              w->len, need, w->max);
    veil__store_be32(prefix, (uint32_t)body);
    *prefix_len = TCP_FRAME_HEADER + hlen;
    return 0;
}

int tcp_frame_write_rest(tcp_frame_writer *w, const uint8_t *prefix, size_t prefix_len,
                         const uint8_t *payload, size_t payload_len, size_t skip)
{
    if (skip >= prefix_len + payload_len)
        return 0;
    int rc = writer_room(w, prefix_len + payload_len - skip);
    if (rc < 0)
        return rc;
    if (skip < prefix_len)
        ring_put(w, prefix + skip, prefix_len - skip);
    size_t from = skip > prefix_len ? skip - prefix_len : 0;
    if (payload_len > from)
        ring_put(w, payload + from, payload_len - from);
    return 0;
}

int tcp_frame_write(tcp_frame_writer *w, size_t max_frame, const veil_route *onward,
                    const veil_route *ret, const uint8_t *payload, size_t payload_len)
{
    /* Copied once, straight into the ring, wrapping as needed. */
    uint8_t prefix[TCP_FRAME_PREFIX_MAX];
    size_t plen;
    int rc = tcp_frame_prefix(w, max_frame, onward, ret, payload_len, prefix, &plen);
    if (rc == 0)
        rc = tcp_frame_write_rest(w, prefix, plen, payload, payload_len, 0);
    return rc;
}
