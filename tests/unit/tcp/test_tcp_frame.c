/* tcp framing, in process: the frame writer against a frame worked out by
 * hand from docs/PROTOCOL.md ("Message codec", "TCP framing"), the reader
 * fed byte by byte and in bulk, limits (max_frame, zero length, send queue
 * cap) with exact errors, and buffer reuse (no growth in steady state). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include "tcp.h"

#include <veil/codec.h>
#include <veil/error.h>

#include <string.h>

/* onward [echoer], return [app], payload "hi" (PROTOCOL.md, TCP framing) */
static const uint8_t known[] = {
    0x00, 0x00, 0x00, 0x13,                               /* length 19 */
    0x01,                                                 /* version */
    0x01, 0x00, 0x06, 'e', 'c', 'h', 'o', 'e', 'r',       /* onward */
    0x01, 0x00, 0x03, 'a', 'p', 'p',                      /* return */
    0x02, 'h', 'i',                                       /* payload */
};

static void routes(veil_route *on, veil_route *ret)
{
    assert_int_equal(veil_route_parse(on, "echoer"), 0);
    assert_int_equal(veil_route_parse(ret, "app"), 0);
}

/* The queued bytes, gathered from the ring's segments. */
static size_t gather(const tcp_frame_writer *w, uint8_t *out, size_t cap)
{
    struct iovec iov[2];
    int n = tcp_frame_writer_iov(w, iov);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        assert_true(at + iov[i].iov_len <= cap);
        memcpy(out + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    assert_int_equal(at, tcp_frame_writer_queued(w));
    return at;
}

static void test_writer_known_answer(void **state)
{
    (void)state;
    veil_route on, ret;
    tcp_frame_writer w;
    routes(&on, &ret);
    tcp_frame_writer_init(&w, 1024);
    assert_int_equal(tcp_frame_write(&w, 1024, &on, &ret, (const uint8_t *)"hi", 2), 0);
    uint8_t out[2 * sizeof known];
    assert_int_equal(gather(&w, out, sizeof out), sizeof known);
    assert_memory_equal(out, known, sizeof known);
    /* a second frame goes right behind the first */
    assert_int_equal(tcp_frame_write(&w, 1024, &on, &ret, (const uint8_t *)"hi", 2), 0);
    assert_int_equal(gather(&w, out, sizeof out), 2 * sizeof known);
    assert_memory_equal(out + sizeof known, known, sizeof known);
    tcp_frame_writer_consume(&w, sizeof known);
    assert_int_equal(tcp_frame_writer_queued(&w), sizeof known);
    tcp_frame_writer_consume(&w, sizeof known);
    assert_int_equal(tcp_frame_writer_queued(&w), 0);
    tcp_frame_writer_free(&w);
}

static void test_writer_limits(void **state)
{
    (void)state;
    veil_route on, ret;
    tcp_frame_writer w;
    uint8_t big[200];
    memset(big, 1, sizeof big);
    routes(&on, &ret);
    /* body over max_frame: refused, nothing queued */
    tcp_frame_writer_init(&w, 1000);
    assert_error(tcp_frame_write(&w, 100, &on, &ret, big, sizeof big), VEIL_ELIMIT,
                 "tcp: message of 218 bytes (encoded) exceeds max_frame (100 bytes)");
    assert_int_equal(tcp_frame_writer_queued(&w), 0);
    /* queue cap: 4 frames of 222 bytes (1+9+6 + 2-byte length + 200, + 4) fit in 1000, the 5th does not */
    for (int i = 0; i < 4; i++)
        assert_int_equal(tcp_frame_write(&w, 4096, &on, &ret, big, sizeof big), 0);
    assert_int_equal(tcp_frame_writer_queued(&w), 4 * 222);
    assert_error(tcp_frame_write(&w, 4096, &on, &ret, big, sizeof big), VEIL_EAGAIN,
                 "tcp: send queue full (888 bytes queued + 222 > send_queue_max 1000): the peer "
                 "is not reading fast enough");
    assert_int_equal(tcp_frame_writer_queued(&w), 4 * 222);
    /* once the socket took some, there is room again: the new frame wraps
     * around the ring's end, nothing moves, nothing grows */
    size_t grows = w.grows;
    assert_int_equal(w.cap, 1000);
    tcp_frame_writer_consume(&w, 300);
    assert_int_equal(tcp_frame_write(&w, 4096, &on, &ret, big, sizeof big), 0);
    assert_int_equal(w.grows, grows);
    assert_int_equal(w.cap, 1000);
    struct iovec iov[2];
    assert_int_equal(tcp_frame_writer_iov(&w, iov), 2);
    assert_int_equal(iov[0].iov_len, 700);
    assert_int_equal(iov[1].iov_len, 4 * 222 - 300 + 222 - 700);
    /* the stream is the same bytes as five frames written linearly */
    static uint8_t all[5 * 222], got[5 * 222];
    tcp_frame_writer lin;
    tcp_frame_writer_init(&lin, 5 * 222);
    for (int i = 0; i < 5; i++)
        assert_int_equal(tcp_frame_write(&lin, 4096, &on, &ret, big, sizeof big), 0);
    assert_int_equal(gather(&lin, all, sizeof all), 5 * 222);
    assert_int_equal(gather(&w, got, sizeof got), 5 * 222 - 300);
    assert_memory_equal(got, all + 300, 5 * 222 - 300);
    /* growing lays a wrapped ring out flat, bytes unchanged */
    w.max = 4000;
    assert_int_equal(tcp_frame_write(&w, 4096, &on, &ret, big, sizeof big), 0);
    assert_int_equal(w.grows, grows + 1);
    assert_int_equal(tcp_frame_writer_iov(&w, iov), 1);
    assert_memory_equal(iov[0].iov_base, all + 300, 5 * 222 - 300);
    tcp_frame_writer_free(&lin);
    tcp_frame_writer_free(&w);
}

/* The direct path's halves (tcp_conn_queue): after the socket took skip
 * bytes of a frame, the queue holds exactly the frame's remaining bytes,
 * for every skip (inside the prefix, at its end, inside the payload, all);
 * the prefix checks the same limits as tcp_frame_write, queueing nothing. */
static void test_writer_rest_after_partial_send(void **state)
{
    (void)state;
    veil_route on, ret;
    routes(&on, &ret);
    static uint8_t payload[300], whole[400], got[400];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7 + 1);
    tcp_frame_writer w;
    tcp_frame_writer_init(&w, 4096);
    assert_int_equal(tcp_frame_write(&w, 4096, &on, &ret, payload, sizeof payload), 0);
    size_t total = gather(&w, whole, sizeof whole);
    tcp_frame_writer_free(&w);
    uint8_t prefix[TCP_FRAME_PREFIX_MAX];
    size_t plen;
    for (size_t skip = 0; skip <= total; skip++) {
        tcp_frame_writer_init(&w, 4096);
        assert_int_equal(tcp_frame_prefix(&w, 4096, &on, &ret, sizeof payload, prefix, &plen), 0);
        assert_int_equal(plen + sizeof payload, total);
        assert_memory_equal(prefix, whole, plen);
        assert_int_equal(tcp_frame_write_rest(&w, prefix, plen, payload, sizeof payload, skip),
                         0);
        assert_int_equal(gather(&w, got, sizeof got), total - skip);
        assert_memory_equal(got, whole + skip, total - skip);
        assert_int_equal(w.cap == 0, skip == total); /* all sent: no buffer at all */
        tcp_frame_writer_free(&w);
    }
    tcp_frame_writer_init(&w, total - 1);
    assert_error(tcp_frame_prefix(&w, 4096, &on, &ret, sizeof payload, prefix, &plen),
                 VEIL_EAGAIN, "tcp: send queue full (0 bytes queued + 322 > send_queue_max 321): "
                 "the peer is not reading fast enough");
    assert_error(tcp_frame_prefix(&w, 100, &on, &ret, sizeof payload, prefix, &plen), VEIL_ELIMIT,
                 "tcp: message of 318 bytes (encoded) exceeds max_frame (100 bytes)");
    assert_int_equal(tcp_frame_writer_queued(&w), 0);
    tcp_frame_writer_free(&w);
}

static void expect_known_frame(const uint8_t *body, size_t len)
{
    assert_int_equal(len, sizeof known - 4);
    assert_memory_equal(body, known + 4, len);
}

static void feed(tcp_frame_reader *r, const uint8_t *p, size_t n)
{
    while (n > 0) {
        uint8_t *dst;
        size_t room;
        assert_int_equal(tcp_frame_reader_space(r, &dst, &room), 0);
        assert_true(room > 0);
        size_t k = n < room ? n : room;
        memcpy(dst, p, k);
        tcp_frame_reader_commit(r, k);
        p += k;
        n -= k;
    }
}

static void test_reader_byte_by_byte(void **state)
{
    (void)state;
    tcp_frame_reader r;
    const uint8_t *body;
    size_t len;
    tcp_frame_reader_init(&r, 4096);
    for (size_t i = 0; i < sizeof known - 1; i++) {
        feed(&r, known + i, 1);
        assert_int_equal(tcp_frame_next(&r, &body, &len), 0);
        assert_int_equal(tcp_frame_reader_partial(&r), i + 1);
        assert_int_equal(tcp_frame_reader_expected(&r), i + 1 >= 4 ? 19 : 0);
    }
    feed(&r, known + sizeof known - 1, 1);
    assert_int_equal(tcp_frame_next(&r, &body, &len), 1);
    expect_known_frame(body, len);
    assert_int_equal(tcp_frame_next(&r, &body, &len), 0);
    assert_int_equal(tcp_frame_reader_partial(&r), 0);
    tcp_frame_reader_free(&r);
}

/* peek hands out the front frame without consuming it (a relay holding a
 * frame for a full next hop): again and again the same bytes, in place,
 * with the offsets untouched even when it is the last frame held; consume
 * takes exactly it, and the next frame follows. */
static void test_reader_peek_then_consume(void **state)
{
    (void)state;
    tcp_frame_reader r;
    const uint8_t *body, *again;
    size_t len, len2;
    uint8_t two[2 * sizeof known];
    memcpy(two, known, sizeof known);
    memcpy(two + sizeof known, known, sizeof known);
    tcp_frame_reader_init(&r, 4096);
    feed(&r, two, sizeof two);
    assert_int_equal(tcp_frame_peek(&r, &body, &len), 1);
    assert_int_equal(tcp_frame_peek(&r, &again, &len2), 1);
    assert_ptr_equal(again, body);
    assert_int_equal(len2, len);
    assert_int_equal(tcp_frame_reader_partial(&r), sizeof two);
    tcp_frame_consume(&r, len);
    assert_int_equal(tcp_frame_reader_partial(&r), sizeof known);
    assert_int_equal(tcp_frame_peek(&r, &body, &len), 1);
    expect_known_frame(body, len);
    size_t off = r.off, held = r.len;
    assert_int_equal(tcp_frame_peek(&r, &again, &len2), 1); /* the last one: nothing reset */
    assert_int_equal(r.off, off);
    assert_int_equal(r.len, held);
    assert_ptr_equal(again, body);
    tcp_frame_consume(&r, len);
    assert_int_equal(tcp_frame_reader_partial(&r), 0);
    assert_int_equal(r.off, 0); /* empty: the next read starts at the front */
    assert_int_equal(tcp_frame_peek(&r, &body, &len), 0);
    tcp_frame_reader_free(&r);
}

static void test_reader_bulk_and_partial(void **state)
{
    (void)state;
    tcp_frame_reader r;
    const uint8_t *body;
    size_t len;
    uint8_t three[3 * sizeof known];
    for (int i = 0; i < 3; i++)
        memcpy(three + i * sizeof known, known, sizeof known);
    tcp_frame_reader_init(&r, 4096);
    feed(&r, three, sizeof three - 5); /* two whole frames and most of a third */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(tcp_frame_next(&r, &body, &len), 1);
        expect_known_frame(body, len);
    }
    assert_int_equal(tcp_frame_next(&r, &body, &len), 0);
    assert_int_equal(tcp_frame_reader_partial(&r), sizeof known - 5);
    feed(&r, three + sizeof three - 5, 5);
    assert_int_equal(tcp_frame_next(&r, &body, &len), 1);
    expect_known_frame(body, len);
    /* and the body decodes to the message it was made from */
    veil_route on, ret;
    const uint8_t *payload;
    size_t plen;
    assert_int_equal(veil_codec_decode(body, len, 0, &on, &ret, &payload, &plen), 0);
    assert_int_equal(plen, 2);
    assert_memory_equal(payload, "hi", 2);
    tcp_frame_reader_free(&r);
}

static void test_reader_limits(void **state)
{
    (void)state;
    tcp_frame_reader r;
    const uint8_t *body;
    size_t len;
    uint8_t hdr[4] = {0x00, 0x00, 0x10, 0x01}; /* 4097 */
    tcp_frame_reader_init(&r, 4096);
    feed(&r, hdr, 4);
    assert_error(tcp_frame_next(&r, &body, &len), VEIL_ELIMIT,
                 "tcp: frame of 4097 bytes exceeds max_frame (4096 bytes)");
    tcp_frame_reader_free(&r);

    uint8_t zero[4] = {0, 0, 0, 0};
    tcp_frame_reader_init(&r, 4096);
    feed(&r, zero, 4);
    assert_error(tcp_frame_next(&r, &body, &len), VEIL_EFORMAT,
                 "tcp: zero-length frame (a frame holds one message)");
    tcp_frame_reader_free(&r);

    /* exactly max_frame is fine; the buffer grows to hold it */
    static uint8_t f[4 + 4096];
    memset(f, 0x77, sizeof f);
    f[0] = 0;
    f[1] = 0;
    f[2] = 0x10;
    f[3] = 0x00;
    tcp_frame_reader_init(&r, 4096);
    feed(&r, f, sizeof f);
    assert_int_equal(tcp_frame_next(&r, &body, &len), 1);
    assert_int_equal(len, 4096);
    tcp_frame_reader_free(&r);
}

/* Large frames: the buffer grows once to the frame size, then is reused. */
static void test_reader_reuses_buffer(void **state)
{
    (void)state;
    enum { BODY = 100000 };
    static uint8_t f[2 * (4 + BODY)];
    tcp_frame_reader r;
    const uint8_t *body;
    size_t len;
    for (int i = 0; i < 2; i++) {
        uint8_t *p = f + i * (4 + BODY);
        p[0] = 0;
        p[1] = (uint8_t)(BODY >> 16);
        p[2] = (uint8_t)(BODY >> 8);
        p[3] = (uint8_t)BODY;
        memset(p + 4, i + 1, BODY);
    }
    tcp_frame_reader_init(&r, 1 << 20);
    size_t grows_after_first = 0;
    for (int round = 0; round < 50; round++) {
        for (size_t off = 0; off < sizeof f; off += 7919) { /* odd chunks */
            size_t n = sizeof f - off < 7919 ? sizeof f - off : 7919;
            feed(&r, f + off, n);
            while (tcp_frame_next(&r, &body, &len) == 1) {
                assert_int_equal(len, BODY);
                assert_true(body[0] == 1 || body[0] == 2);
                assert_int_equal(body[BODY - 1], body[0]);
            }
        }
        if (round == 0)
            grows_after_first = r.grows;
    }
    assert_int_equal(r.grows, grows_after_first);
    assert_true(r.cap <= 2 * (4 + BODY) + 16384);
    tcp_frame_reader_free(&r);
}

/* Issue #10, item 8: a header announcing 1 MiB does not make a 1 MiB
 * buffer; the buffer doubles as the frame's bytes fill it, never past
 * twice the bytes held (or the 16 KiB base) nor past the frame plus the
 * base.
 * (Before, it went to the announced length at the first read after the
 * header.) */
static void test_reader_grows_with_bytes_received(void **state)
{
    (void)state;
    enum { BODY = 1 << 20 };
    static uint8_t chunk[1000];
    uint8_t hdr[12] = {0, 0x10, 0, 0};
    tcp_frame_reader r;
    const uint8_t *body;
    size_t len, room;
    uint8_t *p;
    tcp_frame_reader_init(&r, BODY);
    feed(&r, hdr, sizeof hdr);
    assert_int_equal(tcp_frame_next(&r, &body, &len), 0);
    assert_int_equal(tcp_frame_reader_space(&r, &p, &room), 0);
    assert_int_equal(r.cap, TCP_READER_BASE);
    assert_int_equal(tcp_frame_reader_need(&r), TCP_READER_BASE);
    size_t held = sizeof hdr;
    while (held < 4 + BODY) {
        size_t k = 4 + BODY - held < sizeof chunk ? 4 + BODY - held : sizeof chunk;
        feed(&r, chunk, k);
        held += k;
        assert_true(r.cap <= (2 * held > TCP_READER_BASE ? 2 * held : TCP_READER_BASE));
        assert_true(r.cap <= 4 + BODY + TCP_READER_BASE);
        if (held < 4 + BODY)
            assert_int_equal(tcp_frame_next(&r, &body, &len), 0);
    }
    /* 16 KiB doubled to 1 MiB, then the frame and room for the next's
     * first bytes */
    assert_int_equal(r.cap, 4 + BODY + TCP_READER_BASE);
    assert_int_equal(r.grows, 8);
    assert_int_equal(tcp_frame_next(&r, &body, &len), 1);
    assert_int_equal(len, BODY);
    /* A partial frame is never released; an empty buffer is. */
    feed(&r, hdr, 6);
    tcp_frame_reader_release(&r);
    assert_int_equal(r.cap, 4 + BODY + TCP_READER_BASE);
    assert_int_equal(tcp_frame_reader_partial(&r), 6);
    for (held = 6; held < 4 + BODY; held += len) {
        len = 4 + BODY - held < sizeof chunk ? 4 + BODY - held : sizeof chunk;
        feed(&r, chunk, len);
    }
    assert_int_equal(tcp_frame_next(&r, &body, &len), 1);
    tcp_frame_reader_release(&r);
    assert_int_equal(r.cap, 0);
    assert_null(r.buf);
    assert_int_equal(tcp_frame_reader_need(&r), TCP_READER_BASE);
    tcp_frame_reader_free(&r);
}

static void test_endpoint_parse(void **state)
{
    (void)state;
    tcp_endpoint ep;
    assert_int_equal(tcp_endpoint_parse("127.0.0.1:4000", 14, &ep), 0);
    assert_string_equal(ep.host, "127.0.0.1");
    assert_int_equal(ep.port, 4000);
    assert_true(ep.numeric);
    assert_int_equal(tcp_endpoint_parse("[::1]:65535", 11, &ep), 0);
    assert_string_equal(ep.host, "::1");
    assert_int_equal(ep.port, 65535);
    assert_true(ep.numeric);
    assert_int_equal(tcp_endpoint_parse("localhost:0", 11, &ep), 0);
    assert_false(ep.numeric);
    assert_error(tcp_endpoint_parse("a\0b:1", 5, &ep), VEIL_EINVAL,
                 "tcp: address 'a' contains a NUL byte (expected host:port, [ipv6]:port or "
                 "*:port)");
    assert_error_contains(tcp_endpoint_parse("[::1]80", 7, &ep), VEIL_EINVAL,
                          "needs ':port' after ']'");
    assert_error(tcp_endpoint_parse("h:123456", 8, &ep), VEIL_EINVAL,
                 "tcp: address 'h:123456' has a port over 65535 (expected host:port, [ipv6]:port "
                 "or *:port)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_known_answer),
        cmocka_unit_test(test_writer_limits),
        cmocka_unit_test(test_writer_rest_after_partial_send),
        cmocka_unit_test(test_reader_byte_by_byte),
        cmocka_unit_test(test_reader_peek_then_consume),
        cmocka_unit_test(test_reader_bulk_and_partial),
        cmocka_unit_test(test_reader_limits),
        cmocka_unit_test(test_reader_reuses_buffer),
        cmocka_unit_test(test_reader_grows_with_bytes_received),
        cmocka_unit_test(test_endpoint_parse),
    };
    return cmocka_run_group_tests_name("tcp_frame", tests, NULL, NULL);
}
