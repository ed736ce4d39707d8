/* Hash, HMAC (RFC 2104) and HKDF (RFC 5869), built once on the backend's
 * streaming hash so every backend shares the same construction.  HKDF
 * outputs go straight into new secrets; PRK and T(i) are wiped. */
#include "config.h"

#include <string.h>

#include <veil/error.h>

#include "core_internal.h"

#define HMAC_MAX_BLOCK 128u

/* RFC 2104 block sizes: 64 for SHA-256 and BLAKE2s, 128 for SHA-512 and
 * BLAKE2b. */
static size_t block_len(int alg)
{
    return alg == VEIL_HASH_SHA512 || alg == VEIL_HASH_BLAKE2B ? 128u : 64u;
}

static int hash_parts(const vc_backend *be, int alg, const uint8_t *prefix, size_t prefix_len,
                      const veil_iovec *parts, size_t nparts, uint8_t *out)
{
    vc_hash h;
    int rc = be->hash_init(&h, alg);
    if (rc != 0)
        return rc;
    if (prefix_len > 0 && (rc = be->hash_update(&h, prefix, prefix_len)) != 0)
        goto fail;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].len > 0 && (rc = be->hash_update(&h, parts[i].data, parts[i].len)) != 0)
            goto fail;
    return be->hash_final(&h, out);
fail:
    be->hash_abort(&h);
    return rc;
}

/* An HMAC key with its two padded blocks already hashed (RFC 2104 notes
 * these states can be precomputed): each further message with the same key
 * costs two block compressions less.  HKDF expand uses one key for every
 * output; hashing was most of a Noise handshake's cost outside X25519. */
typedef struct hmac_key {
    vc_hash in, out; /* after H(K0 ^ ipad), H(K0 ^ opad) */
} hmac_key;

/* prime: the key will hash several messages, each non-empty (HKDF
 * expand: the counter byte), so both padded states may be primed. */
static int hmac_setup(const vc_backend *be, int alg, const uint8_t *key, size_t key_len,
                      bool prime, hmac_key *k)
{
    size_t bl = block_len(alg);
    uint8_t k0[HMAC_MAX_BLOCK];
    int rc;
    memset(k0, 0, sizeof k0);
    if (key_len > bl) {
        veil_iovec kp = { key, key_len };
        if ((rc = hash_parts(be, alg, NULL, 0, &kp, 1, k0)) != 0)
            goto out;
    } else if (key_len > 0) {
        memcpy(k0, key, key_len);
    }
    for (size_t i = 0; i < bl; i++)
        k0[i] ^= 0x36;
    if ((rc = be->hash_init(&k->in, alg)) != 0)
        goto out;
    if ((rc = be->hash_update(&k->in, k0, bl)) != 0 || (rc = be->hash_init(&k->out, alg)) != 0) {
        be->hash_abort(&k->in);
        goto out;
    }
    for (size_t i = 0; i < bl; i++)
        k0[i] ^= 0x36 ^ 0x5c;
    if ((rc = be->hash_update(&k->out, k0, bl)) != 0) {
        be->hash_abort(&k->in);
        be->hash_abort(&k->out);
    } else if (prime && be->hash_prime != NULL) {
        be->hash_prime(&k->in);
        be->hash_prime(&k->out);
    }
out:
    be->memzero(k0, sizeof k0);
    return rc;
}

/* Wipe a set-up key (also after a last hmac_run: abort follows final). */
static void hmac_drop(const vc_backend *be, hmac_key *k)
{
    be->hash_abort(&k->in);
    be->hash_abort(&k->out);
}

/* HMAC of parts under k.  last: finish the key's own states instead of
 * copies (saves the copies; the key is spent, hmac_drop still follows). */
static int hmac_run(const vc_backend *be, hmac_key *k, const veil_iovec *parts, size_t nparts,
                    bool last, uint8_t *out)
{
    vc_hash ci, co, *in = &k->in, *o = &k->out;
    uint8_t inner[VEIL_HASH_MAX_BYTES];
    size_t hl = veil_hash_len(k->in.alg);
    int rc = 0;
    if (!last) {
        if ((rc = be->hash_copy(&ci, &k->in)) != 0)
            return rc;
        if ((rc = be->hash_copy(&co, &k->out)) != 0) {
            be->hash_abort(&ci);
            return rc;
        }
        in = &ci;
        o = &co;
    }
    for (size_t i = 0; i < nparts && rc == 0; i++)
        if (parts[i].len > 0)
            rc = be->hash_update(in, parts[i].data, parts[i].len);
    if (rc == 0)
        rc = be->hash_final(in, inner);
    if (rc == 0)
        rc = be->hash_update(o, inner, hl);
    if (rc == 0)
        rc = be->hash_final(o, out);
    be->hash_abort(in); /* nothing left to do after a final */
    be->hash_abort(o);
    be->memzero(inner, sizeof inner);
    return rc;
}

int vc_hmac_raw(const vc_backend *be, int alg, const uint8_t *key, size_t key_len,
                const veil_iovec *parts, size_t nparts, uint8_t *out)
{
    hmac_key k;
    int rc = hmac_setup(be, alg, key, key_len, false, &k);
    if (rc != 0)
        return rc;
    rc = hmac_run(be, &k, parts, nparts, true, out);
    hmac_drop(be, &k);
    return rc;
}

int vc_input_bytes(vc_vault *v, const veil_vault_input *in, const char *what, veil_iovec *out)
{
    if (in->secret == 0) {
        out->data = in->data;
        out->len = in->len;
        return 0;
    }
    vc_entry *e = NULL;
    int rc = vc_lookup(v, in->secret, what, &e);
    if (rc != 0)
        return rc;
    if (e->attrs.type != VEIL_SECRET_BUFFER)
        return vc_type_error(v, e, what, "buffer");
    out->data = vc_bytes(v, e);
    out->len = e->len;
    return 0;
}

int vc_op_hash(void *vault, int alg, const veil_iovec *parts, size_t nparts, uint8_t *out)
{
    vc_vault *v = vault;
    return hash_parts(v->be, alg, NULL, 0, parts, nparts, out);
}

int vc_op_hmac(void *vault, int alg, const veil_vault_input *key, const veil_iovec *parts,
               size_t nparts, uint8_t *out)
{
    vc_vault *v = vault;
    veil_iovec k = { NULL, 0 };
    int rc = vc_input_bytes(v, key, "hmac key", &k);
    if (rc != 0)
        return rc;
    return vc_hmac_raw(v->be, alg, k.data, k.len, parts, nparts, out);
}

#define HKDF_MAX_IKM 16u
#define HKDF_MAX_OUT 4u

int vc_op_hkdf(void *vault, int alg, const veil_vault_input *salt, const veil_vault_input *ikm,
               size_t n_ikm, const uint8_t *info, size_t info_len,
               const veil_secret_attrs *out_attrs, size_t n_out, veil_secret *out)
{
    vc_vault *v = vault;
    size_t hl = veil_hash_len(alg);
    uint8_t prk[VEIL_HASH_MAX_BYTES], t[VEIL_HASH_MAX_BYTES];
    veil_iovec ik[HKDF_MAX_IKM], s = { NULL, 0 };
    veil_secret made[HKDF_MAX_OUT] = { 0 };
    size_t n_made = 0;
    hmac_key pk;
    bool have_pk = false;
    int rc;

    if (n_ikm > HKDF_MAX_IKM)
        return veil_error_set(VEIL_ELIMIT, "hkdf: %zu ikm parts, at most %u", n_ikm, HKDF_MAX_IKM);
    if (n_out < 1 || n_out > HKDF_MAX_OUT)
        return veil_error_set(VEIL_EINVAL, "hkdf: n_out %zu, expected 1..%u", n_out, HKDF_MAX_OUT);
    for (size_t i = 0; i < n_out; i++) {
        size_t want = out_attrs[i].type == VEIL_SECRET_BUFFER
                          ? out_attrs[i].length
                          : veil_secret_type_len(out_attrs[i].type);
        if (want == 0 || want > hl)
            return veil_error_set(VEIL_EINVAL,
                                  "hkdf: out_attrs[%zu] asks for %zu bytes of type %s; "
                                  "each output is 1..%zu bytes (one hash block)",
                                  i, want, veil_secret_type_name(out_attrs[i].type), hl);
    }
    if ((rc = vc_input_bytes(v, salt, "hkdf salt", &s)) != 0)
        return rc;
    for (size_t i = 0; i < n_ikm; i++)
        if ((rc = vc_input_bytes(v, &ikm[i], "hkdf ikm", &ik[i])) != 0)
            return rc;
    /* Extract: PRK = HMAC(salt, IKM). */
    if ((rc = vc_hmac_raw(v->be, alg, s.data, s.len, ik, n_ikm, prk)) != 0)
        goto out;
    /* Expand: T(i) = HMAC(PRK, T(i-1) || info || i), PRK's blocks hashed once. */
    if ((rc = hmac_setup(v->be, alg, prk, hl, true, &pk)) != 0)
        goto out;
    have_pk = true;
    for (size_t i = 0; i < n_out; i++) {
        uint8_t ctr = (uint8_t)(i + 1);
        veil_iovec parts[3] = { { t, i == 0 ? 0 : hl }, { info, info_len }, { &ctr, 1 } };
        if ((rc = hmac_run(v->be, &pk, parts, 3, i + 1 == n_out, t)) != 0)
            goto out;
        size_t want = out_attrs[i].type == VEIL_SECRET_BUFFER
                          ? out_attrs[i].length
                          : veil_secret_type_len(out_attrs[i].type);
        if ((rc = vc_create(v, &out_attrs[i], t, want, &made[i])) != 0)
            goto out;
        n_made++;
    }
    if ((rc = vc_commit(v, made, n_made)) != 0) {
        n_made = 0; /* already removed */
        goto out;
    }
    memcpy(out, made, n_out * sizeof *out);
out:
    if (rc != 0)
        for (size_t i = 0; i < n_made; i++)
            vc_remove(v, made[i]);
    if (have_pk)
        hmac_drop(v->be, &pk);
    v->be->memzero(prk, sizeof prk);
    v->be->memzero(t, sizeof t);
    return rc;
}
