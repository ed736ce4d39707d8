/* X3DH key derivation (spec sections 2.2 and 3.3):
 *
 *   SK = HKDF(salt = 32 zero bytes, IKM = F || DH1 || DH2 || DH3 [|| DH4],
 *             info, L = 32),  F = 32 bytes 0xFF (X25519)
 *   AD = Encode(IK_A) || Encode(IK_B) [|| appendix]
 *
 * The DH outputs and SK are vault secrets: the vault's HKDF takes them as
 * inputs by handle, so none of them is ever in this process's memory.  One
 * cleanup path destroys every DH output, whatever failed. */
#include "x3dh.h"

static const uint8_t zero_salt[32];
static const uint8_t f_pad[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

static const char *const dh_names[4] = { "DH1", "DH2", "DH3", "DH4" };

/* dh[i] = DH(priv, pub); a low-order result names the DH and the key. */
static int dh_one(veil_vault *v, int i, veil_secret priv, const uint8_t *pub, const char *desc,
                  veil_secret *dh)
{
    int rc = veil_vault_dh(v, priv, pub, X3DH_KEY_BYTES, NULL, &dh[i]);
    if (rc < 0)
        return veil_error_wrap(rc, "x3dh: %s = %s", dh_names[i], desc);
    return 0;
}

static int kdf(veil_vault *v, const veil_secret *dh, size_t n_dh, const uint8_t *info,
               size_t info_len, const veil_secret_attrs *sk_attrs, veil_secret *sk)
{
    veil_secret_attrs def;
    if (sk_attrs == NULL) {
        memset(&def, 0, sizeof def);
        def.type = VEIL_SECRET_BUFFER;
        def.persistence = VEIL_EPHEMERAL;
        def.length = X3DH_SK_BYTES;
        sk_attrs = &def;
    }
    veil_vault_input salt = { 0, zero_salt, sizeof zero_salt };
    veil_vault_input ikm[5] = { { 0, f_pad, sizeof f_pad } };
    for (size_t i = 0; i < n_dh; i++)
        ikm[i + 1].secret = dh[i];
    int rc = veil_vault_hkdf(v, VEIL_HASH_SHA256, &salt, ikm, n_dh + 1, info, info_len,
                             sk_attrs, 1, sk);
    return rc < 0 ? veil_error_wrap(rc, "x3dh: HKDF for SK") : 0;
}

static void drop_all(veil_vault *v, veil_secret *dh, size_t n)
{
    for (size_t i = 0; i < n; i++)
        veil__secret_drop(v, &dh[i]);
}

int x3dh_derive_initiator(veil_vault *v, veil_secret ik_a, veil_secret ek_a,
                          const x3dh_bundle *b, const uint8_t *info, size_t info_len,
                          const veil_secret_attrs *sk_attrs, veil_secret *sk)
{
    veil_secret dh[4] = { 0, 0, 0, 0 };
    size_t n = b->has_opk ? 4 : 3;
    int rc = dh_one(v, 0, ik_a, b->spk, "DH(IK_A, SPK_B)", dh);
    if (rc == 0)
        rc = dh_one(v, 1, ek_a, b->ik, "DH(EK_A, IK_B)", dh);
    if (rc == 0)
        rc = dh_one(v, 2, ek_a, b->spk, "DH(EK_A, SPK_B)", dh);
    if (rc == 0 && b->has_opk)
        rc = dh_one(v, 3, ek_a, b->opk, "DH(EK_A, OPK_B)", dh);
    if (rc == 0)
        rc = kdf(v, dh, n, info, info_len, sk_attrs, sk);
    drop_all(v, dh, 4);
    return rc;
}

int x3dh_derive_responder(veil_vault *v, veil_secret ik_b, veil_secret spk, veil_secret opk,
                          const uint8_t ik_a[X3DH_KEY_BYTES],
                          const uint8_t ek_a[X3DH_KEY_BYTES], const uint8_t *info,
                          size_t info_len, const veil_secret_attrs *sk_attrs, veil_secret *sk)
{
    veil_secret dh[4] = { 0, 0, 0, 0 };
    size_t n = opk != 0 ? 4 : 3;
    int rc = dh_one(v, 0, spk, ik_a, "DH(SPK_B, IK_A)", dh);
    if (rc == 0)
        rc = dh_one(v, 1, ik_b, ek_a, "DH(IK_B, EK_A)", dh);
    if (rc == 0)
        rc = dh_one(v, 2, spk, ek_a, "DH(SPK_B, EK_A)", dh);
    if (rc == 0 && opk != 0)
        rc = dh_one(v, 3, opk, ek_a, "DH(OPK_B, EK_A)", dh);
    if (rc == 0)
        rc = kdf(v, dh, n, info, info_len, sk_attrs, sk);
    drop_all(v, dh, 4);
    return rc;
}

int x3dh_make_ad(const uint8_t ik_a[X3DH_KEY_BYTES], const uint8_t ik_b[X3DH_KEY_BYTES],
                 const uint8_t *appendix, size_t appendix_len, uint8_t *out, size_t cap,
                 size_t *out_len)
{
    size_t n = 2u * X3DH_ENC_BYTES + appendix_len;
    if (appendix_len > X3DH_APPENDIX_MAX || cap < n)
        return veil_error_set(VEIL_ELIMIT, "x3dh: AD would be %zu bytes (appendix %zu, at most "
                              "%u; buffer %zu)", n, appendix_len, X3DH_APPENDIX_MAX, cap);
    x3dh_encode_key(ik_a, out);
    x3dh_encode_key(ik_b, out + X3DH_ENC_BYTES);
    if (appendix_len > 0)
        memcpy(out + 2u * X3DH_ENC_BYTES, appendix, appendix_len);
    *out_len = n;
    return 0;
}
