/* Portal stream frames (docs/PROTOCOL.md, "Portal streams"): every decoder
 * path bounds-checks before it reads. */

#include <veil/error.h>
#include <veil/portal.h>

#include "helpers.h"

size_t veil_portal_frame_header(uint8_t *out, uint8_t type, uint32_t stream, uint32_t seq,
                                uint32_t credit)
{
    out[0] = VEIL_PORTAL_VERSION;
    out[1] = type;
    veil__store_be32(out + 2, stream);
    veil__store_be32(out + 6, seq);
    if (type != VEIL_PORTAL_CREDIT)
        return VEIL_PORTAL_HEADER;
    veil__store_be32(out + VEIL_PORTAL_HEADER, credit);
    return VEIL_PORTAL_HEADER + 4u;
}

static int check_body(veil_portal_frame *f)
{
    switch (f->type) {
    case VEIL_PORTAL_OPEN:
    case VEIL_PORTAL_FIN:
        return f->body_len == 0 ? 0 : veil_error_set(VEIL_EFORMAT, "portal frame type %u "
                                                     "carries %zu body bytes (none belong)",
                                                     f->type, f->body_len);
    case VEIL_PORTAL_DATA:
        if (f->body_len == 0)
            return veil_error_set(VEIL_EFORMAT, "portal DATA frame is empty");
        return f->body_len <= VEIL_PORTAL_DATA_MAX
                   ? 0 : veil_error_set(VEIL_ELIMIT, "portal DATA of %zu bytes (at most %u)",
                                        f->body_len, VEIL_PORTAL_DATA_MAX);
    case VEIL_PORTAL_RESET:
        return f->body_len <= VEIL_PORTAL_REASON_MAX
                   ? 0 : veil_error_set(VEIL_ELIMIT, "portal RESET reason of %zu bytes (at "
                                        "most %u)", f->body_len, VEIL_PORTAL_REASON_MAX);
    case VEIL_PORTAL_CREDIT:
        if (f->body_len < 4)
            return veil_error_set(VEIL_ETRUNCATED, "portal CREDIT: %zu body bytes, expected 4",
                                  f->body_len);
        if (f->body_len > 4)
            return veil_error_set(VEIL_ETRAILING, "portal CREDIT: %zu body bytes, expected 4",
                                  f->body_len);
        f->credit = veil__load_be32(f->body);
        return f->credit != 0 ? 0 : veil_error_set(VEIL_EFORMAT, "portal CREDIT of 0 bytes");
    default:
        return veil_error_set(VEIL_EFORMAT, "portal frame type %u unknown (1..5)", f->type);
    }
}

int veil_portal_frame_decode(const uint8_t *buf, size_t len, veil_portal_frame *out)
{
    if (buf == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "portal frame: NULL argument");
    if (len < VEIL_PORTAL_HEADER)
        return veil_error_set(VEIL_ETRUNCATED, "portal frame of %zu bytes (header is %u)", len,
                              VEIL_PORTAL_HEADER);
    if (buf[0] != VEIL_PORTAL_VERSION)
        return veil_error_set(VEIL_EVERSION, "portal frame version %u (expected %u)", buf[0],
                              VEIL_PORTAL_VERSION);
    out->type = buf[1];
    out->stream = veil__load_be32(buf + 2);
    out->seq = veil__load_be32(buf + 6);
    out->body = buf + VEIL_PORTAL_HEADER;
    out->body_len = len - VEIL_PORTAL_HEADER;
    out->credit = 0;
    if (out->stream == 0)
        return veil_error_set(VEIL_EFORMAT, "portal frame for stream 0 (ids start at 1)");
    return check_body(out);
}
