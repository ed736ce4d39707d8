/* Transport nonce encodings (key_agreement.h): Noise's AESGCM puts the
 * counter big-endian, ChaChaPoly little-endian, both after 4 zero bytes
 * (Noise spec §12.3 / §12.4). */
#include <string.h>

#include <veil/key_agreement.h>

#include "helpers.h"

void veil_nonce_encode(int format, uint64_t n, uint8_t out[VEIL_AEAD_NONCE_BYTES])
{
    memset(out, 0, 4);
    if (format == VEIL_NONCE_ZERO32_BE64)
        veil__store_be64(out + 4, n);
    else
        veil__store_le64(out + 4, n);
}
