/* Shared by the X3DH channel tests (test_channel_x3dh*.c): a raw request
 * to a worker and its first answer, big-endian reads and writes of the
 * wire formats, and publications signed by a real identity, built by hand
 * (prekey protocol version 2, docs/X3DH.md, "Prekey service"). */
#ifndef VEIL_TEST_PREKEYS_H
#define VEIL_TEST_PREKEYS_H

#include "world.h"

static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Send req along r from a fresh mailbox of node, wait for the first
 * answer; returns its length (payload copied to out), or fails. */
static inline size_t ask(veil_node *node, const veil_route *r, const uint8_t *req, size_t len,
                         uint8_t *out, size_t cap)
{
    veil_context *c;
    veil_message *m;
    assert_int_equal(veil_ctx_new_detached(node, NULL, &c), 0);
    assert_int_equal(veil_ctx_send(c, r, req, len), 0);
    int rc = veil_ctx_receive(c, &m, 3000);
    if (rc < 0)
        fail_msg("no answer: %s", veil_last_error());
    size_t n;
    const uint8_t *p = veil_message_payload(m, &n);
    assert_true(n <= cap);
    memcpy(out, p, n);
    veil_message_free(m);
    veil_ctx_free(c);
    return n;
}

static inline void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static inline size_t ask_at(veil_node *node, const char *route, const uint8_t *req, size_t len,
                            uint8_t *out, size_t cap)
{
    veil_route r = route_of(route);
    return ask(node, &r, req, len, out, cap);
}

/* ---- hand-made publications ------------------------------------------- */

/* A publisher: an entity (its identity proof and the static key it
 * attests, which signs as IK) and a signed prekey. */
typedef struct signer {
    veil_entity *e;
    veil_vault *v;
    veil_secret ik, spk;
    uint8_t ik_pub[32], spk_pub[32];
    uint8_t *proof;
    size_t proof_len;
} signer;

static inline void signer_new(veil_node *node, veil_vault *v, signer *s)
{
    veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
    size_t n;
    memset(s, 0, sizeof *s);
    s->v = v;
    assert_int_equal(veil_entity_open(node, v, NULL, VEIL_ENTITY_CREATE, &s->e), 0);
    assert_int_equal(veil_identity_proof(s->e, &s->ik, &s->proof, &s->proof_len), 0);
    assert_int_equal(veil_vault_generate(v, &a, &s->spk), 0);
    assert_int_equal(veil_vault_public_key(v, s->ik, s->ik_pub, 32, &n), 0);
    assert_int_equal(veil_vault_public_key(v, s->spk, s->spk_pub, 32, &n), 0);
}

static inline void signer_free(signer *s)
{
    free(s->proof);
    veil_entity_close(s->e);
}

#define PUB_NONCE_BYTE 0x5a                /* the nonce sign_pub uses: 16 x 0x5a */
#define PUB_MAX 4096

/* A publication signed by s: SPK id 7, OPKs with ids first_id.. (fresh
 * X25519 keys; opk_zero: the first is the low-order point 0), proof
 * (NULL: s's own). */
static inline size_t sign_pub_proof(const signer *s, const char *name, uint64_t seq,
                                    uint8_t flags, unsigned n, uint32_t first_id, bool opk_zero,
                                    const uint8_t *proof, size_t proof_len, uint8_t *out)
{
    static const char dom[] = "veil.x3dh.publish.v2";
    uint8_t buf[PUB_MAX], enc[33] = { 0x05 };
    size_t d = sizeof dom - 1, pos = d, nl = strlen(name);
    if (proof == NULL) {
        proof = s->proof;
        proof_len = s->proof_len;
    }
    assert_true(d + 200 + nl + (size_t)n * 37 + proof_len <= sizeof buf);
    memcpy(buf, dom, d);
    buf[pos++] = 2;
    buf[pos++] = 0x02;
    buf[pos++] = (uint8_t)nl;
    memcpy(buf + pos, name, nl);
    pos += nl;
    put_be(buf + pos, seq, 8);
    pos += 8;
    memset(buf + pos, PUB_NONCE_BYTE, 16);
    pos += 16;
    buf[pos++] = flags;
    buf[pos++] = 1;                                   /* bundle version */
    buf[pos++] = 0;                                   /* no OPK */
    buf[pos++] = 0x05;
    memcpy(buf + pos, s->ik_pub, 32);
    pos += 32;
    put_be(buf + pos, 7, 4);
    pos += 4;
    buf[pos++] = 0x05;
    memcpy(buf + pos, s->spk_pub, 32);
    pos += 32;
    memcpy(enc + 1, s->spk_pub, 32);
    assert_int_equal(veil_vault_sign(s->v, s->ik, enc, 33, buf + pos), 0); /* XEdDSA */
    pos += 64;
    put_be(buf + pos, n, 2);
    pos += 2;
    for (unsigned i = 0; i < n; i++) {
        veil_secret k;
        veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
        size_t len;
        put_be(buf + pos, first_id + i, 4);
        buf[pos + 4] = 0x05;
        assert_int_equal(veil_vault_generate(s->v, &a, &k), 0);
        assert_int_equal(veil_vault_public_key(s->v, k, buf + pos + 5, 32, &len), 0);
        if (opk_zero && i == 0)
            memset(buf + pos + 5, 0, 32);
        assert_int_equal(veil_vault_secret_destroy(s->v, k), 0);
        pos += 37;
    }
    put_be(buf + pos, proof_len, 2);
    memcpy(buf + pos + 2, proof, proof_len);
    pos += 2 + proof_len;
    assert_int_equal(veil_vault_sign(s->v, s->ik, buf, pos, buf + pos), 0);
    pos += 64;
    memcpy(out, buf + d, pos - d);
    return pos - d;
}

static inline size_t sign_pub(const signer *s, const char *name, uint64_t seq, uint8_t flags,
                              unsigned n, uint32_t first_id, bool opk_zero, uint8_t *out)
{
    return sign_pub_proof(s, name, seq, flags, n, first_id, opk_zero, NULL, 0, out);
}

/* Send to "prekeys" of node, expect a reply to op with status want; the
 * reply's body (after version, op, status) NUL-terminated in body. */
static inline size_t expect(veil_node *node, const uint8_t *req, size_t len, uint8_t op,
                            int want, uint8_t *body)
{
    uint8_t ans[1024];
    veil_route r = route_of("prekeys");
    size_t n = ask(node, &r, req, len, ans, sizeof ans - 1);
    assert_true(n >= 3);
    assert_int_equal(ans[0], 2);
    assert_int_equal(ans[1], op | 0x80);
    if (-(int)ans[2] != want)
        fail_msg("status %d (%.*s), expected %d", -(int)ans[2], (int)(n - 3),
                 (const char *)ans + 3, want);
    memcpy(body, ans + 3, n - 3);
    body[n - 3] = '\0';
    return n - 3;
}

/* A publication refused with want and exactly the detail why (after the
 * reply's name and nonce, which echo the publication's). */
static inline void publish_refused(veil_node *node, const uint8_t *req, size_t len, int want,
                                   const char *why)
{
    uint8_t body[1024];
    size_t n = expect(node, req, len, 0x02, want, body);
    size_t skip = 1u + body[0] + 16u;
    assert_true(n >= skip);
    assert_int_equal(body[0], req[2]);
    assert_memory_equal(body + 1, req + 3, req[2]);
    if (strcmp((char *)body + skip, why) != 0)
        fail_msg("detail '%s', expected '%s'", (char *)body + skip, why);
}

/* An accepted publication: the acknowledgement's held count and oldest id. */
static inline void publish_ok(veil_node *node, const uint8_t *req, size_t len, uint32_t held,
                              uint32_t next_id)
{
    uint8_t body[1024];
    assert_int_equal(expect(node, req, len, 0x02, 0, body), 1u + req[2] + 16u + 8u);
    static const uint8_t nonce[16] = { PUB_NONCE_BYTE, PUB_NONCE_BYTE, PUB_NONCE_BYTE,
                                       PUB_NONCE_BYTE, PUB_NONCE_BYTE, PUB_NONCE_BYTE,
                                       PUB_NONCE_BYTE, PUB_NONCE_BYTE, PUB_NONCE_BYTE,
                                       PUB_NONCE_BYTE, PUB_NONCE_BYTE, PUB_NONCE_BYTE,
                                       PUB_NONCE_BYTE, PUB_NONCE_BYTE, PUB_NONCE_BYTE,
                                       PUB_NONCE_BYTE };
    assert_memory_equal(body + 1 + req[2], nonce, 16);
    assert_int_equal(be32(body + 1 + req[2] + 16), held);
    assert_int_equal(be32(body + 1 + req[2] + 20), next_id);
}

/* A fetch refused: the code alone, nothing else in the reply. */
static inline void fetch_refused(veil_node *node, const uint8_t *req, size_t len, int want)
{
    uint8_t body[1024];
    assert_int_equal(expect(node, req, len, 0x01, want, body), 0);
}

#endif
