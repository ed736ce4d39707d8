/* Wire codec for messages crossing a node boundary (docs/PROTOCOL.md).
 *
 *   message = version:u8 (=1) onward:route return:route payload:bytes
 *   route   = count:varint address*
 *   address = type:u8 len:varint bytes
 *   bytes   = len:varint octets
 *
 * The decoder trusts nothing: every read is bounds-checked and each kind of
 * malformation has its own code, with a detail naming the field and the
 * byte offset.  Routes are read straight into the route's flat buffer and
 * the payload is returned as a pointer into the input (no copy). */
#include <veil/codec.h>
#include <veil/error.h>
#include <veil/message.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Which field is being decoded, for error details only. */
typedef struct field {
    const char *route; /* "onward route", "return route", "route" or NULL */
    int addr;          /* address index within the route, or -1 */
    const char *part;  /* "count", "type", "length", "bytes", ... */
} field;

static int fail(int code, const field *f, size_t off, const char *fmt, ...)
    VEIL_PRINTF(4, 5);

static int fail(int code, const field *f, size_t off, const char *fmt, ...)
{
    char name[96], why[128];
    va_list ap;
    int n = snprintf(name, sizeof name, "%s%s", f->route ? f->route : "", f->route ? " " : "");

    if (f->addr >= 0 && n >= 0 && (size_t)n < sizeof name)
        n += snprintf(name + n, sizeof name - (size_t)n, "address %d ", f->addr);
    if (n >= 0 && (size_t)n < sizeof name)
        snprintf(name + n, sizeof name - (size_t)n, "%s", f->part);
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return veil_error_set(code, "%s at byte offset %zu: %s", name, off, why);
}

/* ---- varints ------------------------------------------------------------ */

size_t veil_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t veil_varint_encode(uint64_t v, uint8_t *out, size_t cap)
{
    size_t n = veil_varint_size(v);

    if (out == NULL || cap < n)
        return 0;
    for (size_t i = 0; i + 1 < n; i++) {
        out[i] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n - 1] = (uint8_t)v;
    return n;
}

static int varint_slow(const uint8_t *in, size_t len, size_t *pos, uint64_t *out,
                       const field *f)
{
    size_t start = *pos;
    uint64_t v = 0;

    for (size_t i = 0; i < VEIL_VARINT_MAX; i++) {
        if (start + i >= len)
            return fail(VEIL_ETRUNCATED, f, start,
                        "input ends inside a varint (%zu of at most %u bytes present)",
                        i, VEIL_VARINT_MAX);
        uint8_t b = in[start + i];
        /* The 10th byte holds only bit 63: anything more overflows. */
        if (i == VEIL_VARINT_MAX - 1 && b > 1)
            return fail(VEIL_EOVERLONG, f, start,
                        "varint exceeds 64 bits (10th byte 0x%02x)", b);
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            /* A zero final byte after others means a shorter encoding
             * existed: reject so every value has exactly one encoding. */
            if (i > 0 && b == 0)
                return fail(VEIL_EOVERLONG, f, start,
                            "non-minimal varint (%zu bytes for value %llu)",
                            i + 1, (unsigned long long)v);
            *out = v;
            *pos = start + i + 1;
            return 0;
        }
    }
    /* Unreachable: the 10th byte either ends the varint or fails above. */
    return fail(VEIL_EOVERLONG, f, start, "varint longer than %u bytes", VEIL_VARINT_MAX);
}

static inline int get_varint(const uint8_t *in, size_t len, size_t *pos, uint64_t *out,
                             const field *f)
{
    /* Nearly every varint on the wire (counts, address lengths, small
     * payload lengths) is one byte. */
    if (*pos < len && in[*pos] < 0x80) {
        *out = in[(*pos)++];
        return 0;
    }
    return varint_slow(in, len, pos, out, f);
}

int veil_varint_decode(const uint8_t *in, size_t len, size_t *pos, uint64_t *out)
{
    field f = {NULL, -1, "varint"};
    uint64_t v;
    int rc;

    if (in == NULL || pos == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_varint_decode: NULL argument");
    rc = get_varint(in, len, pos, &v, &f);
    if (rc == 0 && out != NULL)
        *out = v;
    return rc;
}

/* ---- routes ------------------------------------------------------------- */

/* Entries whose length takes two varint bytes (128..255).  An entry is
 * type(1) len(1) bytes in the route's buffer and type(1) len(varint) bytes
 * on the wire, so a route without such entries goes out as its count and
 * then its buffer, byte for byte. */
static size_t long_entries(const veil_route *r)
{
    size_t n = 0;
    for (size_t off = r->_head; off < r->_tail; off += 2u + r->_buf[off + 1])
        n += r->_buf[off + 1] >= 0x80;
    return n;
}

size_t veil_route_encoded_size(const veil_route *r)
{
    return veil_varint_size(r->_count) + (size_t)(r->_tail - r->_head) + long_entries(r);
}

static int need_room(size_t cap, size_t pos, size_t need, const char *what)
{
    if (pos > cap || cap - pos < need)
        return veil_error_set(VEIL_ELIMIT,
                              "%s needs %zu bytes at offset %zu, output holds %zu",
                              what, need, pos, cap);
    return 0;
}

int veil_route_encode(const veil_route *r, uint8_t *out, size_t cap, size_t *pos)
{
    size_t longs = long_entries(r), body = (size_t)(r->_tail - r->_head);
    size_t need = veil_varint_size(r->_count) + body + longs;
    size_t p, off = r->_head;
    int rc;

    if (out == NULL || pos == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_route_encode: NULL argument");
    if ((rc = need_room(cap, *pos, need, "encoded route")) < 0)
        return rc;
    p = *pos;
    p += veil_varint_encode(r->_count, out + p, cap - p);
    if (longs == 0) { /* the common route: its buffer is its wire form */
        memcpy(out + p, r->_buf + off, body);
        *pos = p + body;
        return 0;
    }
    for (unsigned i = 0; i < r->_count; i++) {
        const uint8_t *e = r->_buf + off;
        out[p++] = e[0];
        p += veil_varint_encode(e[1], out + p, cap - p);
        memcpy(out + p, e + 2, e[1]);
        p += e[1];
        off += 2u + e[1];
    }
    *pos = p;
    return 0;
}

static int route_decode(veil_route *r, const uint8_t *in, size_t len, size_t *pos,
                        const char *name)
{
    field f = {name, -1, "count"};
    size_t start = *pos;
    uint64_t count;
    int rc;

    veil_route_init(r);
    if ((rc = get_varint(in, len, pos, &count, &f)) < 0)
        return rc;
    if (count > VEIL_ROUTE_MAX_HOPS)
        return fail(VEIL_ELIMIT, &f, start, "%llu addresses exceed the limit of %u",
                    (unsigned long long)count, VEIL_ROUTE_MAX_HOPS);
    for (unsigned i = 0; i < count; i++) {
        uint64_t alen;
        f.addr = (int)i;
        f.part = "type";
        if (*pos >= len)
            return fail(VEIL_ETRUNCATED, &f, *pos, "input ends (%zu bytes)", len);
        uint8_t type = in[(*pos)++];
        f.part = "length";
        start = *pos;
        if ((rc = get_varint(in, len, pos, &alen, &f)) < 0)
            return rc;
        if (alen == 0 || alen > VEIL_ADDRESS_MAX)
            return fail(VEIL_ELIMIT, &f, start, "length %llu outside 1..%u",
                        (unsigned long long)alen, VEIL_ADDRESS_MAX);
        f.part = "bytes";
        /* Limits before presence, as for every length. */
        size_t used = (size_t)(r->_tail - r->_head);
        if (used + 2 + alen > VEIL_ROUTE_BYTES_MAX)
            return fail(VEIL_ELIMIT, &f, *pos,
                        "route would use %llu bytes (limit %u)",
                        (unsigned long long)(used + 2 + alen), VEIL_ROUTE_BYTES_MAX);
        if (len - *pos < alen)
            return fail(VEIL_ETRUNCATED, &f, *pos, "need %llu bytes, %zu left",
                        (unsigned long long)alen, len - *pos);
        /* A fresh route has VEIL_ROUTE_BYTES_MAX of room after _tail, so
         * entries go straight into the buffer with no move. */
        uint8_t *e = r->_buf + r->_tail;
        e[0] = type;
        e[1] = (uint8_t)alen;
        memcpy(e + 2, in + *pos, (size_t)alen);
        r->_tail = (uint16_t)(r->_tail + 2 + alen);
        r->_count++;
        *pos += (size_t)alen;
    }
    return 0;
}

int veil_route_decode(veil_route *r, const uint8_t *in, size_t len, size_t *pos)
{
    int rc;

    if (r == NULL || (in == NULL && len > 0) || pos == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_route_decode: NULL argument");
    if (*pos > len)
        return veil_error_set(VEIL_EINVAL, "veil_route_decode: offset %zu past end %zu",
                              *pos, len);
    rc = route_decode(r, in, len, pos, "route");
    if (rc < 0)
        veil_route_init(r); /* never hand back half a route */
    return rc;
}

/* ---- messages ----------------------------------------------------------- */

size_t veil_codec_header_size(const veil_route *onward, const veil_route *ret,
                              size_t payload_len)
{
    return 1 + veil_route_encoded_size(onward) + veil_route_encoded_size(ret) +
           veil_varint_size(payload_len);
}

size_t veil_codec_encoded_size(const veil_route *onward, const veil_route *ret,
                               size_t payload_len)
{
    return veil_codec_header_size(onward, ret, payload_len) + payload_len;
}

/* Checks and the message layout up to the payload bytes: the one place it
 * is written.  whole: out must also hold the payload (veil_codec_encode),
 * which the caller copies after *pos. */
static int put_header(const veil_route *onward, const veil_route *ret, size_t payload_len,
                      bool whole, uint8_t *out, size_t cap, size_t *pos)
{
    if (onward == NULL || ret == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "%s: NULL argument",
                              whole ? "veil_codec_encode" : "veil_codec_encode_header");
    if (payload_len > VEIL_PAYLOAD_MAX)
        return veil_error_set(VEIL_ELIMIT, "payload of %zu bytes exceeds the limit of %u",
                              payload_len, VEIL_PAYLOAD_MAX);
    size_t need = veil_codec_header_size(onward, ret, payload_len) + (whole ? payload_len : 0);
    int rc = need_room(cap, 0, need, whole ? "encoded message" : "encoded message header");
    if (rc < 0)
        return rc;
    out[(*pos)++] = VEIL_CODEC_VERSION;
    rc = veil_route_encode(onward, out, cap, pos);
    if (rc == 0)
        rc = veil_route_encode(ret, out, cap, pos);
    if (rc == 0)
        *pos += veil_varint_encode(payload_len, out + *pos, cap - *pos);
    return rc;
}

int veil_codec_encode_header(const veil_route *onward, const veil_route *ret,
                             size_t payload_len, uint8_t *out, size_t cap, size_t *written)
{
    size_t p = 0;
    int rc = put_header(onward, ret, payload_len, false, out, cap, &p);
    if (rc == 0 && written != NULL)
        *written = p;
    return rc;
}

int veil_codec_encode(const veil_route *onward, const veil_route *ret,
                      const uint8_t *payload, size_t payload_len, uint8_t *out,
                      size_t cap, size_t *written)
{
    if (payload == NULL && payload_len > 0)
        return veil_error_set(VEIL_EINVAL, "veil_codec_encode: NULL argument");
    size_t p = 0;
    int rc = put_header(onward, ret, payload_len, true, out, cap, &p);
    if (rc < 0)
        return rc;
    if (payload_len > 0)
        memcpy(out + p, payload, payload_len);
    p += payload_len;
    if (written != NULL)
        *written = p;
    return 0;
}

static int message_decode(const uint8_t *in, size_t len, size_t payload_max,
                          veil_route *onward, veil_route *ret,
                          const uint8_t **payload, size_t *payload_len)
{
    field f = {NULL, -1, "version"};
    size_t pos = 0, start;
    uint64_t plen;
    int rc;

    if (len == 0)
        return fail(VEIL_ETRUNCATED, &f, 0, "empty input");
    if (in[0] != VEIL_CODEC_VERSION)
        return fail(VEIL_EVERSION, &f, 0, "version %u, this codec reads %u", in[0],
                    VEIL_CODEC_VERSION);
    pos = 1;
    if ((rc = route_decode(onward, in, len, &pos, "onward route")) < 0 ||
        (rc = route_decode(ret, in, len, &pos, "return route")) < 0)
        return rc;
    f.part = "payload length";
    start = pos;
    if ((rc = get_varint(in, len, &pos, &plen, &f)) < 0)
        return rc;
    if (plen > payload_max)
        return fail(VEIL_ELIMIT, &f, start, "%llu bytes exceed the limit of %zu",
                    (unsigned long long)plen, payload_max);
    f.part = "payload";
    if (len - pos < plen)
        return fail(VEIL_ETRUNCATED, &f, pos, "need %llu bytes, %zu left",
                    (unsigned long long)plen, len - pos);
    if (len - pos > plen)
        return fail(VEIL_ETRAILING, &f, pos + (size_t)plen,
                    "%llu bytes left over after the message (total %zu)",
                    (unsigned long long)(len - pos - plen), len);
    *payload = in + pos;
    *payload_len = (size_t)plen;
    return 0;
}

int veil_codec_decode(const uint8_t *in, size_t len, size_t payload_max,
                      veil_route *onward, veil_route *ret, const uint8_t **payload,
                      size_t *payload_len)
{
    int rc;

    if ((in == NULL && len > 0) || onward == NULL || ret == NULL || payload == NULL ||
        payload_len == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_codec_decode: NULL argument");
    if (payload_max == 0 || payload_max > VEIL_PAYLOAD_MAX)
        payload_max = VEIL_PAYLOAD_MAX;
    rc = message_decode(in, len, payload_max, onward, ret, payload, payload_len);
    if (rc < 0) {
        /* Leave no half-decoded state behind. */
        veil_route_init(onward);
        veil_route_init(ret);
        *payload = NULL;
        *payload_len = 0;
    }
    return rc;
}
