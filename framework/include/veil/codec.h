/* veil — wire codec for messages crossing a node boundary (docs/PROTOCOL.md).
 *
 *   message = version:u8 (=1) onward:route return:route payload:bytes
 *   route   = count:varint (<= VEIL_ROUTE_MAX_HOPS) address*
 *   address = type:u8 len:varint (1..VEIL_ADDRESS_MAX) bytes
 *   bytes   = len:varint (<= limit) octets
 *   varint  = unsigned LEB128, minimal, at most 10 bytes, value < 2^64
 *
 * The decoder bounds-checks everything and reports distinct errors:
 * VEIL_ETRUNCATED, VEIL_EOVERLONG (non-minimal varint), VEIL_ELIMIT (count
 * or length over its limit), VEIL_ETRAILING, VEIL_EVERSION, VEIL_EFORMAT. */
#ifndef VEIL_CODEC_H
#define VEIL_CODEC_H

#include <veil/common.h>
#include <veil/address.h>

VEIL_BEGIN_DECLS

#define VEIL_CODEC_VERSION 1u
#define VEIL_VARINT_MAX 10u

/* Varints: encode returns bytes written (0 if cap too small). */
VEIL_EXPORT size_t veil_varint_encode(uint64_t v, uint8_t *out, size_t cap);
VEIL_EXPORT size_t veil_varint_size(uint64_t v);
/* Decode at *pos, advancing it; errors as above. */
VEIL_EXPORT int veil_varint_decode(const uint8_t *in, size_t len, size_t *pos,
                                   uint64_t *out) VEIL_WUR;

/* Routes on their own (used inside channel and identity encodings). */
VEIL_EXPORT size_t veil_route_encoded_size(const veil_route *r);
VEIL_EXPORT int veil_route_encode(const veil_route *r, uint8_t *out, size_t cap,
                                  size_t *pos) VEIL_WUR;
VEIL_EXPORT int veil_route_decode(veil_route *r, const uint8_t *in, size_t len,
                                  size_t *pos) VEIL_WUR;

/* Whole messages.  payload_max bounds the decoded payload length (0 means
 * VEIL_PAYLOAD_MAX).  Decoding does not copy the payload: *payload points
 * into in. */
VEIL_EXPORT size_t veil_codec_encoded_size(const veil_route *onward,
                                           const veil_route *ret,
                                           size_t payload_len);
/* The message's header: every byte before the payload (version, both
 * routes, the payload's length), for a writer that puts the payload
 * elsewhere itself (the tcp transport copies it once, straight into its
 * send queue).  At most VEIL_CODEC_HEADER_MAX bytes; encode_header writes
 * exactly header_size bytes.  Errors as veil_codec_encode's. */
#define VEIL_CODEC_HEADER_MAX                                                  \
    (1u + 2u * (VEIL_VARINT_MAX + VEIL_ROUTE_MAX_HOPS * (1u + VEIL_VARINT_MAX) + \
                VEIL_ROUTE_BYTES_MAX) + VEIL_VARINT_MAX)
VEIL_EXPORT size_t veil_codec_header_size(const veil_route *onward,
                                          const veil_route *ret,
                                          size_t payload_len);
VEIL_EXPORT int veil_codec_encode_header(const veil_route *onward,
                                         const veil_route *ret, size_t payload_len,
                                         uint8_t *out, size_t cap,
                                         size_t *written) VEIL_WUR;
VEIL_EXPORT int veil_codec_encode(const veil_route *onward, const veil_route *ret,
                                  const uint8_t *payload, size_t payload_len,
                                  uint8_t *out, size_t cap,
                                  size_t *written) VEIL_WUR;
VEIL_EXPORT int veil_codec_decode(const uint8_t *in, size_t len,
                                  size_t payload_max, veil_route *onward,
                                  veil_route *ret, const uint8_t **payload,
                                  size_t *payload_len) VEIL_WUR;

VEIL_END_DECLS
#endif
