/* The X3DH handshake as three key agreement messages (docs/X3DH.md).
 *
 *   h  = SHA-256("veil-X3DH_25519_<cipher>_SHA256"); MixHash(x): h = SHA-256(h || x)
 *   1 I→R  MixHash(AD); MixHash(header1)
 *          ck, k1 = HKDF(salt = SK, IKM = h, "veil-x3dh msg1")
 *          ct1 = AEAD(k1, 0, AD, payload); MixHash(ct1)
 *   2 R→I  MixHash(Encode(ER))
 *          ck, k2 = HKDF(salt = ck, IKM = DH(ER, EK_A) || DH(ER, IK_A) || h, "veil-x3dh msg2")
 *          ct2 = AEAD(k2, 0, h, payload); MixHash(ct2)
 *   3 I→R  ck, k3 = HKDF(salt = ck, IKM = h, "veil-x3dh msg3")
 *          ct3 = AEAD(k3, 0, h, payload); MixHash(ct3)
 *   split  k_i→r, k_r→i = HKDF(salt = ck, IKM = h, "veil-x3dh split")
 *
 * The responder's ephemeral ER is fresh per session, so a replayed message
 * 1 (possible when it names no OPK) never yields the same transport keys,
 * and message 3 proves the initiator still holds EK_A and IK_A.  Every
 * secret (SK, ck, k1..k3, DH outputs, ephemerals) is a vault handle,
 * destroyed on every path. */
#include "x3dh.h"

#include <stdio.h>
#include <stdlib.h>

/* The prekey store (x3dh_store.c) is linked into the module by the prekey
 * side's Makefile block and into tests as their own store; weak references
 * keep a build without one linkable, and such a responder fails cleanly
 * (VEIL_EUNSUPPORTED) instead of the module failing to load. */
#pragma weak x3dh_store_lookup
#pragma weak x3dh_store_release
#pragma weak x3dh_store_find_spk
#pragma weak x3dh_store_find_opk
#pragma weak x3dh_store_consume_opk

enum { ST_RUNNING = 1, ST_DONE, ST_SPLIT, ST_FAILED };

struct x3dh_session {
    x3dh_config cfg;
    veil_vault *v;
    int role;
    int state;
    unsigned msg;                   /* messages processed: 0..3 */
    int nonce_format;
    veil_secret ik, e, ck;          /* ik borrowed; e (EK_A or ER) owned when owns_e */
    bool owns_e;
    uint8_t ik_pub[X3DH_KEY_BYTES], e_pub[X3DH_KEY_BYTES];
    uint8_t peer_ik[X3DH_KEY_BYTES], peer_e[X3DH_KEY_BYTES];
    bool expect_remote;
    uint8_t remote_expect[X3DH_KEY_BYTES];
    x3dh_bundle bundle;             /* initiator: the verified bundle */
    uint8_t h[32];
};

static veil_secret_attrs attrs_of(int type, size_t len)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = type;
    a.persistence = VEIL_EPHEMERAL;
    a.length = (uint16_t)(type == VEIL_SECRET_BUFFER ? len : 0);
    return a;
}

static int mix_hash(x3dh_session *s, const uint8_t *data, size_t len)
{
    static const uint8_t empty[1];
    veil_iovec parts[2] = { { s->h, sizeof s->h }, { len ? data : empty, len } };
    return veil_vault_hash(s->v, VEIL_HASH_SHA256, parts, 2, s->h);
}

/* ck', k = HKDF(salt, IKM = ikm[0..n) || h, label).  The old ck is replaced
 * only when the derivation worked. */
static int mix_key(x3dh_session *s, veil_secret salt_key, const veil_secret *dh, size_t n_dh,
                   const char *label, veil_secret *k)
{
    veil_vault_input salt = { salt_key, NULL, 0 };
    veil_vault_input ikm[3];
    memset(ikm, 0, sizeof ikm);
    for (size_t i = 0; i < n_dh; i++)
        ikm[i].secret = dh[i];
    ikm[n_dh].data = s->h;
    ikm[n_dh].len = sizeof s->h;
    veil_secret_attrs a[2] = { attrs_of(VEIL_SECRET_BUFFER, 32), attrs_of(s->cfg.cipher_type, 0) };
    veil_secret out[2] = { 0, 0 };
    int rc = veil_vault_hkdf(s->v, VEIL_HASH_SHA256, &salt, ikm, n_dh + 1, (const uint8_t *)label,
                             strlen(label), a, 2, out);
    if (rc < 0)
        return veil_error_wrap(rc, "x3dh: HKDF (%s)", label);
    veil__secret_drop(s->v, &s->ck);
    s->ck = out[0];
    *k = out[1];
    return 0;
}

static int fail(x3dh_session *s, int rc)
{
    s->state = ST_FAILED;
    veil__secret_drop(s->v, &s->ck);
    if (s->owns_e)
        veil__secret_drop(s->v, &s->e);
    s->e = 0;
    veil__memzero(s->h, sizeof s->h);
    return rc;
}

static int init_hash(x3dh_session *s)
{
    char name[64];
    int n = snprintf(name, sizeof name, "veil-X3DH_25519_%s_SHA256",
                     s->cfg.cipher_type == VEIL_SECRET_CHACHAPOLY ? "ChaChaPoly" : "AESGCM");
    veil_iovec part = { name, (size_t)n };
    return veil_vault_hash(s->v, VEIL_HASH_SHA256, &part, 1, s->h);
}

static int initiator_setup(x3dh_session *s, const veil_ka_params *p)
{
    bool have = VEIL_ABI_HAS(p, peer_bundle_len) && p->peer_bundle != NULL;
    if (!have)
        return veil_error_set(VEIL_EINVAL, "x3dh: the initiator needs the responder's prekey "
                              "bundle (veil_ka_params.peer_bundle)");
    int rc = x3dh_bundle_decode(p->peer_bundle, p->peer_bundle_len, &s->bundle);
    if (rc == 0)
        rc = x3dh_bundle_verify(s->v, &s->bundle);
    if (rc < 0)
        return rc;
    if (s->cfg.require_opk && !s->bundle.has_opk)
        return veil_error_set(VEIL_EDENIED, "x3dh: the bundle has no one-time prekey and "
                              "require_opk is set (the prekey service ran out?)");
    if (s->expect_remote && memcmp(s->remote_expect, s->bundle.ik, X3DH_KEY_BYTES) != 0)
        return veil_error_set(VEIL_EAUTH, "x3dh: the bundle's IK is not the expected remote "
                              "static key");
    memcpy(s->peer_ik, s->bundle.ik, X3DH_KEY_BYTES);
    return 0;
}

int x3dh_session_new(const x3dh_config *cfg, const veil_ka_params *p, x3dh_session **out)
{
    if (cfg == NULL || p == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "x3dh: session_new: NULL argument");
    *out = NULL;
    if (!VEIL_ABI_HAS(p, n_psks))
        return veil_error_set(VEIL_EINVAL, "x3dh: veil_ka_params.size is %zu, smaller than "
                              "the smallest (%zu)", p->size, VEIL_ABI_SIZE(veil_ka_params, n_psks));
    if (p->role != VEIL_KA_INITIATOR && p->role != VEIL_KA_RESPONDER)
        return veil_error_set(VEIL_EINVAL, "x3dh: role %d is neither initiator (1) nor "
                              "responder (2)", p->role);
    if (p->vault == NULL || p->local_static == 0)
        return veil_error_set(VEIL_EINVAL, "x3dh: a vault and the local identity key "
                              "(local_static) are required");
    if (p->prologue_len > X3DH_APPENDIX_MAX || (p->prologue_len > 0 && p->prologue == NULL))
        return veil_error_set(VEIL_ELIMIT, "x3dh: prologue (AD appendix) of %zu bytes (at most "
                              "%u, non-NULL)", p->prologue_len, X3DH_APPENDIX_MAX);
    if (p->remote_static != NULL && p->remote_static_len != X3DH_KEY_BYTES)
        return veil_error_set(VEIL_EINVAL, "x3dh: remote_static is %zu bytes, expected 32",
                              p->remote_static_len);
    x3dh_session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return veil_error_set(VEIL_ENOMEM, "x3dh: out of memory for a session");
    s->cfg = *cfg;
    if (p->prologue != NULL) {
        memcpy(s->cfg.appendix, p->prologue, p->prologue_len);
        s->cfg.appendix_len = p->prologue_len;
    }
    s->v = p->vault;
    s->role = p->role;
    s->state = ST_RUNNING;
    s->ik = p->local_static;
    s->e = p->local_ephemeral;
    s->nonce_format = veil_nonce_format_of(cfg->cipher_type);
    if (p->remote_static != NULL) {
        s->expect_remote = true;
        memcpy(s->remote_expect, p->remote_static, X3DH_KEY_BYTES);
    }
    int rc = x3dh_public_key(s->v, s->ik, "local identity key", s->ik_pub);
    if (rc == 0 && s->e != 0)
        rc = x3dh_public_key(s->v, s->e, "preset ephemeral key", s->e_pub);
    if (rc == 0)
        rc = init_hash(s);
    if (rc == 0 && s->role == VEIL_KA_INITIATOR)
        rc = initiator_setup(s, p);
    if (rc < 0) {
        x3dh_session_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void x3dh_session_free(void *session)
{
    x3dh_session *s = session;
    if (s == NULL)
        return;
    fail(s, 0);
    veil__memzero(s, sizeof *s);
    free(s);
}

int x3dh_session_next_action(void *session)
{
    const x3dh_session *s = session;
    if (s == NULL || s->state == ST_FAILED)
        return VEIL_KA_FAILED;
    if (s->state != ST_RUNNING)
        return VEIL_KA_DONE;
    bool initiator_turn = s->msg != 1; /* messages 1 and 3 are the initiator's */
    return (initiator_turn == (s->role == VEIL_KA_INITIATOR)) ? VEIL_KA_WRITE : VEIL_KA_READ;
}

static int ensure_e(x3dh_session *s)
{
    if (s->e != 0)
        return 0;
    veil_secret_attrs a = attrs_of(VEIL_SECRET_X25519, 0);
    int rc = veil_vault_generate(s->v, &a, &s->e);
    if (rc < 0)
        return veil_error_wrap(rc, "x3dh: generating an ephemeral key");
    s->owns_e = true;
    return x3dh_public_key(s->v, s->e, "ephemeral key", s->e_pub);
}

/* Copy the payload to out, AEAD it there at nonce 0 (+16), then MixHash(ct). */
static int seal(x3dh_session *s, veil_secret k, const uint8_t *ad, size_t ad_len,
                const uint8_t *payload, size_t len, uint8_t *out)
{
    uint8_t nonce[VEIL_AEAD_NONCE_BYTES];
    if (len > 0 && payload != out)
        memmove(out, payload, len);
    veil_nonce_encode(s->nonce_format, 0, nonce);
    int rc = veil_vault_aead_encrypt(s->v, k, nonce, ad, ad_len, out, len);
    return rc < 0 ? rc : mix_hash(s, out, len + VEIL_AEAD_TAG_BYTES);
}

/* Copy the ciphertext where the plaintext goes (it may alias), MixHash it,
 * then decrypt it there with the given AD (never s->h itself: a copy). */
static int open_ct(x3dh_session *s, veil_secret k, const uint8_t *ad, size_t ad_len,
                   const uint8_t *ct, size_t ct_len, uint8_t *payload, size_t cap,
                   size_t *payload_len, const char *what)
{
    uint8_t nonce[VEIL_AEAD_NONCE_BYTES];
    if (ct_len < VEIL_AEAD_TAG_BYTES)
        return veil_error_set(VEIL_ETRUNCATED, "x3dh: %s: %zu ciphertext bytes, less than the "
                              "16-byte tag", what, ct_len);
    if (payload == NULL || cap < ct_len)
        return veil_error_set(VEIL_ELIMIT, "x3dh: %s: the payload buffer must hold the %zu "
                              "ciphertext bytes (has %zu)", what, ct_len,
                              payload == NULL ? (size_t)0 : cap);
    int rc = mix_hash(s, ct, ct_len);
    if (rc < 0)
        return rc;
    if (payload != ct)
        memmove(payload, ct, ct_len);
    veil_nonce_encode(s->nonce_format, 0, nonce);
    rc = veil_vault_aead_decrypt(s->v, k, nonce, ad, ad_len, payload, ct_len);
    if (rc == VEIL_EAUTH)
        return veil_error_set(VEIL_EAUTH, "x3dh: %s does not authenticate (wrong keys, a "
                              "forged or altered message)", what);
    if (rc < 0)
        return rc;
    *payload_len = ct_len - VEIL_AEAD_TAG_BYTES;
    return 0;
}

/* Messages 2 and 3 use the handshake hash as AD: a copy, since sealing and
 * opening MixHash the ciphertext into s->h. */
static int seal_h(x3dh_session *s, veil_secret k, const uint8_t *payload, size_t len,
                  uint8_t *out)
{
    uint8_t h[32];
    memcpy(h, s->h, sizeof h);
    return seal(s, k, h, sizeof h, payload, len, out);
}

static int open_h(x3dh_session *s, veil_secret k, const uint8_t *ct, size_t ct_len,
                  uint8_t *payload, size_t cap, size_t *payload_len, const char *what)
{
    uint8_t h[32];
    memcpy(h, s->h, sizeof h);
    return open_ct(s, k, h, sizeof h, ct, ct_len, payload, cap, payload_len, what);
}

static int check_write_room(size_t head, size_t payload_len, size_t cap, const char *what)
{
    size_t need = head + payload_len + VEIL_AEAD_TAG_BYTES;
    if (payload_len > VEIL_KA_MESSAGE_MAX || need > VEIL_KA_MESSAGE_MAX)
        return veil_error_set(VEIL_ELIMIT, "x3dh: %s would be %zu bytes (limit %u)", what,
                              head + payload_len + VEIL_AEAD_TAG_BYTES, VEIL_KA_MESSAGE_MAX);
    if (cap < need)
        return veil_error_set(VEIL_ELIMIT, "x3dh: %s needs %zu bytes, buffer has %zu", what,
                              need, cap);
    return 0;
}

static int write_msg1(x3dh_session *s, const uint8_t *payload, size_t plen, uint8_t *out,
                      size_t cap, size_t *out_len)
{
    veil_secret sk = 0, k1 = 0;
    uint8_t ad[X3DH_AD_MAX];
    size_t ad_len = 0, hdr = 0;
    x3dh_initial m;
    memset(&m, 0, sizeof m);
    int rc = check_write_room(x3dh_initial_header_len(s->bundle.has_opk), plen, cap,
                              "message 1");
    if (rc == 0)
        rc = ensure_e(s);
    if (rc == 0)
        rc = x3dh_derive_initiator(s->v, s->ik, s->e, &s->bundle, s->cfg.info, s->cfg.info_len,
                                   NULL, &sk);
    if (rc == 0)
        rc = x3dh_make_ad(s->ik_pub, s->peer_ik, s->cfg.appendix, s->cfg.appendix_len, ad,
                          sizeof ad, &ad_len);
    memcpy(m.ik, s->ik_pub, X3DH_KEY_BYTES);
    memcpy(m.ek, s->e_pub, X3DH_KEY_BYTES);
    m.spk_id = s->bundle.spk_id;
    m.has_opk = s->bundle.has_opk;
    m.opk_id = s->bundle.opk_id;
    if (rc == 0)
        rc = x3dh_initial_encode_header(&m, out, cap, &hdr);
    if (rc == 0 && (rc = mix_hash(s, ad, ad_len)) == 0 && (rc = mix_hash(s, out, hdr)) == 0)
        rc = mix_key(s, sk, NULL, 0, "veil-x3dh msg1", &k1);
    if (rc == 0)
        rc = seal(s, k1, ad, ad_len, payload, plen, out + hdr);
    if (rc == 0)
        *out_len = hdr + plen + VEIL_AEAD_TAG_BYTES;
    veil__secret_drop(s->v, &sk);
    veil__secret_drop(s->v, &k1);
    return rc;
}

/* The responder's side of message 1: everything between the store lookup
 * and its release, one cleanup label.  The OPK is consumed only after the
 * AEAD authenticated. */
static int read_msg1(x3dh_session *s, const uint8_t *in, size_t len, uint8_t *payload,
                     size_t cap, size_t *plen)
{
    x3dh_initial m;
    x3dh_store *st = NULL;
    veil_secret spk = 0, opk = 0, sk = 0, k1 = 0;
    uint8_t pub[X3DH_KEY_BYTES], ad[X3DH_AD_MAX];
    size_t ad_len = 0;
    int rc = x3dh_initial_decode(in, len, &m);
    if (rc < 0)
        goto out;
    if (s->cfg.require_opk && !m.has_opk) {
        rc = veil_error_set(VEIL_EDENIED, "x3dh: message 1 uses no one-time prekey and "
                            "require_opk is set");
        goto out;
    }
    if (s->expect_remote && memcmp(m.ik, s->remote_expect, X3DH_KEY_BYTES) != 0) {
        rc = veil_error_set(VEIL_EAUTH, "x3dh: message 1 is from an IK_A that is not the "
                            "expected remote static key");
        goto out;
    }
    if (x3dh_store_lookup == NULL) {
        rc = veil_error_set(VEIL_EUNSUPPORTED, "x3dh: this build has no prekey store, so it "
                            "cannot be a responder");
        goto out;
    }
    if ((rc = x3dh_store_lookup(s->v, s->ik_pub, &st)) < 0) {
        veil_error_wrap(rc, "x3dh: no prekey store for this identity key");
        goto out;
    }
    if ((rc = x3dh_store_find_spk(st, m.spk_id, &spk, pub)) < 0) {
        veil_error_wrap(rc, "x3dh: message 1 names signed prekey %u", (unsigned)m.spk_id);
        goto out;
    }
    if (m.has_opk && (rc = x3dh_store_find_opk(st, m.opk_id, &opk, pub)) < 0) {
        veil_error_wrap(rc, "x3dh: message 1 names one-time prekey %u", (unsigned)m.opk_id);
        goto out;
    }
    memcpy(s->peer_ik, m.ik, X3DH_KEY_BYTES);
    memcpy(s->peer_e, m.ek, X3DH_KEY_BYTES);
    rc = x3dh_derive_responder(s->v, s->ik, spk, opk, m.ik, m.ek, s->cfg.info, s->cfg.info_len,
                               NULL, &sk);
    if (rc == 0)
        rc = x3dh_make_ad(m.ik, s->ik_pub, s->cfg.appendix, s->cfg.appendix_len, ad, sizeof ad,
                          &ad_len);
    if (rc == 0 && (rc = mix_hash(s, ad, ad_len)) == 0 &&
        (rc = mix_hash(s, in, x3dh_initial_header_len(m.has_opk))) == 0)
        rc = mix_key(s, sk, NULL, 0, "veil-x3dh msg1", &k1);
    if (rc == 0)
        rc = open_ct(s, k1, ad, ad_len, m.ct, m.ct_len, payload, cap, plen, "message 1");
    if (rc == 0 && m.has_opk && (rc = x3dh_store_consume_opk(st, m.opk_id)) < 0)
        veil_error_wrap(rc, "x3dh: consuming one-time prekey %u", (unsigned)m.opk_id);
out:
    veil__secret_drop(s->v, &sk);
    veil__secret_drop(s->v, &k1);
    if (st != NULL)
        x3dh_store_release(st);
    veil__memzero(&m, sizeof m);
    return rc;
}

/* ck, k2 = HKDF(ck, DH(ER, EK_A) || DH(ER, IK_A) || h): the same two DHs
 * from either side (own e with the peer's e, own e or ik with the other). */
static int mix_msg2(x3dh_session *s, veil_secret *k2)
{
    veil_secret dh[2] = { 0, 0 };
    bool resp = s->role == VEIL_KA_RESPONDER;
    int rc = veil_vault_dh(s->v, s->e, s->peer_e, X3DH_KEY_BYTES, NULL, &dh[0]);
    if (rc < 0)
        veil_error_wrap(rc, "x3dh: DH(ER, EK_A)");
    if (rc == 0 && (rc = veil_vault_dh(s->v, resp ? s->e : s->ik, resp ? s->peer_ik : s->peer_e,
                                       X3DH_KEY_BYTES, NULL, &dh[1])) < 0)
        veil_error_wrap(rc, "x3dh: DH(ER, IK_A)");
    if (rc == 0)
        rc = mix_key(s, s->ck, dh, 2, "veil-x3dh msg2", k2);
    veil__secret_drop(s->v, &dh[0]);
    veil__secret_drop(s->v, &dh[1]);
    return rc;
}

static int write_msg2(x3dh_session *s, const uint8_t *payload, size_t plen, uint8_t *out,
                      size_t cap, size_t *out_len)
{
    veil_secret k2 = 0;
    int rc = check_write_room(X3DH_ENC_BYTES, plen, cap, "message 2");
    if (rc == 0)
        rc = ensure_e(s);
    if (rc == 0) {
        x3dh_encode_key(s->e_pub, out);
        rc = mix_hash(s, out, X3DH_ENC_BYTES);
    }
    if (rc == 0)
        rc = mix_msg2(s, &k2);
    if (rc == 0)
        rc = seal_h(s, k2, payload, plen, out + X3DH_ENC_BYTES);
    if (rc == 0)
        *out_len = X3DH_ENC_BYTES + plen + VEIL_AEAD_TAG_BYTES;
    veil__secret_drop(s->v, &k2);
    return rc;
}

static int read_msg2(x3dh_session *s, const uint8_t *in, size_t len, uint8_t *payload,
                     size_t cap, size_t *plen)
{
    veil_secret k2 = 0;
    if (len < X3DH_ENC_BYTES + VEIL_AEAD_TAG_BYTES)
        return veil_error_set(VEIL_ETRUNCATED, "x3dh: message 2 is %zu bytes, needs at least "
                              "%u (Encode(ER) + tag)", len,
                              X3DH_ENC_BYTES + VEIL_AEAD_TAG_BYTES);
    if (len > VEIL_KA_MESSAGE_MAX)
        return veil_error_set(VEIL_ELIMIT, "x3dh: message 2 is %zu bytes (limit %u)", len,
                              VEIL_KA_MESSAGE_MAX);
    int rc = x3dh_decode_key(in, "message 2 ER", s->peer_e);
    if (rc == 0)
        rc = mix_hash(s, in, X3DH_ENC_BYTES);
    if (rc == 0)
        rc = mix_msg2(s, &k2);
    if (rc == 0)
        rc = open_h(s, k2, in + X3DH_ENC_BYTES, len - X3DH_ENC_BYTES, payload, cap, plen,
                    "message 2");
    veil__secret_drop(s->v, &k2);
    return rc;
}

static int write_msg3(x3dh_session *s, const uint8_t *payload, size_t plen, uint8_t *out,
                      size_t cap, size_t *out_len)
{
    veil_secret k3 = 0;
    int rc = check_write_room(0, plen, cap, "message 3");
    if (rc == 0)
        rc = mix_key(s, s->ck, NULL, 0, "veil-x3dh msg3", &k3);
    if (rc == 0)
        rc = seal_h(s, k3, payload, plen, out);
    if (rc == 0)
        *out_len = plen + VEIL_AEAD_TAG_BYTES;
    veil__secret_drop(s->v, &k3);
    return rc;
}

static int read_msg3(x3dh_session *s, const uint8_t *in, size_t len, uint8_t *payload,
                     size_t cap, size_t *plen)
{
    veil_secret k3 = 0;
    if (len > VEIL_KA_MESSAGE_MAX)
        return veil_error_set(VEIL_ELIMIT, "x3dh: message 3 is %zu bytes (limit %u)", len,
                              VEIL_KA_MESSAGE_MAX);
    int rc = mix_key(s, s->ck, NULL, 0, "veil-x3dh msg3", &k3);
    if (rc == 0)
        rc = open_h(s, k3, in, len, payload, cap, plen, "message 3");
    veil__secret_drop(s->v, &k3);
    return rc;
}

static int step_done(x3dh_session *s)
{
    s->msg++;
    if (s->msg == 3) {
        s->state = ST_DONE;
        if (s->owns_e) /* the ephemeral has done its work */
            veil__secret_drop(s->v, &s->e);
        s->e = 0;
    }
    return 0;
}

int x3dh_session_write(void *session, const uint8_t *payload, size_t payload_len,
                       uint8_t *out, size_t cap, size_t *out_len)
{
    x3dh_session *s = session;
    if (s == NULL || out == NULL || out_len == NULL || (payload == NULL && payload_len > 0))
        return veil_error_set(VEIL_EINVAL, "x3dh: write_message: NULL argument");
    if (x3dh_session_next_action(s) != VEIL_KA_WRITE) /* any error fails the session */
        return fail(s, veil_error_set(VEIL_ESTATE, "x3dh: write_message called when the "
                                      "handshake expects %s",
                                      s->state == ST_FAILED ? "nothing (it failed)"
                                      : s->state == ST_RUNNING ? "a read" : "split"));
    int rc = s->msg == 0 ? write_msg1(s, payload, payload_len, out, cap, out_len)
           : s->msg == 1 ? write_msg2(s, payload, payload_len, out, cap, out_len)
                         : write_msg3(s, payload, payload_len, out, cap, out_len);
    return rc < 0 ? fail(s, rc) : step_done(s);
}

int x3dh_session_read(void *session, const uint8_t *in, size_t len, uint8_t *payload,
                      size_t cap, size_t *payload_len)
{
    x3dh_session *s = session;
    if (s == NULL || payload_len == NULL || (in == NULL && len > 0))
        return veil_error_set(VEIL_EINVAL, "x3dh: read_message: NULL argument");
    if (x3dh_session_next_action(s) != VEIL_KA_READ)
        return fail(s, veil_error_set(VEIL_ESTATE, "x3dh: read_message called when the "
                                      "handshake expects %s",
                                      s->state == ST_FAILED ? "nothing (it failed)"
                                      : s->state == ST_RUNNING ? "a write" : "split"));
    int rc = s->msg == 0 ? read_msg1(s, in, len, payload, cap, payload_len)
           : s->msg == 1 ? read_msg2(s, in, len, payload, cap, payload_len)
                         : read_msg3(s, in, len, payload, cap, payload_len);
    return rc < 0 ? fail(s, rc) : step_done(s);
}

int x3dh_session_split(void *session, veil_ka_result *r)
{
    x3dh_session *s = session;
    if (s == NULL || r == NULL)
        return veil_error_set(VEIL_EINVAL, "x3dh: split: NULL argument");
    if (s->state != ST_DONE)
        return fail(s, veil_error_set(VEIL_ESTATE, "x3dh: split before the handshake is done "
                                      "(or after a failure or a previous split)"));
    static const char label[] = "veil-x3dh split";
    veil_vault_input salt = { s->ck, NULL, 0 }, ikm = { 0, s->h, sizeof s->h };
    veil_secret_attrs a[2] = { attrs_of(s->cfg.cipher_type, 0), attrs_of(s->cfg.cipher_type, 0) };
    veil_secret k[2] = { 0, 0 };
    int rc = veil_vault_hkdf(s->v, VEIL_HASH_SHA256, &salt, &ikm, 1, (const uint8_t *)label,
                             sizeof label - 1, a, 2, k);
    if (rc < 0)
        return fail(s, veil_error_wrap(rc, "x3dh: split"));
    memset(r, 0, sizeof *r);
    memcpy(r->handshake_hash, s->h, sizeof s->h);
    r->handshake_hash_len = sizeof s->h;
    memcpy(r->remote_static, s->peer_ik, X3DH_KEY_BYTES);
    r->remote_static_len = X3DH_KEY_BYTES;
    bool init = s->role == VEIL_KA_INITIATOR;
    r->send_key = init ? k[0] : k[1];
    r->recv_key = init ? k[1] : k[0];
    r->nonce_format = s->nonce_format;
    veil__secret_drop(s->v, &s->ck);
    s->state = ST_SPLIT;
    return 0;
}
