/* Wire codec: LEB128 known answers, a hand-assembled message from the
 * layout in docs/PROTOCOL.md, random round trips, and every malformed-input
 * class with its own error code and a detail naming field and offset. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/codec.h>
#include <veil/error.h>
#include <veil/message.h>

/* Unsigned LEB128 examples: 624485 from the DWARF/Wikipedia LEB128 text,
 * 300 from the protobuf encoding guide, the rest from the definition. */
static const struct {
    uint64_t v;
    size_t n;
    uint8_t b[10];
} vectors[] = {
    {0, 1, {0x00}},
    {1, 1, {0x01}},
    {127, 1, {0x7f}},
    {128, 2, {0x80, 0x01}},
    {300, 2, {0xac, 0x02}},
    {16383, 2, {0xff, 0x7f}},
    {16384, 3, {0x80, 0x80, 0x01}},
    {624485, 3, {0xe5, 0x8e, 0x26}},
    {UINT64_C(0x7fffffffffffffff), 9, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
    {UINT64_C(0x8000000000000000), 10, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
    {UINT64_MAX, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
};

static void test_varint_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        uint8_t out[VEIL_VARINT_MAX];
        uint64_t v = 0;
        size_t pos = 0;
        assert_int_equal(veil_varint_size(vectors[i].v), vectors[i].n);
        assert_int_equal(veil_varint_encode(vectors[i].v, out, sizeof out), vectors[i].n);
        assert_memory_equal(out, vectors[i].b, vectors[i].n);
        assert_int_equal(veil_varint_decode(vectors[i].b, vectors[i].n, &pos, &v), 0);
        assert_true(v == vectors[i].v);
        assert_int_equal(pos, vectors[i].n);
        /* Too small an output: nothing written, 0 returned. */
        assert_int_equal(veil_varint_encode(vectors[i].v, out, vectors[i].n - 1), 0);
    }
    /* Decoding at an offset advances from there. */
    const uint8_t two[] = {0x05, 0xac, 0x02, 0x09};
    size_t pos = 1;
    uint64_t v;
    assert_int_equal(veil_varint_decode(two, sizeof two, &pos, &v), 0);
    assert_int_equal(v, 300);
    assert_int_equal(pos, 3);
}

static void test_varint_errors(void **state)
{
    (void)state;
    uint64_t v;
    size_t pos;
    const uint8_t nonmin1[] = {0x80, 0x00};        /* 0 in two bytes */
    const uint8_t nonmin2[] = {0xff, 0x80, 0x00};  /* 127 in three bytes */
    const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    const uint8_t cut[] = {0x80, 0x80};

    pos = 0;
    assert_error_contains(veil_varint_decode(nonmin1, sizeof nonmin1, &pos, &v), VEIL_EOVERLONG,
                          "varint at byte offset 0: non-minimal varint (2 bytes for value 0)");
    assert_int_equal(pos, 0);
    pos = 0;
    assert_error_contains(veil_varint_decode(nonmin2, sizeof nonmin2, &pos, &v), VEIL_EOVERLONG,
                          "non-minimal");
    pos = 0;
    assert_error_contains(veil_varint_decode(over, sizeof over, &pos, &v), VEIL_EOVERLONG,
                          "exceeds 64 bits");
    pos = 0;
    assert_error_contains(veil_varint_decode(eleven, sizeof eleven, &pos, &v), VEIL_EOVERLONG,
                          "exceeds 64 bits");
    pos = 0;
    assert_error_contains(veil_varint_decode(cut, sizeof cut, &pos, &v), VEIL_ETRUNCATED,
                          "varint at byte offset 0: input ends inside a varint (2 of");
    pos = 0;
    assert_int_equal(veil_varint_decode(cut, 0, &pos, &v), VEIL_ETRUNCATED);
    pos = 2;
    assert_error(veil_varint_decode(cut, 2, &pos, &v), VEIL_ETRUNCATED,
                 "varint at byte offset 2: input ends inside a varint (0 of at most 10 bytes "
                 "present)");
}

/* Assembled by hand from the layout: version, onward [echoer],
 * return [1#127.0.0.1:4000], payload "hello". */
static const uint8_t known[] = {
    0x01,
    0x01, 0x00, 0x06, 'e', 'c', 'h', 'o', 'e', 'r',
    0x01, 0x01, 0x0e, '1', '2', '7', '.', '0', '.', '0', '.', '1', ':', '4', '0', '0', '0',
    0x05, 'h', 'e', 'l', 'l', 'o',
};

static void test_known_message(void **state)
{
    (void)state;
    veil_route on, ret, on2, ret2;
    uint8_t out[128];
    size_t n = 0;
    const uint8_t *payload;
    size_t plen;

    assert_int_equal(veil_route_parse(&on, "echoer"), 0);
    assert_int_equal(veil_route_parse(&ret, "1#127.0.0.1:4000"), 0);
    assert_int_equal(veil_codec_encoded_size(&on, &ret, 5), sizeof known);
    assert_int_equal(veil_codec_encode(&on, &ret, (const uint8_t *)"hello", 5, out,
                                       sizeof out, &n), 0);
    assert_int_equal(n, sizeof known);
    assert_memory_equal(out, known, sizeof known);

    assert_int_equal(veil_codec_decode(known, sizeof known, 0, &on2, &ret2, &payload, &plen), 0);
    assert_true(veil_route_equal(&on, &on2));
    assert_true(veil_route_equal(&ret, &ret2));
    assert_int_equal(plen, 5);
    /* No copy: the payload points into the input. */
    assert_ptr_equal(payload, known + sizeof known - 5);

    /* Empty routes and payload: 01 00 00 00. */
    veil_route e;
    veil_route_init(&e);
    assert_int_equal(veil_codec_encode(&e, &e, NULL, 0, out, sizeof out, &n), 0);
    assert_int_equal(n, 4);
    const uint8_t empty[] = {1, 0, 0, 0};
    assert_memory_equal(out, empty, 4);
}

/* An address of 128..255 bytes has a two-byte length on the wire, one in
 * the route's buffer: the encoder writes such a route entry by entry,
 * every other route as its buffer.  Onward [0#"a"*130, 0#"b"], return
 * [1#"c"], no payload, assembled by hand. */
static void test_known_long_address(void **state)
{
    (void)state;
    uint8_t want[1 + 1 + (1 + 2 + 130) + (1 + 1 + 1) + 1 + (1 + 1 + 1) + 1], out[sizeof want];
    char a[130];
    size_t p = 0, n = 0;
    veil_route on, ret, on2, ret2;
    veil_address x;
    const uint8_t *payload;
    size_t plen;

    memset(a, 'a', sizeof a);
    want[p++] = 0x01;                             /* version */
    want[p++] = 0x02;                             /* onward: two addresses */
    want[p++] = 0x00, want[p++] = 0x82, want[p++] = 0x01; /* type 0, length 130 */
    memcpy(want + p, a, sizeof a), p += sizeof a;
    want[p++] = 0x00, want[p++] = 0x01, want[p++] = 'b';
    want[p++] = 0x01;                             /* return: one address */
    want[p++] = 0x01, want[p++] = 0x01, want[p++] = 'c';
    want[p++] = 0x00;                             /* empty payload */
    assert_int_equal(p, sizeof want);

    veil_route_init(&on);
    veil_route_init(&ret);
    assert_int_equal(veil_address_set(&x, 0, a, sizeof a), 0);
    assert_int_equal(veil_route_append(&on, &x), 0);
    assert_int_equal(veil_address_set(&x, 0, "b", 1), 0);
    assert_int_equal(veil_route_append(&on, &x), 0);
    assert_int_equal(veil_address_set(&x, 1, "c", 1), 0);
    assert_int_equal(veil_route_append(&ret, &x), 0);
    assert_int_equal(veil_codec_encoded_size(&on, &ret, 0), sizeof want);
    assert_int_equal(veil_codec_encode(&on, &ret, NULL, 0, out, sizeof out, &n), 0);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);
    /* One byte short: refused, as for any route. */
    assert_error(veil_codec_encode(&on, &ret, NULL, 0, out, sizeof out - 1, &n), VEIL_ELIMIT,
                 "encoded message needs 143 bytes at offset 0, output holds 142");
    assert_int_equal(veil_codec_decode(want, sizeof want, 0, &on2, &ret2, &payload, &plen), 0);
    assert_true(veil_route_equal(&on, &on2));
    assert_true(veil_route_equal(&ret, &ret2));
    assert_int_equal(plen, 0);
}

/* The header alone is the known message up to its payload: what a writer
 * that copies the payload itself (the tcp transport) puts in front of it. */
static void test_known_header(void **state)
{
    (void)state;
    veil_route on, ret;
    uint8_t out[128];
    size_t n = 0;

    assert_int_equal(veil_route_parse(&on, "echoer"), 0);
    assert_int_equal(veil_route_parse(&ret, "1#127.0.0.1:4000"), 0);
    assert_int_equal(veil_codec_header_size(&on, &ret, 5), sizeof known - 5);
    assert_int_equal(veil_codec_encode_header(&on, &ret, 5, out, sizeof out, &n), 0);
    assert_int_equal(n, sizeof known - 5);
    assert_memory_equal(out, known, n);
    assert_true(n <= VEIL_CODEC_HEADER_MAX);

    n = 99;
    assert_error(veil_codec_encode_header(&on, &ret, 5, out, sizeof known - 6, &n), VEIL_ELIMIT,
                 "encoded message header needs 28 bytes at offset 0, output holds 27");
    assert_int_equal(n, 99);
    assert_error(veil_codec_encode_header(&on, NULL, 5, out, sizeof out, &n), VEIL_EINVAL,
                 "veil_codec_encode_header: NULL argument");
    assert_error(veil_codec_encode_header(&on, &ret, VEIL_PAYLOAD_MAX + 1, out, sizeof out, &n),
                 VEIL_ELIMIT, "payload of 1048577 bytes exceeds the limit of 1048576");
}

static void random_route(veil_route *r, unsigned *seed)
{
    veil_route_init(r);
    size_t hops = (size_t)rand_r(seed) % 6;
    if (rand_r(seed) % 20 == 0)
        hops = VEIL_ROUTE_MAX_HOPS;
    for (size_t i = 0; i < hops; i++) {
        veil_address a;
        char b[VEIL_ADDRESS_MAX];
        size_t len = rand_r(seed) % 10 == 0 ? 1 + (size_t)rand_r(seed) % VEIL_ADDRESS_MAX
                                            : 1 + (size_t)rand_r(seed) % 20;
        for (size_t j = 0; j < len; j++)
            b[j] = (char)rand_r(seed); /* any byte, NUL included */
        assert_int_equal(veil_address_set(&a, (uint8_t)rand_r(seed), b, len), 0);
        if (veil_route_append(r, &a) != 0)
            break; /* byte limit reached: keep what fits */
    }
}

static uint8_t g_buf[VEIL_PAYLOAD_MAX + 4096];
static uint8_t g_payload[70000];

static size_t random_message(unsigned *seed, veil_route *on, veil_route *ret, size_t *plen)
{
    size_t n = 0;
    random_route(on, seed);
    random_route(ret, seed);
    *plen = rand_r(seed) % 4 == 0 ? (size_t)rand_r(seed) % sizeof g_payload
                                   : (size_t)rand_r(seed) % 200;
    for (size_t i = 0; i < *plen; i++)
        g_payload[i] = (uint8_t)rand_r(seed);
    assert_int_equal(veil_codec_encode(on, ret, g_payload, *plen, g_buf, sizeof g_buf, &n), 0);
    assert_int_equal(n, veil_codec_encoded_size(on, ret, *plen));
    return n;
}

static void test_random_round_trips(void **state)
{
    (void)state;
    unsigned seed = 4242;
    for (int i = 0; i < 3000; i++) {
        veil_route on, ret, on2, ret2;
        const uint8_t *payload;
        size_t plen, plen2;
        size_t n = random_message(&seed, &on, &ret, &plen);
        assert_int_equal(veil_codec_decode(g_buf, n, 0, &on2, &ret2, &payload, &plen2), 0);
        assert_true(veil_route_equal(&on, &on2));
        assert_true(veil_route_equal(&ret, &ret2));
        assert_int_equal(plen2, plen);
        assert_ptr_equal(payload, g_buf + n - plen);
        assert_memory_equal(payload, g_payload, plen);
    }
}

static void test_truncated_everywhere(void **state)
{
    (void)state;
    unsigned seed = 99;
    for (int i = 0; i < 40; i++) {
        veil_route on, ret, on2, ret2;
        const uint8_t *payload = (const uint8_t *)1;
        size_t plen, plen2 = 7;
        size_t n = random_message(&seed, &on, &ret, &plen);
        for (size_t cut = 0; cut < n; cut++) {
            /* Cuts deep inside a long payload all fail alike: sample
             * them to keep the test quick. */
            if (cut > 600 && cut + 50 < n && cut % 97 != 0)
                continue;
            assert_int_equal(veil_codec_decode(g_buf, cut, 0, &on2, &ret2, &payload, &plen2),
                             VEIL_ETRUNCATED);
            assert_null(payload);
            assert_int_equal(plen2, 0);
            assert_int_equal(veil_route_count(&on2), 0);
            assert_int_equal(veil_route_count(&ret2), 0);
        }
    }
    /* The known message, cut at each byte, names the field being read. */
    static const char *const field_at[sizeof known] = {
        [0] = "version at byte offset 0",
        [1] = "onward route count at byte offset 1",
        [2] = "onward route address 0 type at byte offset 2",
        [3] = "onward route address 0 length at byte offset 3",
        [4] = "onward route address 0 bytes at byte offset 4",
        [10] = "return route count at byte offset 10",
        [11] = "return route address 0 type at byte offset 11",
        [12] = "return route address 0 length at byte offset 12",
        [13] = "return route address 0 bytes at byte offset 13",
        [27] = "payload length at byte offset 27",
        [28] = "payload at byte offset 28",
    };
    const char *last = NULL;
    for (size_t cut = 0; cut < sizeof known; cut++) {
        veil_route on, ret;
        const uint8_t *p;
        size_t pl;
        if (field_at[cut] != NULL)
            last = field_at[cut];
        assert_error_contains(veil_codec_decode(known, cut, 0, &on, &ret, &p, &pl), VEIL_ETRUNCATED,
                              last);
    }
}

/* Build "01 <onward> <return> <payload>" from raw byte strings. */
static size_t cat(uint8_t *out, const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    memcpy(out, a, an);
    memcpy(out + an, b, bn);
    return an + bn;
}

static void expect_decode(const uint8_t *in, size_t n, size_t max, int code, const char *needle)
{
    veil_route on, ret;
    const uint8_t *p;
    size_t pl;
    assert_int_equal(veil_codec_decode(in, n, max, &on, &ret, &p, &pl), code);
    assert_last_error_contains(needle);
}

static void test_overlong_fields(void **state)
{
    (void)state;
    uint8_t m[64];
    /* onward count 0 written as 80 00 */
    const uint8_t a[] = {0x01, 0x80, 0x00, 0x00, 0x00};
    expect_decode(a, sizeof a, 0, VEIL_EOVERLONG, "onward route count at byte offset 1: non-minimal");
    /* address length 1 written as 81 00 */
    const uint8_t b[] = {0x01, 0x01, 0x00, 0x81, 0x00, 'x', 0x00, 0x00};
    expect_decode(b, sizeof b, 0, VEIL_EOVERLONG, "onward route address 0 length at byte offset 3");
    /* return count 0 as 80 80 00 */
    const uint8_t c[] = {0x01, 0x00, 0x80, 0x80, 0x00, 0x00};
    expect_decode(c, sizeof c, 0, VEIL_EOVERLONG, "return route count at byte offset 2");
    /* payload length 0 as 80 00 */
    const uint8_t d[] = {0x01, 0x00, 0x00, 0x80, 0x00};
    expect_decode(d, sizeof d, 0, VEIL_EOVERLONG, "payload length at byte offset 3: non-minimal");
    /* payload length with 11 bytes */
    const uint8_t head[] = {0x01, 0x00, 0x00};
    const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    size_t n = cat(m, head, sizeof head, eleven, sizeof eleven);
    expect_decode(m, n, 0, VEIL_EOVERLONG, "payload length at byte offset 3: varint exceeds 64 bits");
    /* count of 2^64-1 overflows nothing but exceeds the hop limit */
    const uint8_t big[] = {0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    expect_decode(big, sizeof big, 0, VEIL_ELIMIT, "onward route count at byte offset 1");
}

/* 33 addresses. */
static void test_limit_address_count(void **state)
{
    (void)state;
    const uint8_t c33[] = {0x01, 33};
    expect_decode(c33, sizeof c33, 0, VEIL_ELIMIT,
                  "onward route count at byte offset 1: 33 addresses exceed the limit of 32");
    const uint8_t r33[] = {0x01, 0x00, 33};
    expect_decode(r33, sizeof r33, 0, VEIL_ELIMIT, "return route count at byte offset 2");
}

/* Address length 0 and 256. */
static void test_limit_address_length(void **state)
{
    (void)state;
    const uint8_t l0[] = {0x01, 0x01, 0x00, 0x00, 0x00, 0x00};
    expect_decode(l0, sizeof l0, 0, VEIL_ELIMIT,
                  "onward route address 0 length at byte offset 3: length 0 outside 1..255");
    const uint8_t l256[] = {0x01, 0x01, 0x07, 0x80, 0x02};
    expect_decode(l256, sizeof l256, 0, VEIL_ELIMIT, "length 256 outside 1..255");
}

/* Route bytes: four 255-byte addresses need 4 * 257 = 1028 > 1024. */
static void test_limit_route_bytes(void **state)
{
    (void)state;
    uint8_t m[4096];
    size_t n = 0;
    m[n++] = 0x01;
    m[n++] = 4;
    for (int i = 0; i < 4; i++) {
        m[n++] = 0x00;
        m[n++] = 0xff;
        m[n++] = 0x01;
        memset(m + n, 'a', 255);
        n += 255;
    }
    m[n++] = 0;
    m[n++] = 0;
    expect_decode(m, n, 0, VEIL_ELIMIT, "onward route address 3 bytes");
    assert_last_error("onward route address 3 bytes at byte offset 779: route would use 1028 "
                      "bytes (limit 1024)");
    /* Limits are checked before presence: cut right after the 4th length. */
    expect_decode(m, 2 + 3 * 258 + 3, 0, VEIL_ELIMIT, "onward route address 3 bytes");
}

/* Payload length: 2 MiB with no bytes, over the caller's limit, over
 * VEIL_PAYLOAD_MAX; a caller limit above the hard cap does not raise it. */
static void test_limit_payload_length(void **state)
{
    (void)state;
    const uint8_t p2m[] = {0x01, 0x00, 0x00, 0x80, 0x80, 0x80, 0x01}; /* 2 MiB, no bytes */
    expect_decode(p2m, sizeof p2m, 0, VEIL_ELIMIT, "payload length at byte offset 3");
    const uint8_t p10[] = {0x01, 0x00, 0x00, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    expect_decode(p10, sizeof p10, 9, VEIL_ELIMIT,
                  "payload length at byte offset 3: 10 bytes exceed the limit of 9");
    veil_route on, ret;
    const uint8_t *p;
    size_t pl;
    assert_int_equal(veil_codec_decode(p10, sizeof p10, 10, &on, &ret, &p, &pl), 0);
    assert_int_equal(pl, 10);
    uint8_t huge[8] = {0x01, 0x00, 0x00};
    size_t k = veil_varint_encode(VEIL_PAYLOAD_MAX + 1, huge + 3, 5);
    expect_decode(huge, 3 + k, 0, VEIL_ELIMIT, "exceed the limit of 1048576");
    expect_decode(huge, 3 + k, SIZE_MAX, VEIL_ELIMIT, "exceed the limit of 1048576");
}

static void test_trailing_and_version(void **state)
{
    (void)state;
    uint8_t m[sizeof known + 3];
    memcpy(m, known, sizeof known);
    m[sizeof known] = 0xee;
    expect_decode(m, sizeof known + 1, 0, VEIL_ETRAILING,
                  "payload at byte offset 33: 1 bytes left over");
    expect_decode(m, sizeof known + 3, 0, VEIL_ETRAILING, "3 bytes left over");

    memcpy(m, known, sizeof known);
    m[0] = 0x02;
    expect_decode(m, sizeof known, 0, VEIL_EVERSION, "version at byte offset 0: version 2");
    m[0] = 0x00;
    expect_decode(m, sizeof known, 0, VEIL_EVERSION, "version 0");
    expect_decode(m, 0, 0, VEIL_ETRUNCATED, "version at byte offset 0: empty input");
}

static void test_route_codec_and_encode_errors(void **state)
{
    (void)state;
    veil_route r, r2;
    uint8_t out[64];
    size_t pos = 3;

    assert_int_equal(veil_route_parse(&r, "a => 1#h:1"), 0);
    assert_int_equal(veil_route_encoded_size(&r), 1 + 3 + 5);
    assert_int_equal(veil_route_encode(&r, out, sizeof out, &pos), 0);
    assert_int_equal(pos, 3 + 9);
    const uint8_t expect[] = {2, 0, 1, 'a', 1, 3, 'h', ':', '1'};
    assert_memory_equal(out + 3, expect, sizeof expect);
    pos = 3;
    assert_int_equal(veil_route_decode(&r2, out, 12, &pos), 0);
    assert_int_equal(pos, 12);
    assert_true(veil_route_equal(&r, &r2));
    pos = 3;
    assert_error_contains(veil_route_decode(&r2, out, 11, &pos), VEIL_ETRUNCATED,
                          "route address 1 bytes at byte offset 9");
    assert_int_equal(veil_route_count(&r2), 0);

    pos = 60;
    assert_error_contains(veil_route_encode(&r, out, sizeof out, &pos), VEIL_ELIMIT,
                          "needs 9 bytes at offset 60");
    assert_int_equal(pos, 60);

    size_t n;
    assert_error_contains(veil_codec_encode(&r, &r, (const uint8_t *)"x", 1, out, 10, &n),
                          VEIL_ELIMIT, "encoded message needs 21 bytes");
    static uint8_t big[VEIL_PAYLOAD_MAX + 1];
    assert_error_contains(veil_codec_encode(&r, &r, big, sizeof big, out, sizeof out, &n),
                          VEIL_ELIMIT, "payload of 1048577 bytes exceeds the limit of 1048576");

    /* A 255-byte address uses a two-byte length varint. */
    veil_address a;
    char b[255];
    memset(b, 'z', sizeof b);
    assert_int_equal(veil_address_set(&a, 9, b, sizeof b), 0);
    veil_route_init(&r);
    assert_int_equal(veil_route_append(&r, &a), 0);
    assert_int_equal(veil_route_encoded_size(&r), 1 + 1 + 2 + 255);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_vectors),
        cmocka_unit_test(test_varint_errors),
        cmocka_unit_test(test_known_message),
        cmocka_unit_test(test_known_long_address),
        cmocka_unit_test(test_known_header),
        cmocka_unit_test(test_random_round_trips),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_overlong_fields),
        cmocka_unit_test(test_limit_address_count),
        cmocka_unit_test(test_limit_address_length),
        cmocka_unit_test(test_limit_route_bytes),
        cmocka_unit_test(test_limit_payload_length),
        cmocka_unit_test(test_trailing_and_version),
        cmocka_unit_test(test_route_codec_and_encode_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
