/* The file vault: the shared vault core plus persistence.  An instance
 * (fv_instance_new, what veil_vault_open runs) reads and decrypts the file
 * (or creates it), re-inserts every stored secret, and installs a change
 * hook that rewrites the whole file crash-safely after every change to the
 * persistent set.  Format: format.h; key: kdf.h;
 * I/O and lock: store.h; passphrase sources: passphrase.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <veil/error.h>
#include <veil/log.h>

#include "format.h"
#include "kdf.h"
#include "passphrase.h"
#include "store.h"
#include "vault.h"
#include "vault_core.h"

typedef struct fv_state {
    char path[PATH_MAX];
    int lock_fd;
    const vc_backend *be;
    void *aead;                        /* the file key's AEAD context */
    fv_header hdr;                     /* KDF id, parameters, salt of this file */
    bool dirty;                        /* a destroy failed to reach the file */
    uint32_t count;                    /* persistent secrets after the last hook call */
} fv_state;

/* `create`: what a missing or an existing file means. */
enum { FV_CREATE_AUTO, FV_CREATE_NO, FV_CREATE_NEW };

typedef struct fv_options {
    bool allow_open;
    int create;
    unsigned log2n;
    uint32_t r, p;
} fv_options;

static const uint8_t zero_key[VEIL_AEAD_KEY_BYTES];

/* ---- configuration ---------------------------------------------------- */

static int read_create(const veil_config_scope *scope, fv_options *o)
{
    const char *c = veil_config_scope_get(scope, "create");
    if (c == NULL || strcmp(c, "auto") == 0)
        o->create = FV_CREATE_AUTO;
    else if (strcmp(c, "no") == 0)
        o->create = FV_CREATE_NO;
    else if (strcmp(c, "new") == 0)
        o->create = FV_CREATE_NEW;
    else
        return veil_error_set(VEIL_ECONFIG, "%s: unknown create '%s' (accepted: auto, no, new)",
                              veil_config_scope_origin(scope, "create"), c);
    return 0;
}

static int read_options(const veil_config_scope *scope, fv_options *o, char *path, size_t cap)
{
    long long n, r, p;
    int rc;
    const char *pv = veil_config_scope_get(scope, "path");
    if (pv == NULL || pv[0] == '\0')
        return veil_error_set(VEIL_ECONFIG, "[%s]: the file vault needs 'path = FILE'",
                              scope != NULL && scope->section ? scope->section : "vault");
    if ((size_t)snprintf(path, cap, "%s", pv) >= cap - 8)
        return veil_error_set(VEIL_ECONFIG, "vault file path too long: %s", pv);
    if ((rc = read_create(scope, o)) != 0 ||
        (rc = veil_config_scope_get_bool(scope, "allow_open_permissions", false,
                                         &o->allow_open)) != 0 ||
        (rc = veil_config_scope_get_int(scope, "kdf_n", 1ll << FV_LOG2N_DEFAULT,
                                        1ll << FV_LOG2N_MIN, 1ll << FV_LOG2N_MAX, &n)) != 0 ||
        (rc = veil_config_scope_get_int(scope, "kdf_r", FV_R_DEFAULT, FV_R_MIN, FV_R_MAX, &r)) !=
            0 ||
        (rc = veil_config_scope_get_int(scope, "kdf_p", FV_P_DEFAULT, FV_P_MIN, FV_P_MAX, &p)) !=
            0)
        return rc;
    if ((n & (n - 1)) != 0)
        return veil_error_set(VEIL_ECONFIG, "%s: kdf_n = %lld is not a power of two",
                              veil_config_scope_origin(scope, "kdf_n"), n);
    o->log2n = (unsigned)__builtin_ctzll((unsigned long long)n);
    o->r = (uint32_t)r;
    o->p = (uint32_t)p;
    if (fv_kdf_params_check("kdf_n/kdf_r/kdf_p", o->log2n, o->r, o->p) != 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", veil_last_error());
        return veil_error_set(VEIL_ECONFIG, "[%s] %s", scope->section, msg);
    }
    if (o->log2n < FV_LOG2N_WARN)
        veil_log(VEIL_LOG_WARN, "vault.file",
                 "vault file %s: kdf_n = %lld is below 2^%u (the default is 2^%u): a stolen "
                 "file is cheaper to brute-force (meant for tests)",
                 path, n, FV_LOG2N_WARN, FV_LOG2N_DEFAULT);
    return 0;
}

/* ---- the file key ------------------------------------------------------ */

/* Derive the key for h from the passphrase and make its AEAD context. */
static int file_key(fv_state *st, fv_passphrase *pp)
{
    uint8_t key[VEIL_AEAD_KEY_BYTES];
    int rc = 0;
    if (st->hdr.kdf == FV_KDF_NONE)
        memcpy(key, zero_key, sizeof key);
    else
        rc = fv_scrypt(st->be->name, pp->bytes, pp->len, st->hdr.salt, FV_SALT_BYTES,
                       st->hdr.log2n, st->hdr.r, st->hdr.p, key, sizeof key);
    fv_passphrase_wipe(pp);
    if (rc == 0)
        rc = st->be->aead_new(VEIL_SECRET_CHACHAPOLY, key, &st->aead);
    veil__memzero(key, sizeof key);
    return rc;
}

/* The configured mode must match the file's KDF. */
static int mode_matches(const fv_state *st, const fv_passphrase *pp)
{
    if (st->hdr.kdf == FV_KDF_NONE && !pp->none)
        return veil_error_set(VEIL_EPASSPHRASE,
                              "vault file %s has no passphrase (written with passphrase_mode = "
                              "none) but a passphrase is configured; refusing to ignore it",
                              st->path);
    if (st->hdr.kdf != FV_KDF_NONE && pp->none)
        return veil_error_set(VEIL_EPASSPHRASE,
                              "vault file %s is protected by a passphrase but passphrase_mode = "
                              "none", st->path);
    return 0;
}

/* ---- writing ----------------------------------------------------------- */

typedef struct enc_ctx {
    uint8_t *buf;
    size_t cap, pos;
    uint32_t count;
} enc_ctx;

static int count_one(void *arg, veil_secret h, const veil_secret_attrs *a, const uint8_t *b,
                     size_t len)
{
    (void)h, (void)a, (void)b, (void)len;
    ((enc_ctx *)arg)->count++;
    return 0;
}

static int encode_one(void *arg, veil_secret h, const veil_secret_attrs *a, const uint8_t *b,
                      size_t len)
{
    (void)h;
    enc_ctx *c = arg;
    /* The tag's room at the end is not for records. */
    return fv_record_encode(c->buf, c->cap - FV_TAG_BYTES, &c->pos, a, b, len);
}

static int encode_public(void *arg, const char *name, const uint8_t *value, size_t len)
{
    enc_ctx *c = arg;
    return fv_public_encode(c->buf, c->cap - FV_TAG_BYTES, &c->pos, name, value, len);
}

/* Seal the persistent set and the records into out (header || ciphertext
 * || tag). */
static int seal(fv_state *st, vc_vault *v, enc_ctx *c, uint32_t npublic, uint8_t **out,
                size_t *out_len)
{
    int rc;
    if ((rc = vc_foreach_persistent(v, encode_one, c)) != 0)
        return rc;
    veil__store_be32(c->buf + c->pos, npublic);
    c->pos += 4;
    if ((rc = vc_records_foreach(v, encode_public, c)) != 0)
        return rc;
    fv_header h = st->hdr;
    h.body_len = (uint32_t)(c->pos + FV_TAG_BYTES);
    if ((rc = st->be->random(h.nonce, FV_NONCE_BYTES)) != 0)
        return rc;
    *out_len = FV_HEADER_BYTES + h.body_len;
    *out = malloc(*out_len);
    if (*out == NULL)
        return veil_error_set(VEIL_ENOMEM, "vault file %s: out of memory", st->path);
    fv_header_encode(&h, *out);
    /* Encrypt in the guarded buffer, then copy the ciphertext out. */
    rc = st->be->aead_encrypt(st->aead, h.nonce, *out, FV_HEADER_BYTES, c->buf, c->pos);
    if (rc == 0)
        memcpy(*out + FV_HEADER_BYTES, c->buf, h.body_len);
    return rc;
}

/* Serialise and seal the persistent set and the records into a new file
 * image (always the current format version). */
static int image(fv_state *st, vc_vault *v, enc_ctx *c, uint8_t **file, size_t *file_len)
{
    size_t npublic, public_bytes;
    vc_records_size(v, &npublic, &public_bytes);
    c->cap = 4 + (size_t)c->count * FV_RECORD_MAX + 4 + npublic * FV_PUBLIC_OVERHEAD +
             public_bytes + FV_TAG_BYTES;
    if (c->cap > FV_BODY_MAX)
        return veil_error_set(VEIL_ELIMIT, "vault file %s: %u persistent secrets and %zu "
                              "records (%zu bytes) do not fit", st->path, c->count, npublic,
                              public_bytes);
    c->buf = st->be->secure_alloc(c->cap);
    if (c->buf == NULL)
        return veil_error_set(VEIL_ENOMEM, "vault file %s: out of guarded memory", st->path);
    veil__store_be32(c->buf, c->count);
    c->pos = 4;
    st->hdr.version = FV_VERSION;
    int rc = seal(st, v, c, (uint32_t)npublic, file, file_len);
    st->be->secure_free(c->buf, c->cap); /* wipes the plaintext */
    return rc;
}

/* The change hook: rewrite the whole file after every change to the
 * persistent set, or once per batch (veil_vault_batch_begin/commit). */
static int save(void *arg, vc_vault *v)
{
    fv_state *st = arg;
    enc_ctx c = { 0 };
    uint8_t *file = NULL;
    size_t file_len = 0;
    int rc = vc_foreach_persistent(v, count_one, &c);
    if (rc == 0)
        rc = image(st, v, &c, &file, &file_len);
    if (rc == 0)
        rc = fv_write_atomic(st->path, file, file_len);
    free(file);
    /* A failed creation is rolled back by the core (memory = file again); a
     * failed destroy is not, so the file lags behind until a write works. */
    if (rc == 0 || c.count < st->count) {
        st->dirty = rc != 0;
        st->count = c.count;
    }
    return rc;
}

/* ---- reading ----------------------------------------------------------- */

typedef struct ins_ctx {
    vc_vault *v;
    const char *path;
    uint32_t idx;
} ins_ctx;

static int insert_one(void *arg, const veil_secret_attrs *a, const uint8_t *b, size_t len)
{
    ins_ctx *c = arg;
    veil_secret s;
    int rc = vc_insert(c->v, a, b, len, &s);
    if (rc != 0)
        return veil_error_wrap(VEIL_EFORMAT, "vault file %s: record %u", c->path, c->idx);
    c->idx++;
    return 0;
}

static int insert_public(void *arg, const char *name, const uint8_t *value, size_t len)
{
    ins_ctx *c = arg;
    int rc = vc_records_insert(c->v, name, value, len);
    if (rc != 0)
        return veil_error_wrap(VEIL_EFORMAT, "vault file %s: public record '%s'", c->path,
                               name);
    return 0;
}

/* Decrypt the body of file (header already decoded into st->hdr) and load
 * its records. */
static int load(fv_state *st, vc_vault *v, const uint8_t *file)
{
    size_t n = st->hdr.body_len;
    uint8_t *body = st->be->secure_alloc(n);
    if (body == NULL)
        return veil_error_set(VEIL_ENOMEM, "vault file %s: out of guarded memory", st->path);
    memcpy(body, file + FV_HEADER_BYTES, n);
    int rc = st->be->aead_decrypt(st->aead, st->hdr.nonce, file, FV_HEADER_BYTES, body,
                                  n - FV_TAG_BYTES);
    if (rc == VEIL_EAUTH)
        rc = veil_error_set(VEIL_EPASSPHRASE,
                            st->hdr.kdf == FV_KDF_NONE
                                ? "vault file %s: the sealed body does not verify: the file was "
                                  "modified or corrupted"
                                : "vault file %s: wrong passphrase, or the file was modified "
                                  "(the sealed body does not verify)",
                            st->path);
    if (rc == 0) {
        ins_ctx c = { v, st->path, 0 };
        rc = fv_body_decode(st->path, st->hdr.version, body, n - FV_TAG_BYTES, insert_one,
                            insert_public, &c);
        st->count = c.idx;
    }
    if (rc == 0 && st->hdr.version < FV_VERSION)
        veil_log(VEIL_LOG_INFO, "vault.file",
                 "vault file %s is format version %u: read as such, rewritten as version %u "
                 "at its next change (older builds of veil cannot open it after that)",
                 st->path, st->hdr.version, FV_VERSION);
    st->be->secure_free(body, n);
    return rc;
}

/* Open an existing file (buf, len) or create a new one. */
static int open_file(fv_state *st, vc_vault *v, fv_passphrase *pp, const fv_options *o,
                     const uint8_t *buf, size_t len, bool exists)
{
    int rc;
    if (exists) {
        if ((rc = fv_header_decode(st->path, buf, len, &st->hdr)) != 0 ||
            (rc = mode_matches(st, pp)) != 0 || (rc = file_key(st, pp)) != 0)
            return rc;
        return load(st, v, buf);
    }
    memset(&st->hdr, 0, sizeof st->hdr);
    st->hdr.version = FV_VERSION;
    st->hdr.aead = FV_AEAD_CHACHAPOLY;
    if (!pp->none) {
        st->hdr.kdf = FV_KDF_SCRYPT;
        st->hdr.log2n = (uint8_t)o->log2n;
        st->hdr.r = o->r;
        st->hdr.p = o->p;
        if ((rc = st->be->random(st->hdr.salt, FV_SALT_BYTES)) != 0)
            return rc;
    }
    if ((rc = file_key(st, pp)) != 0)
        return rc;
    return save(st, v); /* an empty vault binds the passphrase now */
}

/* `create = no` / `new` against what is on disk (exists: under the lock). */
static int create_rule(const fv_state *st, const fv_options *o, bool exists)
{
    if (!exists && o->create == FV_CREATE_NO)
        return veil_error_set(VEIL_ENOTFOUND, "vault file %s does not exist (create = no)",
                              st->path);
    if (exists && o->create == FV_CREATE_NEW)
        return veil_error_set(VEIL_EEXIST, "vault file %s already exists (create = new)",
                              st->path);
    return 0;
}

static void state_free(fv_state *st)
{
    if (st == NULL)
        return;
    if (st->aead != NULL)
        st->be->aead_free(st->aead);
    fv_unlock(st->lock_fd);
    free(st);
}

int fv_instance_new(void *plugin_state, const veil_config_scope *scope, void **out)
{
    (void)plugin_state;
    vc_vault *v = NULL;
    fv_passphrase pp = { 0 };
    fv_options o;
    uint8_t *buf = NULL;
    size_t len = 0;
    bool exists = false;
    fv_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return veil_error_set(VEIL_ENOMEM, "vault file: out of memory");
    st->lock_fd = -1;
    /* The backend first, so a bad `crypto` is reported like every vault's. */
    int rc = vc_open_scope(scope, &v);
    if (rc == 0 && (rc = read_options(scope, &o, st->path, sizeof st->path)) == 0) {
        st->be = vc_backend_of(v);
        rc = fv_passphrase_load(scope, st->be, &pp);
    }
    if (rc == 0 && pp.none)
        veil_log(VEIL_LOG_WARN, "vault.file",
                 "vault file %s: passphrase_mode = none: the secrets are NOT encrypted with a "
                 "passphrase; only the file's permissions protect them",
                 st->path);
    /* A missing file with create = no leaves no lock file behind. */
    if (rc == 0 && o.create == FV_CREATE_NO && access(st->path, F_OK) != 0 && errno == ENOENT)
        rc = create_rule(st, &o, false);
    if (rc == 0 && (rc = fv_lock(st->path, &st->lock_fd)) == 0) {
        fv_remove_stale_temp(st->path);
        rc = fv_read(st->path, o.allow_open, &exists, &buf, &len);
    }
    if (rc == 0)
        rc = create_rule(st, &o, exists);
    if (rc == 0)
        rc = open_file(st, v, &pp, &o, buf, len, exists);
    free(buf);
    fv_passphrase_wipe(&pp);
    if (rc != 0) {
        state_free(st);
        vc_free(v);
        return rc;
    }
    vc_set_user(v, st);
    vc_set_change_hook(v, save, st);
    *out = v;
    return 0;
}

void fv_instance_free(void *vault)
{
    vc_vault *v = vault;
    fv_state *st = vc_user(v);
    /* A destroy whose write failed left the file behind memory: try once
     * more so the file matches what the application saw. */
    if (st != NULL && (st->dirty || vc_batch_pending(v)) && save(st, v) != 0)
        veil_log(VEIL_LOG_ERROR, "vault.file",
                 "closing vault file %s: it still holds a change that could not be written: %s",
                 st->path, veil_last_error());
    state_free(st);
    vc_free(v);
}
