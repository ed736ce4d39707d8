/* The vault wrappers: a veil_vault is a loaded vault plugin, its ops table
 * and one instance.  Every veil_vault_* call checks what is common to all
 * vaults (NULL pointers, known enum values, adequate buffer sizes, that the
 * plugin's ops table covers the op) and then calls the op.  libveil links no
 * crypto library: the vault plugins do all the crypto. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/error.h>
#include <veil/plugin.h>
#include <veil/vault.h>

#include "util.h"
#include "vault_internal.h"

/* ---- small tables --------------------------------------------------------- */

size_t veil_hash_len(int alg)
{
    switch (alg) {
    case VEIL_HASH_SHA256:
    case VEIL_HASH_BLAKE2S:
        return 32;
    case VEIL_HASH_SHA512:
    case VEIL_HASH_BLAKE2B:
        return 64;
    default:
        return 0;
    }
}

size_t veil_secret_type_len(int type)
{
    switch (type) {
    case VEIL_SECRET_AES256GCM:
    case VEIL_SECRET_CHACHAPOLY:
    case VEIL_SECRET_X25519:
    case VEIL_SECRET_ED25519:
    case VEIL_SECRET_P256:
        return 32;
    case VEIL_SECRET_X448:
        return 56;
    default:
        return 0; /* buffers have no fixed length */
    }
}

size_t veil_secret_type_public_len(int type)
{
    switch (type) {
    case VEIL_SECRET_X25519:
    case VEIL_SECRET_ED25519:
        return 32;
    case VEIL_SECRET_X448:
        return 56;
    case VEIL_SECRET_P256:
        return VEIL_P256_PUBLIC_BYTES;
    default:
        return 0;
    }
}

const char *veil_secret_type_name(int type)
{
    switch (type) {
    case VEIL_SECRET_BUFFER: return "buffer";
    case VEIL_SECRET_AES256GCM: return "aes256gcm";
    case VEIL_SECRET_CHACHAPOLY: return "chachapoly";
    case VEIL_SECRET_X25519: return "x25519";
    case VEIL_SECRET_ED25519: return "ed25519";
    case VEIL_SECRET_X448: return "x448";
    case VEIL_SECRET_P256: return "p256";
    default: return "unknown";
    }
}

/* ---- argument checks ------------------------------------------------------ */

/* Pointer may be NULL only when its length is 0. */
#define BUF(p, n, fn)                                                             \
    do {                                                                          \
        if ((p) == NULL && (n) != 0)                                              \
            return veil_error_set(VEIL_EINVAL, "%s: " #p " is NULL but " #n " is %zu", \
                                  fn, (size_t)(n));                               \
    } while (0)

#define HANDLE(s, fn)                                                             \
    do {                                                                          \
        if ((s) == 0)                                                             \
            return veil_error_set(VEIL_EBADHANDLE, "%s: secret handle 0 is never valid", fn); \
    } while (0)

/* "what" or "what[idx]" (idx SIZE_MAX: no index) for a message; formatted
 * only on failure (naming every output cost ~1 % of a channel set-up). */
static const char *attrs_name(char buf[24], const char *what, size_t idx)
{
    if (idx == SIZE_MAX)
        return what;
    snprintf(buf, 24, "%s[%zu]", what, idx);
    return buf;
}

static int check_attrs(const veil_secret_attrs *a, const char *fn, const char *what, size_t idx)
{
    char b[24];
    if (a == NULL)
        return veil_error_set(VEIL_EINVAL, "%s: %s is NULL", fn, attrs_name(b, what, idx));
    if (a->type < VEIL_SECRET_BUFFER || a->type > VEIL_SECRET_P256)
        return veil_error_set(VEIL_EINVAL, "%s: %s.type %d is not a known secret type", fn,
                              attrs_name(b, what, idx), a->type);
    if (a->persistence != VEIL_EPHEMERAL && a->persistence != VEIL_PERSISTENT)
        return veil_error_set(VEIL_EINVAL, "%s: %s.persistence %d is not known", fn,
                              attrs_name(b, what, idx), a->persistence);
    if (a->type == VEIL_SECRET_BUFFER && a->length > VEIL_SECRET_MAX_BYTES)
        return veil_error_set(VEIL_EINVAL, "%s: %s.length %u exceeds %u", fn,
                              attrs_name(b, what, idx), a->length, VEIL_SECRET_MAX_BYTES);
    if (memchr(a->label, '\0', sizeof a->label) == NULL)
        return veil_error_set(VEIL_EINVAL, "%s: %s.label is not NUL-terminated within %u bytes",
                              fn, attrs_name(b, what, idx), VEIL_LABEL_MAX + 1);
    return 0;
}

/* Optional output attributes (NULL: the op's default). */
static int check_out_attrs(const veil_secret_attrs *out_attrs, const char *fn)
{
    return out_attrs != NULL ? check_attrs(out_attrs, fn, "out_attrs", SIZE_MAX) : 0;
}

/* A handle and where to copy bytes of it. */
static int check_copy_out(veil_secret s, const uint8_t *out, const size_t *len, const char *fn)
{
    HANDLE(s, fn);
    NONNULL(out, fn);
    NONNULL(len, fn);
    return 0;
}

static int check_hash(int alg, const char *fn)
{
    if (veil_hash_len(alg) == 0)
        return veil_error_set(VEIL_EINVAL,
                              "%s: alg %d is not a known hash (sha256, sha512, blake2s, blake2b)",
                              fn, alg);
    return 0;
}

static int check_iov(const veil_iovec *parts, size_t n, const char *fn)
{
    BUF(parts, n, fn);
    for (size_t i = 0; i < n; i++)
        if (parts[i].data == NULL && parts[i].len != 0)
            return veil_error_set(VEIL_EINVAL, "%s: parts[%zu].data is NULL but len is %zu", fn,
                                  i, parts[i].len);
    return 0;
}

static int check_input(const veil_vault_input *in, const char *fn, const char *what, size_t i)
{
    if (in->secret == 0 && in->data == NULL && in->len != 0)
        return veil_error_set(VEIL_EINVAL, "%s: %s[%zu].data is NULL but len is %zu", fn, what, i,
                              in->len);
    return 0;
}

/* ---- lifetime ------------------------------------------------------------- */

int veil_vault_open_plugin(veil_plugin *plugin, const veil_config_scope *scope, veil_vault **out)
{
    static const char fn[] = "veil_vault_open_plugin";
    NONNULL(plugin, fn);
    NONNULL(out, fn);
    const veil_plugin_descriptor *d = veil_plugin_descriptor_of(plugin);
    if (d == NULL || d->kind != VEIL_PLUGIN_VAULT)
        return veil_error_set(VEIL_EPLUGIN_KIND, "%s: plugin '%s' is a %s plugin, expected vault",
                              fn, d ? d->name : "?", d ? veil_plugin_kind_name(d->kind) : "?");
    const veil_vault_ops *ops = d->ops;
    /* The loader accepted the table (the smallest one ends at verify). */
    if (ops->instance_new == NULL || ops->instance_free == NULL)
        return veil_error_set(VEIL_EPLUGIN_ABI, "%s: vault plugin '%s' has no instance_new or "
                              "no instance_free", fn, d->name);
    veil_vault *v = calloc(1, sizeof *v);
    if (v == NULL)
        return veil_error_set(VEIL_ENOMEM, "%s: out of memory", fn);
    v->refs = 1;
    v->plugin = plugin;
    v->ops = ops;
    int rc = ops->instance_new(veil_plugin_state(plugin), scope, &v->inst);
    if (rc != 0) {
        free(v);
        return veil_error_wrap(rc, "opening vault '%s'", d->name);
    }
    *out = v;
    return 0;
}

veil_vault *veil__vault_ref(veil_vault *v)
{
    if (v != NULL)
        v->refs++;
    return v;
}

void veil_vault_close(veil_vault *v)
{
    if (v == NULL || --v->refs > 0)
        return;
    v->ops->instance_free(v->inst);
    free(v);
}

const char *veil_vault_backend(const veil_vault *v)
{
    if (v == NULL || v->ops->backend == NULL)
        return "?";
    return v->ops->backend(v->inst);
}

const char *veil_vault_plugin_name(const veil_vault *v)
{
    const veil_plugin_descriptor *d = v ? veil_plugin_descriptor_of(v->plugin) : NULL;
    return d && d->name ? d->name : "?";
}

/* ---- secrets -------------------------------------------------------------- */

int veil_vault_random(veil_vault *v, uint8_t *out, size_t len)
{
    OP(v, random, "veil_vault_random");
    BUF(out, len, "veil_vault_random");
    return len == 0 ? 0 : v->ops->random(v->inst, out, len);
}

int veil_vault_generate(veil_vault *v, const veil_secret_attrs *attrs, veil_secret *out)
{
    static const char fn[] = "veil_vault_generate";
    OP(v, generate, fn);
    NONNULL(out, fn);
    int rc = check_attrs(attrs, fn, "attrs", SIZE_MAX);
    if (rc != 0)
        return rc;
    if (attrs->type == VEIL_SECRET_BUFFER && attrs->length == 0)
        return veil_error_set(VEIL_EINVAL, "%s: attrs.length is 0 for a buffer (1..%u)", fn,
                              VEIL_SECRET_MAX_BYTES);
    return v->ops->generate(v->inst, attrs, out);
}

int veil_vault_import(veil_vault *v, const veil_secret_attrs *attrs, const uint8_t *data,
                      size_t len, veil_secret *out)
{
    static const char fn[] = "veil_vault_import";
    OP(v, import, fn);
    NONNULL(data, fn);
    NONNULL(out, fn);
    int rc = check_attrs(attrs, fn, "attrs", SIZE_MAX);
    if (rc != 0)
        return rc;
    size_t want = veil_secret_type_len(attrs->type);
    if (attrs->type == VEIL_SECRET_BUFFER
            ? (len < 1 || len > VEIL_SECRET_MAX_BYTES || (attrs->length && attrs->length != len))
            : len != want)
        return veil_error_set(VEIL_EINVAL, "%s: len %zu does not fit a %s secret (expected %s%zu)",
                              fn, len, veil_secret_type_name(attrs->type),
                              want ? "" : "1..", want ? want : (size_t)VEIL_SECRET_MAX_BYTES);
    return v->ops->import(v->inst, attrs, data, len, out);
}

int veil_vault_export(veil_vault *v, veil_secret s, uint8_t *out, size_t cap, size_t *len)
{
    static const char fn[] = "veil_vault_export";
    OP(v, export_secret, fn);
    int rc = check_copy_out(s, out, len, fn);
    return rc != 0 ? rc : v->ops->export_secret(v->inst, s, out, cap, len);
}

int veil_vault_attributes(veil_vault *v, veil_secret s, veil_secret_attrs *out)
{
    OP(v, attributes, "veil_vault_attributes");
    HANDLE(s, "veil_vault_attributes");
    NONNULL(out, "veil_vault_attributes");
    return v->ops->attributes(v->inst, s, out);
}

int veil_vault_public_key(veil_vault *v, veil_secret s, uint8_t *out, size_t cap, size_t *len)
{
    static const char fn[] = "veil_vault_public_key";
    OP(v, public_key, fn);
    int rc = check_copy_out(s, out, len, fn);
    return rc != 0 ? rc : v->ops->public_key(v->inst, s, out, cap, len);
}

int veil_vault_key_id(veil_vault *v, veil_secret s, char out[VEIL_KEY_ID_TEXT_BYTES])
{
    static const char fn[] = "veil_vault_key_id";
    uint8_t pub[VEIL_PUBLIC_KEY_MAX_BYTES], id[32];
    size_t len;
    OP(v, public_key, fn);
    OP(v, hash, fn);
    HANDLE(s, fn);
    NONNULL(out, fn);
    int rc = v->ops->public_key(v->inst, s, pub, sizeof pub, &len);
    if (rc != 0)
        return rc;
    veil_iovec part = { pub, len };
    if ((rc = v->ops->hash(v->inst, VEIL_HASH_SHA256, &part, 1, id)) != 0)
        return rc;
    veil__hex_encode(id, sizeof id, out);
    return 0;
}

int veil_vault_find_by_key_id(veil_vault *v, const char *key_id, veil_secret *out)
{
    static const char fn[] = "veil_vault_find_by_key_id";
    OP(v, find_by_key_id, fn);
    NONNULL(key_id, fn);
    NONNULL(out, fn);
    size_t n = strnlen(key_id, VEIL_KEY_ID_TEXT_BYTES);
    bool ok = n == VEIL_KEY_ID_TEXT_BYTES - 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = (key_id[i] >= '0' && key_id[i] <= '9') || (key_id[i] >= 'a' && key_id[i] <= 'f');
    if (!ok)
        return veil_error_set(VEIL_EINVAL, "%s: key_id '%.80s' is not 64 lower-case hex digits",
                              fn, key_id);
    return v->ops->find_by_key_id(v->inst, key_id, out);
}

int veil_vault_find_by_label(veil_vault *v, const char *label, veil_secret *out)
{
    static const char fn[] = "veil_vault_find_by_label";
    OP(v, find_by_label, fn);
    NONNULL(label, fn);
    NONNULL(out, fn);
    size_t n = strnlen(label, VEIL_LABEL_MAX + 1);
    if (n == 0 || n > VEIL_LABEL_MAX)
        return veil_error_set(VEIL_EINVAL, "%s: label must be 1..%u characters", fn,
                              VEIL_LABEL_MAX);
    return v->ops->find_by_label(v->inst, label, out);
}

/* The op is called at the outermost begin and commit only. */
int veil_vault_batch_begin(veil_vault *v)
{
    if (v == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_vault_batch_begin: vault is NULL");
    if (v->batch == UINT_MAX)
        return veil_error_set(VEIL_ELIMIT, "veil_vault_batch_begin: batches nested too deep");
    if (v->batch == 0 && VEIL_ABI_HAS(v->ops, batch_begin) && v->ops->batch_begin != NULL) {
        int rc = v->ops->batch_begin(v->inst);
        if (rc < 0)
            return rc;
    }
    v->batch++;
    return 0;
}

int veil_vault_batch_commit(veil_vault *v)
{
    if (v == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_vault_batch_commit: vault is NULL");
    if (v->batch == 0)
        return veil_error_set(VEIL_ESTATE, "veil_vault_batch_commit: no batch was begun");
    if (--v->batch > 0 || !VEIL_ABI_HAS(v->ops, batch_commit) || v->ops->batch_commit == NULL)
        return 0;
    return v->ops->batch_commit(v->inst);
}

int veil_vault_secret_destroy(veil_vault *v, veil_secret s)
{
    OP(v, secret_destroy, "veil_vault_secret_destroy");
    HANDLE(s, "veil_vault_secret_destroy");
    return v->ops->secret_destroy(v->inst, s);
}

/* ---- computations ----------------------------------------------------------- */

int veil_vault_hash(veil_vault *v, int alg, const veil_iovec *parts, size_t nparts, uint8_t *out)
{
    static const char fn[] = "veil_vault_hash";
    OP(v, hash, fn);
    NONNULL(out, fn);
    int rc = check_hash(alg, fn);
    if (rc == 0)
        rc = check_iov(parts, nparts, fn);
    return rc != 0 ? rc : v->ops->hash(v->inst, alg, parts, nparts, out);
}

int veil_vault_hmac(veil_vault *v, int alg, const veil_vault_input *key, const veil_iovec *parts,
                    size_t nparts, uint8_t *out)
{
    static const char fn[] = "veil_vault_hmac";
    OP(v, hmac, fn);
    NONNULL(key, fn);
    NONNULL(out, fn);
    int rc = check_hash(alg, fn);
    if (rc == 0)
        rc = check_input(key, fn, "key", 0);
    if (rc == 0)
        rc = check_iov(parts, nparts, fn);
    return rc != 0 ? rc : v->ops->hmac(v->inst, alg, key, parts, nparts, out);
}

int veil_vault_hkdf(veil_vault *v, int alg, const veil_vault_input *salt,
                    const veil_vault_input *ikm, size_t n_ikm, const uint8_t *info,
                    size_t info_len, const veil_secret_attrs *out_attrs, size_t n_out,
                    veil_secret *out)
{
    static const char fn[] = "veil_vault_hkdf";
    static const veil_vault_input no_salt = { 0, NULL, 0 };
    OP(v, hkdf, fn);
    BUF(ikm, n_ikm, fn);
    BUF(info, info_len, fn);
    NONNULL(out_attrs, fn);
    NONNULL(out, fn);
    int rc = check_hash(alg, fn);
    if (rc != 0)
        return rc;
    if (salt == NULL)
        salt = &no_salt;
    if ((rc = check_input(salt, fn, "salt", 0)) != 0)
        return rc;
    for (size_t i = 0; i < n_ikm; i++)
        if ((rc = check_input(&ikm[i], fn, "ikm", i)) != 0)
            return rc;
    if (n_out < 1 || n_out > 4)
        return veil_error_set(VEIL_EINVAL, "%s: n_out is %zu, expected 1..4", fn, n_out);
    for (size_t i = 0; i < n_out; i++) {
        if ((rc = check_attrs(&out_attrs[i], fn, "out_attrs", i)) != 0)
            return rc;
        size_t want = out_attrs[i].type == VEIL_SECRET_BUFFER
                          ? out_attrs[i].length
                          : veil_secret_type_len(out_attrs[i].type);
        if (want == 0 || want > veil_hash_len(alg)) {
            char b[24];
            return veil_error_set(VEIL_EINVAL,
                                  "%s: %s wants %zu bytes; each output is 1..%zu bytes", fn,
                                  attrs_name(b, "out_attrs", i), want, veil_hash_len(alg));
        }
    }
    return v->ops->hkdf(v->inst, alg, salt, ikm, n_ikm, info, info_len, out_attrs, n_out, out);
}

int veil_vault_dh(veil_vault *v, veil_secret priv, const uint8_t *peer_public, size_t peer_len,
                  const veil_secret_attrs *out_attrs, veil_secret *out)
{
    static const char fn[] = "veil_vault_dh";
    OP(v, dh, fn);
    HANDLE(priv, fn);
    NONNULL(peer_public, fn);
    NONNULL(out, fn);
    if (peer_len != VEIL_X25519_KEY_BYTES && peer_len != VEIL_X448_KEY_BYTES)
        return veil_error_set(VEIL_EINVAL, "%s: peer_len %zu is neither 32 (X25519) nor 56 (X448)",
                              fn, peer_len);
    int rc = check_out_attrs(out_attrs, fn);
    return rc != 0 ? rc : v->ops->dh(v->inst, priv, peer_public, peer_len, out_attrs, out);
}

static int check_aead(veil_vault *v, veil_secret key, const uint8_t *nonce, const uint8_t *ad,
                      size_t ad_len, const uint8_t *buf, size_t len, const char *fn)
{
    HANDLE(key, fn);
    NONNULL(nonce, fn);
    NONNULL(buf, fn);
    BUF(ad, ad_len, fn);
    if (len > SIZE_MAX - VEIL_AEAD_TAG_BYTES)
        return veil_error_set(VEIL_EINVAL, "%s: len %zu leaves no room for the tag", fn, len);
    (void)v;
    return 0;
}

int veil_vault_aead_encrypt(veil_vault *v, veil_secret key,
                            const uint8_t nonce[VEIL_AEAD_NONCE_BYTES], const uint8_t *ad,
                            size_t ad_len, uint8_t *buf, size_t len)
{
    static const char fn[] = "veil_vault_aead_encrypt";
    OP(v, aead_encrypt, fn);
    int rc = check_aead(v, key, nonce, ad, ad_len, buf, len, fn);
    return rc != 0 ? rc : v->ops->aead_encrypt(v->inst, key, nonce, ad, ad_len, buf, len);
}

int veil_vault_aead_decrypt(veil_vault *v, veil_secret key,
                            const uint8_t nonce[VEIL_AEAD_NONCE_BYTES], const uint8_t *ad,
                            size_t ad_len, uint8_t *buf, size_t len)
{
    static const char fn[] = "veil_vault_aead_decrypt";
    OP(v, aead_decrypt, fn);
    int rc = check_aead(v, key, nonce, ad, ad_len, buf, len, fn);
    if (rc != 0)
        return rc;
    if (len < VEIL_AEAD_TAG_BYTES)
        return veil_error_set(VEIL_EINVAL, "%s: len %zu is shorter than the %u-byte tag", fn, len,
                              VEIL_AEAD_TAG_BYTES);
    return v->ops->aead_decrypt(v->inst, key, nonce, ad, ad_len, buf, len);
}

int veil_vault_aead_rekey(veil_vault *v, veil_secret key,
                          const uint8_t nonce[VEIL_AEAD_NONCE_BYTES],
                          const veil_secret_attrs *out_attrs, veil_secret *out)
{
    static const char fn[] = "veil_vault_aead_rekey";
    OP(v, aead_rekey, fn);
    HANDLE(key, fn);
    NONNULL(nonce, fn);
    NONNULL(out, fn);
    int rc = check_out_attrs(out_attrs, fn);
    return rc != 0 ? rc : v->ops->aead_rekey(v->inst, key, nonce, out_attrs, out);
}

int veil_vault_sign(veil_vault *v, veil_secret key, const uint8_t *msg, size_t len,
                    uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    static const char fn[] = "veil_vault_sign";
    OP(v, sign, fn);
    HANDLE(key, fn);
    BUF(msg, len, fn);
    NONNULL(sig, fn);
    return v->ops->sign(v->inst, key, msg, len, sig);
}

int veil_vault_verify(veil_vault *v, int key_type, const uint8_t *public_key, size_t public_len,
                      const uint8_t *msg, size_t len, const uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    static const char fn[] = "veil_vault_verify";
    OP(v, verify, fn);
    NONNULL(public_key, fn);
    BUF(msg, len, fn);
    NONNULL(sig, fn);
    if (key_type != VEIL_SECRET_ED25519 && key_type != VEIL_SECRET_X25519 &&
        key_type != VEIL_SECRET_P256)
        return veil_error_set(VEIL_EINVAL, "%s: key_type %d (%s) cannot verify; expected ed25519, "
                                           "x25519 or p256", fn, key_type, veil_secret_type_name(key_type));
    if (public_len != veil_secret_type_public_len(key_type))
        return veil_error_set(VEIL_EINVAL, "%s: public_len %zu, expected %zu for %s", fn,
                              public_len, veil_secret_type_public_len(key_type),
                              veil_secret_type_name(key_type));
    return v->ops->verify(v->inst, key_type, public_key, public_len, msg, len, sig);
}

int veil_vault_key_location(veil_vault *v, veil_secret s, int *location, char *where, size_t cap)
{
    static const char fn[] = "veil_vault_key_location";
    if (v == NULL)
        return veil_error_set(VEIL_EINVAL, "%s: vault is NULL", fn);
    HANDLE(s, fn);
    NONNULL(location, fn);
    BUF(where, cap, fn);
    if (VEIL_ABI_HAS(v->ops, location) && v->ops->location != NULL)
        return v->ops->location(v->inst, s, location, where, cap);
    /* A vault without the op keeps every secret in its own memory. */
    veil_secret_attrs a;
    int rc = veil_vault_attributes(v, s, &a);
    if (rc < 0)
        return rc;
    *location = VEIL_KEY_IN_SOFTWARE;
    if (cap > 0)
        snprintf(where, cap, "%s vault (%s, software)", veil_vault_plugin_name(v),
                 veil_vault_backend(v));
    return 0;
}
