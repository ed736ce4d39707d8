/* X3DH wire formats: Encode(PK), prekey bundles, the initial message.
 *
 * Every decoder checks each length before it reads and names the field
 * that was wrong; nothing is read past len and no output is trusted until
 * the whole input parsed.  Keys are checked at the edge, so a low-order or
 * non-canonical key never reaches a DH or a signature check (the vault's
 * all-zero DH check stays as the second line). */
#include "x3dh.h"

/* X25519 public keys that give a DH result independent of the private key
 * (RFC 7748 section 6.1's "all-zero" cases, as u < 2^255): 0, 1, the two
 * points of order 8, p - 1, p, p + 1. */
static const uint8_t low_order[7][X3DH_KEY_BYTES] = {
    { 0 },
    { 1 },
    { 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
      0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 },
    { 0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b,
      0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57 },
    { 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
    { 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
    { 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
};

/* u >= p = 2^255 - 19 (little-endian), for u < 2^255. */
static bool at_least_p(const uint8_t u[X3DH_KEY_BYTES])
{
    if (u[31] != 0x7f || u[0] < 0xed)
        return false;
    for (size_t i = 1; i < 31; i++)
        if (u[i] != 0xff)
            return false;
    return true;
}

int x3dh_public_key(veil_vault *v, veil_secret k, const char *what,
                    uint8_t pub[X3DH_KEY_BYTES])
{
    veil_secret_attrs a;
    size_t n = 0;
    int rc = veil_vault_attributes(v, k, &a);
    if (rc == 0 && a.type != VEIL_SECRET_X25519)
        return veil_error_set(VEIL_ETYPE, "x3dh: %s is a %s key, expected X25519", what,
                              veil_secret_type_name(a.type));
    if (rc == 0)
        rc = veil_vault_public_key(v, k, pub, X3DH_KEY_BYTES, &n);
    return rc < 0 ? veil_error_wrap(rc, "x3dh: %s", what) : 0;
}

void x3dh_encode_key(const uint8_t pub[X3DH_KEY_BYTES], uint8_t out[X3DH_ENC_BYTES])
{
    out[0] = X3DH_KEY_TYPE;
    memcpy(out + 1, pub, X3DH_KEY_BYTES);
}

int x3dh_check_key(const uint8_t pub[X3DH_KEY_BYTES], const char *what)
{
    if (pub[31] & 0x80u)
        return veil_error_set(VEIL_EFORMAT, "x3dh: %s: u has bit 255 set (not a canonical "
                              "X25519 public key)", what);
    for (size_t i = 0; i < sizeof low_order / sizeof low_order[0]; i++)
        if (memcmp(pub, low_order[i], X3DH_KEY_BYTES) == 0)
            return veil_error_set(VEIL_ELOWORDER, "x3dh: %s is a low-order X25519 point (DH "
                                  "with it does not depend on the private key)", what);
    if (at_least_p(pub))
        return veil_error_set(VEIL_EFORMAT, "x3dh: %s: u >= 2^255 - 19 (not a canonical "
                              "X25519 public key)", what);
    return 0;
}

int x3dh_decode_key(const uint8_t in[X3DH_ENC_BYTES], const char *what,
                    uint8_t pub[X3DH_KEY_BYTES])
{
    if (in[0] != X3DH_KEY_TYPE)
        return veil_error_set(VEIL_EFORMAT, "x3dh: %s: key type byte 0x%02x, expected 0x%02x "
                              "(Curve25519)", what, in[0], X3DH_KEY_TYPE);
    int rc = x3dh_check_key(in + 1, what);
    if (rc < 0)
        return rc;
    memcpy(pub, in + 1, X3DH_KEY_BYTES);
    return 0;
}

/* version and flags, the first two bytes of every X3DH structure. */
static int check_prefix(const uint8_t *in, size_t len, size_t min, const char *what,
                        bool *has_opk)
{
    if (len < 2 || len < min)
        return veil_error_set(VEIL_ETRUNCATED, "x3dh: %s is %zu bytes, shorter than the "
                              "smallest valid one (%zu)", what, len, min);
    if (in[0] != X3DH_VERSION)
        return veil_error_set(VEIL_EVERSION, "x3dh: %s version %u, expected %u", what, in[0],
                              X3DH_VERSION);
    if (in[1] & (uint8_t)~X3DH_FLAG_OPK)
        return veil_error_set(VEIL_EFORMAT, "x3dh: %s flags 0x%02x have unknown bits set "
                              "(only 0x01, OPK, is defined)", what, in[1]);
    *has_opk = (in[1] & X3DH_FLAG_OPK) != 0;
    return 0;
}

size_t x3dh_bundle_len(const x3dh_bundle *b)
{
    return b->has_opk ? X3DH_BUNDLE_MAX : X3DH_BUNDLE_MIN;
}

int x3dh_bundle_encode(const x3dh_bundle *b, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t n = x3dh_bundle_len(b);
    if (out == NULL || cap < n)
        return veil_error_set(VEIL_ELIMIT, "x3dh: bundle needs %zu bytes, buffer has %zu", n,
                              out == NULL ? (size_t)0 : cap);
    out[0] = X3DH_VERSION;
    out[1] = b->has_opk ? X3DH_FLAG_OPK : 0;
    x3dh_encode_key(b->ik, out + 2);
    veil__store_be32(out + 35, b->spk_id);
    x3dh_encode_key(b->spk, out + 39);
    memcpy(out + 72, b->spk_sig, X3DH_SIG_BYTES);
    if (b->has_opk) {
        veil__store_be32(out + 136, b->opk_id);
        x3dh_encode_key(b->opk, out + 140);
    }
    *out_len = n;
    return 0;
}

int x3dh_bundle_decode(const uint8_t *in, size_t len, x3dh_bundle *out)
{
    x3dh_bundle b;
    int rc;
    memset(&b, 0, sizeof b);
    if (in == NULL && len > 0)
        return veil_error_set(VEIL_EINVAL, "x3dh: bundle is NULL with length %zu", len);
    if ((rc = check_prefix(in, len, X3DH_BUNDLE_MIN, "bundle", &b.has_opk)) < 0)
        return rc;
    size_t want = x3dh_bundle_len(&b);
    if (len < want)
        return veil_error_set(VEIL_ETRUNCATED, "x3dh: bundle with an OPK is %zu bytes, "
                              "expected %zu (the OPK id and key are cut off)", len, want);
    if (len > want)
        return veil_error_set(VEIL_ETRAILING, "x3dh: bundle is %zu bytes, expected %zu "
                              "(%zu trailing bytes)", len, want, len - want);
    if ((rc = x3dh_decode_key(in + 2, "bundle IK", b.ik)) < 0)
        return rc;
    b.spk_id = veil__load_be32(in + 35);
    if ((rc = x3dh_decode_key(in + 39, "bundle SPK", b.spk)) < 0)
        return rc;
    memcpy(b.spk_sig, in + 72, X3DH_SIG_BYTES);
    if (b.has_opk) {
        b.opk_id = veil__load_be32(in + 136);
        if ((rc = x3dh_decode_key(in + 140, "bundle OPK", b.opk)) < 0)
            return rc;
    }
    *out = b;
    return 0;
}

int x3dh_bundle_sign(veil_vault *v, veil_secret ik, x3dh_bundle *b)
{
    uint8_t enc[X3DH_ENC_BYTES];
    /* X25519 only: the vault signs an Ed25519 key with Ed25519, not XEdDSA. */
    int rc = x3dh_public_key(v, ik, "signing a bundle: the identity key", b->ik);
    if (rc < 0)
        return rc;
    if ((rc = x3dh_check_key(b->spk, "SPK to sign")) < 0)
        return rc;
    x3dh_encode_key(b->spk, enc);
    rc = veil_vault_sign(v, ik, enc, sizeof enc, b->spk_sig);
    return rc < 0 ? veil_error_wrap(rc, "x3dh: signing SPK %u", (unsigned)b->spk_id) : 0;
}

int x3dh_bundle_verify(veil_vault *v, const x3dh_bundle *b)
{
    uint8_t enc[X3DH_ENC_BYTES];
    x3dh_encode_key(b->spk, enc);
    int rc = veil_vault_verify(v, VEIL_SECRET_X25519, b->ik, X3DH_KEY_BYTES, enc, sizeof enc,
                               b->spk_sig);
    if (rc == VEIL_EAUTH)
        return veil_error_wrap(VEIL_EAUTH, "x3dh: bundle: the signature of SPK %u is not a "
                               "valid XEdDSA signature by IK over Encode(SPK)",
                               (unsigned)b->spk_id);
    return rc < 0 ? veil_error_wrap(rc, "x3dh: bundle: verifying SPK %u", (unsigned)b->spk_id)
                  : 0;
}

size_t x3dh_initial_header_len(bool has_opk)
{
    return has_opk ? X3DH_INITIAL_HEADER_OPK : X3DH_INITIAL_HEADER;
}

int x3dh_initial_encode_header(const x3dh_initial *m, uint8_t *out, size_t cap,
                               size_t *out_len)
{
    size_t n = x3dh_initial_header_len(m->has_opk);
    if (out == NULL || cap < n)
        return veil_error_set(VEIL_ELIMIT, "x3dh: initial message header needs %zu bytes, "
                              "buffer has %zu", n, out == NULL ? (size_t)0 : cap);
    out[0] = X3DH_VERSION;
    out[1] = m->has_opk ? X3DH_FLAG_OPK : 0;
    x3dh_encode_key(m->ik, out + 2);
    x3dh_encode_key(m->ek, out + 35);
    veil__store_be32(out + 68, m->spk_id);
    if (m->has_opk)
        veil__store_be32(out + 72, m->opk_id);
    *out_len = n;
    return 0;
}

int x3dh_initial_decode(const uint8_t *in, size_t len, x3dh_initial *out)
{
    x3dh_initial m;
    int rc;
    memset(&m, 0, sizeof m);
    if (in == NULL && len > 0)
        return veil_error_set(VEIL_EINVAL, "x3dh: initial message is NULL with length %zu", len);
    if ((rc = check_prefix(in, len, X3DH_INITIAL_HEADER + VEIL_AEAD_TAG_BYTES,
                           "initial message", &m.has_opk)) < 0)
        return rc;
    size_t hdr = x3dh_initial_header_len(m.has_opk);
    if (len < hdr + VEIL_AEAD_TAG_BYTES)
        return veil_error_set(VEIL_ETRUNCATED, "x3dh: initial message with an OPK id is %zu "
                              "bytes, needs at least %zu (header %zu + tag %u)", len,
                              hdr + VEIL_AEAD_TAG_BYTES, hdr, VEIL_AEAD_TAG_BYTES);
    if (len > VEIL_KA_MESSAGE_MAX)
        return veil_error_set(VEIL_ELIMIT, "x3dh: initial message is %zu bytes (limit %u)", len,
                              VEIL_KA_MESSAGE_MAX);
    if ((rc = x3dh_decode_key(in + 2, "initial message IK_A", m.ik)) < 0)
        return rc;
    if ((rc = x3dh_decode_key(in + 35, "initial message EK_A", m.ek)) < 0)
        return rc;
    m.spk_id = veil__load_be32(in + 68);
    if (m.has_opk)
        m.opk_id = veil__load_be32(in + 72);
    m.ct = in + hdr;
    m.ct_len = len - hdr;
    *out = m;
    return 0;
}
