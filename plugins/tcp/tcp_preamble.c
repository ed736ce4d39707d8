/* The connection preamble (docs/PROTOCOL.md, "TCP framing", "Preamble"):
 *
 *   preamble = magic:6 = 89 56 45 49 4c 0a ("\x89VEIL\n")  version:u16 big-endian
 *
 * Both ends send it first on every connection; each checks the other's
 * before it parses a frame.  The check reads at most the 8 bytes it needs
 * from the connection's receive buffer (nothing is allocated for it), and
 * refuses at the first byte that differs from the magic, so another
 * protocol's peer is named at once (its bytes quoted, escaped and
 * truncated), not after a frame length was made of its text.  The high
 * first byte catches 7-bit channels, the newline text-mode conversions. */
#include "tcp.h"

#include <veil/error.h>

#include <stdio.h>
#include <string.h>

#include "helpers.h"

const uint8_t tcp_preamble[TCP_PREAMBLE_LEN] = {
    0x89, 'V', 'E', 'I', 'L', '\n', TCP_WIRE_VERSION >> 8, TCP_WIRE_VERSION & 0xff,
};
static const uint8_t *const magic = tcp_preamble;

size_t tcp_escape(const uint8_t *p, size_t n, size_t max_in, char *out, size_t cap)
{
    size_t at = 0, i;
    for (i = 0; i < n && i < max_in && at + 5 < cap; i++) {
        uint8_t b = p[i];
        if (b == '\r' || b == '\n' || b == '\t')
            at += (size_t)snprintf(out + at, cap - at, "\\%c", b == '\r' ? 'r' : b == '\n' ? 'n' : 't');
        else if (b == '\\' || b == '\'')
            at += (size_t)snprintf(out + at, cap - at, "\\%c", b);
        else if (b >= 0x20 && b < 0x7f)
            out[at++] = (char)b;
        else
            at += (size_t)snprintf(out + at, cap - at, "\\x%02x", b);
    }
    out[at] = '\0';
    return i;
}

/* The held bytes do not start with the magic. */
static int not_veil(const uint8_t *p, size_t held)
{
    char text[4 * TCP_PREAMBLE_QUOTE + 1];
    size_t shown = tcp_escape(p, held, TCP_PREAMBLE_QUOTE, text, sizeof text);
    const char *more = shown < held ? "..." : "";
    if (p[0] == 0x00)
        return veil_error_set(VEIL_EFORMAT, "tcp: the peer sent no veil-tcp preamble but "
                              "'%s%s' (%zu bytes held): a veil node older than veil-tcp v%u "
                              "(frames without a preamble), or not a veil node", text, more,
                              held, TCP_WIRE_VERSION);
    return veil_error_set(VEIL_EFORMAT, "tcp: the peer is not a veil node: it sent '%s%s' "
                          "(%zu bytes held), not the veil-tcp preamble", text, more, held);
}

int tcp_preamble_check(tcp_frame_reader *r)
{
    const uint8_t *p = r->buf + r->off;
    size_t held = r->len - r->off;
    size_t cmp = held < TCP_PREAMBLE_MAGIC_LEN ? held : TCP_PREAMBLE_MAGIC_LEN;
    if (memcmp(p, magic, cmp) != 0)
        return not_veil(p, held);
    if (held < TCP_PREAMBLE_LEN)
        return 0;
    uint16_t v = veil__load_be16(p + TCP_PREAMBLE_MAGIC_LEN);
    if (v != TCP_WIRE_VERSION)
        return veil_error_set(VEIL_EVERSION, "tcp: peer speaks veil-tcp v%u, this node v%u",
                              (unsigned)v, TCP_WIRE_VERSION);
    r->off += TCP_PREAMBLE_LEN;
    if (r->off == r->len)
        r->off = r->len = 0;
    return 1;
}
