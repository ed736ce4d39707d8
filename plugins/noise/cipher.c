/* CipherState (§5.1): a vault AEAD key handle and a 64-bit counter.
 *
 * The nonce is encoded per cipher (AESGCM big-endian, ChaChaPoly
 * little-endian, both after 4 zero bytes) by veil_nonce_encode.  2^64-1 is
 * reserved for Rekey and refused.  A failed decrypt leaves n unchanged, so
 * a forged message cannot desynchronise the two sides. */
#include "noise.h"

#include <string.h>

void noise_cipher_init(noise_cipher *c, veil_vault *v, int nonce_format)
{
    memset(c, 0, sizeof(*c));
    c->vault = v;
    c->nonce_format = nonce_format;
}

void noise_cipher_clear(noise_cipher *c)
{
    if (c->owns_key)
        veil__secret_drop(c->vault, &c->k);
    c->k = 0;
    c->n = 0;
    c->owns_key = false;
}

void noise_cipher_set_key(noise_cipher *c, veil_secret k, bool owns)
{
    noise_cipher_clear(c);
    c->k = k;
    c->owns_key = owns;
    c->n = 0;
}

bool noise_cipher_has_key(const noise_cipher *c)
{
    return c->k != 0;
}

static int check_len(size_t len, size_t extra)
{
    if (len > VEIL_KA_MESSAGE_MAX || len + extra > VEIL_KA_MESSAGE_MAX)
        return veil_error_set(VEIL_ELIMIT,
                              "noise: message of %zu bytes exceeds the %u-byte limit", len + extra,
                              VEIL_KA_MESSAGE_MAX);
    return 0;
}

int noise_cipher_encrypt_at(noise_cipher *c, uint64_t n, const uint8_t *ad, size_t ad_len,
                            uint8_t *buf, size_t len, size_t *out_len)
{
    if (c->k == 0) {
        *out_len = len;
        return 0;
    }
    if (n == NOISE_NONCE_MAX)
        return veil_error_set(VEIL_ENONCE, "noise: nonce 2^64-1 is reserved (Rekey only)");
    int rc = check_len(len, VEIL_AEAD_TAG_BYTES);
    if (rc < 0)
        return rc;
    uint8_t nonce[VEIL_AEAD_NONCE_BYTES];
    veil_nonce_encode(c->nonce_format, n, nonce);
    rc = veil_vault_aead_encrypt(c->vault, c->k, nonce, ad, ad_len, buf, len);
    if (rc < 0)
        return rc;
    *out_len = len + VEIL_AEAD_TAG_BYTES;
    return 0;
}

int noise_cipher_decrypt_at(noise_cipher *c, uint64_t n, const uint8_t *ad, size_t ad_len,
                            uint8_t *buf, size_t len, size_t *out_len)
{
    if (c->k == 0) {
        *out_len = len;
        return 0;
    }
    if (n == NOISE_NONCE_MAX)
        return veil_error_set(VEIL_ENONCE, "noise: nonce 2^64-1 is reserved (Rekey only)");
    if (len < VEIL_AEAD_TAG_BYTES)
        return veil_error_set(VEIL_ETRUNCATED,
                              "noise: ciphertext of %zu bytes is shorter than the %u-byte tag", len,
                              VEIL_AEAD_TAG_BYTES);
    int rc = check_len(len, 0);
    if (rc < 0)
        return rc;
    uint8_t nonce[VEIL_AEAD_NONCE_BYTES];
    veil_nonce_encode(c->nonce_format, n, nonce);
    rc = veil_vault_aead_decrypt(c->vault, c->k, nonce, ad, ad_len, buf, len);
    if (rc < 0)
        return rc;
    *out_len = len - VEIL_AEAD_TAG_BYTES;
    return 0;
}

int noise_cipher_encrypt(noise_cipher *c, const uint8_t *ad, size_t ad_len, uint8_t *buf,
                         size_t len, size_t *out_len)
{
    int rc = noise_cipher_encrypt_at(c, c->n, ad, ad_len, buf, len, out_len);
    if (rc == 0 && c->k != 0)
        c->n++;
    return rc;
}

int noise_cipher_decrypt(noise_cipher *c, const uint8_t *ad, size_t ad_len, uint8_t *buf,
                         size_t len, size_t *out_len)
{
    int rc = noise_cipher_decrypt_at(c, c->n, ad, ad_len, buf, len, out_len);
    if (rc == 0 && c->k != 0)
        c->n++;
    return rc;
}

int noise_cipher_rekey(noise_cipher *c)
{
    if (c->k == 0)
        return veil_error_set(VEIL_ESTATE, "noise: rekey on a cipher state without a key");
    veil_secret nk = 0;
    int rc = veil_key_agreement_rekey(NULL, c->vault, c->k, &nk);
    if (rc < 0)
        return rc;
    /* Rekey keeps the counter (§11.3); the new key is ours to destroy. */
    if (c->owns_key)
        veil__secret_drop(c->vault, &c->k);
    c->k = nk;
    c->owns_key = true;
    return 0;
}
