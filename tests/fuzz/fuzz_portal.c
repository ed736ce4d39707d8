/* libFuzzer target for the portal stream codec (docs/PROTOCOL.md, "Portal
 * streams"): decode arbitrary bytes; a refusal has one of the documented
 * codes and a detail; an accepted frame is a view of the input whose
 * header re-encodes to the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <veil/error.h>
#include <veil/portal.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    veil_portal_frame f;
    uint8_t h[VEIL_PORTAL_HEADER + 4];
    int rc = veil_portal_frame_decode(data, size, &f);
    if (rc != 0) {
        if (rc != VEIL_ETRUNCATED && rc != VEIL_EVERSION && rc != VEIL_EFORMAT &&
            rc != VEIL_ELIMIT && rc != VEIL_ETRAILING)
            abort();
        if (veil_last_error()[0] == '\0')
            abort();
        return 0;
    }
    if (f.body != data + VEIL_PORTAL_HEADER || f.body_len != size - VEIL_PORTAL_HEADER)
        abort();
    size_t n = veil_portal_frame_header(h, f.type, f.stream, f.seq, f.credit);
    if (n > size || memcmp(h, data, n) != 0)
        abort();
    if (f.type == VEIL_PORTAL_DATA && (f.body_len == 0 || f.body_len > VEIL_PORTAL_DATA_MAX))
        abort();
    return 0;
}
