/* Secure channel frame decoders (no crypto): the outer frame, the inner
 * message of a decrypted data frame, and the identity proof inside KA
 * messages 2 and 3.  Everything is bounds-checked
 * first; both are fuzzed (tests/fuzz/fuzz_channel.c).  Layouts:
 * docs/PROTOCOL.md, "Secure channel". */
#include "channel_internal.h"

#include <veil/codec.h>
#include <veil/error.h>

#include <string.h>

/* HS1's body (and HS1_COOKIE's before the cookie): KA message 1 ||
 * protocol || protocol_len:u8.  The name is checked printable here, so
 * logs and errors can quote it. */
static int hs1_parse(const uint8_t *in, size_t n, veil_ch_frame *out)
{
    if (n < 2u || in[n - 1u] == 0 || in[n - 1u] > VEIL_KA_PROTOCOL_NAME_MAX ||
        in[n - 1u] > n - 1u)
        return veil_error_set(VEIL_EFORMAT, "channel frame: first handshake message of %zu "
                              "bytes without a valid protocol name (length byte %u; 1..%u, "
                              "channel handshake version 3 or later)", n, n > 0 ? in[n - 1u] : 0u,
                              VEIL_KA_PROTOCOL_NAME_MAX);
    out->protocol_len = in[n - 1u];
    out->protocol = in + n - 1u - out->protocol_len;
    for (size_t i = 0; i < out->protocol_len; i++)
        if (out->protocol[i] < 0x20 || out->protocol[i] > 0x7e)
            return veil_error_set(VEIL_EFORMAT, "channel frame: protocol name byte %zu is 0x%02x "
                                  "(printable ASCII only)", i, out->protocol[i]);
    out->body = in;
    out->body_len = n - 1u - out->protocol_len;
    if (out->body_len > VEIL_KA_MESSAGE_MAX)
        return veil_error_set(VEIL_ELIMIT, "channel frame: handshake message of %zu bytes "
                              "(limit %u)", out->body_len, VEIL_KA_MESSAGE_MAX);
    return 0;
}

int veil__ch_frame_parse(const uint8_t *in, size_t len, veil_ch_frame *out)
{
    if (in == NULL || len == 0)
        return veil_error_set(VEIL_ETRUNCATED, "channel frame: empty (expected a type byte)");
    memset(out, 0, sizeof *out);
    out->type = in[len - 1u];
    switch (out->type) {
    case VEIL_CH_HS1:
        return hs1_parse(in, len - 1u, out);
    case VEIL_CH_HS2:
    case VEIL_CH_HS3:
        if (len - 1u > VEIL_KA_MESSAGE_MAX)
            return veil_error_set(VEIL_ELIMIT, "channel frame: handshake message of %zu bytes "
                                  "(limit %u)", len - 1u, VEIL_KA_MESSAGE_MAX);
        out->body = in;
        out->body_len = len - 1u;
        return 0;
    case VEIL_CH_HS1_COOKIE:
        if (len - 1u < VEIL_CH_COOKIE_BYTES)
            return veil_error_set(VEIL_EFORMAT, "channel frame: first handshake message with a "
                                  "cookie of %zu bytes (at least %u)", len - 1u,
                                  VEIL_CH_COOKIE_BYTES);
        out->cookie = in + len - 1u - VEIL_CH_COOKIE_BYTES;
        return hs1_parse(in, len - 1u - VEIL_CH_COOKIE_BYTES, out);
    case VEIL_CH_COOKIE:
        if (len - 1u != VEIL_CH_COOKIE_BYTES)
            return veil_error_set(VEIL_EFORMAT, "channel frame: cookie of %zu bytes (expected %u)",
                                  len - 1u, VEIL_CH_COOKIE_BYTES);
        out->cookie = in;
        return 0;
    case VEIL_CH_NOTICE: {
        int code;
        if (!veil__notice_parse(in, len, &code))
            return veil_error_set(VEIL_EFORMAT, "channel frame: type 0x0f that is no "
                                  "undeliverable notice (%zu bytes)", len);
        out->body = in;
        out->body_len = len - 1u;
        return 0;
    }
    case VEIL_CH_HSERR:
        if (len < 2u || len - 1u > VEIL_CH_HSERR_MAX)
            return veil_error_set(VEIL_EFORMAT, "channel frame: handshake refusal of %zu bytes "
                                  "(1..%u)", len - 1u, VEIL_CH_HSERR_MAX);
        out->body = in;
        out->body_len = len - 1u;
        return 0;
    case VEIL_CH_DATA:
    case VEIL_CH_CLOSE:
    case VEIL_CH_ACCEPT:
    case VEIL_CH_REFUSE:
    case VEIL_CH_PING:
    case VEIL_CH_PONG:
        if (len < VEIL_CH_OVERHEAD)
            return veil_error_set(VEIL_ETRUNCATED, "channel frame: type 0x%02x has %zu bytes, "
                                  "need at least %u (tag, nonce, type)", out->type, len,
                                  VEIL_CH_OVERHEAD);
        out->nonce = veil__load_be64(in + len - VEIL_CH_TRAILER);
        if (out->nonce == UINT64_MAX)
            return veil_error_set(VEIL_EFORMAT, "channel frame: nonce 2^64-1 is reserved");
        out->body = in;
        out->body_len = len - VEIL_CH_TRAILER;
        return 0;
    default:
        return veil_error_set(VEIL_EFORMAT, "channel frame: unknown type 0x%02x in its last byte "
                              "(offset %zu)", out->type, len - 1u);
    }
}

int veil__ch_inner_parse(const uint8_t *plain, size_t len, size_t max, veil_route *onward,
                         veil_route *ret, size_t *payload_len)
{
    if (len < 4u)
        return veil_error_set(VEIL_ETRUNCATED, "channel data: %zu bytes, need at least the "
                              "4-byte payload length", len);
    size_t end = len - 4u;
    uint32_t plen = veil__load_be32(plain + end);
    if (plen > end)
        return veil_error_set(VEIL_ETRUNCATED, "channel data: payload length %u past the routes "
                              "(%zu bytes before the length)", plen, end);
    if (plen > max)
        return veil_error_set(VEIL_ELIMIT, "channel data: payload of %u bytes (max_message = %zu)",
                              plen, max);
    size_t pos = plen;
    int rc = veil_route_decode(onward, plain, end, &pos);
    if (rc == 0)
        rc = veil_route_decode(ret, plain, end, &pos);
    if (rc < 0)
        return rc;
    if (pos != end)
        return veil_error_set(VEIL_ETRAILING, "channel data: %zu bytes after the return route "
                              "(offset %zu)", end - pos, pos);
    *payload_len = plen;
    return 0;
}

int veil__ch_proof_parse(const uint8_t *in, size_t len, veil_ch_proof *out)
{
    if (len < VEIL_CH_PROOF_MIN)
        return veil_error_set(VEIL_ETRUNCATED, "channel identity proof: %zu bytes, need at least "
                              "%u (version, expiry, signature)", len, VEIL_CH_PROOF_MIN);
    if (in[0] != VEIL_CH_PROOF_VERSION)
        return veil_error_set(VEIL_EVERSION, "channel identity proof: version %u (expected %u)",
                              in[0], VEIL_CH_PROOF_VERSION);
    size_t hlen = len - VEIL_CH_PROOF_MIN;
    if (hlen == 0)
        return veil_error_set(VEIL_ETRUNCATED, "channel identity proof: no change history "
                              "after the signature (offset %u)", VEIL_CH_PROOF_MIN);
    if (hlen > VEIL_HISTORY_MAX_BYTES)
        return veil_error_set(VEIL_ELIMIT, "channel identity proof: history of %zu bytes "
                              "(limit %u)", hlen, VEIL_HISTORY_MAX_BYTES);
    out->expires = veil__load_be64(in + 1);
    out->sig = in + 1 + 8;
    out->history = in + VEIL_CH_PROOF_MIN;
    out->history_len = hlen;
    return 0;
}
