/* SymmetricState (§5.2): h as public bytes, ck and k as vault secrets.
 *
 * HKDF (§4.3) is the vault's RFC 5869 HKDF with empty info: its outputs are
 * T(1), T(2), T(3) exactly as Noise defines them, created straight into
 * vault secrets so the chaining key and cipher keys never appear in memory
 * here.  The only derived value that must be public is MixKeyAndHash's
 * temp_h, which goes into h: it is made exportable, read once, destroyed. */
#include "noise.h"

#include <string.h>

static const uint8_t empty[1];

static veil_secret_attrs buffer_attrs(size_t len, bool exportable)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof(a));
    a.type = VEIL_SECRET_BUFFER;
    a.persistence = VEIL_EPHEMERAL;
    a.exportable = exportable;
    a.length = (uint16_t)len;
    return a;
}

static veil_secret_attrs key_attrs(int cipher_type)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof(a));
    a.type = cipher_type;
    a.persistence = VEIL_EPHEMERAL;
    return a;
}

int noise_symmetric_init(noise_symmetric *ss, veil_vault *v, const noise_protocol *proto)
{
    memset(ss, 0, sizeof(*ss));
    ss->vault = v;
    ss->proto = proto;
    noise_cipher_init(&ss->cs, v, proto->nonce_format);
    size_t len = strlen(proto->name);
    if (len <= proto->hashlen) {
        memcpy(ss->h, proto->name, len);   /* zero-padded to HASHLEN */
    } else {
        veil_iovec part = { proto->name, len };
        int rc = veil_vault_hash(v, proto->hash_alg, &part, 1, ss->h);
        if (rc < 0)
            return rc;
    }
    veil_secret_attrs a = buffer_attrs(proto->hashlen, false);
    return veil_vault_import(v, &a, ss->h, proto->hashlen, &ss->ck);
}

int noise_symmetric_mix_hash(noise_symmetric *ss, const uint8_t *data, size_t len)
{
    uint8_t out[VEIL_HASH_MAX_BYTES];
    veil_iovec parts[2] = { { ss->h, ss->proto->hashlen }, { len ? data : empty, len } };
    int rc = veil_vault_hash(ss->vault, ss->proto->hash_alg, parts, 2, out);
    if (rc < 0)
        return rc;
    memcpy(ss->h, out, ss->proto->hashlen);
    return 0;
}

/* The new ck replaces the old one only when the whole derivation worked. */
static void replace_ck(noise_symmetric *ss, veil_secret ck)
{
    veil__secret_drop(ss->vault, &ss->ck);
    ss->ck = ck;
}

int noise_symmetric_mix_key(noise_symmetric *ss, const veil_vault_input *ikm)
{
    veil_vault_input salt = { ss->ck, NULL, 0 };
    veil_secret_attrs attrs[2] = { buffer_attrs(ss->proto->hashlen, false),
                                   key_attrs(ss->proto->cipher_type) };
    veil_secret out[2] = { 0, 0 };
    int rc = veil_vault_hkdf(ss->vault, ss->proto->hash_alg, &salt, ikm, 1, NULL, 0, attrs, 2,
                             out);
    if (rc < 0)
        return rc;
    replace_ck(ss, out[0]);
    noise_cipher_set_key(&ss->cs, out[1], true);
    return 0;
}

int noise_symmetric_mix_key_and_hash(noise_symmetric *ss, const veil_vault_input *ikm)
{
    size_t hl = ss->proto->hashlen;
    veil_vault_input salt = { ss->ck, NULL, 0 };
    veil_secret_attrs attrs[3] = { buffer_attrs(hl, false), buffer_attrs(hl, true),
                                   key_attrs(ss->proto->cipher_type) };
    veil_secret out[3] = { 0, 0, 0 };
    uint8_t temp_h[VEIL_HASH_MAX_BYTES];
    size_t got = 0;
    int rc = veil_vault_hkdf(ss->vault, ss->proto->hash_alg, &salt, ikm, 1, NULL, 0, attrs, 3,
                             out);
    if (rc < 0)
        return rc;
    rc = veil_vault_export(ss->vault, out[1], temp_h, sizeof(temp_h), &got);
    if (rc == 0 && got != hl)
        rc = veil_error_set(VEIL_EFORMAT, "noise: temp_h is %zu bytes, expected %zu", got, hl);
    if (rc == 0)
        rc = noise_symmetric_mix_hash(ss, temp_h, hl);
    veil__memzero(temp_h, sizeof(temp_h));
    veil__secret_drop(ss->vault, &out[1]);
    if (rc < 0) {
        veil__secret_drop(ss->vault, &out[0]);
        veil__secret_drop(ss->vault, &out[2]);
        return rc;
    }
    replace_ck(ss, out[0]);
    noise_cipher_set_key(&ss->cs, out[2], true);
    return 0;
}

int noise_symmetric_encrypt_and_hash(noise_symmetric *ss, uint8_t *buf, size_t len,
                                     size_t *out_len)
{
    int rc = noise_cipher_encrypt(&ss->cs, ss->h, ss->proto->hashlen, buf, len, out_len);
    if (rc < 0)
        return rc;
    return noise_symmetric_mix_hash(ss, buf, *out_len);
}

/* h must absorb the ciphertext, which decryption overwrites in place, so
 * the next h is computed first and committed only after the tag checks. */
int noise_symmetric_decrypt_and_hash(noise_symmetric *ss, uint8_t *buf, size_t len,
                                     size_t *out_len)
{
    uint8_t next_h[VEIL_HASH_MAX_BYTES];
    veil_iovec parts[2] = { { ss->h, ss->proto->hashlen }, { len ? buf : empty, len } };
    int rc = veil_vault_hash(ss->vault, ss->proto->hash_alg, parts, 2, next_h);
    if (rc < 0)
        return rc;
    rc = noise_cipher_decrypt(&ss->cs, ss->h, ss->proto->hashlen, buf, len, out_len);
    if (rc < 0)
        return rc;
    memcpy(ss->h, next_h, ss->proto->hashlen);
    return 0;
}

int noise_symmetric_split(noise_symmetric *ss, veil_secret *k1, veil_secret *k2)
{
    veil_vault_input salt = { ss->ck, NULL, 0 };
    veil_vault_input ikm = { 0, empty, 0 };       /* zero-length input key material */
    veil_secret_attrs attrs[2] = { key_attrs(ss->proto->cipher_type),
                                   key_attrs(ss->proto->cipher_type) };
    veil_secret out[2] = { 0, 0 };
    int rc = veil_vault_hkdf(ss->vault, ss->proto->hash_alg, &salt, &ikm, 1, NULL, 0, attrs, 2,
                             out);
    if (rc < 0)
        return rc;
    *k1 = out[0];
    *k2 = out[1];
    return 0;
}

void noise_symmetric_clear(noise_symmetric *ss)
{
    if (ss->vault == NULL)
        return;
    noise_cipher_clear(&ss->cs);
    veil__secret_drop(ss->vault, &ss->ck);
    veil__memzero(ss->h, sizeof(ss->h));
}
