/* libFuzzer target for the relay registration messages (docs/PROTOCOL.md,
 * "Relay registration"): the registry decodes what any channel peer sends.
 * A refusal has one of the documented codes and a detail; anything
 * accepted re-encodes to exactly the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <veil/error.h>

#include "relay_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    veil_relay_msg m;
    uint8_t out[VEIL_RELAY_MSG_MAX];
    int rc = veil__relay_decode(data, size, &m);
    if (rc != 0) {
        if (rc != VEIL_ETRUNCATED && rc != VEIL_ETRAILING && rc != VEIL_EVERSION &&
            rc != VEIL_EFORMAT)
            abort();
        if (veil_last_error()[0] == '\0')
            abort();
        return 0;
    }
    int n = veil__relay_encode(&m, out, sizeof out);
    if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
        abort();
    return 0;
}
