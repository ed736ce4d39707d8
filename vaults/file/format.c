/* Encode/decode of the file vault format (format.h, docs/VAULT-FILE.md).
 * The decoder never reads past `len`: each field's length is checked
 * against what is left before it is read, and errors say which field at
 * which offset. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <veil/error.h>

#include "format.h"
#include "helpers.h"

/* Header field offsets (version 1). */
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 8,
    OFF_KDF = 10,
    OFF_LOG2N = 11,
    OFF_R = 12,
    OFF_P = 16,
    OFF_SALT = 20,
    OFF_AEAD = 36,
    OFF_NONCE = 37,
    OFF_BODY_LEN = 49,
};
_Static_assert(OFF_BODY_LEN + 4 == FV_HEADER_BYTES, "header layout");

int fv_kdf_params_check(const char *where, unsigned log2n, unsigned long long r,
                        unsigned long long p)
{
    if (log2n < FV_LOG2N_MIN || log2n > FV_LOG2N_MAX)
        return veil_error_set(VEIL_EFORMAT, "%s: scrypt log2(N) = %u, expected %u..%u", where,
                              log2n, FV_LOG2N_MIN, FV_LOG2N_MAX);
    if (r < FV_R_MIN || r > FV_R_MAX)
        return veil_error_set(VEIL_EFORMAT, "%s: scrypt r = %llu, expected %u..%u", where, r,
                              FV_R_MIN, FV_R_MAX);
    if (p < FV_P_MIN || p > FV_P_MAX)
        return veil_error_set(VEIL_EFORMAT, "%s: scrypt p = %llu, expected %u..%u", where, p,
                              FV_P_MIN, FV_P_MAX);
    unsigned long long mem = 128ull * r << log2n;
    if (mem > FV_KDF_MEM_MAX)
        return veil_error_set(VEIL_EFORMAT,
                              "%s: scrypt memory 128*r*N = %llu bytes exceeds the %llu-byte cap",
                              where, mem, (unsigned long long)FV_KDF_MEM_MAX);
    return 0;
}

void fv_header_encode(const fv_header *h, uint8_t out[FV_HEADER_BYTES])
{
    memcpy(out + OFF_MAGIC, FV_MAGIC, FV_MAGIC_BYTES);
    veil__store_be16(out + OFF_VERSION, h->version);
    out[OFF_KDF] = h->kdf;
    out[OFF_LOG2N] = h->log2n;
    veil__store_be32(out + OFF_R, h->r);
    veil__store_be32(out + OFF_P, h->p);
    memcpy(out + OFF_SALT, h->salt, FV_SALT_BYTES);
    out[OFF_AEAD] = h->aead;
    memcpy(out + OFF_NONCE, h->nonce, FV_NONCE_BYTES);
    veil__store_be32(out + OFF_BODY_LEN, h->body_len);
}

/* The file must hold `need` bytes from `off` for field `what`. */
static int need(const char *path, size_t len, size_t off, size_t n, const char *what)
{
    if (len < off + n)
        return veil_error_set(VEIL_ETRUNCATED,
                              "vault file %s: truncated: field '%s' at offset %zu needs %zu "
                              "bytes, the file has %zu",
                              path, what, off, n, len);
    return 0;
}

static int kdf_decode(const char *path, const uint8_t *f, fv_header *h)
{
    static const uint8_t zero_salt[FV_SALT_BYTES];
    char where[64 + 4096];
    h->kdf = f[OFF_KDF];
    h->log2n = f[OFF_LOG2N];
    h->r = veil__load_be32(f + OFF_R);
    h->p = veil__load_be32(f + OFF_P);
    memcpy(h->salt, f + OFF_SALT, FV_SALT_BYTES);
    if (h->kdf == FV_KDF_NONE) {
        if (h->log2n != 0 || h->r != 0 || h->p != 0 ||
            memcmp(h->salt, zero_salt, FV_SALT_BYTES) != 0)
            return veil_error_set(VEIL_EFORMAT,
                                  "vault file %s: KDF 'none' at offset %u but its parameters "
                                  "(offsets %u..%u) are not all zero",
                                  path, OFF_KDF, OFF_LOG2N, OFF_AEAD - 1);
        return 0;
    }
    if (h->kdf != FV_KDF_SCRYPT)
        return veil_error_set(VEIL_EFORMAT,
                              "vault file %s: unknown KDF id %u at offset %u (known: 0 none, "
                              "1 scrypt)",
                              path, h->kdf, OFF_KDF);
    snprintf(where, sizeof where, "vault file %s: header offsets %u..%u", path, OFF_LOG2N,
             OFF_SALT - 1);
    return fv_kdf_params_check(where, h->log2n, h->r, h->p);
}

int fv_header_decode(const char *path, const uint8_t *f, size_t len, fv_header *h)
{
    int rc;
    memset(h, 0, sizeof *h);
    if ((rc = need(path, len, OFF_MAGIC, FV_MAGIC_BYTES, "magic")) != 0)
        return rc;
    if (memcmp(f, FV_MAGIC, FV_MAGIC_BYTES) != 0)
        return veil_error_set(VEIL_EFORMAT,
                              "vault file %s: bad magic at offset 0 (expected \"%s\"): not a "
                              "veil file vault",
                              path, FV_MAGIC);
    if ((rc = need(path, len, OFF_VERSION, 2, "version")) != 0)
        return rc;
    h->version = veil__load_be16(f + OFF_VERSION);
    if (h->version < FV_VERSION_MIN || h->version > FV_VERSION)
        return veil_error_set(VEIL_EVERSION,
                              "vault file %s: unknown format version %u at offset %u "
                              "(this build reads versions %u..%u)",
                              path, h->version, OFF_VERSION, FV_VERSION_MIN, FV_VERSION);
    if ((rc = need(path, len, OFF_KDF, FV_HEADER_BYTES - OFF_KDF, "header")) != 0)
        return rc;
    if ((rc = kdf_decode(path, f, h)) != 0)
        return rc;
    h->aead = f[OFF_AEAD];
    if (h->aead != FV_AEAD_CHACHAPOLY)
        return veil_error_set(VEIL_EFORMAT,
                              "vault file %s: unknown AEAD id %u at offset %u "
                              "(known: 1 chacha20-poly1305)",
                              path, h->aead, OFF_AEAD);
    memcpy(h->nonce, f + OFF_NONCE, FV_NONCE_BYTES);
    h->body_len = veil__load_be32(f + OFF_BODY_LEN);
    if (h->body_len < FV_TAG_BYTES + 4 || h->body_len > FV_BODY_MAX)
        return veil_error_set(VEIL_EFORMAT,
                              "vault file %s: body length %u at offset %u, expected %u..%u",
                              path, h->body_len, OFF_BODY_LEN, FV_TAG_BYTES + 4, FV_BODY_MAX);
    if ((rc = need(path, len, FV_HEADER_BYTES, h->body_len, "sealed body")) != 0)
        return rc;
    if (len != FV_HEADER_BYTES + (size_t)h->body_len)
        return veil_error_set(VEIL_EFORMAT,
                              "vault file %s: %zu trailing bytes at offset %zu after the sealed "
                              "body",
                              path, len - FV_HEADER_BYTES - h->body_len,
                              FV_HEADER_BYTES + (size_t)h->body_len);
    return 0;
}

/* Body reader: bounds-checked cursor. */
typedef struct cursor {
    const char *path;
    const uint8_t *p;
    size_t len, off;
} cursor;

static int take(cursor *c, size_t n, const char *what, const uint8_t **out)
{
    if (c->len - c->off < n)
        return veil_error_set(VEIL_ETRUNCATED,
                              "vault file %s: body truncated: field '%s' at body offset %zu "
                              "needs %zu bytes, %zu left",
                              c->path, what, c->off, n, c->len - c->off);
    *out = c->p + c->off;
    c->off += n;
    return 0;
}

static int record_decode(cursor *c, uint32_t idx, fv_record_fn fn, void *arg)
{
    const uint8_t *t = NULL, *fl = NULL, *ll = NULL, *label = NULL, *bl = NULL, *bytes = NULL;
    veil_secret_attrs a;
    int rc;
    size_t at = c->off;
    if ((rc = take(c, 1, "type", &t)) != 0 || (rc = take(c, 1, "flags", &fl)) != 0 ||
        (rc = take(c, 1, "label length", &ll)) != 0)
        return rc;
    if (*t < VEIL_SECRET_BUFFER || *t > VEIL_SECRET_P256)
        return veil_error_set(VEIL_EFORMAT, "vault file %s: record %u: unknown type %u at body "
                                            "offset %zu", c->path, idx, *t, at);
    if (*fl & ~FV_FLAG_EXPORTABLE)
        return veil_error_set(VEIL_EFORMAT, "vault file %s: record %u: unknown flags 0x%02x at "
                                            "body offset %zu", c->path, idx, *fl, at + 1);
    if (*ll > VEIL_LABEL_MAX)
        return veil_error_set(VEIL_EFORMAT, "vault file %s: record %u: label length %u at body "
                                            "offset %zu exceeds %u",
                              c->path, idx, *ll, at + 2, VEIL_LABEL_MAX);
    size_t loff = c->off;
    if ((rc = take(c, *ll, "label", &label)) != 0)
        return rc;
    if (memchr(label, '\0', *ll) != NULL)
        return veil_error_set(VEIL_EFORMAT, "vault file %s: record %u: NUL byte in the label at "
                                            "body offset %zu", c->path, idx, loff);
    size_t boff = c->off;
    if ((rc = take(c, 1, "secret length", &bl)) != 0)
        return rc;
    if (*bl < 1 || *bl > VEIL_SECRET_MAX_BYTES)
        return veil_error_set(VEIL_EFORMAT, "vault file %s: record %u: secret length %u at body "
                                            "offset %zu, expected 1..%u",
                              c->path, idx, *bl, boff, VEIL_SECRET_MAX_BYTES);
    if ((rc = take(c, *bl, "secret bytes", &bytes)) != 0)
        return rc;
    memset(&a, 0, sizeof a);
    a.type = *t;
    a.persistence = VEIL_PERSISTENT;
    a.exportable = (*fl & FV_FLAG_EXPORTABLE) != 0;
    a.length = *bl;
    memcpy(a.label, label, *ll);
    return fn(arg, &a, bytes, *bl);
}

/* One public record (format 2): name_len, name, u32 length, value. */
static int public_decode(cursor *c, uint32_t idx, fv_public_fn fn, void *arg)
{
    const uint8_t *nl = NULL, *name = NULL, *vl = NULL, *value = NULL;
    char nm[VEIL_RECORD_NAME_MAX + 1];
    size_t at = c->off;
    int rc = take(c, 1, "record name length", &nl);
    if (rc != 0)
        return rc;
    if (*nl < 1 || *nl > VEIL_RECORD_NAME_MAX)
        return veil_error_set(VEIL_EFORMAT, "vault file %s: public record %u: name length %u "
                                            "at body offset %zu, expected 1..%u",
                              c->path, idx, *nl, at, VEIL_RECORD_NAME_MAX);
    if ((rc = take(c, *nl, "record name", &name)) != 0)
        return rc;
    memcpy(nm, name, *nl);
    nm[*nl] = '\0';
    size_t voff = c->off;
    if ((rc = take(c, 4, "record length", &vl)) != 0)
        return rc;
    uint32_t n = veil__load_be32(vl);
    if (n > VEIL_RECORD_VALUE_MAX)
        return veil_error_set(VEIL_EFORMAT, "vault file %s: public record %u: length %u at body "
                                            "offset %zu exceeds %u",
                              c->path, idx, n, voff, VEIL_RECORD_VALUE_MAX);
    if ((rc = take(c, n, "record value", &value)) != 0)
        return rc;
    return fn(arg, nm, value, n);
}

/* A u32 count at the cursor that the rest of the body can hold, each item
 * taking at least `min` bytes. */
static int count_decode(cursor *c, size_t min, const char *what, uint32_t *n)
{
    size_t at = c->off;
    const uint8_t *cnt = NULL;
    int rc = take(c, 4, what, &cnt);
    if (rc != 0)
        return rc;
    *n = veil__load_be32(cnt);
    /* Refuse a count the body cannot hold before walking it. */
    if (*n > (c->len - c->off) / min)
        return veil_error_set(VEIL_EFORMAT, "vault file %s: %s %u at body offset %zu "
                                            "cannot fit in %zu bytes", c->path, what, *n, at,
                              c->len - c->off);
    return 0;
}

int fv_body_decode(const char *path, unsigned version, const uint8_t *body, size_t len,
                   fv_record_fn fn, fv_public_fn public_fn, void *arg)
{
    cursor c = { path, body, len, 0 };
    uint32_t n = 0, np = 0;
    int rc = count_decode(&c, 4, "record count", &n);
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = record_decode(&c, i, fn, arg);
    if (rc == 0 && version >= 2)
        rc = count_decode(&c, FV_PUBLIC_OVERHEAD + 1, "public record count", &np);
    for (uint32_t i = 0; rc == 0 && i < np; i++)
        rc = public_decode(&c, i, public_fn, arg);
    if (rc != 0)
        return rc;
    if (c.off != len)
        return veil_error_set(VEIL_EFORMAT, "vault file %s: %zu trailing bytes at body offset "
                                            "%zu after %u records%s", path, len - c.off, c.off,
                              n + np, version >= 2 ? " (secret and public)" : "");
    return 0;
}

int fv_record_encode(uint8_t *out, size_t cap, size_t *pos, const veil_secret_attrs *attrs,
                     const uint8_t *bytes, size_t len)
{
    size_t ll = strnlen(attrs->label, sizeof attrs->label);
    if (ll > VEIL_LABEL_MAX || len < 1 || len > VEIL_SECRET_MAX_BYTES)
        return veil_error_set(VEIL_EINVAL, "vault file: cannot encode a secret of %zu bytes "
                                           "with a %zu-byte label", len, ll);
    size_t n = 4 + ll + len;
    if (cap - *pos < n)
        return veil_error_set(VEIL_ELIMIT, "vault file: body buffer of %zu bytes is full", cap);
    uint8_t *p = out + *pos;
    p[0] = (uint8_t)attrs->type;
    p[1] = attrs->exportable ? FV_FLAG_EXPORTABLE : 0;
    p[2] = (uint8_t)ll;
    memcpy(p + 3, attrs->label, ll);
    p[3 + ll] = (uint8_t)len;
    memcpy(p + 4 + ll, bytes, len);
    *pos += n;
    return 0;
}

int fv_public_encode(uint8_t *out, size_t cap, size_t *pos, const char *name,
                     const uint8_t *value, size_t len)
{
    size_t nl = strnlen(name, VEIL_RECORD_NAME_MAX + 1);
    if (nl < 1 || nl > VEIL_RECORD_NAME_MAX || len > VEIL_RECORD_VALUE_MAX)
        return veil_error_set(VEIL_EINVAL, "vault file: cannot encode a record of %zu bytes "
                                           "named by %zu characters", len, nl);
    size_t n = FV_PUBLIC_OVERHEAD + nl + len;
    if (cap - *pos < n)
        return veil_error_set(VEIL_ELIMIT, "vault file: body buffer of %zu bytes is full", cap);
    uint8_t *p = out + *pos;
    p[0] = (uint8_t)nl;
    memcpy(p + 1, name, nl);
    veil__store_be32(p + 1 + nl, (uint32_t)len);
    if (len > 0)
        memcpy(p + FV_PUBLIC_OVERHEAD + nl, value, len);
    *pos += n;
    return 0;
}
