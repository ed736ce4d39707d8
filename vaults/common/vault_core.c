/* The vault core's operations over the secret table: backend choice,
 * generate/import, DH, AEAD and rekey.  (Table and lookups: keystore.c;
 * hash/HMAC/HKDF: kdf.c; signatures: sign.c.) */
#include "config.h"

#include <string.h>

#include <veil/error.h>

#include "core_internal.h"
#include "p256.h"

int vc_backend_by_name(const char *name, const vc_backend **out)
{
    if (strcmp(name, "sodium") == 0)
        return vc_backend_sodium(out);
    if (strcmp(name, "openssl") == 0)
        return vc_backend_openssl(out);
    return veil_error_set(VEIL_EINVAL, "unknown crypto backend '%s' (accepted: sodium, openssl)",
                          name);
}

int vc_backend_from_scope(const veil_config_scope *scope, const vc_backend **out)
{
    const char *name = veil_config_scope_get(scope, VC_CRYPTO_KEY);
    const char *origin = veil_config_scope_origin(scope, VC_CRYPTO_KEY);
    if (name == NULL)
        name = VC_CRYPTO_DEFAULT;
    if (strcmp(name, "sodium") != 0 && strcmp(name, "openssl") != 0)
        return veil_error_set(VEIL_ECONFIG,
                              "%s: unknown value '%s' for key '" VC_CRYPTO_KEY
                              "' in [%s] (accepted: sodium, openssl)",
                              origin ? origin : "<config>", name, scope->section);
    return vc_backend_by_name(name, out);
}

int vc_open_scope(const veil_config_scope *scope, vc_vault **out)
{
    const vc_backend *be;
    int rc = vc_backend_from_scope(scope, &be);
    return rc != 0 ? rc : vc_new(be, out);
}

int vc_op_init(const veil_config_scope *scope, void **state)
{
    const vc_backend *be;
    *state = NULL;
    return vc_backend_from_scope(scope, &be);
}

int vc_op_instance_new(void *plugin_state, const veil_config_scope *scope, void **vault)
{
    (void)plugin_state;
    vc_vault *v;
    int rc = vc_open_scope(scope, &v);
    if (rc == 0)
        *vault = v;
    return rc;
}

void vc_op_instance_free(void *vault)
{
    vc_free(vault);
}

const char *vc_op_backend(void *vault)
{
    return ((vc_vault *)vault)->be->name;
}

int vc_op_random(void *vault, uint8_t *out, size_t len)
{
    return ((vc_vault *)vault)->be->random(out, len);
}

static int create_commit(vc_vault *v, const veil_secret_attrs *attrs, const uint8_t *bytes,
                         size_t len, veil_secret *out)
{
    veil_secret s;
    int rc = vc_create(v, attrs, bytes, len, &s);
    if (rc == 0 && (rc = vc_commit(v, &s, 1)) == 0)
        *out = s;
    return rc;
}

int vc_op_generate(void *vault, const veil_secret_attrs *attrs, veil_secret *out)
{
    vc_vault *v = vault;
    uint8_t buf[VEIL_SECRET_MAX_BYTES];
    size_t len = attrs->type == VEIL_SECRET_BUFFER ? attrs->length
                                                   : veil_secret_type_len(attrs->type);
    if (len == 0 || len > sizeof buf)
        return veil_error_set(VEIL_EINVAL, "generate: type %s with length %u (buffers: 1..%u)",
                              veil_secret_type_name(attrs->type), attrs->length,
                              VEIL_SECRET_MAX_BYTES);
    int rc = v->be->random(buf, len);
    /* A P-256 scalar is a random 256-bit string below n (FIPS 186-5
     * A.2.2, rejection sampling): a draw >= n has probability < 2^-32. */
    for (int tries = 1; rc == 0 && attrs->type == VEIL_SECRET_P256 &&
                        !vc_p256_scalar_valid(buf); tries++)
        rc = tries < 8 ? v->be->random(buf, len)
                       : veil_error_set(VEIL_EIO, "generate: no P-256 scalar below n in "
                                        "8 draws (is the random source broken?)");
    if (rc == 0)
        rc = create_commit(v, attrs, buf, len, out);
    veil__memzero(buf, sizeof buf);
    return rc;
}

int vc_op_import(void *vault, const veil_secret_attrs *attrs, const uint8_t *data, size_t len,
                 veil_secret *out)
{
    return create_commit(vault, attrs, data, len, out);
}

/* Constant time: 0 iff all n bytes are zero. */
static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return (int)((((unsigned)acc) - 1u) >> 8) & 1;
}

int vc_op_dh(void *vault, veil_secret priv, const uint8_t *peer_public, size_t peer_len,
             const veil_secret_attrs *out_attrs, veil_secret *out)
{
    vc_vault *v = vault;
    vc_entry *e = NULL;
    uint8_t shared[VEIL_X448_KEY_BYTES];
    veil_secret_attrs def = { .type = VEIL_SECRET_BUFFER, .persistence = VEIL_EPHEMERAL };
    int rc = vc_lookup(v, priv, "dh", &e);
    if (rc != 0)
        return rc;
    if (e->attrs.type != VEIL_SECRET_X25519 && e->attrs.type != VEIL_SECRET_X448)
        return vc_type_error(v, e, "dh", "x25519 or x448");
    size_t n = e->len;
    if (peer_len != n)
        return veil_error_set(VEIL_EINVAL, "dh: peer public key is %zu bytes, expected %zu for %s",
                              peer_len, n, veil_secret_type_name(e->attrs.type));
    if (out_attrs == NULL)
        out_attrs = &def;
    if (out_attrs->type != VEIL_SECRET_BUFFER || (out_attrs->length != 0 && out_attrs->length != n))
        return veil_error_set(VEIL_EINVAL,
                              "dh: out_attrs must be a buffer of length 0 or %zu (got %s, %u)", n,
                              veil_secret_type_name(out_attrs->type), out_attrs->length);
    veil_secret_attrs a = *out_attrs;
    a.length = (uint16_t)n;
    if (e->xkey != NULL) /* the backend's key object, made once with the secret */
        rc = v->be->xkey_dh(e->xkey, shared, peer_public);
    else if (e->attrs.type == VEIL_SECRET_X25519)
        rc = v->be->x25519(shared, vc_bytes(v, e), peer_public);
    else
        rc = v->be->x448(shared, vc_bytes(v, e), peer_public);
    if (rc == 0 && all_zero(shared, n))
        rc = veil_error_set(VEIL_ELOWORDER,
                            "dh: %s shared secret is all zero: the peer's public key has low order",
                            veil_secret_type_name(e->attrs.type));
    if (rc == 0)
        rc = create_commit(v, &a, shared, n, out);
    veil__memzero(shared, sizeof shared);
    return rc;
}

static int aead_key(vc_vault *v, veil_secret key, const char *op, vc_entry **e)
{
    int rc = vc_lookup(v, key, op, e);
    if (rc == 0 && (*e)->aead == NULL)
        rc = vc_type_error(v, *e, op, "aes256gcm or chachapoly");
    return rc;
}

int vc_op_aead_encrypt(void *vault, veil_secret key, const uint8_t nonce[12], const uint8_t *ad,
                       size_t ad_len, uint8_t *buf, size_t len)
{
    vc_vault *v = vault;
    vc_entry *e = NULL;
    int rc = aead_key(v, key, "aead_encrypt", &e);
    return rc != 0 ? rc : v->be->aead_encrypt(e->aead, nonce, ad, ad_len, buf, len);
}

int vc_op_aead_decrypt(void *vault, veil_secret key, const uint8_t nonce[12], const uint8_t *ad,
                       size_t ad_len, uint8_t *buf, size_t len)
{
    vc_vault *v = vault;
    vc_entry *e = NULL;
    int rc = aead_key(v, key, "aead_decrypt", &e);
    if (rc != 0)
        return rc;
    if (len < VEIL_AEAD_TAG_BYTES)
        return veil_error_set(VEIL_EINVAL, "aead_decrypt: len %zu is shorter than the tag", len);
    rc = v->be->aead_decrypt(e->aead, nonce, ad, ad_len, buf, len - VEIL_AEAD_TAG_BYTES);
    if (rc != 0) {
        /* Release no unauthenticated byte (the tag goes too). */
        veil__memzero(buf, len);
        if (rc == VEIL_EAUTH)
            rc = veil_error_set(VEIL_EAUTH, "aead_decrypt: authentication tag does not verify "
                                            "(wrong key, nonce, AD, or tampered data)");
    }
    return rc;
}

int vc_op_aead_rekey(void *vault, veil_secret key, const uint8_t nonce[12],
                     const veil_secret_attrs *out_attrs, veil_secret *out)
{
    vc_vault *v = vault;
    vc_entry *e = NULL;
    uint8_t tmp[VEIL_AEAD_KEY_BYTES + VEIL_AEAD_TAG_BYTES];
    int rc = aead_key(v, key, "aead_rekey", &e);
    if (rc != 0)
        return rc;
    veil_secret_attrs def = { .type = e->attrs.type, .persistence = VEIL_EPHEMERAL };
    if (out_attrs == NULL)
        out_attrs = &def;
    if (out_attrs->type != VEIL_SECRET_AES256GCM && out_attrs->type != VEIL_SECRET_CHACHAPOLY &&
        !(out_attrs->type == VEIL_SECRET_BUFFER && out_attrs->length == VEIL_AEAD_KEY_BYTES))
        return veil_error_set(VEIL_EINVAL,
                              "aead_rekey: out_attrs type %s cannot hold a 32-byte AEAD key",
                              veil_secret_type_name(out_attrs->type));
    /* Noise REKEY: ENCRYPT(k, nonce, "", 32 zero bytes), first 32 bytes. */
    memset(tmp, 0, sizeof tmp);
    rc = v->be->aead_encrypt(e->aead, nonce, NULL, 0, tmp, VEIL_AEAD_KEY_BYTES);
    if (rc == 0)
        rc = create_commit(v, out_attrs, tmp, VEIL_AEAD_KEY_BYTES, out);
    veil__memzero(tmp, sizeof tmp);
    return rc;
}
