/* The responder's side of a prekey directory (docs/X3DH.md, "Directory on
 * a third node"): a listener with [prekeys] directory_route publishes its
 * current SPK and batches of one-time prekey public keys, signed with its
 * identity key IK (XEdDSA, the key and scheme of the SPK signature) and
 * carrying the identity proof that binds IK to its veil identity:
 *
 *   version:u8 = 2 | op:u8 = 2 | name_len:u8 | name | seq:u64 | nonce:16 |
 *   flags:u8 | bundle without OPK (136) | n:u16 | n x (OPK id:u32 |
 *   Encode(OPK) 33) | proof_len:u16 | proof | signature(64)
 *   signature = XEdDSA(IK, "veil.x3dh.publish.v2" || every byte before it)
 *
 * The directory's acknowledgement echoes name and nonce and reports how
 * many OPKs it holds for the name and the id of the oldest.  It is taken
 * only when its nonce is the one of our pending publication (16 random
 * bytes, fresh each time) and it arrives from the first hop of
 * directory_route; anything else is counted and dropped, so nobody off
 * the path to the directory can stop top-ups or force them. */
#include "x3dh_service.h"

#include <veil/log.h>
#include <veil/message.h>
#include <veil/secure_channel.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define DOMAIN_LEN (sizeof PK_PUBLISH_DOMAIN - 1u)

/* Strictly increasing, and above what an earlier run of this node sent
 * (wall-clock milliseconds), so a restarted responder is not refused. */
static uint64_t next_seq(prekey_reg *reg)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t t = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    reg->seq = t > reg->seq ? t : reg->seq + 1u;
    return reg->seq;
}

typedef struct pub_parts {
    x3dh_bundle spk;
    const uint32_t *ids;
    uint8_t (*pubs)[X3DH_KEY_BYTES];
    unsigned n;
    const uint8_t *proof;
    size_t proof_len;
    uint8_t flags;
} pub_parts;

/* Lay the publication out after the domain prefix in buf; *len covers
 * domain + message without the signature. */
static int build(prekey_reg *reg, const pub_parts *pp, uint8_t *buf, size_t cap, size_t *len)
{
    const char *name = reg->entry->name;
    size_t nl = strlen(name), pos = DOMAIN_LEN, blen = 0;
    memcpy(buf, PK_PUBLISH_DOMAIN, DOMAIN_LEN);
    buf[pos++] = PK_VERSION;
    buf[pos++] = PK_PUBLISH;
    buf[pos++] = (uint8_t)nl;
    memcpy(buf + pos, name, nl);
    pos += nl;
    veil__store_be64(buf + pos, next_seq(reg));
    pos += 8;
    memcpy(buf + pos, reg->nonce, PK_NONCE_BYTES);
    pos += PK_NONCE_BYTES;
    buf[pos++] = pp->flags;
    int rc = x3dh_bundle_encode(&pp->spk, buf + pos, cap - pos, &blen);
    if (rc < 0)
        return rc;
    pos += blen;
    veil__store_be16(buf + pos, pp->n);
    pos += 2;
    for (unsigned i = 0; i < pp->n; i++) {
        veil__store_be32(buf + pos, pp->ids[i]);
        x3dh_encode_key(pp->pubs[i], buf + pos + 4);
        pos += PK_OPK_ENTRY;
    }
    veil__store_be16(buf + pos, pp->proof_len);
    memcpy(buf + pos + 2, pp->proof, pp->proof_len);
    *len = pos + 2u + pp->proof_len;
    return 0;
}

/* Our identity proof, which must attest the store's identity key. */
static int get_proof(prekey_reg *reg, uint8_t **proof, size_t *len)
{
    veil_secret attested;
    uint8_t ik[X3DH_KEY_BYTES], pub[X3DH_KEY_BYTES];
    size_t n = 0;
    (void)x3dh_store_ik(reg->store, ik);
    int rc = veil_identity_proof(reg->entity, &attested, proof, len);
    if (rc == 0 && (rc = veil_vault_public_key(reg->vault, attested, pub, sizeof pub, &n)) == 0 &&
        (n != sizeof pub || memcmp(pub, ik, sizeof pub) != 0))
        rc = veil_error_set(VEIL_EINVAL, "prekeys: the entity's identity proof attests another "
                            "static key than the identity key of '%s'", reg->entry->name);
    if (rc == 0 && *len > PK_PROOF_MAX)
        rc = veil_error_set(VEIL_ELIMIT, "prekeys: an identity proof of %zu bytes (limit %u)",
                            *len, PK_PROOF_MAX);
    if (rc < 0) {
        free(*proof);
        *proof = NULL;
    }
    return rc;
}

int p11_pub_send(prekey_reg *reg, unsigned n)
{
    if (reg->svc->ctx == NULL)
        return veil_error_set(VEIL_ESTOPPED, "prekeys: the service worker has stopped");
    if (n > PK_PUBLISH_BATCH_MAX)
        n = PK_PUBLISH_BATCH_MAX;
    pub_parts pp;
    memset(&pp, 0, sizeof pp);
    uint8_t *proof = NULL, *buf = NULL;
    uint32_t *ids = calloc(n ? n : 1u, sizeof *ids);
    pp.pubs = calloc(n ? n : 1u, sizeof *pp.pubs);
    pp.ids = ids;
    size_t cap = 0, len = 0;
    int rc = ids && pp.pubs ? 0 : veil_error_set(VEIL_ENOMEM, "prekeys: out of memory");
    if (rc == 0)
        rc = get_proof(reg, &proof, &pp.proof_len);
    if (rc == 0) {
        pp.proof = proof;
        cap = DOMAIN_LEN + 3u + PK_NAME_MAX + 8u + PK_NONCE_BYTES + 1u + X3DH_BUNDLE_MIN + 2u +
              (size_t)n * PK_OPK_ENTRY + 2u + pp.proof_len + X3DH_SIG_BYTES;
        if ((buf = malloc(cap)) == NULL)
            rc = veil_error_set(VEIL_ENOMEM, "prekeys: out of memory");
    }
    if (rc == 0 && (rc = veil_vault_random(reg->vault, reg->nonce, PK_NONCE_BYTES)) < 0)
        veil_error_wrap(rc, "prekeys: a publication nonce");
    if (rc == 0)
        rc = x3dh_store_batch(reg->store, reg->tag, &pp.spk, n, ids, pp.pubs, &pp.n);
    pp.flags = (uint8_t)((reg->cfg.require_opk ? PK_PFLAG_REQUIRE_OPK : 0u) |
                         (reg->dir_sent ? 0u : PK_PFLAG_RESET));
    if (rc == 0)
        rc = build(reg, &pp, buf, cap, &len);
    uint8_t ik_pub[X3DH_KEY_BYTES];
    veil_secret ik = x3dh_store_ik(reg->store, ik_pub);
    if (rc == 0 && (rc = veil_vault_sign(reg->vault, ik, buf, len, buf + len)) < 0)
        veil_error_wrap(rc, "prekeys: signing the publication of '%s'", reg->entry->name);
    if (rc == 0)
        rc = veil_ctx_send(reg->svc->ctx, &reg->dir_route, buf + DOMAIN_LEN,
                           len - DOMAIN_LEN + X3DH_SIG_BYTES);
    if (rc == 0) {
        reg->dir_sent = true;
        reg->pending = true;
        reg->published_spk = pp.spk.spk_id;
        veil_log(VEIL_LOG_DEBUG, "x3dh", "published '%s': SPK %u and %u one-time prekeys",
                 reg->entry->name, (unsigned)pp.spk.spk_id, pp.n);
    }
    free(buf);
    free(proof);
    free(ids);
    free(pp.pubs);
    return rc;
}

/* ---- acknowledgements -------------------------------------------------- */

static bool same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (uint8_t)(a[i] ^ b[i]);
    return d == 0;
}

/* Did msg come from the first hop of the route we published along? */
static bool from_directory(const prekey_reg *reg, veil_message *msg)
{
    veil_address hop;
    uint8_t type = 0;
    const uint8_t *b = NULL;
    size_t n = 0;
    return veil_route_get(&reg->dir_route, 0, &hop) == 0 &&
           veil_route_front(veil_message_return_const(msg), &type, &b, &n) && type == hop.type &&
           n == hop.len && memcmp(b, hop.bytes, n) == 0;
}

static void dropped(prekey_service *svc, const char *name, const char *why)
{
    svc->acks_dropped++;
    veil_log(VEIL_LOG_DEBUG, "x3dh", "prekeys: dropped an acknowledgement for '%s': %s (%llu "
             "dropped)", name, why, (unsigned long long)svc->acks_dropped);
}

/* body: status | name_len | name | nonce | (status 0: held:u32 | next_id:u32; else detail) */
void p11_pub_ack(prekey_service *svc, veil_message *msg, const uint8_t *body, size_t len)
{
    char name[PK_NAME_MAX + 1];
    if (len < 2u || body[1] == 0 || len < 2u + body[1] + PK_NONCE_BYTES ||
        memchr(body + 2, 0, body[1]) != NULL) {
        dropped(svc, "?", "malformed");
        return;
    }
    memcpy(name, body + 2, body[1]);
    name[body[1]] = '\0';
    const uint8_t *nonce = body + 2 + body[1], *r = nonce + PK_NONCE_BYTES;
    size_t rest = len - 2u - body[1] - PK_NONCE_BYTES;
    prekey_entry *e = prekey_find(svc, name);
    prekey_reg *reg = e != NULL && e->store != NULL ? e->owner : NULL;
    const char *why = NULL;
    if (reg == NULL || reg->publish_ms == 0)
        why = "no publication of ours under that name";
    else if (!reg->pending || !same_bytes(nonce, reg->nonce, PK_NONCE_BYTES))
        why = "it does not echo the nonce of our pending publication (forged, replayed or late)";
    else if (!from_directory(reg, msg))
        why = "it does not come from the first hop of directory_route";
    else if (body[0] == 0 && rest != 8u)
        why = "malformed counts";
    if (why != NULL) {
        dropped(svc, name, why);
        return;
    }
    reg->pending = false;
    if (body[0] == 0) {
        reg->dir_acked = true;
        reg->dir_held = (unsigned)veil__load_be32(r);
        unsigned gone = x3dh_store_report(reg->store, reg->tag, (uint32_t)reg->dir_held,
                                          veil__load_be32(r + 4));
        veil_log(VEIL_LOG_DEBUG, "x3dh", "prekey directory holds %u one-time prekeys of '%s' "
                 "(%u more handed out)", reg->dir_held, name, gone);
        return;
    }
    char detail[PK_DETAIL_MAX + 1];
    size_t n = rest < PK_DETAIL_MAX ? rest : PK_DETAIL_MAX;
    for (size_t i = 0; i < n; i++)
        detail[i] = r[i] >= 0x20 && r[i] < 0x7f ? (char)r[i] : '?';
    detail[n] = '\0';
    veil_log(VEIL_LOG_WARN, "x3dh", "prekey directory refused the publication of '%s': %s (%s)",
             name, veil_strerror(-(int)body[0]), detail);
}
