/* Addresses and routes.
 *
 * A route keeps its entries (type:1 len:1 bytes:len) contiguous in
 * _buf[_head.._tail).  Headroom before _head lets a hop push onto the front
 * of the return route without moving anything; popping the onward route just
 * advances _head.  Contents move (one memmove of at most
 * VEIL_ROUTE_BYTES_MAX bytes) only when the room on the needed side runs
 * out.  Routes only ever hold valid addresses (1..VEIL_ADDRESS_MAX bytes),
 * so anything the codec encodes from a route also decodes. */
#include <veil/address.h>
#include <veil/error.h>

#include "upper.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define ROUTE_CAP ((uint16_t)sizeof(((veil_route *)0)->_buf))
/* Where an empty route starts: enough headroom for several prepends and
 * the whole byte limit after it for appends. */
#define ROUTE_START ((uint16_t)(ROUTE_CAP - VEIL_ROUTE_BYTES_MAX))

_Static_assert(sizeof(((veil_route *)0)->_buf) >= VEIL_ROUTE_BYTES_MAX + 2 + VEIL_ADDRESS_MAX - 1,
               "route buffer must hold the byte limit plus one entry");

/* ---- addresses --------------------------------------------------------- */

int veil_address_set(veil_address *out, uint8_t type, const void *bytes, size_t len)
{
    if (out == NULL || (bytes == NULL && len > 0))
        return veil_error_set(VEIL_EINVAL, "veil_address_set: NULL argument");
    if (len == 0)
        return veil_error_set(VEIL_EINVAL, "empty address (type %u)", type);
    if (len > VEIL_ADDRESS_MAX)
        return veil_error_set(VEIL_ELIMIT, "address is %zu bytes (limit %u)",
                              len, VEIL_ADDRESS_MAX);
    out->type = type;
    out->len = (uint8_t)len;
    memcpy(out->bytes, bytes, len);
    out->bytes[len] = '\0';
    return 0;
}

/* "T#" prefix: 1-3 decimal digits, value <= 255.  Returns the prefix length
 * (0 when text has no '#'), or a negative error. */
static int parse_type_prefix(const char *text, uint8_t *type)
{
    const char *hash = strchr(text, '#');
    unsigned v = 0;
    size_t n;

    *type = VEIL_ADDRESS_TYPE_LOCAL;
    if (hash == NULL)
        return 0;
    n = (size_t)(hash - text);
    if (n == 0 || n > 3)
        return veil_error_set(VEIL_EINVAL,
                              "bad address type '%.*s' in '%s' (expected 0-255 before '#')",
                              (int)(n > 8 ? 8 : n), text, text);
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return veil_error_set(VEIL_EINVAL,
                                  "bad address type '%.*s' in '%s' (expected 0-255 before '#')",
                                  (int)n, text, text);
        v = v * 10 + (unsigned)(text[i] - '0');
    }
    if (v > 255)
        return veil_error_set(VEIL_EINVAL,
                              "address type %u out of range in '%s' (expected 0-255)",
                              v, text);
    *type = (uint8_t)v;
    return (int)n + 1;
}

int veil_address_parse(veil_address *out, const char *text)
{
    uint8_t type;
    int skip;
    size_t len;

    if (out == NULL || text == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_address_parse: NULL argument");
    if (text[0] == '\0')
        return veil_error_set(VEIL_EINVAL, "empty address");
    skip = parse_type_prefix(text, &type);
    if (skip < 0)
        return skip;
    len = strlen(text + skip);
    if (len == 0)
        return veil_error_set(VEIL_EINVAL, "empty address after type in '%s'", text);
    if (len > VEIL_ADDRESS_MAX)
        return veil_error_set(VEIL_ELIMIT,
                              "address '%.32s...' is %zu bytes (limit %u)",
                              text + skip, len, VEIL_ADDRESS_MAX);
    return veil_address_set(out, type, text + skip, len);
}

int veil_address_random(veil_address *out, const char *prefix)
{
    uint8_t rnd[8];
    char hex[2 * sizeof rnd + 1];
    size_t plen = prefix != NULL ? strlen(prefix) : 0;
    int rc;

    if (out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_address_random: NULL argument");
    if (plen + 2 * sizeof rnd > VEIL_ADDRESS_MAX)
        return veil_error_set(VEIL_ELIMIT,
                              "address prefix is %zu bytes (limit %zu)",
                              plen, VEIL_ADDRESS_MAX - 2 * sizeof rnd);
    rc = veil__random(rnd, sizeof rnd);
    if (rc < 0)
        return rc;
    veil__hex_encode(rnd, sizeof rnd, hex);
    out->type = VEIL_ADDRESS_TYPE_LOCAL;
    out->len = (uint8_t)(plen + 2 * sizeof rnd);
    if (plen > 0)
        memcpy(out->bytes, prefix, plen);
    memcpy(out->bytes + plen, hex, sizeof hex); /* includes the NUL */
    return 0;
}

/* Bounded text output that remembers whether anything was cut off. */
struct sink {
    char *out;
    size_t cap; /* > 0 */
    size_t pos;
    bool cut;
};

static void put_text(struct sink *k, const char *s, size_t n)
{
    size_t room = k->cap - 1 - k->pos;
    if (n > room) {
        n = room;
        k->cut = true;
    }
    memcpy(k->out + k->pos, s, n);
    k->pos += n;
    k->out[k->pos] = '\0';
}

static void format_entry(struct sink *k, uint8_t type, const uint8_t *bytes,
                         size_t len)
{
    /* Local addresses print bare unless the bare text would parse as
     * something else (it contains '#'): then "0#" keeps the round trip. */
    if (type != VEIL_ADDRESS_TYPE_LOCAL || memchr(bytes, '#', len) != NULL) {
        char pre[5];
        size_t n = 0;
        if (type >= 100)
            pre[n++] = (char)('0' + type / 100);
        if (type >= 10)
            pre[n++] = (char)('0' + type / 10 % 10);
        pre[n++] = (char)('0' + type % 10);
        pre[n++] = '#';
        put_text(k, pre, n);
    }
    put_text(k, (const char *)bytes, len);
}

void veil_address_format(const veil_address *a, char *out, size_t cap)
{
    struct sink k = {out, cap, 0, false};

    if (out == NULL || cap == 0)
        return;
    out[0] = '\0';
    if (a != NULL)
        format_entry(&k, a->type, (const uint8_t *)a->bytes, a->len);
}

bool veil_address_equal(const veil_address *a, const veil_address *b)
{
    return a->type == b->type && a->len == b->len &&
           memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* ---- routes: O(1) hot-path operations ---------------------------------- */

void veil_route_init(veil_route *r)
{
    r->_head = ROUTE_START;
    r->_tail = ROUTE_START;
    r->_count = 0;
}

size_t veil_route_count(const veil_route *r)
{
    return r->_count;
}

/* Error paths are kept out of line so the hot operations stay small. */
__attribute__((cold, noinline)) static int limit_error(const veil_route *r, size_t hops,
                                                       size_t bytes)
{
    if (r->_count + hops > VEIL_ROUTE_MAX_HOPS)
        return veil_error_set(VEIL_ELIMIT,
                              "route would have %zu addresses (limit %u)",
                              r->_count + hops, VEIL_ROUTE_MAX_HOPS);
    return veil_error_set(VEIL_ELIMIT, "route would use %zu bytes (limit %u)",
                          (size_t)(r->_tail - r->_head) + bytes, VEIL_ROUTE_BYTES_MAX);
}

static inline bool fits(const veil_route *r, size_t hops, size_t bytes)
{
    return r->_count + hops <= VEIL_ROUTE_MAX_HOPS &&
           (size_t)(r->_tail - r->_head) + bytes <= VEIL_ROUTE_BYTES_MAX;
}

static int check_add(const veil_route *r, size_t hops, size_t bytes)
{
    return fits(r, hops, bytes) ? 0 : limit_error(r, hops, bytes);
}

__attribute__((cold, noinline)) static int address_error(const veil_address *a)
{
    if (a == NULL)
        return veil_error_set(VEIL_EINVAL, "NULL address");
    return veil_error_set(VEIL_EINVAL, "empty address (type %u) in route", a->type);
}

static inline int check_address(const veil_address *a)
{
    return a != NULL && a->len != 0 ? 0 : address_error(a);
}

/* Check a for appending or prepending to r: 0 with *n its entry's size. */
static int check_entry(const veil_route *r, const veil_address *a, size_t *n)
{
    int rc = check_address(a);
    if (rc < 0)
        return rc;
    *n = 2u + a->len;
    return check_add(r, 1, *n);
}

/* Write a's entry (type, length, bytes) at p: one more address. */
static void put_entry(veil_route *r, uint8_t *p, const veil_address *a)
{
    p[0] = a->type;
    p[1] = a->len;
    memcpy(p + 2, a->bytes, a->len);
    r->_count++;
}

/* Move the contents so that at least `need` bytes are free after _tail. */
static void make_tailroom(veil_route *r, size_t need)
{
    if ((size_t)(ROUTE_CAP - r->_tail) >= need)
        return;
    uint16_t used = (uint16_t)(r->_tail - r->_head);
    memmove(r->_buf, r->_buf + r->_head, used);
    r->_head = 0;
    r->_tail = used;
}

/* Move the contents so that at least `need` bytes are free before _head:
 * push them to the end of the buffer, leaving the most headroom. */
static void make_headroom(veil_route *r, size_t need)
{
    if (r->_head >= need)
        return;
    uint16_t used = (uint16_t)(r->_tail - r->_head);
    uint16_t at = (uint16_t)(ROUTE_CAP - used);
    memmove(r->_buf + at, r->_buf + r->_head, used);
    r->_head = at;
    r->_tail = ROUTE_CAP;
}

int veil_route_append(veil_route *r, const veil_address *a)
{
    size_t n;
    int rc = check_entry(r, a, &n);
    if (rc < 0)
        return rc;
    make_tailroom(r, n);
    put_entry(r, r->_buf + r->_tail, a);
    r->_tail = (uint16_t)(r->_tail + n);
    return 0;
}

int veil_route_prepend(veil_route *r, const veil_address *a)
{
    size_t n;
    int rc = check_entry(r, a, &n);
    if (rc < 0)
        return rc;
    make_headroom(r, n);
    r->_head = (uint16_t)(r->_head - n);
    put_entry(r, r->_buf + r->_head, a);
    return 0;
}

__attribute__((cold, noinline)) static int empty_error(void)
{
    return veil_error_set(VEIL_ENOTFOUND, "route is empty");
}

int veil_route_pop_front(veil_route *r, veil_address *out)
{
    if (r->_count == 0)
        return empty_error();
    const uint8_t *p = r->_buf + r->_head;
    uint8_t len = p[1];
    if (out != NULL) {
        out->type = p[0];
        out->len = len;
        memcpy(out->bytes, p + 2, len);
        out->bytes[len] = '\0';
    }
    r->_count--;
    if (r->_count == 0) /* restore the full headroom for free */
        veil_route_init(r);
    else
        r->_head = (uint16_t)(r->_head + 2u + len);
    return 0;
}

bool veil_route_front(const veil_route *r, uint8_t *type, const uint8_t **bytes,
                      size_t *len)
{
    if (r->_count == 0)
        return false;
    const uint8_t *p = r->_buf + r->_head;
    if (type != NULL)
        *type = p[0];
    if (len != NULL)
        *len = p[1];
    if (bytes != NULL)
        *bytes = p + 2;
    return true;
}

/* ---- routes: whole-route operations ------------------------------------ */

int veil_route_get(const veil_route *r, size_t i, veil_address *out)
{
    if (i >= r->_count)
        return veil_error_set(VEIL_ENOTFOUND,
                              "route has %u addresses, no index %zu", r->_count, i);
    size_t off = r->_head;
    while (i-- > 0)
        off += 2u + r->_buf[off + 1];
    const uint8_t *p = r->_buf + off;
    if (out != NULL) {
        out->type = p[0];
        out->len = p[1];
        memcpy(out->bytes, p + 2, p[1]);
        out->bytes[p[1]] = '\0';
    }
    return 0;
}

int veil_route_append_route(veil_route *r, const veil_route *src)
{
    uint16_t used = (uint16_t)(src->_tail - src->_head);
    /* Check both limits first so a failure leaves r untouched. */
    int rc = check_add(r, src->_count, used);

    if (rc < 0)
        return rc;
    if (used == 0)
        return 0;
    make_tailroom(r, used);
    memmove(r->_buf + r->_tail, src->_buf + src->_head, used);
    r->_tail = (uint16_t)(r->_tail + used);
    r->_count = (uint8_t)(r->_count + src->_count);
    return 0;
}

int veil_route_append_str(veil_route *r, const char *text)
{
    veil_address a;
    int rc = veil_address_parse(&a, text);

    if (rc < 0)
        return rc;
    return veil_route_append(r, &a);
}

void veil_route_copy(veil_route *dst, const veil_route *src)
{
    /* Copy only the used bytes: the buffer is 1280 bytes, routes are
     * usually a few dozen. */
    uint16_t used = (uint16_t)(src->_tail - src->_head);

    if (dst == src)
        return;
    dst->_head = src->_head;
    dst->_tail = src->_tail;
    dst->_count = src->_count;
    memcpy(dst->_buf + src->_head, src->_buf + src->_head, used);
}

/* ---- routes kept long (upper.h) ----------------------------------------- */

struct veil_packed_route {
    uint16_t used;               /* bytes of entries */
    uint8_t count;
    uint8_t entries[];           /* type(1) len(1) bytes(len), as in _buf */
};

int veil__route_pack(const veil_route *r, veil_packed_route **out)
{
    uint16_t used = (uint16_t)(r->_tail - r->_head);
    veil_packed_route *p = malloc(sizeof *p + used);
    if (p == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory keeping a route");
    p->used = used;
    p->count = r->_count;
    memcpy(p->entries, r->_buf + r->_head, used);
    *out = p;
    return 0;
}

void veil__route_unpack(const veil_packed_route *p, veil_route *out)
{
    out->_head = ROUTE_START;
    out->_tail = (uint16_t)(ROUTE_START + p->used);
    out->_count = p->count;
    memcpy(out->_buf + ROUTE_START, p->entries, p->used);
}

bool veil_route_equal(const veil_route *a, const veil_route *b)
{
    uint16_t used = (uint16_t)(a->_tail - a->_head);

    return a->_count == b->_count && used == (uint16_t)(b->_tail - b->_head) &&
           memcmp(a->_buf + a->_head, b->_buf + b->_head, used) == 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Length of the element starting at s: up to the next "=>" or ",". */
static size_t element_len(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0' && s[n] != ',' && !(s[n] == '=' && s[n + 1] == '>'))
        n++;
    return n;
}

int veil_route_parse(veil_route *r, const char *text)
{
    veil_route tmp;
    const char *s = text;
    size_t pos = 0;

    if (r == NULL || text == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_route_parse: NULL argument");
    veil_route_init(&tmp);
    while (is_space(*s))
        s++;
    if (*s == '\0') { /* blank text is the empty route */
        veil_route_init(r);
        return 0;
    }
    for (;;) {
        size_t n = element_len(s);
        const char *end = s + n;
        char buf[VEIL_ADDRESS_TEXT_MAX + 1];
        int rc;

        pos++;
        while (n > 0 && is_space(*s)) {
            s++;
            n--;
        }
        while (n > 0 && is_space(s[n - 1]))
            n--;
        if (n == 0)
            return veil_error_set(VEIL_EINVAL,
                                  "route '%s': empty address at position %zu",
                                  text, pos);
        if (n >= sizeof buf)
            return veil_error_set(VEIL_ELIMIT,
                                  "route '%.40s...': address at position %zu is %zu characters (limit %zu)",
                                  text, pos, n, sizeof buf - 1);
        memcpy(buf, s, n);
        buf[n] = '\0';
        rc = veil_route_append_str(&tmp, buf);
        if (rc < 0)
            return veil_error_wrap(rc, "route '%.200s', address %zu", text, pos);
        if (*end == '\0')
            break;
        s = end + (*end == ',' ? 1 : 2);
    }
    veil_route_copy(r, &tmp);
    return 0;
}

void veil_route_format(const veil_route *r, char *out, size_t cap)
{
    static const char ellipsis[] = "...";
    struct sink k = {out, cap, 0, false};
    size_t off = r->_head;

    if (out == NULL || cap == 0)
        return;
    out[0] = '\0';
    for (unsigned i = 0; i < r->_count && !k.cut; i++) {
        const uint8_t *p = r->_buf + off;
        if (i > 0)
            put_text(&k, " => ", 4);
        format_entry(&k, p[0], p + 2, p[1]);
        off += 2u + p[1];
    }
    /* Mark the cut so a truncated route never reads as a complete one. */
    if (k.cut && cap >= sizeof ellipsis)
        memcpy(out + cap - sizeof ellipsis, ellipsis, sizeof ellipsis);
}
