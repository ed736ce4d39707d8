/* Token-held signing keys (keys.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <veil/error.h>

#include "keys.h"
#include "p256.h"

/* DER of the Ed25519 curve's OID, 1.3.101.112 (RFC 8410), for CKA_EC_PARAMS. */
static const uint8_t ed25519_params[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
/* DER of P-256's OID, prime256v1 = 1.2.840.10045.3.1.7 (RFC 5480). */
static const uint8_t p256_params[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

/* What each identity key type needs of the token. */
typedef struct key_kind {
    int type;
    CK_KEY_TYPE ckk;
    CK_MECHANISM_TYPE gen, sign;
    const uint8_t *params;
    CK_ULONG params_len;
    const char *name;
} key_kind;

static const key_kind kinds[] = {
    { VEIL_SECRET_ED25519, CKK_EC_EDWARDS, CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA,
      ed25519_params, sizeof ed25519_params, "Ed25519" },
    { VEIL_SECRET_P256, CKK_EC, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, p256_params,
      sizeof p256_params, "P-256" },
};

static const key_kind *kind_of(int type)
{
    return type == VEIL_SECRET_P256 ? &kinds[1] : &kinds[0];
}

static int rv_error(p11_state *st, CK_RV rv, const char *what)
{
    char b[24];
    return veil_error_set(VEIL_EIO, "pkcs11 token %s: %s failed: %s", st->token, what,
                          p11_rv_name(rv, b));
}

p11_key *p11_key_of(p11_state *st, veil_secret s)
{
    for (size_t i = 0; i < st->nkeys; i++)
        if (st->keys[i].id != 0 && ((veil_secret)st->keys[i].id << 32) == s)
            return &st->keys[i];
    return NULL;
}

p11_key *p11_key_by_label(p11_state *st, const char *label)
{
    for (size_t i = 0; i < st->nkeys; i++)
        if (st->keys[i].id != 0 && label[0] != '\0' && strcmp(st->keys[i].label, label) == 0)
            return &st->keys[i];
    return NULL;
}

p11_key *p11_key_by_key_id(p11_state *st, const char *key_id)
{
    for (size_t i = 0; i < st->nkeys; i++)
        if (st->keys[i].id != 0 && strcmp(st->keys[i].key_id, key_id) == 0)
            return &st->keys[i];
    return NULL;
}

/* The Ed25519 public key from CKA_EC_POINT: the DER OCTET STRING the
 * standard asks for (04 20 || 32 bytes), or the raw 32 bytes some tokens
 * return. */
static int point_decode(const uint8_t *p, size_t n, uint8_t out[32])
{
    if (n == 34 && p[0] == 0x04 && p[1] == 0x20)
        p += 2;
    else if (n != 32)
        return veil_error_set(VEIL_EFORMAT, "pkcs11: an Ed25519 CKA_EC_POINT of %zu bytes "
                              "(expected 32, or 34 as a DER OCTET STRING)", n);
    memcpy(out, p, 32);
    return 0;
}

/* The P-256 public key from CKA_EC_POINT: a SEC1 point (uncompressed 65
 * bytes or compressed 33), as a DER OCTET STRING (04 41 / 04 21 ||
 * point) or raw; checked on the curve and compressed (p256.c). */
static int p256_point_decode(const uint8_t *p, size_t n, uint8_t out[VEIL_P256_PUBLIC_BYTES])
{
    if ((n == 67 && p[0] == 0x04 && p[1] == 0x41) || (n == 35 && p[0] == 0x04 && p[1] == 0x21)) {
        p += 2;
        n -= 2;
    }
    int rc = vc_p256_compress(p, n, out);
    return rc < 0 ? veil_error_wrap(rc, "pkcs11: a P-256 CKA_EC_POINT of %zu bytes", n) : 0;
}

/* Read CKA_EC_POINT of pub into k and compute its key id. */
static int key_public(p11_state *st, vc_vault *vc, p11_key *k)
{
    uint8_t point[80];
    CK_ATTRIBUTE a = { CKA_EC_POINT, point, sizeof point };
    CK_RV rv = st->mod.f->C_GetAttributeValue(st->sess, k->pub, &a, 1);
    if (rv != CKR_OK)
        return rv_error(st, rv, "reading CKA_EC_POINT");
    int rc;
    if (k->type == VEIL_SECRET_P256)
        rc = p256_point_decode(point, a.ulValueLen, k->pub_bytes);
    else
        rc = point_decode(point, a.ulValueLen, k->pub_bytes);
    k->pub_len = veil_secret_type_public_len(k->type);
    uint8_t h[32];
    veil_iovec part = { k->pub_bytes, k->pub_len };
    if (rc == 0 && (rc = vc_op_hash(vc, VEIL_HASH_SHA256, &part, 1, h)) == 0)
        veil__hex_encode(h, sizeof h, k->key_id);
    return rc;
}

/* A free entry (the table grows by one when full); its id is new. */
static int key_slot(p11_state *st, p11_key **out)
{
    if (st->next_id == UINT32_MAX)
        return veil_error_set(VEIL_ELIMIT, "pkcs11 vault: token key handles exhausted");
    p11_key *k = NULL;
    for (size_t i = 0; i < st->nkeys && k == NULL; i++)
        if (st->keys[i].id == 0)
            k = &st->keys[i];
    if (k == NULL) {
        p11_key *n = realloc(st->keys, (st->nkeys + 1) * sizeof *n);
        if (n == NULL)
            return veil_error_set(VEIL_ENOMEM, "pkcs11 vault: out of memory");
        st->keys = n;
        k = &st->keys[st->nkeys++];
    }
    memset(k, 0, sizeof *k);
    k->id = ++st->next_id;
    *out = k;
    return 0;
}

/* The public key object with the private key's CKA_ID. */
static int find_public(p11_state *st, const uint8_t *id, CK_ULONG id_len, CK_OBJECT_HANDLE *out)
{
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_ID, (void *)(uintptr_t)id, id_len } };
    CK_OBJECT_HANDLE *objs;
    CK_ULONG n = 0;
    int rc = p11_find(&st->mod, st->sess, st->token, t, 2, &objs, &n);
    if (rc == 0 && n != 1)
        rc = VEIL_ENOTFOUND; /* none, or ambiguous: not a key pair veil can name */
    if (rc == 0)
        *out = objs[0];
    free(objs);
    return rc;
}

/* One private key object found on the token: keep it when its public half
 * is there (a key without one cannot be named by veil). */
static int load_one(p11_state *st, vc_vault *vc, const key_kind *kind, CK_OBJECT_HANDLE priv,
                    p11_key **out)
{
    *out = NULL;
    uint8_t id[P11_ID_MAX], params[16];
    char label[VEIL_LABEL_MAX + 1];
    CK_ATTRIBUTE a[] = { { CKA_ID, id, sizeof id }, { CKA_LABEL, label, VEIL_LABEL_MAX },
                         { CKA_EC_PARAMS, params, sizeof params } };
    CK_RV rv = st->mod.f->C_GetAttributeValue(st->sess, priv, a, 3);
    if (rv != CKR_OK)
        return 0; /* a label or id longer than veil takes: not usable here */
    /* An EC key of another curve (P-384, ...) is no identity key of ours. */
    if (kind->type == VEIL_SECRET_P256 &&
        (a[2].ulValueLen != kind->params_len || memcmp(params, kind->params, kind->params_len)))
        return 0;
    label[a[1].ulValueLen] = '\0';
    CK_OBJECT_HANDLE pub;
    if (find_public(st, id, a[0].ulValueLen, &pub) != 0)
        return 0;
    p11_key *k;
    int rc = key_slot(st, &k);
    if (rc < 0)
        return rc;
    k->priv = priv;
    k->pub = pub;
    k->type = kind->type;
    memcpy(k->label, label, sizeof k->label);
    veil__hex_encode(id, a[0].ulValueLen, k->cka_id);
    if ((rc = key_public(st, vc, k)) < 0)
        k->id = 0;
    else
        *out = k;
    return rc;
}

/* The private keys of one kind. */
static int load_kind(p11_state *st, vc_vault *vc, const key_kind *kind, const char *key_label,
                     const char *key_id, bool *found)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = kind->ckk;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_KEY_TYPE, &kt, sizeof kt } };
    CK_OBJECT_HANDLE *objs;
    CK_ULONG n = 0;
    int rc = p11_find(&st->mod, st->sess, st->token, t, 2, &objs, &n);
    for (CK_ULONG i = 0; i < n && rc == 0; i++) {
        p11_key *k;
        if ((rc = load_one(st, vc, kind, objs[i], &k)) == 0 && k != NULL &&
            ((key_label != NULL && strcmp(k->label, key_label) == 0) ||
             (key_id != NULL && strcasecmp(k->cka_id, key_id) == 0)))
            *found = true;
    }
    free(objs);
    return rc;
}

int p11_keys_load(p11_state *st, vc_vault *vc, const char *key_label, const char *key_id)
{
    bool found = key_label == NULL && key_id == NULL;
    int rc = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0] && rc == 0; i++)
        rc = load_kind(st, vc, &kinds[i], key_label, key_id, &found);
    if (rc < 0)
        return rc;
    if (!found)
        return veil_error_set(VEIL_ENOTFOUND, "pkcs11 token %s: key not found: no Ed25519 or "
                              "P-256 key pair with %s '%s'", st->token,
                              key_label != NULL ? "label" : "id (CKA_ID, hex)",
                              key_label != NULL ? key_label : key_id);
    return 0;
}

int p11_key_type_check(p11_state *st, int type)
{
    const key_kind *kind = kind_of(type);
    int rc = p11_need_mech(&st->mod, st->slot, st->token, kind->gen, CKF_GENERATE_KEY_PAIR);
    return rc < 0 ? rc : p11_need_mech(&st->mod, st->slot, st->token, kind->sign, CKF_SIGN);
}

int p11_key_types(p11_state *st)
{
    char ed[320], p256[320];
    int rc = p11_key_type_check(st, VEIL_SECRET_ED25519);
    st->has_ed25519 = rc == 0;
    snprintf(ed, sizeof ed, "%s", rc < 0 ? veil_last_error() : "");
    rc = p11_key_type_check(st, VEIL_SECRET_P256);
    st->has_p256 = rc == 0;
    snprintf(p256, sizeof p256, "%s", rc < 0 ? veil_last_error() : "");
    if (st->has_ed25519 || st->has_p256)
        return 0;
    return veil_error_set(VEIL_EUNSUPPORTED, "%s (for Ed25519 keys); and %s (for P-256 keys): "
                          "it can hold no identity key", ed, p256);
}

int p11_key_generate(p11_state *st, vc_vault *vc, int type, const char *label, veil_secret *out)
{
    const key_kind *kind = kind_of(type);
    CK_MECHANISM mech = { kind->gen, NULL, 0 };
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    uint8_t id[16];
    char what[96];
    int rc = vc_op_random(vc, id, sizeof id);
    if (rc < 0)
        return rc;
    CK_ULONG ll = (CK_ULONG)strlen(label);
    CK_ATTRIBUTE pub_t[] = {
        { CKA_TOKEN, &yes, sizeof yes }, { CKA_VERIFY, &yes, sizeof yes },
        { CKA_EC_PARAMS, (void *)(uintptr_t)kind->params, kind->params_len },
        { CKA_LABEL, (void *)(uintptr_t)label, ll }, { CKA_ID, id, sizeof id },
    };
    CK_ATTRIBUTE priv_t[] = {
        { CKA_TOKEN, &yes, sizeof yes }, { CKA_PRIVATE, &yes, sizeof yes },
        { CKA_SENSITIVE, &yes, sizeof yes }, { CKA_EXTRACTABLE, &no, sizeof no },
        { CKA_SIGN, &yes, sizeof yes }, { CKA_LABEL, (void *)(uintptr_t)label, ll },
        { CKA_ID, id, sizeof id },
    };
    p11_key *k;
    if ((rc = key_slot(st, &k)) < 0)
        return rc;
    CK_RV rv = st->mod.f->C_GenerateKeyPair(st->sess, &mech, pub_t, 5, priv_t, 7, &k->pub,
                                            &k->priv);
    if (rv != CKR_OK) {
        k->id = 0;
        snprintf(what, sizeof what, "C_GenerateKeyPair (%s, %s)", p11_mech_name(kind->gen),
                 kind->name);
        return rv_error(st, rv, what);
    }
    k->type = type;
    memcpy(k->label, label, sizeof k->label);
    veil__hex_encode(id, sizeof id, k->cka_id);
    if ((rc = key_public(st, vc, k)) < 0) {
        (void)p11_key_destroy(st, k);
        return rc;
    }
    *out = (veil_secret)k->id << 32;
    return 0;
}

int p11_key_sign(p11_state *st, vc_vault *vc, p11_key *k, const uint8_t *msg, size_t len,
                 uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    const key_kind *kind = kind_of(k->type);
    CK_MECHANISM mech = { kind->sign, NULL, 0 };
    CK_ULONG n = VEIL_SIGNATURE_BYTES;
    uint8_t digest[32];
    char what[64];
    int rc = 0;
    if (k->type == VEIL_SECRET_P256) {         /* CKM_ECDSA signs a digest */
        veil_iovec part = { msg, len };
        if ((rc = vc_op_hash(vc, VEIL_HASH_SHA256, &part, 1, digest)) < 0)
            return rc;
        msg = digest;
        len = sizeof digest;
    }
    CK_RV rv = st->mod.f->C_SignInit(st->sess, &mech, k->priv);
    snprintf(what, sizeof what, "C_SignInit (%s)", p11_mech_name(kind->sign));
    if (rv != CKR_OK)
        return rv_error(st, rv, what);
    rv = st->mod.f->C_Sign(st->sess, (CK_BYTE *)(uintptr_t)msg, (CK_ULONG)len, sig, &n);
    snprintf(what, sizeof what, "C_Sign (%s)", p11_mech_name(kind->sign));
    if (rv != CKR_OK)
        return rv_error(st, rv, what);
    if (n != VEIL_SIGNATURE_BYTES)
        return veil_error_set(VEIL_EFORMAT, "pkcs11 token %s: a %lu-byte %s signature "
                              "(expected 64)", st->token, (unsigned long)n, kind->name);
    if (k->type == VEIL_SECRET_P256 && (rc = vc_p256_sig_normalize(sig)) < 0)
        return veil_error_wrap(rc, "pkcs11 token %s: its CKM_ECDSA signature", st->token);
    return 0;
}

int p11_key_destroy(p11_state *st, p11_key *k)
{
    CK_RV rv = st->mod.f->C_DestroyObject(st->sess, k->priv);
    CK_RV rv2 = st->mod.f->C_DestroyObject(st->sess, k->pub);
    memset(k, 0, sizeof *k);
    if (rv != CKR_OK)
        return rv_error(st, rv, "C_DestroyObject (private key)");
    return rv2 != CKR_OK ? rv_error(st, rv2, "C_DestroyObject (public key)") : 0;
}

void p11_keys_free(p11_state *st)
{
    free(st->keys);
    st->keys = NULL;
    st->nkeys = 0;
}
