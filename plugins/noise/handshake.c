/* HandshakeState (§5.3): a generic interpreter of the pattern's tokens, so
 * every pattern of the table (and any psk placement) runs the same code.
 *
 * Any error — bad input, tampered or truncated message, low-order key,
 * wrong call order — marks the state FAILED and destroys every secret the
 * state owns (ck, k, a generated ephemeral).  Caller-owned handles (static
 * key, preset ephemeral, psks) are left for the caller to destroy. */
#include "noise.h"

#include <stdlib.h>
#include <string.h>

static int role_name_ok(int role)
{
    return role == VEIL_KA_INITIATOR || role == VEIL_KA_RESPONDER;
}

static const char *role_name(int role)
{
    return role == VEIL_KA_INITIATOR ? "initiator" : "responder";
}

static void wipe_owned(noise_handshake *hs)
{
    noise_symmetric_clear(&hs->sym);
    if (hs->owns_e)
        veil__secret_drop(hs->vault, &hs->e);
    hs->e = 0;
    hs->owns_e = false;
    veil__memzero(hs->re, sizeof(hs->re));
    hs->have_re = false;
}

static int fail(noise_handshake *hs, int rc)
{
    hs->state = NOISE_HS_FAILED;
    wipe_owned(hs);
    return rc;
}

/* Type-check a caller's key and fetch its public half. */
static int local_key(noise_handshake *hs, veil_secret k, const char *what, uint8_t *pub)
{
    veil_secret_attrs a;
    size_t len = 0;
    int rc = veil_vault_attributes(hs->vault, k, &a);
    if (rc < 0)
        return veil_error_wrap(rc, "noise: %s key", what);
    if (a.type != hs->proto.dh_type)
        return veil_error_set(VEIL_ETYPE, "noise: %s key is a %s secret but %s needs %s", what,
                              veil_secret_type_name(a.type), hs->proto.name,
                              veil_secret_type_name(hs->proto.dh_type));
    rc = veil_vault_public_key(hs->vault, k, pub, VEIL_PUBLIC_KEY_MAX_BYTES, &len);
    if (rc < 0)
        return rc;
    if (len != hs->proto.dhlen)
        return veil_error_set(VEIL_EFORMAT, "noise: %s public key is %zu bytes, expected %zu", what,
                              len, hs->proto.dhlen);
    return 0;
}

static int check_keys(noise_handshake *hs, const veil_ka_params *p)
{
    bool need_s, rs_pre, rs_sent;
    noise_pattern_needs(&hs->proto.pattern, hs->role, &need_s, &rs_pre, &rs_sent);
    const char *pat = hs->proto.pattern.def->name;
    int rc;
    if (need_s && p->local_static == 0)
        return veil_error_set(VEIL_EINVAL, "noise: pattern %s needs the %s's static key (local_static)",
                              pat, role_name(hs->role));
    if (need_s) {
        hs->s = p->local_static;
        if ((rc = local_key(hs, hs->s, "local static", hs->s_pub)) < 0)
            return rc;
    }
    if (rs_pre && p->remote_static == NULL)
        return veil_error_set(VEIL_EINVAL,
                              "noise: pattern %s needs the peer's static public key in advance (remote_static)",
                              pat);
    if (p->remote_static != NULL) {
        if (!rs_pre && !rs_sent)
            return veil_error_set(VEIL_EINVAL,
                                  "noise: pattern %s never authenticates a peer static key, but remote_static was given",
                                  pat);
        if (p->remote_static_len != hs->proto.dhlen)
            return veil_error_set(VEIL_EINVAL, "noise: remote_static is %zu bytes, %s needs %zu",
                                  p->remote_static_len, hs->proto.name, hs->proto.dhlen);
        if (rs_pre) {
            memcpy(hs->rs, p->remote_static, hs->proto.dhlen);
            hs->have_rs = true;
        } else {
            memcpy(hs->rs_expect, p->remote_static, hs->proto.dhlen);
            hs->rs_expected = true;
        }
    }
    if (p->local_ephemeral != 0) {
        hs->e = p->local_ephemeral;
        if ((rc = local_key(hs, hs->e, "local ephemeral", hs->e_pub)) < 0)
            return rc;
    }
    if (p->n_psks != hs->proto.pattern.n_psks || (p->n_psks > 0 && p->psks == NULL))
        return veil_error_set(VEIL_EINVAL, "noise: %s uses %u psk%s, %zu given", hs->proto.name,
                              hs->proto.pattern.n_psks, hs->proto.pattern.n_psks == 1 ? "" : "s",
                              p->n_psks);
    for (size_t i = 0; i < p->n_psks; i++) {
        veil_secret_attrs a;
        if ((rc = veil_vault_attributes(hs->vault, p->psks[i], &a)) < 0)
            return veil_error_wrap(rc, "noise: psk %zu", i);
        if (a.type != VEIL_SECRET_BUFFER || a.length != 32)
            return veil_error_set(VEIL_EINVAL, "noise: psk %zu must be a 32-byte buffer secret (got %s of %u bytes)",
                                  i, veil_secret_type_name(a.type), a.length);
        hs->psks[i] = p->psks[i];
    }
    hs->n_psks = (unsigned)p->n_psks;
    return 0;
}

/* Pre-messages: the initiator's keys first, then the responder's (§7.1). */
static int mix_premessages(noise_handshake *hs)
{
    const noise_pattern *pt = &hs->proto.pattern;
    for (int side = VEIL_KA_INITIATOR; side <= VEIL_KA_RESPONDER; side++) {
        unsigned n = side == VEIL_KA_INITIATOR ? pt->n_pre_init : pt->n_pre_resp;
        const uint8_t *tok = side == VEIL_KA_INITIATOR ? pt->pre_init : pt->pre_resp;
        for (unsigned i = 0; i < n; i++) {
            if (tok[i] != NOISE_TOK_S)
                return veil_error_set(VEIL_EUNSUPPORTED, "noise: only 's' is supported in pre-messages");
            const uint8_t *key = side == hs->role ? hs->s_pub : hs->rs;
            int rc = noise_symmetric_mix_hash(&hs->sym, key, hs->proto.dhlen);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static int setup(noise_handshake *hs, const veil_ka_params *p)
{
    int rc = noise_protocol_parse(p->protocol, &hs->proto);
    if (rc < 0)
        return rc;
    if ((rc = check_keys(hs, p)) < 0)
        return rc;
    if ((rc = noise_symmetric_init(&hs->sym, hs->vault, &hs->proto)) < 0)
        return rc;
    if ((rc = noise_symmetric_mix_hash(&hs->sym, p->prologue, p->prologue_len)) < 0)
        return rc;
    return mix_premessages(hs);
}

int noise_handshake_new(const veil_ka_params *p, noise_handshake **out)
{
    if (out == NULL || p == NULL)
        return veil_error_set(VEIL_EINVAL, "noise: handshake parameters and out must be non-NULL");
    *out = NULL;
    if (p->size < sizeof(veil_ka_params))
        return veil_error_set(VEIL_EINVAL, "noise: veil_ka_params.size is %zu, expected %zu",
                              p->size, sizeof(veil_ka_params));
    if (!role_name_ok(p->role))
        return veil_error_set(VEIL_EINVAL, "noise: role %d is neither initiator (1) nor responder (2)",
                              p->role);
    if (p->vault == NULL || p->protocol == NULL)
        return veil_error_set(VEIL_EINVAL, "noise: vault and protocol must be set");
    if (p->prologue_len > 0 && p->prologue == NULL)
        return veil_error_set(VEIL_EINVAL, "noise: prologue is NULL with length %zu", p->prologue_len);
    noise_handshake *hs = calloc(1, sizeof(*hs));
    if (hs == NULL)
        return veil_error_set(VEIL_ENOMEM, "noise: out of memory for a handshake state");
    hs->vault = p->vault;
    hs->role = p->role;
    hs->state = NOISE_HS_RUNNING;
    int rc = setup(hs, p);
    if (rc < 0) {
        noise_handshake_free(hs);
        return rc;
    }
    *out = hs;
    return 0;
}

void noise_handshake_free(void *session)
{
    noise_handshake *hs = session;
    if (hs == NULL)
        return;
    wipe_owned(hs);
    veil__memzero(hs, sizeof(*hs));
    free(hs);
}

int noise_handshake_next_action(void *session)
{
    const noise_handshake *hs = session;
    if (hs == NULL || hs->state == NOISE_HS_FAILED)
        return VEIL_KA_FAILED;
    if (hs->state != NOISE_HS_RUNNING)
        return VEIL_KA_DONE;
    bool initiator_turn = hs->msg_index % 2 == 0 || hs->proto.pattern.one_way;
    return initiator_turn == (hs->role == VEIL_KA_INITIATOR) ? VEIL_KA_WRITE : VEIL_KA_READ;
}

/* The DH of a two-letter token: first letter the initiator's key, second
 * the responder's (§7.1), so the role decides which side is local. */
static int dh_token(noise_handshake *hs, int tok)
{
    bool init = hs->role == VEIL_KA_INITIATOR;
    veil_secret local;
    const uint8_t *remote;
    bool have_remote;
    switch (tok) {
    case NOISE_TOK_EE:
        local = hs->e, remote = hs->re, have_remote = hs->have_re;
        break;
    case NOISE_TOK_ES:
        local = init ? hs->e : hs->s;
        remote = init ? hs->rs : hs->re;
        have_remote = init ? hs->have_rs : hs->have_re;
        break;
    case NOISE_TOK_SE:
        local = init ? hs->s : hs->e;
        remote = init ? hs->re : hs->rs;
        have_remote = init ? hs->have_re : hs->have_rs;
        break;
    default:
        local = hs->s, remote = hs->rs, have_remote = hs->have_rs;
        break;
    }
    if (local == 0 || !have_remote)
        return veil_error_set(VEIL_ESTATE, "noise: DH token before both keys are known");
    veil_secret shared = 0;
    int rc = veil_vault_dh(hs->vault, local, remote, hs->proto.dhlen, NULL, &shared);
    if (rc < 0)
        return rc == VEIL_ELOWORDER
                   ? veil_error_wrap(rc, "noise: message %u: peer key is low-order", hs->msg_index + 1)
                   : rc;
    veil_vault_input ikm = { shared, NULL, 0 };
    rc = noise_symmetric_mix_key(&hs->sym, &ikm);
    veil__secret_drop(hs->vault, &shared);
    return rc;
}

static int psk_token(noise_handshake *hs)
{
    if (hs->psk_index >= hs->n_psks)
        return veil_error_set(VEIL_ESTATE, "noise: psk token without a psk");
    veil_vault_input ikm = { hs->psks[hs->psk_index++], NULL, 0 };
    return noise_symmetric_mix_key_and_hash(&hs->sym, &ikm);
}

/* "e" in psk mode also does MixKey(e.public_key) (§9.2). */
static int mix_ephemeral(noise_handshake *hs, const uint8_t *pub)
{
    int rc = noise_symmetric_mix_hash(&hs->sym, pub, hs->proto.dhlen);
    if (rc < 0 || !hs->proto.pattern.has_psk)
        return rc;
    veil_vault_input ikm = { 0, pub, hs->proto.dhlen };
    return noise_symmetric_mix_key(&hs->sym, &ikm);
}

static size_t tag_if(bool key)
{
    return key ? VEIL_AEAD_TAG_BYTES : 0;
}

/* Length of the current message for a payload of payload_len bytes,
 * computed before anything changes: a too-small buffer or a short message
 * is known before any key is touched. */
static size_t message_length(const noise_handshake *hs, size_t payload_len)
{
    const noise_pattern *pt = &hs->proto.pattern;
    unsigned m = hs->msg_index;
    bool key = noise_cipher_has_key(&hs->sym.cs);
    size_t n = 0;
    for (unsigned i = 0; i < pt->n_tokens[m]; i++) {
        switch (pt->tokens[m][i]) {
        case NOISE_TOK_E:
            n += hs->proto.dhlen;
            key |= pt->has_psk;
            break;
        case NOISE_TOK_S:
            n += hs->proto.dhlen + tag_if(key);
            break;
        default:
            key = true;
            break;
        }
    }
    return n + payload_len + tag_if(key);
}

static void advance(noise_handshake *hs)
{
    hs->msg_index++;
    if (hs->msg_index == hs->proto.pattern.n_messages)
        hs->state = NOISE_HS_DONE;
}

static int check_turn(noise_handshake *hs, int action)
{
    if (hs->state == NOISE_HS_FAILED)
        return veil_error_set(VEIL_ESTATE, "noise: handshake failed earlier; start a new session");
    if (hs->state != NOISE_HS_RUNNING)
        return veil_error_set(VEIL_ESTATE, "noise: handshake already complete");
    if (noise_handshake_next_action(hs) != action)
        return fail(hs, veil_error_set(VEIL_ESTATE, "noise: message %u is the %s's to %s",
                                       hs->msg_index + 1, role_name(hs->role),
                                       action == VEIL_KA_WRITE ? "read, not write" : "write, not read"));
    return 0;
}

static int write_e(noise_handshake *hs, uint8_t *out)
{
    int rc;
    if (hs->e == 0) {
        veil_secret_attrs a;
        memset(&a, 0, sizeof(a));
        a.type = hs->proto.dh_type;
        a.persistence = VEIL_EPHEMERAL;
        if ((rc = veil_vault_generate(hs->vault, &a, &hs->e)) < 0)
            return rc;
        hs->owns_e = true;
        if ((rc = local_key(hs, hs->e, "local ephemeral", hs->e_pub)) < 0)
            return rc;
    }
    memcpy(out, hs->e_pub, hs->proto.dhlen);
    return mix_ephemeral(hs, hs->e_pub);
}

static int write_tokens(noise_handshake *hs, uint8_t *out, size_t *pos)
{
    const noise_pattern *pt = &hs->proto.pattern;
    unsigned m = hs->msg_index;
    int rc = 0;
    for (unsigned i = 0; i < pt->n_tokens[m] && rc == 0; i++) {
        size_t n = 0;
        switch (pt->tokens[m][i]) {
        case NOISE_TOK_E:
            rc = write_e(hs, out + *pos);
            n = hs->proto.dhlen;
            break;
        case NOISE_TOK_S:
            memcpy(out + *pos, hs->s_pub, hs->proto.dhlen);
            rc = noise_symmetric_encrypt_and_hash(&hs->sym, out + *pos, hs->proto.dhlen, &n);
            break;
        case NOISE_TOK_PSK:
            rc = psk_token(hs);
            break;
        default:
            rc = dh_token(hs, pt->tokens[m][i]);
            break;
        }
        *pos += n;
    }
    return rc;
}

int noise_handshake_write(void *session, const uint8_t *payload, size_t payload_len,
                          uint8_t *out, size_t cap, size_t *out_len)
{
    noise_handshake *hs = session;
    if (hs == NULL)
        return veil_error_set(VEIL_EINVAL, "noise: handshake state is NULL");
    int rc = check_turn(hs, VEIL_KA_WRITE);
    if (rc < 0)
        return rc;
    if (out == NULL || out_len == NULL || (payload_len > 0 && payload == NULL))
        return fail(hs, veil_error_set(VEIL_EINVAL, "noise: write_message: NULL buffer"));
    size_t need = message_length(hs, payload_len);
    if (need > VEIL_KA_MESSAGE_MAX)
        return fail(hs, veil_error_set(VEIL_ELIMIT,
                                       "noise: message %u would be %zu bytes (limit %u; payload %zu)",
                                       hs->msg_index + 1, need, VEIL_KA_MESSAGE_MAX, payload_len));
    if (need > cap)
        return fail(hs, veil_error_set(VEIL_ELIMIT,
                                       "noise: output buffer of %zu bytes, message %u needs %zu",
                                       cap, hs->msg_index + 1, need));
    size_t pos = 0, clen = 0;
    if ((rc = write_tokens(hs, out, &pos)) < 0)
        return fail(hs, rc);
    if (payload_len > 0)
        memmove(out + pos, payload, payload_len);
    if ((rc = noise_symmetric_encrypt_and_hash(&hs->sym, out + pos, payload_len, &clen)) < 0)
        return fail(hs, rc);
    *out_len = pos + clen;
    advance(hs);
    return 0;
}

static int ct_differs(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= a[i] ^ b[i];
    return d != 0;
}

static int read_s(noise_handshake *hs, const uint8_t *in, size_t *n)
{
    uint8_t buf[VEIL_PUBLIC_KEY_MAX_BYTES + VEIL_AEAD_TAG_BYTES];
    size_t plain = 0;
    *n = hs->proto.dhlen + tag_if(noise_cipher_has_key(&hs->sym.cs));
    memcpy(buf, in, *n);
    int rc = noise_symmetric_decrypt_and_hash(&hs->sym, buf, *n, &plain);
    if (rc < 0)
        return rc == VEIL_EAUTH
                   ? veil_error_wrap(rc, "noise: message %u: static key does not decrypt",
                                     hs->msg_index + 1)
                   : rc;
    if (hs->rs_expected && ct_differs(buf, hs->rs_expect, hs->proto.dhlen))
        return veil_error_set(VEIL_EAUTH,
                              "noise: message %u: peer static key differs from the expected remote_static",
                              hs->msg_index + 1);
    memcpy(hs->rs, buf, hs->proto.dhlen);
    hs->have_rs = true;
    return 0;
}

static int read_tokens(noise_handshake *hs, const uint8_t *in, size_t *pos)
{
    const noise_pattern *pt = &hs->proto.pattern;
    unsigned m = hs->msg_index;
    int rc = 0;
    for (unsigned i = 0; i < pt->n_tokens[m] && rc == 0; i++) {
        size_t n = 0;
        switch (pt->tokens[m][i]) {
        case NOISE_TOK_E:
            memcpy(hs->re, in + *pos, hs->proto.dhlen);
            hs->have_re = true;
            n = hs->proto.dhlen;
            rc = mix_ephemeral(hs, hs->re);
            break;
        case NOISE_TOK_S:
            rc = read_s(hs, in + *pos, &n);
            break;
        case NOISE_TOK_PSK:
            rc = psk_token(hs);
            break;
        default:
            rc = dh_token(hs, pt->tokens[m][i]);
            break;
        }
        *pos += n;
    }
    return rc;
}

/* The payload is decrypted in a buffer of exactly its size, so that a
 * caller buffer sized for the plaintext suffices and in may alias payload.
 * It lives only during the call: a handshake state keeps no buffer sized
 * for the largest message (a responder waiting for message 3 holds no
 * 64 KiB for it). */
static int read_payload(noise_handshake *hs, const uint8_t *in, size_t len, uint8_t *payload,
                        size_t cap, size_t *payload_len)
{
    size_t plain = 0;
    uint8_t *tmp = malloc(len + 1u); /* + 1: never malloc(0) */
    if (tmp == NULL)
        return veil_error_set(VEIL_ENOMEM, "noise: out of memory for a %zu-byte payload", len);
    if (len > 0)
        memcpy(tmp, in, len);
    int rc = noise_symmetric_decrypt_and_hash(&hs->sym, tmp, len, &plain);
    if (rc == VEIL_EAUTH)
        veil_error_wrap(rc, "noise: message %u: payload does not decrypt", hs->msg_index + 1);
    if (rc == 0 && plain > cap)
        rc = veil_error_set(VEIL_ELIMIT, "noise: payload buffer of %zu bytes, message %u carries %zu",
                            cap, hs->msg_index + 1, plain);
    if (rc == 0 && plain > 0)
        memcpy(payload, tmp, plain);
    veil__memzero(tmp, len);
    free(tmp);
    if (rc == 0)
        *payload_len = plain;
    return rc;
}

int noise_handshake_read(void *session, const uint8_t *in, size_t len, uint8_t *payload,
                         size_t cap, size_t *payload_len)
{
    noise_handshake *hs = session;
    if (hs == NULL)
        return veil_error_set(VEIL_EINVAL, "noise: handshake state is NULL");
    int rc = check_turn(hs, VEIL_KA_READ);
    if (rc < 0)
        return rc;
    if ((in == NULL && len > 0) || payload_len == NULL || (payload == NULL && cap > 0))
        return fail(hs, veil_error_set(VEIL_EINVAL, "noise: read_message: NULL buffer"));
    if (len > VEIL_KA_MESSAGE_MAX)
        return fail(hs, veil_error_set(VEIL_ELIMIT, "noise: message %u is %zu bytes (limit %u)",
                                       hs->msg_index + 1, len, VEIL_KA_MESSAGE_MAX));
    size_t min = message_length(hs, 0);
    if (len < min)
        return fail(hs, veil_error_set(VEIL_ETRUNCATED,
                                       "noise: message %u is %zu bytes, %s expects at least %zu",
                                       hs->msg_index + 1, len, hs->proto.name, min));
    size_t pos = 0;
    if ((rc = read_tokens(hs, in, &pos)) < 0)
        return fail(hs, rc);
    if ((rc = read_payload(hs, in + pos, len - pos, payload, cap, payload_len)) < 0)
        return fail(hs, rc);
    advance(hs);
    return 0;
}

int noise_handshake_split(void *session, veil_ka_result *out)
{
    noise_handshake *hs = session;
    if (hs == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "noise: split: NULL argument");
    if (hs->state != NOISE_HS_DONE)
        return veil_error_set(VEIL_ESTATE, "noise: split %s",
                              hs->state == NOISE_HS_FAILED ? "after a failed handshake"
                              : hs->state == NOISE_HS_SPLIT ? "called twice"
                                                            : "before the handshake is complete");
    memset(out, 0, sizeof(*out));
    veil_secret k1 = 0, k2 = 0;
    int rc = noise_symmetric_split(&hs->sym, &k1, &k2);
    if (rc < 0)
        return fail(hs, rc);
    memcpy(out->handshake_hash, hs->sym.h, hs->proto.hashlen);
    out->handshake_hash_len = hs->proto.hashlen;
    if (hs->have_rs) {
        memcpy(out->remote_static, hs->rs, hs->proto.dhlen);
        out->remote_static_len = hs->proto.dhlen;
    }
    out->nonce_format = hs->proto.nonce_format;
    bool init = hs->role == VEIL_KA_INITIATOR;
    if (hs->proto.pattern.one_way) {
        /* One-way: only c1 is used (§7.4); c2 is never needed. */
        veil__secret_drop(hs->vault, &k2);
        out->send_key = init ? k1 : 0;
        out->recv_key = init ? 0 : k1;
    } else {
        out->send_key = init ? k1 : k2;
        out->recv_key = init ? k2 : k1;
    }
    wipe_owned(hs);
    hs->state = NOISE_HS_SPLIT;
    return 0;
}
