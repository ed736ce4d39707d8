/* libFuzzer target for the wire codec: decode arbitrary bytes; anything
 * accepted must re-encode to exactly the same bytes (one encoding per
 * message), and the standalone route and varint decoders must agree. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <veil/codec.h>
#include <veil/error.h>
#include <veil/message.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[VEIL_PAYLOAD_MAX + 8192];

static void check_message(const uint8_t *data, size_t size)
{
    veil_route on, ret;
    const uint8_t *payload;
    size_t plen, n = 0;
    int rc = veil_codec_decode(data, size, 0, &on, &ret, &payload, &plen);

    if (rc != 0) {
        if (rc != VEIL_ETRUNCATED && rc != VEIL_EOVERLONG && rc != VEIL_ELIMIT &&
            rc != VEIL_ETRAILING && rc != VEIL_EVERSION)
            abort();
        if (veil_last_error()[0] == '\0')
            abort();
        return;
    }
    if (payload < data || payload + plen != data + size)
        abort(); /* payload must be a view of the input's tail */
    if (veil_codec_encoded_size(&on, &ret, plen) != size)
        abort();
    if (veil_codec_encode(&on, &ret, payload, plen, out, sizeof out, &n) != 0)
        abort();
    if (n != size || memcmp(out, data, size) != 0)
        abort();
}

static void check_route(const uint8_t *data, size_t size)
{
    veil_route r;
    size_t pos = 0, epos = 0;

    if (veil_route_decode(&r, data, size, &pos) != 0)
        return;
    if (veil_route_encode(&r, out, sizeof out, &epos) != 0)
        abort();
    if (epos != pos || memcmp(out, data, pos) != 0)
        abort();
}

static void check_varint(const uint8_t *data, size_t size)
{
    uint64_t v;
    size_t pos = 0;
    uint8_t enc[VEIL_VARINT_MAX];

    if (veil_varint_decode(data, size, &pos, &v) != 0)
        return;
    if (veil_varint_encode(v, enc, sizeof enc) != pos || memcmp(enc, data, pos) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_message(data, size);
    check_route(data, size);
    check_varint(data, size);
    return 0;
}
