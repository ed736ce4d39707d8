/* The responder's prekeys across restarts: records in the node's store,
 * secrets in a persistent vault (x3dh_keep.h has the layout and the order
 * of writes; docs/X3DH.md, "Prekeys across restarts"). */
#include "x3dh_keep.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define META_LEN (1u + 5u * 4u + 2u + X3DH_KEEP_RETIRED * 4u)
#define SPK_LEN (1u + 1u + 4u + 8u + 8u + X3DH_KEY_BYTES + X3DH_SIG_BYTES)
#define OPK_LEN (1u + 1u + 4u + 4u + 8u + X3DH_KEY_BYTES)
#define REC_VERSION 1u

void x3dh_keep_init(x3dh_keep *k, veil_vault *v, veil_store *st, const uint8_t ik[X3DH_KEY_BYTES])
{
    memset(k, 0, sizeof *k);
    k->v = v;
    k->st = st;
    veil__hex_encode(ik, X3DH_KEY_BYTES, k->ik);
    veil__hex_encode(ik, 16, k->label);
}

uint64_t x3dh_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void rec_key(const x3dh_keep *k, char kind, uint32_t id, char out[VEIL_STORE_KEY_MAX + 1])
{
    snprintf(out, VEIL_STORE_KEY_MAX + 1, "%s/%c/%08x", k->ik, kind, (unsigned)id);
}

static void label_of(const x3dh_keep *k, char kind, uint32_t id, char out[VEIL_LABEL_MAX + 1])
{
    snprintf(out, VEIL_LABEL_MAX + 1, "x3dh.%s.%c%08x", k->label, kind, (unsigned)id);
}

int x3dh_keep_gen(x3dh_keep *k, char kind, uint32_t id, veil_secret *key,
                  uint8_t pub[X3DH_KEY_BYTES], const char *what)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = VEIL_SECRET_X25519;
    if (k->st != NULL) {
        a.persistence = VEIL_PERSISTENT;
        label_of(k, kind, id, a.label);
    }
    size_t n = 0;
    int rc = veil_vault_generate(k->v, &a, key);
    if (rc == 0 && (rc = veil_vault_public_key(k->v, *key, pub, X3DH_KEY_BYTES, &n)) < 0)
        veil__secret_drop(k->v, key);
    return rc < 0 ? veil_error_wrap(rc, "x3dh store: making a %s", what) : 0;
}

static int wrap(int rc, const x3dh_keep *k, const char *what)
{
    return veil_error_wrap(rc, "x3dh store: %s of identity key %.16s... in the node's store "
                           "(namespace " X3DH_KEEP_NS ")", what, k->ik);
}

int x3dh_keep_meta_put(x3dh_keep *k)
{
    const x3dh_keep_meta *m = &k->m;
    if (k->st == NULL)
        return 0;
    uint8_t b[META_LEN];
    b[0] = REC_VERSION;
    veil__store_be32(b + 1, m->spk_next);
    veil__store_be32(b + 5, m->spk_made);
    veil__store_be32(b + 9, m->opk_first);
    veil__store_be32(b + 13, m->opk_next);
    veil__store_be32(b + 17, m->opk_made);
    b[21] = m->nretired;
    b[22] = m->retired_next;
    for (unsigned i = 0; i < X3DH_KEEP_RETIRED; i++)
        veil__store_be32(b + 23 + 4u * i, m->retired[i]);
    char key[VEIL_STORE_KEY_MAX + 1];
    snprintf(key, sizeof key, "%s/m", k->ik);
    uint64_t ver;
    int rc = veil_store_put(k->st, X3DH_KEEP_NS, key, b, sizeof b, VEIL_STORE_ANY, &ver);
    return rc < 0 ? wrap(rc, k, "writing the prekey ids") : 0;
}

static int bad(const char *key, const char *what)
{
    return veil_error_set(VEIL_EFORMAT, "x3dh store: store record " X3DH_KEEP_NS "/%s: %s", key,
                          what);
}

int x3dh_keep_meta_get(x3dh_keep *k)
{
    x3dh_keep_meta *m = &k->m;
    char key[VEIL_STORE_KEY_MAX + 1];
    uint8_t b[META_LEN + 1];
    size_t n = 0;
    uint64_t ver;
    snprintf(key, sizeof key, "%s/m", k->ik);
    int rc = veil_store_get(k->st, X3DH_KEEP_NS, key, b, sizeof b, &n, &ver);
    if (rc == VEIL_ENOTFOUND)
        return rc;
    if (rc < 0)
        return wrap(rc == VEIL_ELIMIT ? VEIL_EFORMAT : rc, k, "reading the prekey ids");
    if (n != META_LEN || b[0] != REC_VERSION || b[21] > X3DH_KEEP_RETIRED ||
        b[22] >= X3DH_KEEP_RETIRED)
        return bad(key, "not a version-1 record of the prekey ids (length, version or retired "
                   "count wrong)");
    m->spk_next = veil__load_be32(b + 1);
    m->spk_made = veil__load_be32(b + 5);
    m->opk_first = veil__load_be32(b + 9);
    m->opk_next = veil__load_be32(b + 13);
    m->opk_made = veil__load_be32(b + 17);
    m->nretired = b[21];
    m->retired_next = b[22];
    for (unsigned i = 0; i < X3DH_KEEP_RETIRED; i++)
        m->retired[i] = veil__load_be32(b + 23 + 4u * i);
    if (m->spk_made > m->spk_next || m->opk_first > m->opk_made || m->opk_made > m->opk_next)
        return bad(key, "its ids are out of order (made above next, or first above made)");
    return 0;
}

static size_t rec_encode(const x3dh_keep_rec *r, uint8_t *b)
{
    b[0] = REC_VERSION;
    b[1] = r->state;
    veil__store_be32(b + 2, r->id);
    if (r->kind == 's') {
        veil__store_be64(b + 6, r->made);
        veil__store_be64(b + 14, r->until);
        memcpy(b + 22, r->pub, X3DH_KEY_BYTES);
        memcpy(b + 22 + X3DH_KEY_BYTES, r->sig, X3DH_SIG_BYTES);
        return SPK_LEN;
    }
    veil__store_be32(b + 6, r->tag);
    veil__store_be64(b + 10, r->until);
    memcpy(b + 18, r->pub, X3DH_KEY_BYTES);
    return OPK_LEN;
}

static int rec_decode(const char *key, char kind, const uint8_t *b, size_t n, x3dh_keep_rec *r)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    if (n != (kind == 's' ? SPK_LEN : OPK_LEN) || b[0] != REC_VERSION)
        return bad(key, "not a version-1 prekey record of the right length");
    r->state = b[1];
    r->id = veil__load_be32(b + 2);
    if (kind == 's') {
        r->made = veil__load_be64(b + 6);
        r->until = veil__load_be64(b + 14);
        memcpy(r->pub, b + 22, X3DH_KEY_BYTES);
        memcpy(r->sig, b + 22 + X3DH_KEY_BYTES, X3DH_SIG_BYTES);
    } else {
        r->tag = veil__load_be32(b + 6);
        r->until = veil__load_be64(b + 10);
        memcpy(r->pub, b + 18, X3DH_KEY_BYTES);
    }
    if (r->state > X3DH_KEEP_DEAD || (kind == 's' && r->state != 0 && r->state != X3DH_KEEP_DEAD))
        return bad(key, "unknown state");
    char want[VEIL_STORE_KEY_MAX + 1];
    snprintf(want, sizeof want, "%.64s/%c/%08x", key, kind, (unsigned)r->id);
    return strcmp(want, key) == 0 ? 0 : bad(key, "its id does not match its key");
}

int x3dh_keep_put(x3dh_keep *k, x3dh_keep_rec *r)
{
    if (k->st == NULL)
        return 0;
    uint8_t b[SPK_LEN];
    char key[VEIL_STORE_KEY_MAX + 1];
    rec_key(k, r->kind, r->id, key);
    size_t n = rec_encode(r, b);
    uint64_t ver = 0;
    int rc = veil_store_put(k->st, X3DH_KEEP_NS, key, b, n, r->version, &ver);
    if (rc < 0)
        return wrap(rc, k, r->kind == 's' ? "writing a signed prekey" : "writing a one-time "
                    "prekey");
    r->version = ver;
    return 0;
}

int x3dh_keep_kill(x3dh_keep *k, char kind, uint32_t id, uint64_t *version)
{
    if (k->st == NULL)
        return 0;
    char key[VEIL_STORE_KEY_MAX + 1];
    uint8_t b[SPK_LEN];
    size_t n = 0;
    uint64_t ver = 0;
    x3dh_keep_rec r;
    rec_key(k, kind, id, key);
    int rc = veil_store_get(k->st, X3DH_KEEP_NS, key, b, sizeof b, &n, &ver);
    if (rc == 0 && ver != *version)
        rc = VEIL_ESTATE;
    if (rc == 0)
        rc = rec_decode(key, kind, b, n, &r);
    if (rc == 0 && r.state == X3DH_KEEP_DEAD)
        rc = VEIL_ESTATE;
    if (rc == 0) {
        r.state = X3DH_KEEP_DEAD;
        n = rec_encode(&r, b);
        rc = veil_store_put(k->st, X3DH_KEEP_NS, key, b, n, *version, &ver);
    }
    if (rc == VEIL_ENOTFOUND || rc == VEIL_ESTATE)
        return veil_error_set(VEIL_EREPLAY, "x3dh: %s id %u was consumed or retired meanwhile "
                              "(its store record is gone or was changed by another writer)",
                              kind == 's' ? "signed prekey" : "one-time prekey", (unsigned)id);
    if (rc < 0)
        return wrap(rc, k, "marking a prekey consumed");
    *version = ver;
    return 0;
}

void x3dh_keep_forget(x3dh_keep *k, char kind, uint32_t id)
{
    if (k->st == NULL)
        return;
    char key[VEIL_STORE_KEY_MAX + 1];
    rec_key(k, kind, id, key);
    int rc = veil_store_delete(k->st, X3DH_KEEP_NS, key, VEIL_STORE_ANY);
    if (rc < 0 && rc != VEIL_ENOTFOUND)
        veil_log(VEIL_LOG_WARN, "x3dh", "x3dh store: deleting the record of %s %u (state DEAD, "
                 "cleaned up at the next start): %s", kind == 's' ? "SPK" : "OPK", (unsigned)id,
                 veil_last_error());
}

/* Destroy the vault secret of (kind, id) if there is one. */
static void drop_label(x3dh_keep *k, char kind, uint32_t id)
{
    char label[VEIL_LABEL_MAX + 1];
    veil_secret s = 0;
    label_of(k, kind, id, label);
    if (veil_vault_find_by_label(k->v, label, &s) == 0)
        (void)veil__secret_drop(k->v, &s);
}

typedef struct load_ctx {
    x3dh_keep *k;
    x3dh_keep_rec *recs;
    size_t n, cap;
    int rc;
} load_ctx;

static int load_one(void *arg, const char *key, const uint8_t *value, size_t len,
                    uint64_t version)
{
    load_ctx *c = arg;
    size_t pl = strlen(c->k->ik);
    if (strlen(key) < pl + 3u || key[pl + 2] != '/' || (key[pl + 1] != 's' && key[pl + 1] != 'o'))
        return 0; /* the meta record */
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2u : 64u;
        x3dh_keep_rec *r = realloc(c->recs, cap * sizeof *r);
        if (r == NULL)
            return c->rc = veil_error_set(VEIL_ENOMEM, "x3dh store: out of memory loading "
                                          "prekeys");
        c->recs = r;
        c->cap = cap;
    }
    x3dh_keep_rec *r = &c->recs[c->n];
    if ((c->rc = rec_decode(key, key[pl + 1], value, len, r)) < 0)
        return c->rc;
    r->version = version;
    c->n++;
    return 0;
}

/* Find r's secret; drop the record when it is DEAD or its secret is gone
 * or does not match.  True when r stays. */
static bool settle(x3dh_keep *k, x3dh_keep_rec *r)
{
    char label[VEIL_LABEL_MAX + 1];
    uint8_t pub[X3DH_KEY_BYTES];
    size_t n = 0;
    label_of(k, r->kind, r->id, label);
    if (veil_vault_find_by_label(k->v, label, &r->key) < 0)
        r->key = 0;
    bool keep = r->state != X3DH_KEEP_DEAD && r->key != 0 &&
                veil_vault_public_key(k->v, r->key, pub, sizeof pub, &n) == 0 &&
                memcmp(pub, r->pub, sizeof pub) == 0;
    if (keep)
        return true;
    if (r->state != X3DH_KEEP_DEAD)
        veil_log(VEIL_LOG_WARN, "x3dh", "x3dh store: %s %u of %.16s...: its vault secret '%s' "
                 "is %s; the prekey is dropped", r->kind == 's' ? "SPK" : "OPK", (unsigned)r->id,
                 k->ik, label, r->key == 0 ? "missing" : "not the recorded key");
    (void)veil__secret_drop(k->v, &r->key);
    x3dh_keep_forget(k, r->kind, r->id);
    return false;
}

static bool has_rec(const x3dh_keep_rec *recs, size_t n, char kind, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (recs[i].kind == kind && recs[i].id == id)
            return true;
    return false;
}

int x3dh_keep_load(x3dh_keep *k, x3dh_keep_rec **recs, size_t *n)
{
    const x3dh_keep_meta *m = &k->m;
    load_ctx c = { .k = k };
    char prefix[VEIL_STORE_KEY_MAX + 1];
    snprintf(prefix, sizeof prefix, "%s/", k->ik);
    int rc = veil_store_list(k->st, X3DH_KEEP_NS, prefix, load_one, &c);
    if (rc < 0 && c.rc == 0)
        rc = wrap(rc, k, "listing the prekeys");
    size_t keep = 0;
    for (size_t i = 0; rc == 0 && i < c.n; i++)
        if (settle(k, &c.recs[i]))
            c.recs[keep++] = c.recs[i];
    /* keys made (ids reserved) without their record written: a crash */
    for (uint32_t id = m->spk_made; rc == 0 && id != m->spk_next; id++)
        if (!has_rec(c.recs, keep, 's', id))
            drop_label(k, 's', id);
    for (uint32_t id = m->opk_made; rc == 0 && id != m->opk_next; id++)
        if (!has_rec(c.recs, keep, 'o', id))
            drop_label(k, 'o', id);
    if (rc < 0) {
        free(c.recs);
        return rc;
    }
    *recs = c.recs;
    *n = keep;
    return 0;
}
