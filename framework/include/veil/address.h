/* veil — addresses and routes.
 *
 * An address is a type byte plus up to VEIL_ADDRESS_MAX bytes.  Type 0 is a
 * local worker; other types are claimed by transports (TCP registers 1).
 * Text forms: "echoer" and "0#echoer" (local), "1#127.0.0.1:4000".
 *
 * A route is an ordered list of addresses kept in one flat buffer with
 * headroom, so the operations a message hop needs (pop the front of the
 * onward route, push onto the front of the return route) are O(1) and never
 * allocate.  Treat the fields of veil_route as private. */
#ifndef VEIL_ADDRESS_H
#define VEIL_ADDRESS_H

#include <veil/common.h>
#include <stdbool.h>

VEIL_BEGIN_DECLS

#define VEIL_ADDRESS_MAX 255u         /* bytes in one address */
#define VEIL_ADDRESS_TYPE_LOCAL 0u
#define VEIL_ADDRESS_TYPE_TCP 1u
#define VEIL_ADDRESS_TEXT_MAX (4u + VEIL_ADDRESS_MAX) /* "255#" + bytes */
#define VEIL_ROUTE_MAX_HOPS 32u       /* addresses in one route */
#define VEIL_ROUTE_BYTES_MAX 1024u    /* sum over addresses of (2 + len) */

typedef struct veil_address {
    uint8_t type;
    uint8_t len;
    /* NUL-terminated for convenience; the NUL is not part of the address. */
    char bytes[VEIL_ADDRESS_MAX + 1];
} veil_address;

/* "echoer" / "0#echoer" / "1#host:port".  Errors: VEIL_EINVAL (empty,
 * bad type number), VEIL_ELIMIT (longer than VEIL_ADDRESS_MAX). */
VEIL_EXPORT int veil_address_parse(veil_address *out, const char *text) VEIL_WUR;
VEIL_EXPORT int veil_address_set(veil_address *out, uint8_t type,
                                 const void *bytes, size_t len) VEIL_WUR;
/* Local address of the form "<prefix><16 random hex>" (unique per process). */
VEIL_EXPORT int veil_address_random(veil_address *out, const char *prefix) VEIL_WUR;
/* Writes "bytes" for type 0 and "T#bytes" otherwise; always NUL-terminates. */
VEIL_EXPORT void veil_address_format(const veil_address *a, char *out, size_t cap);
VEIL_EXPORT bool veil_address_equal(const veil_address *a, const veil_address *b);

typedef struct veil_route {
    uint16_t _head;   /* offset of the first entry in _buf */
    uint16_t _tail;   /* offset one past the last entry */
    uint8_t _count;   /* number of addresses */
    uint8_t _pad[3];
    /* entries: type(1) len(1) bytes(len); headroom before _head */
    uint8_t _buf[VEIL_ROUTE_BYTES_MAX + 256];
} veil_route;

VEIL_EXPORT void veil_route_init(veil_route *r);
VEIL_EXPORT size_t veil_route_count(const veil_route *r);
/* Errors for the mutators: VEIL_ELIMIT (hops or bytes over the limits). */
VEIL_EXPORT int veil_route_append(veil_route *r, const veil_address *a) VEIL_WUR;
VEIL_EXPORT int veil_route_prepend(veil_route *r, const veil_address *a) VEIL_WUR;
/* Append every address of src to r. */
VEIL_EXPORT int veil_route_append_route(veil_route *r, const veil_route *src) VEIL_WUR;
/* Append a parsed text address. */
VEIL_EXPORT int veil_route_append_str(veil_route *r, const char *text) VEIL_WUR;
/* Parse "a => b => 1#h:p" (separators "=>" or ",", spaces ignored). */
VEIL_EXPORT int veil_route_parse(veil_route *r, const char *text) VEIL_WUR;
/* Remove the first address (copied to out if non-NULL).  VEIL_ENOTFOUND
 * when the route is empty. */
VEIL_EXPORT int veil_route_pop_front(veil_route *r, veil_address *out) VEIL_WUR;
/* Copy address i (0-based) to out; VEIL_ENOTFOUND past the end. */
VEIL_EXPORT int veil_route_get(const veil_route *r, size_t i, veil_address *out) VEIL_WUR;
/* Zero-copy view of the first address; false when empty. */
VEIL_EXPORT bool veil_route_front(const veil_route *r, uint8_t *type,
                                  const uint8_t **bytes, size_t *len);
VEIL_EXPORT void veil_route_copy(veil_route *dst, const veil_route *src);
VEIL_EXPORT bool veil_route_equal(const veil_route *a, const veil_route *b);
/* "a => b => 1#h:p"; always NUL-terminates (truncates with "..."). */
VEIL_EXPORT void veil_route_format(const veil_route *r, char *out, size_t cap);

VEIL_END_DECLS
#endif
