/* The vault core: every veil_vault_ops operation implemented once, on top of
 * a crypto backend (backend.h).  Vault plugins are thin wrappers:
 *
 *   - the software vault: nothing but the vc_* ops below;
 *   - the file vault (persistent, encrypted at rest): the same ops, plus the
 *     persistence hooks at the end of this header to load its secrets at
 *     open (vc_insert), serialise them (vc_foreach_persistent) and learn
 *     when they change (vc_set_change_hook).
 *
 * A vc_vault is not thread-safe: like the node that uses it, one thread at a
 * time.  All vc_* functions set the error detail on failure. */
#ifndef VEIL_VAULT_CORE_H
#define VEIL_VAULT_CORE_H

#include <veil/vault.h>
#include <veil/config.h>

#include "backend.h"

typedef struct vc_vault vc_vault;

/* ---- backends ---------------------------------------------------------- */

/* The config key selecting the backend and its accepted values. */
#define VC_CRYPTO_KEY "crypto"
/* The default (both backends are always built). */
#define VC_CRYPTO_DEFAULT "openssl"

/* Backend by name ("sodium", "openssl").  VEIL_EINVAL for an unknown name
 * (detail lists the accepted values), VEIL_EUNSUPPORTED when libsodium
 * fails to initialise. */
VC_HIDDEN int vc_backend_by_name(const char *name, const vc_backend **out);

/* Read `crypto` from scope (absent: openssl; scope or its config may be
 * NULL) and pick the backend.  An unknown value is VEIL_ECONFIG naming the
 * value's file:line and the accepted values. */
VC_HIDDEN int vc_backend_from_scope(const veil_config_scope *scope,
                                    const vc_backend **out);

/* ---- lifetime ---------------------------------------------------------- */

VC_HIDDEN int vc_new(const vc_backend *be, vc_vault **out);
/* Wipes and frees every secret, then the vault (NULL ok). */
VC_HIDDEN void vc_free(vc_vault *v);
/* vc_new with the backend named in scope (what a plugin's instance_new does). */
VC_HIDDEN int vc_open_scope(const veil_config_scope *scope, vc_vault **out);
VC_HIDDEN const vc_backend *vc_backend_of(const vc_vault *v);
/* One pointer for the wrapping plugin's own state (the file vault's path,
 * passphrase key, ...). */
VC_HIDDEN void vc_set_user(vc_vault *v, void *user);
VC_HIDDEN void *vc_user(const vc_vault *v);

/* ---- the ops (signatures of veil_vault_ops; `vault` is a vc_vault *) ---- */

/* instance_new (vc_open_scope) and instance_free (vc_free): the software
 * vault's whole lifetime. */
/* The plugins' init: checks `crypto` (name and that this build has that
 * backend) when the plugin is loaded — at veil_node_new for every vault
 * section — instead of when the first vault opens (issue #16). */
VC_HIDDEN int vc_op_init(const veil_config_scope *scope, void **state);
VC_HIDDEN int vc_op_instance_new(void *plugin_state, const veil_config_scope *scope,
                                 void **vault);
VC_HIDDEN void vc_op_instance_free(void *vault);
VC_HIDDEN const char *vc_op_backend(void *vault);
VC_HIDDEN int vc_op_random(void *vault, uint8_t *out, size_t len);
VC_HIDDEN int vc_op_generate(void *vault, const veil_secret_attrs *attrs, veil_secret *out);
VC_HIDDEN int vc_op_import(void *vault, const veil_secret_attrs *attrs, const uint8_t *data,
                           size_t len, veil_secret *out);
VC_HIDDEN int vc_op_export(void *vault, veil_secret s, uint8_t *out, size_t cap, size_t *len);
VC_HIDDEN int vc_op_attributes(void *vault, veil_secret s, veil_secret_attrs *out);
VC_HIDDEN int vc_op_public_key(void *vault, veil_secret s, uint8_t *out, size_t cap,
                               size_t *len);
VC_HIDDEN int vc_op_find_by_key_id(void *vault, const char *key_id, veil_secret *out);
VC_HIDDEN int vc_op_find_by_label(void *vault, const char *label, veil_secret *out);
VC_HIDDEN int vc_op_secret_destroy(void *vault, veil_secret s);
VC_HIDDEN int vc_op_hash(void *vault, int alg, const veil_iovec *parts, size_t nparts,
                         uint8_t *out);
VC_HIDDEN int vc_op_hmac(void *vault, int alg, const veil_vault_input *key,
                         const veil_iovec *parts, size_t nparts, uint8_t *out);
VC_HIDDEN int vc_op_hkdf(void *vault, int alg, const veil_vault_input *salt,
                         const veil_vault_input *ikm, size_t n_ikm, const uint8_t *info,
                         size_t info_len, const veil_secret_attrs *out_attrs, size_t n_out,
                         veil_secret *out);
VC_HIDDEN int vc_op_dh(void *vault, veil_secret priv, const uint8_t *peer_public,
                       size_t peer_len, const veil_secret_attrs *out_attrs, veil_secret *out);
VC_HIDDEN int vc_op_aead_encrypt(void *vault, veil_secret key, const uint8_t nonce[12],
                                 const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len);
VC_HIDDEN int vc_op_aead_decrypt(void *vault, veil_secret key, const uint8_t nonce[12],
                                 const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len);
VC_HIDDEN int vc_op_aead_rekey(void *vault, veil_secret key, const uint8_t nonce[12],
                               const veil_secret_attrs *out_attrs, veil_secret *out);
VC_HIDDEN int vc_op_sign(void *vault, veil_secret key, const uint8_t *msg, size_t len,
                         uint8_t sig[VEIL_SIGNATURE_BYTES]);
VC_HIDDEN int vc_op_verify(void *vault, int key_type, const uint8_t *public_key,
                           size_t public_len, const uint8_t *msg, size_t len,
                           const uint8_t sig[VEIL_SIGNATURE_BYTES]);

/* Records (records.c): public named byte strings, sorted by name. */
VC_HIDDEN int vc_op_record_put(void *vault, const char *name, const uint8_t *value, size_t len);
VC_HIDDEN int vc_op_record_get(void *vault, const char *name, uint8_t *out, size_t cap,
                               size_t *len);
VC_HIDDEN int vc_op_record_delete(void *vault, const char *name);
VC_HIDDEN int vc_op_record_list(void *vault, const char *prefix, veil_record_fn fn, void *arg);
/* Batches (veil/vault.h; the wrapper calls them at the outermost level):
 * inside one the change hook is not called, commit calls it once when
 * something changed.  vc_batch_pending: a change the hook has not stored
 * (a failed commit), to store at close. */
VC_HIDDEN int vc_op_batch_begin(void *vault);
VC_HIDDEN int vc_op_batch_commit(void *vault);
VC_HIDDEN bool vc_batch_pending(const vc_vault *v);

/* Every op above but instance_new/instance_free, for a plugin's table:
 *   static const veil_vault_ops ops = { .size = sizeof ops,
 *       .instance_new = ..., .instance_free = ..., VC_CORE_OPS };            */
#define VC_CORE_OPS                                                           \
    .backend = vc_op_backend, .random = vc_op_random,                         \
    .generate = vc_op_generate,                                               \
    .import = vc_op_import, .export_secret = vc_op_export,                    \
    .attributes = vc_op_attributes, .public_key = vc_op_public_key,           \
    .find_by_key_id = vc_op_find_by_key_id,                                   \
    .find_by_label = vc_op_find_by_label, .secret_destroy = vc_op_secret_destroy,           \
    .hash = vc_op_hash, .hmac = vc_op_hmac, .hkdf = vc_op_hkdf,               \
    .dh = vc_op_dh, .aead_encrypt = vc_op_aead_encrypt,                       \
    .aead_decrypt = vc_op_aead_decrypt, .aead_rekey = vc_op_aead_rekey,       \
    .sign = vc_op_sign, .verify = vc_op_verify,                               \
    .record_put = vc_op_record_put, .record_get = vc_op_record_get,           \
    .record_delete = vc_op_record_delete, .record_list = vc_op_record_list,   \
    .batch_begin = vc_op_batch_begin, .batch_commit = vc_op_batch_commit

/* ---- persistence hooks (for the file vault) ---------------------------- */

/* Called after every change to the set of PERSISTENT secrets or to the
 * records (every record persists).  For secrets: after a creation
 * (generate/import/hkdf/dh/rekey) or a destroy, once per operation (an HKDF
 * making two persistent outputs calls it once), after the change is
 * complete.  Not called for ephemeral secrets nor for vc_insert.
 * A non-zero return on a creation removes the new secret(s) again and the
 * op returns the hook's error (the store and the vault stay in step); on a
 * destroy the secret is gone anyway and the error tells the caller that the
 * store is stale.  A failing hook after a record put or delete undoes the
 * change (records are public: restoring them costs nothing). */
typedef int (*vc_change_fn)(void *arg, vc_vault *v);
VC_HIDDEN void vc_set_change_hook(vc_vault *v, vc_change_fn fn, void *arg);

/* Enumerate persistent secrets in handle order: attrs (label, type,
 * exportable, length) and the raw private bytes, valid only during the
 * callback (serialise, do not keep).  A non-zero return from fn stops the
 * walk and is returned. */
typedef int (*vc_each_fn)(void *arg, veil_secret handle, const veil_secret_attrs *attrs,
                          const uint8_t *bytes, size_t len);
VC_HIDDEN int vc_foreach_persistent(vc_vault *v, vc_each_fn fn, void *arg);

/* Re-insert a secret read back from storage: the same checks as import
 * (type and length, label unique, public key / key id / AEAD context made
 * again), keeping the stored attributes; does not call the change hook.
 * The handle is new (handles are not stable across opens; key ids and
 * labels are). */
VC_HIDDEN int vc_insert(vc_vault *v, const veil_secret_attrs *attrs, const uint8_t *bytes,
                        size_t len, veil_secret *out);

/* Enumerate records in name order (name, value bytes); a non-zero return
 * from fn stops the walk and is returned. */
typedef int (*vc_record_each_fn)(void *arg, const char *name, const uint8_t *value,
                                 size_t len);
VC_HIDDEN int vc_records_foreach(vc_vault *v, vc_record_each_fn fn, void *arg);
/* Count and bytes (names + values) of the records, for sizing a store. */
VC_HIDDEN void vc_records_size(const vc_vault *v, size_t *count, size_t *bytes);
/* Re-insert a record read back from storage: the name and limit checks of
 * a put, no change hook. */
VC_HIDDEN int vc_records_insert(vc_vault *v, const char *name, const uint8_t *value,
                                size_t len);

#endif
