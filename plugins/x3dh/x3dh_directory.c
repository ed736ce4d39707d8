/* Prekey directory (docs/X3DH.md, "Prekey service"): a responder publishes
 * its current SPK and batches of one-time prekey public keys to a prekey
 * service on another node, which then hands out bundles on its behalf.
 *
 * A publication is signed with the responder's identity key (XEdDSA, the
 * same key and scheme as the SPK signature), so only the holder of IK can
 * publish or top up under IK:
 *
 *   version:u8 | op:u8 = 2 | name_len:u8 | name | seq:u64 | flags:u8 |
 *   bundle without OPK (136) | n:u16 | n x (OPK id:u32 | Encode(OPK) 33) |
 *   signature(64) = XEdDSA(IK, "veil.x3dh.publish.v1" || every byte before it)
 *
 * The directory refuses it unless, in this order: it parses exactly; the
 * bundle's SPK signature verifies under the bundle's IK; the publication
 * signature verifies under the same IK; every OPK is a valid X25519 key;
 * the name is not served for another IK (first publisher wins); seq is
 * above the last accepted for the name (a replayed publication would hand
 * out OPKs a second time).  Each OPK is handed out at most once, oldest
 * first; none left: a bundle without OPK, or VEIL_EAGAIN when the
 * publication said require_opk. */
#include "x3dh_service.h"

#include <veil/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define DOMAIN_LEN (sizeof PK_PUBLISH_DOMAIN - 1u)

static void be_put(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8u * (n - 1u - i)));
}

static uint64_t be_get(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Strictly increasing, and above what an earlier run of this node sent
 * (wall-clock milliseconds), so a restarted responder is not refused. */
static uint64_t next_seq(pk_reg *reg)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t t = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    reg->seq = t > reg->seq ? t : reg->seq + 1u;
    return reg->seq;
}

/* Layout the publication after the domain prefix in buf; *len covers
 * domain + message without the signature. */
static int build(pk_reg *reg, const x3dh_bundle *spk, const uint32_t *ids,
                 uint8_t (*pubs)[X3DH_KEY_BYTES], unsigned n, uint8_t *buf, size_t cap,
                 size_t *len)
{
    const char *name = reg->entry->name;
    size_t nl = strlen(name), pos = DOMAIN_LEN, blen = 0;
    memcpy(buf, PK_PUBLISH_DOMAIN, DOMAIN_LEN);
    buf[pos++] = PK_VERSION;
    buf[pos++] = PK_PUBLISH;
    buf[pos++] = (uint8_t)nl;
    memcpy(buf + pos, name, nl);
    pos += nl;
    be_put(buf + pos, next_seq(reg), 8);
    pos += 8;
    buf[pos++] = reg->cfg.require_opk ? PK_PFLAG_REQUIRE_OPK : 0u;
    int rc = x3dh_bundle_encode(spk, buf + pos, cap - pos, &blen);
    if (rc < 0)
        return rc;
    pos += blen;
    be_put(buf + pos, n, 2);
    pos += 2;
    for (unsigned i = 0; i < n; i++) {
        be_put(buf + pos, ids[i], 4);
        x3dh_encode_key(pubs[i], buf + pos + 4);
        pos += PK_OPK_ENTRY;
    }
    *len = pos;
    return 0;
}

int pk_dir_send(pk_reg *reg, unsigned n)
{
    if (reg->svc->ctx == NULL)
        return veil_error_set(VEIL_ESTOPPED, "prekeys: the service worker has stopped");
    if (n > PK_PUBLISH_BATCH_MAX)
        n = PK_PUBLISH_BATCH_MAX;
    size_t cap = DOMAIN_LEN + 3u + PK_NAME_MAX + 9u + X3DH_BUNDLE_MIN + 2u +
                 (size_t)n * PK_OPK_ENTRY + X3DH_SIG_BYTES, len = 0;
    uint8_t *buf = malloc(cap);
    uint32_t *ids = calloc(n ? n : 1u, sizeof *ids);
    uint8_t (*pubs)[X3DH_KEY_BYTES] = calloc(n ? n : 1u, sizeof *pubs);
    x3dh_bundle spk;
    uint8_t ik_pub[X3DH_KEY_BYTES];
    unsigned got = 0;
    int rc = buf && ids && pubs ? 0 : veil_error_set(VEIL_ENOMEM, "prekeys: out of memory");
    if (rc == 0)
        rc = x3dh_store_batch(reg->store, 0, &spk, n, ids, pubs, &got);
    if (rc == 0)
        rc = build(reg, &spk, ids, pubs, got, buf, cap, &len);
    veil_secret ik = reg->store ? x3dh_store_ik(reg->store, ik_pub) : 0;
    if (rc == 0 && (rc = veil_vault_sign(reg->vault, ik, buf, len, buf + len)) < 0)
        veil_error_wrap(rc, "prekeys: signing the publication of '%s'", reg->entry->name);
    if (rc == 0)
        rc = veil_ctx_send(reg->svc->ctx, &reg->dir_route, buf + DOMAIN_LEN,
                           len - DOMAIN_LEN + X3DH_SIG_BYTES);
    if (rc == 0) {
        reg->dir_sent = true;
        reg->published_spk = spk.spk_id;
        veil_log(VEIL_LOG_DEBUG, "x3dh", "published '%s': SPK %u and %u one-time prekeys",
                 reg->entry->name, (unsigned)spk.spk_id, got);
    }
    free(buf);
    free(ids);
    free(pubs);
    return rc;
}

/* ---- the directory side ------------------------------------------------ */

typedef struct publication {
    char name[PK_NAME_MAX + 1];
    uint64_t seq;
    uint8_t flags;
    x3dh_bundle spk;
    unsigned n;
    const uint8_t *opks;             /* n entries */
    const uint8_t *sig;
    size_t signed_len;               /* bytes of the message before sig */
} publication;

static int parse(const uint8_t *body, size_t len, publication *p)
{
    size_t pos = 0;
    memset(p, 0, sizeof *p);
    if (len < 1u || body[0] == 0 || len < 1u + body[0] + 9u + X3DH_BUNDLE_MIN + 2u)
        return veil_error_set(VEIL_ETRUNCATED, "publication: %zu bytes is too short", len);
    memcpy(p->name, body + 1, body[0]);
    if (memchr(p->name, 0, body[0]) != NULL)
        return veil_error_set(VEIL_EFORMAT, "publication: NUL byte in the name");
    pos = 1u + body[0];
    p->seq = be_get(body + pos, 8);
    p->flags = body[pos + 8];
    pos += 9;
    if (p->flags & ~PK_PFLAG_REQUIRE_OPK)
        return veil_error_set(VEIL_EFORMAT, "publication for '%s': unknown flags 0x%02x",
                              p->name, p->flags);
    int rc = x3dh_bundle_decode(body + pos, X3DH_BUNDLE_MIN, &p->spk);
    if (rc < 0)
        return veil_error_wrap(rc, "publication for '%s': the SPK bundle", p->name);
    if (p->spk.has_opk)
        return veil_error_set(VEIL_EFORMAT, "publication for '%s': the SPK bundle carries an "
                              "OPK (OPKs go in the list)", p->name);
    pos += X3DH_BUNDLE_MIN;
    p->n = (unsigned)be_get(body + pos, 2);
    pos += 2;
    p->opks = body + pos;
    if (len != pos + (size_t)p->n * PK_OPK_ENTRY + X3DH_SIG_BYTES)
        return veil_error_set(len < pos + (size_t)p->n * PK_OPK_ENTRY + X3DH_SIG_BYTES
                              ? VEIL_ETRUNCATED : VEIL_ETRAILING, "publication for '%s': "
                              "%zu bytes, %u OPKs need exactly %zu", p->name, len, p->n,
                              pos + (size_t)p->n * PK_OPK_ENTRY + X3DH_SIG_BYTES);
    p->signed_len = len - X3DH_SIG_BYTES;
    p->sig = body + p->signed_len;
    return 0;
}

/* The signature over domain || version || op || body-before-sig. */
static int verify_sig(veil_vault *v, const publication *p, const uint8_t *body)
{
    size_t n = DOMAIN_LEN + 2u + p->signed_len;
    uint8_t *m = malloc(n);
    if (m == NULL)
        return veil_error_set(VEIL_ENOMEM, "prekey directory: out of memory");
    memcpy(m, PK_PUBLISH_DOMAIN, DOMAIN_LEN);
    m[DOMAIN_LEN] = PK_VERSION;
    m[DOMAIN_LEN + 1u] = PK_PUBLISH;
    memcpy(m + DOMAIN_LEN + 2u, body, p->signed_len);
    int rc = veil_vault_verify(v, VEIL_SECRET_X25519, p->spk.ik, X3DH_KEY_BYTES, m, n, p->sig);
    free(m);
    if (rc == VEIL_EAUTH)
        return veil_error_set(VEIL_EAUTH, "publication for '%s': its signature does not verify "
                              "under the bundle's identity key", p->name);
    return rc;
}

static int take(pk_service *svc, const publication *p, pk_entry **out)
{
    pk_entry *e = pk_find(svc, p->name);
    if (e != NULL && e->store != NULL)
        return veil_error_set(VEIL_EEXIST, "publication for '%s': a listener of this node "
                              "serves that name", p->name);
    if (e != NULL && memcmp(e->spk.ik, p->spk.ik, X3DH_KEY_BYTES) != 0)
        return veil_error_set(VEIL_EEXIST, "publication for '%s': that name was published by "
                              "another identity key", p->name);
    if (e != NULL && p->seq <= e->seq)
        return veil_error_set(VEIL_EREPLAY, "publication for '%s': sequence %llu is not above "
                              "the last accepted (%llu): replayed or stale", p->name,
                              (unsigned long long)p->seq, (unsigned long long)e->seq);
    if (e == NULL) {
        if ((e = calloc(1, sizeof *e)) == NULL)
            return veil_error_set(VEIL_ENOMEM, "prekey directory: out of memory");
        snprintf(e->name, sizeof e->name, "%s", p->name);
        e->next = svc->entries;
        svc->entries = e;
    }
    size_t want = e->count + p->n;
    if (want > X3DH_OPK_COUNT_MAX)
        want = X3DH_OPK_COUNT_MAX;
    if (e->head > 0) { /* compact the queue */
        memmove(e->opk_ids, e->opk_ids + e->head, e->count * sizeof *e->opk_ids);
        memmove(e->opk_pubs, e->opk_pubs + e->head, e->count * sizeof *e->opk_pubs);
        e->head = 0;
    }
    if (want > e->cap) {
        uint32_t *ids = realloc(e->opk_ids, want * sizeof *ids);
        if (ids != NULL)
            e->opk_ids = ids;
        uint8_t (*pubs)[X3DH_KEY_BYTES] = realloc(e->opk_pubs, want * sizeof *pubs);
        if (pubs != NULL)
            e->opk_pubs = pubs;
        if (ids == NULL || pubs == NULL)
            return veil_error_set(VEIL_ENOMEM, "prekey directory: out of memory");
        e->cap = want;
    }
    e->spk = p->spk;
    e->seq = p->seq;
    e->require_opk = (p->flags & PK_PFLAG_REQUIRE_OPK) != 0;
    for (unsigned i = 0; i < p->n && e->count < want; i++, e->count++) {
        const uint8_t *o = p->opks + (size_t)i * PK_OPK_ENTRY;
        e->opk_ids[e->count] = (uint32_t)be_get(o, 4);
        memcpy(e->opk_pubs[e->count], o + 5, X3DH_KEY_BYTES);
    }
    *out = e;
    return 0;
}

int pk_dir_publish(pk_service *svc, veil_context *ctx, veil_message *msg, const uint8_t *body,
                   size_t len)
{
    publication p;
    pk_entry *e = NULL;
    uint8_t pub[X3DH_KEY_BYTES];
    int rc = parse(body, len, &p);
    if (rc == 0 && (rc = x3dh_bundle_verify(svc->dir_vault, &p.spk)) < 0)
        veil_error_wrap(rc, "prekey directory '%s': refused the publication for '%s'",
                        svc->address, p.name);
    if (rc == 0)
        rc = verify_sig(svc->dir_vault, &p, body);
    for (unsigned i = 0; rc == 0 && i < p.n; i++)
        rc = x3dh_decode_key(p.opks + (size_t)i * PK_OPK_ENTRY + 4u, "published OPK", pub);
    if (rc == 0)
        rc = take(svc, &p, &e);
    if (rc < 0)
        return pk_reply_error(ctx, msg, PK_PUBLISH, rc, p.name[0] ? p.name : "?");
    svc->publications++;
    uint8_t ack[1u + PK_NAME_MAX + 4u];
    size_t nl = strlen(p.name);
    ack[0] = (uint8_t)nl;
    memcpy(ack + 1, p.name, nl);
    be_put(ack + 1 + nl, e->count, 4);
    return pk_reply(ctx, msg, PK_PUBLISH, 0, ack, 1u + nl + 4u);
}

void pk_dir_ack(pk_service *svc, const uint8_t *body, size_t len)
{
    if (len < 2u || len < 2u + body[1])
        return;
    char name[PK_NAME_MAX + 1];
    memcpy(name, body + 2, body[1]);
    name[body[1]] = '\0';
    pk_entry *e = pk_find(svc, name);
    if (e == NULL || e->owner == NULL)
        return;
    pk_reg *reg = e->owner;
    size_t rest = len - 2u - body[1];
    const uint8_t *r = body + 2 + body[1];
    if (body[0] == 0 && rest == 4u) {
        reg->dir_acked = true;
        reg->dir_held = (unsigned)be_get(r, 4);
        return;
    }
    veil_log(VEIL_LOG_WARN, "x3dh", "prekey directory refused the publication of '%s': %s "
             "(%.*s)", name, veil_strerror(-(int)body[0]), (int)rest, (const char *)r);
}

int pk_dir_bundle(pk_entry *e, x3dh_bundle *out)
{
    *out = e->spk;
    out->has_opk = false;
    if (e->count > 0) {
        out->has_opk = true;
        out->opk_id = e->opk_ids[e->head];
        memcpy(out->opk, e->opk_pubs[e->head], X3DH_KEY_BYTES);
        x3dh_memzero(e->opk_pubs[e->head], X3DH_KEY_BYTES);
        e->head++;
        e->count--;
        return 0;
    }
    if (e->require_opk)
        return veil_error_set(VEIL_EAGAIN, "x3dh prekeys: the directory holds no one-time "
                              "prekey for '%s' and its publisher requires one (require_opk): "
                              "no bundle handed out", e->name);
    return 0;
}
