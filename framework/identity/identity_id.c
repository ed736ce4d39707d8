/* Identifiers and identity key types (docs/PROTOCOL.md, "Identity change
 * history" and "Identity key types"): the history's key type tags, the
 * identifier's digest of a root key of either type, and the text form
 * "P" + 64 hex digits. */
#include <veil/entity.h>
#include <veil/error.h>
#include <veil/vault.h>

#include <string.h>

#include "identity_internal.h"
#include "core/util.h"

void veil__identifier_format(const uint8_t digest[32], char out[VEIL_IDENTIFIER_LEN + 1])
{
    out[0] = 'P';
    veil__hex_encode(digest, 32, out + 1);
}

int veil_identifier_parse(const char *text, uint8_t digest[32])
{
    if (text == NULL || digest == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_identifier_parse: %s is NULL",
                              text == NULL ? "text" : "digest");
    size_t n = strnlen(text, VEIL_IDENTIFIER_LEN + 1);
    if (text[0] != 'P')
        return veil_error_set(VEIL_EFORMAT, "identifier '%.80s' does not start with 'P' "
                              "(expected P followed by 64 hex digits)", text);
    if (n != VEIL_IDENTIFIER_LEN)
        return veil_error_set(VEIL_EFORMAT, "identifier '%.80s' is %s %u characters "
                              "(expected P followed by 64 hex digits)", text,
                              n > VEIL_IDENTIFIER_LEN ? "longer than" : "not",
                              (unsigned)VEIL_IDENTIFIER_LEN);
    uint8_t tmp[32];
    size_t got;
    int rc = veil__hex_decode(text + 1, tmp, sizeof tmp, &got);
    if (rc < 0)
        return veil_error_wrap(VEIL_EFORMAT, "identifier '%s'", text);
    memcpy(digest, tmp, 32);
    return 0;
}

unsigned veil__key_tag(int key_type)
{
    return key_type == VEIL_SECRET_ED25519 ? VEIL_KEY_TYPE_ED25519
           : key_type == VEIL_SECRET_P256  ? VEIL_KEY_TYPE_P256
                                           : 0;
}

int veil__key_type_of_tag(unsigned tag)
{
    return tag == VEIL_KEY_TYPE_ED25519 ? VEIL_SECRET_ED25519
           : tag == VEIL_KEY_TYPE_P256  ? VEIL_SECRET_P256
                                        : 0;
}

int veil__key_type_parse(const char *name)
{
    return strcmp(name, "ed25519") == 0 ? VEIL_SECRET_ED25519
           : strcmp(name, "p256") == 0  ? VEIL_SECRET_P256
                                        : 0;
}

/* The identifier's digest: SHA-256 of the root key for Ed25519 (as before
 * P-256 existed, so those identifiers stay), of tag || key for P-256.  The
 * hashed strings are 32 bytes for Ed25519 and 34 for P-256, so no two
 * (type, key) pairs hash the same string. */
int veil__identifier_digest(veil_vault *v, int type, const uint8_t *key, size_t len,
                            uint8_t out[32])
{
    uint8_t tag = (uint8_t)veil__key_tag(type);
    veil_iovec iov[2] = { { &tag, 1 }, { key, len } };
    if (type == VEIL_SECRET_ED25519)
        return veil_vault_hash(v, VEIL_HASH_SHA256, iov + 1, 1, out);
    return veil_vault_hash(v, VEIL_HASH_SHA256, iov, 2, out);
}
