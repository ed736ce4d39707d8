/* veil — the vault interface: veil's only crypto boundary.
 *
 * Key agreement plugins, identities and secure channels hold opaque secret
 * handles and ask a vault to compute with them; only vault plugins call
 * libsodium or OpenSSL.  Two vaults on different crypto backends produce
 * identical bytes for every deterministic operation.
 *
 * Conventions: sizes are macros; buffers are caller-provided; AEAD works in
 * place; a handle stays valid until veil_vault_secret_destroy (then
 * VEIL_EBADHANDLE, never reuse of the slot under the same handle). */
#ifndef VEIL_VAULT_H
#define VEIL_VAULT_H

#include <veil/common.h>
#include <veil/config.h>
#include <stdbool.h>

VEIL_BEGIN_DECLS

#define VEIL_X25519_KEY_BYTES 32u
#define VEIL_X448_KEY_BYTES 56u
#define VEIL_ED25519_PUBLIC_BYTES 32u
#define VEIL_ED25519_SEED_BYTES 32u
#define VEIL_P256_PUBLIC_BYTES 33u      /* SEC1 compressed point */
#define VEIL_P256_SCALAR_BYTES 32u
#define VEIL_SIGNATURE_BYTES 64u
#define VEIL_AEAD_KEY_BYTES 32u
#define VEIL_AEAD_NONCE_BYTES 12u
#define VEIL_AEAD_TAG_BYTES 16u
#define VEIL_HASH_MAX_BYTES 64u
#define VEIL_SECRET_MAX_BYTES 64u     /* largest buffer secret */
#define VEIL_PUBLIC_KEY_MAX_BYTES 56u
#define VEIL_KEY_ID_TEXT_BYTES 65u    /* 64 hex + NUL */
#define VEIL_LABEL_MAX 63u

typedef uint64_t veil_secret;         /* 0 is never a valid handle */

typedef enum veil_secret_type {
    VEIL_SECRET_BUFFER = 1,           /* raw bytes, 1..VEIL_SECRET_MAX_BYTES */
    VEIL_SECRET_AES256GCM = 2,        /* AES-256 key used with GCM */
    VEIL_SECRET_CHACHAPOLY = 3,       /* ChaCha20-Poly1305 key */
    VEIL_SECRET_X25519 = 4,
    VEIL_SECRET_ED25519 = 5,          /* private part is the 32-byte seed */
    VEIL_SECRET_X448 = 6,
    VEIL_SECRET_P256 = 7,             /* ECDSA P-256 with SHA-256: private part is
                                       * the 32-byte big-endian scalar (1..n-1), public
                                       * key the 33-byte SEC1 compressed point,
                                       * signatures r || s with s <= (n-1)/2 */
} veil_secret_type;

typedef enum veil_persistence {
    VEIL_EPHEMERAL = 0,
    VEIL_PERSISTENT = 1,              /* stored by vaults that persist */
} veil_persistence;

typedef struct veil_secret_attrs {
    int type;                         /* veil_secret_type */
    int persistence;                  /* veil_persistence */
    bool exportable;
    uint16_t length;                  /* bytes, VEIL_SECRET_BUFFER only */
    char label[VEIL_LABEL_MAX + 1];   /* optional, "" for none; unique */
} veil_secret_attrs;

typedef enum veil_hash_alg {
    VEIL_HASH_SHA256 = 1,
    VEIL_HASH_SHA512 = 2,
    VEIL_HASH_BLAKE2S = 3,            /* 32-byte output */
    VEIL_HASH_BLAKE2B = 4,            /* 64-byte output */
} veil_hash_alg;

/* Output size of a hash (0 for unknown). */
VEIL_EXPORT size_t veil_hash_len(int alg);
/* Key length / public key length of a secret type (0 when not fixed). */
VEIL_EXPORT size_t veil_secret_type_len(int type);
VEIL_EXPORT size_t veil_secret_type_public_len(int type);
VEIL_EXPORT const char *veil_secret_type_name(int type);

/* A piece of input that is either a secret (secret != 0) or public bytes. */
typedef struct veil_vault_input {
    veil_secret secret;
    const uint8_t *data;
    size_t len;
} veil_vault_input;

/* Scatter list for hashing public data. */
typedef struct veil_iovec {
    const void *data;
    size_t len;
} veil_iovec;

/* ---- records: public named byte strings kept with the vault -------- */

/* A record is a public, non-secret byte string stored under a name, next
 * to the secrets (an entity's change history, the contacts a node has
 * learned).  Vaults that persist (the file vault) persist every record,
 * sealed in the same file and rewritten as atomically as the secrets.
 * Names: 1..VEIL_RECORD_NAME_MAX characters of A-Z a-z 0-9 . _ - ;
 * values: 0..VEIL_RECORD_VALUE_MAX bytes; a vault holds at most
 * VEIL_RECORDS_MAX records of at most VEIL_RECORDS_BYTES_MAX bytes in
 * all (names and values).  Never put secrets in a record. */
#define VEIL_RECORD_NAME_MAX 127u
#define VEIL_RECORD_VALUE_MAX 32768u
#define VEIL_RECORDS_MAX 4096u
#define VEIL_RECORDS_BYTES_MAX (8u << 20)

/* Called once per record by veil_vault_record_list, in name order; a
 * non-zero return stops the walk and is returned.  The vault must not be
 * changed from inside the callback. */
typedef int (*veil_record_fn)(void *arg, const char *name, size_t len);

/* ---- the plugin side ------------------------------------------------ */

/* What a vault plugin implements (descriptor.ops of a VEIL_PLUGIN_VAULT).
 * Argument checking common to every vault is done by the veil_vault_*
 * wrappers before an op is called: handles non-zero, buffers non-NULL
 * where lengths are non-zero, enum values known, output sizes adequate. */
typedef struct veil_vault_ops {
    size_t size;                       /* sizeof(veil_vault_ops) */
    /* One instance per open vault (veil_vault_open), with its section. */
    int (*instance_new)(void *plugin_state, const veil_config_scope *scope, void **vault);
    /* Wipes every secret. */
    void (*instance_free)(void *vault);
    /* "sodium" or "openssl" (or the plugin's own). */
    const char *(*backend)(void *vault);

    int (*random)(void *vault, uint8_t *out, size_t len);
    int (*generate)(void *vault, const veil_secret_attrs *attrs, veil_secret *out);
    int (*import)(void *vault, const veil_secret_attrs *attrs, const uint8_t *data,
                  size_t len, veil_secret *out);
    int (*export_secret)(void *vault, veil_secret s, uint8_t *out, size_t cap,
                         size_t *len);
    int (*attributes)(void *vault, veil_secret s, veil_secret_attrs *out);
    int (*public_key)(void *vault, veil_secret s, uint8_t *out, size_t cap,
                      size_t *len);
    int (*find_by_key_id)(void *vault, const char *key_id, veil_secret *out);
    int (*find_by_label)(void *vault, const char *label, veil_secret *out);
    int (*secret_destroy)(void *vault, veil_secret s);

    int (*hash)(void *vault, int alg, const veil_iovec *parts, size_t nparts,
                uint8_t *out);
    int (*hmac)(void *vault, int alg, const veil_vault_input *key,
                const veil_iovec *parts, size_t nparts, uint8_t *out);
    int (*hkdf)(void *vault, int alg, const veil_vault_input *salt,
                const veil_vault_input *ikm, size_t n_ikm, const uint8_t *info,
                size_t info_len, const veil_secret_attrs *out_attrs, size_t n_out,
                veil_secret *out);
    int (*dh)(void *vault, veil_secret priv, const uint8_t *peer_public,
              size_t peer_len, const veil_secret_attrs *out_attrs,
              veil_secret *out);
    int (*aead_encrypt)(void *vault, veil_secret key,
                        const uint8_t nonce[VEIL_AEAD_NONCE_BYTES],
                        const uint8_t *ad, size_t ad_len, uint8_t *buf,
                        size_t len);
    int (*aead_decrypt)(void *vault, veil_secret key,
                        const uint8_t nonce[VEIL_AEAD_NONCE_BYTES],
                        const uint8_t *ad, size_t ad_len, uint8_t *buf,
                        size_t len);
    int (*aead_rekey)(void *vault, veil_secret key,
                      const uint8_t nonce[VEIL_AEAD_NONCE_BYTES],
                      const veil_secret_attrs *out_attrs, veil_secret *out);
    int (*sign)(void *vault, veil_secret key, const uint8_t *msg, size_t len,
                uint8_t sig[VEIL_SIGNATURE_BYTES]);
    int (*verify)(void *vault, int key_type, const uint8_t *public_key,
                  size_t public_len, const uint8_t *msg, size_t len,
                  const uint8_t sig[VEIL_SIGNATURE_BYTES]);
    /* The smallest table ends here; ops appended below are read only when
     * size covers them (VEIL_ABI_HAS). */

    /* Records, appended after ABI 1.0: libveil calls them only when `size`
     * covers them (VEIL_EUNSUPPORTED otherwise).  Names and lengths are
     * checked by the wrappers first; the plugin enforces VEIL_RECORDS_MAX
     * and VEIL_RECORDS_BYTES_MAX (VEIL_ELIMIT).  put replaces a record of
     * the same name; a persistent vault that cannot store the change
     * returns the error and keeps the previous state (memory = storage).
     * get with out == NULL only reports the length. */
    int (*record_put)(void *vault, const char *name, const uint8_t *value, size_t len);
    int (*record_get)(void *vault, const char *name, uint8_t *out, size_t cap, size_t *len);
    int (*record_delete)(void *vault, const char *name);
    int (*record_list)(void *vault, const char *prefix, veil_record_fn fn, void *arg);

    /* Appended after the records (read only when `size` covers it): where
     * secret s lives (veil_key_location) and a description of the place for
     * people ("pkcs11 token 'x' (serial y)"), NUL-terminated in
     * where[0..cap) when cap > 0.  A vault without it keeps every secret in
     * software (the wrapper answers for it). */
    int (*location)(void *vault, veil_secret s, int *location, char *where, size_t cap);

    /* Appended in ABI 4.5 (read only when `size` covers them): between
     * batch_begin and the matching batch_commit a persistent vault keeps its
     * changes (persistent secrets made or destroyed, records) in memory and
     * writes them all at batch_commit, in one write; batches nest (the
     * outermost commit writes).  A failed commit returns the storage error
     * and leaves the changes in memory (the caller destroys what it made);
     * the vault writes them again with its next change or at close.  A vault
     * without them writes every change as it happens (the wrappers answer 0). */
    int (*batch_begin)(void *vault);
    int (*batch_commit)(void *vault);
} veil_vault_ops;

/* ---- the user side -------------------------------------------------- */

typedef struct veil_vault veil_vault;

/* Open the vault configured in section (NULL: "vault") of the node's
 * configuration; defaults when the section is absent: plugin = software,
 * crypto = openssl.  The node owns the plugin; close the vault before
 * stopping the node. */
VEIL_EXPORT int veil_vault_open(veil_node *node, const char *section,
                                veil_vault **out) VEIL_WUR;
/* Open an instance of an already loaded vault plugin (no node needed). */
VEIL_EXPORT int veil_vault_open_plugin(veil_plugin *plugin,
                                       const veil_config_scope *scope,
                                       veil_vault **out) VEIL_WUR;
/* Drop the caller's reference (NULL ok); the vault is wiped and freed when
 * the last reference goes: entities using it hold one each (and channels
 * hold their entity), so closing early never pulls keys from under them.
 * Close every vault before veil_node_free (its plugin is unloaded there). */
VEIL_EXPORT void veil_vault_close(veil_vault *v);
VEIL_EXPORT const char *veil_vault_backend(const veil_vault *v);
VEIL_EXPORT const char *veil_vault_plugin_name(const veil_vault *v);

VEIL_EXPORT int veil_vault_random(veil_vault *v, uint8_t *out, size_t len) VEIL_WUR;
VEIL_EXPORT int veil_vault_generate(veil_vault *v, const veil_secret_attrs *attrs,
                                    veil_secret *out) VEIL_WUR;
/* Private part: X25519/X448 scalar, Ed25519 seed, P-256 scalar, AEAD key,
 * buffer bytes. */
VEIL_EXPORT int veil_vault_import(veil_vault *v, const veil_secret_attrs *attrs,
                                  const uint8_t *data, size_t len,
                                  veil_secret *out) VEIL_WUR;
/* VEIL_EPERM unless the secret is exportable. */
VEIL_EXPORT int veil_vault_export(veil_vault *v, veil_secret s, uint8_t *out,
                                  size_t cap, size_t *len) VEIL_WUR;
VEIL_EXPORT int veil_vault_attributes(veil_vault *v, veil_secret s,
                                      veil_secret_attrs *out) VEIL_WUR;
/* X25519/X448/Ed25519/P-256 only (VEIL_ETYPE otherwise). */
VEIL_EXPORT int veil_vault_public_key(veil_vault *v, veil_secret s, uint8_t *out,
                                      size_t cap, size_t *len) VEIL_WUR;
/* Lower-case hex SHA-256 of the public key. */
VEIL_EXPORT int veil_vault_key_id(veil_vault *v, veil_secret s,
                                  char out[VEIL_KEY_ID_TEXT_BYTES]) VEIL_WUR;
VEIL_EXPORT int veil_vault_find_by_key_id(veil_vault *v, const char *key_id,
                                          veil_secret *out) VEIL_WUR;
VEIL_EXPORT int veil_vault_find_by_label(veil_vault *v, const char *label,
                                         veil_secret *out) VEIL_WUR;
/* Group changes to persistent secrets and records into one write of a
 * persistent vault (the file vault rewrites its file once per commit, not
 * once per change).  Changes inside a batch are durable only once
 * veil_vault_batch_commit returned 0; on its error they stay in memory and
 * the vault writes them with its next change or at close.  Batches nest; a
 * commit without a begin is VEIL_ESTATE.  Vaults that store nothing, or
 * store each change elsewhere (pkcs11), accept both calls and do nothing. */
VEIL_EXPORT int veil_vault_batch_begin(veil_vault *v) VEIL_WUR;
VEIL_EXPORT int veil_vault_batch_commit(veil_vault *v) VEIL_WUR;
VEIL_EXPORT int veil_vault_secret_destroy(veil_vault *v, veil_secret s) VEIL_WUR;

/* out must hold veil_hash_len(alg) bytes.  VEIL_EUNSUPPORTED when the
 * backend lacks the algorithm. */
VEIL_EXPORT int veil_vault_hash(veil_vault *v, int alg, const veil_iovec *parts,
                                size_t nparts, uint8_t *out) VEIL_WUR;
VEIL_EXPORT int veil_vault_hmac(veil_vault *v, int alg, const veil_vault_input *key,
                                const veil_iovec *parts, size_t nparts,
                                uint8_t *out) VEIL_WUR;
/* RFC 5869 HKDF (Noise's HKDF is this with empty info).  The input key
 * material is the concatenation of ikm[0..n_ikm).  Output i is the first
 * len(out_attrs[i]) bytes of T(i+1) (each T is one hash block, so at most
 * veil_hash_len(alg) bytes), made straight into a new secret: no output is
 * ever exposed.  1 <= n_out <= 4. */
VEIL_EXPORT int veil_vault_hkdf(veil_vault *v, int alg, const veil_vault_input *salt,
                                const veil_vault_input *ikm, size_t n_ikm,
                                const uint8_t *info, size_t info_len,
                                const veil_secret_attrs *out_attrs, size_t n_out,
                                veil_secret *out) VEIL_WUR;
/* X25519 or X448 by the private key's type; result becomes a new secret
 * (out_attrs NULL: ephemeral, non-exportable buffer).  VEIL_ELOWORDER when
 * the shared secret is all zero; nothing is created then. */
VEIL_EXPORT int veil_vault_dh(veil_vault *v, veil_secret priv,
                              const uint8_t *peer_public, size_t peer_len,
                              const veil_secret_attrs *out_attrs,
                              veil_secret *out) VEIL_WUR;
/* AEAD by the key's type (AES-256-GCM or ChaCha20-Poly1305), in place:
 * encrypt reads buf[0..len) and writes ciphertext || tag to buf[0..len+16);
 * decrypt takes len = ciphertext + tag bytes and leaves the plaintext in
 * buf[0..len-16).  On VEIL_EAUTH the buffer is zeroed: no unauthenticated
 * byte is ever released.  No heap allocation per call. */
VEIL_EXPORT int veil_vault_aead_encrypt(veil_vault *v, veil_secret key,
                                        const uint8_t nonce[VEIL_AEAD_NONCE_BYTES],
                                        const uint8_t *ad, size_t ad_len,
                                        uint8_t *buf, size_t len) VEIL_WUR;
VEIL_EXPORT int veil_vault_aead_decrypt(veil_vault *v, veil_secret key,
                                        const uint8_t nonce[VEIL_AEAD_NONCE_BYTES],
                                        const uint8_t *ad, size_t ad_len,
                                        uint8_t *buf, size_t len) VEIL_WUR;
/* Noise REKEY: new key = first 32 bytes of AEAD-encrypt(key, nonce, no AD,
 * 32 zero bytes), made straight into a new secret of out_attrs (NULL: same
 * type, ephemeral, non-exportable). */
VEIL_EXPORT int veil_vault_aead_rekey(veil_vault *v, veil_secret key,
                                      const uint8_t nonce[VEIL_AEAD_NONCE_BYTES],
                                      const veil_secret_attrs *out_attrs,
                                      veil_secret *out) VEIL_WUR;
/* Ed25519 with an Ed25519 key; XEdDSA (Signal's spec) with an X25519 key;
 * ECDSA over SHA-256(msg) with a P-256 key (r || s, low S; the nonce is
 * random, so signatures of the same message differ). */
VEIL_EXPORT int veil_vault_sign(veil_vault *v, veil_secret key, const uint8_t *msg,
                                size_t len, uint8_t sig[VEIL_SIGNATURE_BYTES]) VEIL_WUR;
/* 0 valid; VEIL_EAUTH invalid (strict: Ed25519's non-canonical s, R or A
 * refused; P-256's r or s out of 1..n-1 and s above (n-1)/2 refused).
 * key_type ed25519 or x25519 with 32-byte keys, p256 with a 33-byte
 * compressed point: VEIL_EFORMAT when that is not a point of the curve. */
VEIL_EXPORT int veil_vault_verify(veil_vault *v, int key_type,
                                  const uint8_t *public_key, size_t public_len,
                                  const uint8_t *msg, size_t len,
                                  const uint8_t sig[VEIL_SIGNATURE_BYTES]) VEIL_WUR;

/* Where a secret lives: the split between keys a hardware token holds
 * (the identity's signing keys in the pkcs11 vault: made in the token,
 * never leaving it) and keys in the vault's guarded memory (channel keys,
 * static X25519 keys, everything of the software and file vaults). */
typedef enum veil_key_location {
    VEIL_KEY_IN_SOFTWARE = 1,         /* the vault's guarded memory (and file) */
    VEIL_KEY_IN_TOKEN = 2,            /* a PKCS#11 token; the private key never leaves it */
} veil_key_location;

/* *location becomes a veil_key_location; where (cap > 0) a human-readable
 * place ("software vault (openssl)", "pkcs11 token 'x' (serial y)"),
 * truncated to cap - 1 characters.  VEIL_EBADHANDLE for an unknown
 * secret. */
VEIL_EXPORT int veil_vault_key_location(veil_vault *v, veil_secret s, int *location,
                                        char *where, size_t cap) VEIL_WUR;

/* ---- records (see above) --------------------------------------------- */

/* 0 when name is a valid record name, else VEIL_EINVAL naming the problem
 * (empty, too long, the offset of a bad character). */
VEIL_EXPORT int veil_vault_record_name_check(const char *name) VEIL_WUR;
/* Store value under name (replacing a record of that name).  VEIL_ELIMIT
 * when the vault's record count or byte budget would be exceeded;
 * storage errors of a persistent vault (nothing changes then). */
VEIL_EXPORT int veil_vault_record_put(veil_vault *v, const char *name,
                                      const uint8_t *value, size_t len) VEIL_WUR;
/* Copy the record into out[0..cap) and its length into *len.  out NULL:
 * only the length.  VEIL_ENOTFOUND when there is none; VEIL_ELIMIT when
 * cap is too small (*len is then the length needed). */
VEIL_EXPORT int veil_vault_record_get(veil_vault *v, const char *name, uint8_t *out,
                                      size_t cap, size_t *len) VEIL_WUR;
/* VEIL_ENOTFOUND when there is none. */
VEIL_EXPORT int veil_vault_record_delete(veil_vault *v, const char *name) VEIL_WUR;
/* Every record whose name starts with prefix ("" or NULL: all), in name
 * order. */
VEIL_EXPORT int veil_vault_record_list(veil_vault *v, const char *prefix,
                                       veil_record_fn fn, void *arg) VEIL_WUR;

VEIL_END_DECLS
#endif
