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

static int hash_parts(vc_vault *v, int alg, const veil_iovec *parts, size_t nparts, uint8_t *out)
{
    const vc_backend *be = v->be;
    vc_hash h;
    int rc = be->hash_init(&h, v->hash_pool, alg);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].len > 0 && (rc = be->hash_update(&h, parts[i].data, parts[i].len)) != 0)
            goto fail;
    return be->hash_final(&h, out);
fail:
    be->hash_abort(&h);
    return rc;
}

/* An HMAC key, set up once for every message it authenticates (HKDF
 * expand uses one key for all its outputs).  RFC 2104 notes the states
 * after H(K0 ^ ipad) and H(K0 ^ opad) can be precomputed: where the
 * backend copies a state with a memcpy (copy_algs: libsodium's), the two
 * padded blocks are hashed once and the states copied per message, two
 * compressions less each time; otherwise (OpenSSL, whose copy allocates a
 * provider context) the key keeps K0 ^ ipad and K0 ^ opad and each
 * message hashes them again, from pooled contexts, allocating nothing. */
typedef struct hmac_key {
    vc_vault *v;
    int alg;
    bool copies;
    vc_hash in, out;                                  /* copies: the two primed states */
    uint8_t ipad[HMAC_MAX_BLOCK], opad[HMAC_MAX_BLOCK]; /* otherwise: the padded key blocks */
} hmac_key;

/* Hash the padded key block into a fresh state. */
static int pad_state(hmac_key *k, vc_hash *h, const uint8_t *pad)
{
    const vc_backend *be = k->v->be;
    int rc = be->hash_init(h, k->v->hash_pool, k->alg);
    if (rc == 0 && (rc = be->hash_update(h, pad, block_len(k->alg))) != 0)
        be->hash_abort(h);
    return rc;
}

static int hmac_setup(vc_vault *v, int alg, const uint8_t *key, size_t key_len, hmac_key *k)
{
    const vc_backend *be = v->be;
    size_t bl = block_len(alg);
    uint8_t k0[HMAC_MAX_BLOCK];
    int rc = 0;
    k->v = v;
    k->alg = alg;
    k->copies = be->hash_copy != NULL && (be->copy_algs >> alg & 1u);
    k->in.alg = k->out.alg = VC_HASH_SPENT;
    memset(k0, 0, sizeof k0);
    if (key_len > bl) {
        veil_iovec kp = { key, key_len };
        if ((rc = hash_parts(v, alg, &kp, 1, k0)) != 0)
            goto out;
    } else if (key_len > 0) {
        memcpy(k0, key, key_len);
    }
    for (size_t i = 0; i < bl; i++) {
        k->ipad[i] = k0[i] ^ 0x36;
        k->opad[i] = k0[i] ^ 0x5c;
    }
    if (k->copies && (rc = pad_state(k, &k->in, k->ipad)) == 0 &&
        (rc = pad_state(k, &k->out, k->opad)) != 0)
        be->hash_abort(&k->in);
out:
    veil__memzero(k0, sizeof k0);
    if (rc != 0 || k->copies) {
        veil__memzero(k->ipad, sizeof k->ipad);
        veil__memzero(k->opad, sizeof k->opad);
    }
    return rc;
}

/* Wipe a set-up key (also after a last hmac_run: abort follows final). */
static void hmac_drop(hmac_key *k)
{
    const vc_backend *be = k->v->be;
    be->hash_abort(&k->in);
    be->hash_abort(&k->out);
    veil__memzero(k->ipad, sizeof k->ipad);
    veil__memzero(k->opad, sizeof k->opad);
}

/* The inner and outer states for one message: copies of the primed ones
 * (last: the primed ones themselves, which saves the copies; the key is
 * spent then, hmac_drop still follows), or fresh ones. */
static int hmac_states(hmac_key *k, bool last, vc_hash *ci, vc_hash *co, vc_hash **in,
                       vc_hash **o)
{
    const vc_backend *be = k->v->be;
    int rc;
    if (k->copies && last) {
        *in = &k->in;
        *o = &k->out;
        return 0;
    }
    *in = ci;
    *o = co;
    if (k->copies) {
        if ((rc = be->hash_copy(ci, &k->in)) != 0)
            return rc;
        if ((rc = be->hash_copy(co, &k->out)) != 0)
            be->hash_abort(ci);
        return rc;
    }
    if ((rc = pad_state(k, ci, k->ipad)) != 0)
        return rc;
    if ((rc = pad_state(k, co, k->opad)) != 0)
        be->hash_abort(ci);
    return rc;
}

/* HMAC of parts under k. */
static int hmac_run(hmac_key *k, const veil_iovec *parts, size_t nparts, bool last, uint8_t *out)
{
    const vc_backend *be = k->v->be;
    vc_hash ci, co, *in, *o;
    uint8_t inner[VEIL_HASH_MAX_BYTES];
    size_t hl = veil_hash_len(k->alg);
    int rc = hmac_states(k, last, &ci, &co, &in, &o);
    if (rc != 0)
        return rc;
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
    veil__memzero(inner, sizeof inner);
    return rc;
}

int vc_hmac_raw(vc_vault *v, int alg, const uint8_t *key, size_t key_len,
                const veil_iovec *parts, size_t nparts, uint8_t *out)
{
    hmac_key k;
    int rc = hmac_setup(v, alg, key, key_len, &k);
    if (rc != 0)
        return rc;
    rc = hmac_run(&k, parts, nparts, true, out);
    hmac_drop(&k);
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
    return hash_parts(vault, alg, parts, nparts, out);
}

int vc_op_hmac(void *vault, int alg, const veil_vault_input *key, const veil_iovec *parts,
               size_t nparts, uint8_t *out)
{
    vc_vault *v = vault;
    veil_iovec k = { NULL, 0 };
    int rc = vc_input_bytes(v, key, "hmac key", &k);
    if (rc != 0)
        return rc;
    return vc_hmac_raw(v, alg, k.data, k.len, parts, nparts, out);
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
    if ((rc = vc_hmac_raw(v, alg, s.data, s.len, ik, n_ikm, prk)) != 0)
        goto out;
    /* Expand: T(i) = HMAC(PRK, T(i-1) || info || i), PRK set up once. */
    if ((rc = hmac_setup(v, alg, prk, hl, &pk)) != 0)
        goto out;
    have_pk = true;
    for (size_t i = 0; i < n_out; i++) {
        uint8_t ctr = (uint8_t)(i + 1);
        veil_iovec parts[3] = { { t, i == 0 ? 0 : hl }, { info, info_len }, { &ctr, 1 } };
        if ((rc = hmac_run(&pk, parts, 3, i + 1 == n_out, t)) != 0)
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
        hmac_drop(&pk);
    veil__memzero(prk, sizeof prk);
    veil__memzero(t, sizeof t);
    return rc;
}
