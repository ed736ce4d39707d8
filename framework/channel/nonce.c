/* Transport nonce encodings (key_agreement.h): Noise's AESGCM puts the
 * counter big-endian, ChaChaPoly little-endian, both after 4 zero bytes
 * (Noise spec §12.3 / §12.4). */
#include <string.h>

#include <veil/key_agreement.h>

void veil_nonce_encode(int format, uint64_t n, uint8_t out[VEIL_AEAD_NONCE_BYTES])
{
    memset(out, 0, VEIL_AEAD_NONCE_BYTES);
    for (int i = 0; i < 8; i++) {
        uint8_t b = (uint8_t)(n >> (8 * i));
        if (format == VEIL_NONCE_ZERO32_BE64)
            out[11 - i] = b;
        else
            out[4 + i] = b;
    }
}
