/* Transport nonce encodings (key_agreement.h): Noise's AESGCM puts the
 * counter big-endian, ChaChaPoly little-endian, both after 4 zero bytes
 * (Noise spec §12.3 / §12.4); and Noise's Rekey built on them, which every
 * key agreement of this tree uses as its rekey op. */
#include <string.h>

#include <veil/error.h>
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

int veil_nonce_format_of(int cipher_type)
{
    switch (cipher_type) {
    case VEIL_SECRET_AES256GCM:
        return VEIL_NONCE_ZERO32_BE64;
    case VEIL_SECRET_CHACHAPOLY:
        return VEIL_NONCE_ZERO32_LE64;
    default:
        return 0;
    }
}

int veil_key_agreement_rekey(void *inst, veil_vault *v, veil_secret key, veil_secret *out)
{
    (void)inst;
    if (v == NULL || key == 0 || out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_key_agreement_rekey: vault, key and out must "
                              "be set");
    veil_secret_attrs a;
    int rc = veil_vault_attributes(v, key, &a);
    if (rc < 0)
        return veil_error_wrap(rc, "veil_key_agreement_rekey");
    int fmt = veil_nonce_format_of(a.type);
    if (fmt == 0)
        return veil_error_set(VEIL_ETYPE, "veil_key_agreement_rekey: rekey needs an AEAD key, "
                              "got a %s secret", veil_secret_type_name(a.type));
    uint8_t nonce[VEIL_AEAD_NONCE_BYTES];
    veil_nonce_encode(fmt, UINT64_MAX, nonce);
    return veil_vault_aead_rekey(v, key, nonce, NULL, out);
}
