/* The responder's prekey store (docs/X3DH.md, "Prekey service"): one per
 * (vault, identity key), in a process-wide registry so the responder
 * session finds it by the identity key it was given.
 *
 *  - signed prekey: one current SPK (X25519 in the vault, id, XEdDSA
 *    signature by IK over Encode(SPK)); replaced every spk_rotate_ms; a
 *    replaced SPK stays usable for spk_grace_ms (initiators may hold a
 *    bundle fetched before the rotation), then its secret is destroyed and
 *    its id remembered, so a late initial message gets "expired"
 *    (VEIL_ETIMEDOUT) rather than "unknown" (VEIL_ENOTFOUND).
 *  - one-time prekeys: the pool in x3dh_opk.c (states FRESH, PUBLISHED,
 *    ISSUED; a handed-out OPK stays usable for opk_hold_ms whatever else
 *    is handed out meanwhile; ids increase and are never reused, so an id
 *    below the next one that is no longer held was consumed or expired:
 *    VEIL_EREPLAY, with no list of consumed ids to keep).  Its secret is
 *    destroyed when the session consumes it after the AEAD authenticated,
 *    or when its hold time ends.  Refill to opk_count when fewer than
 *    opk_low_water fresh ones are left (0: no refill, so the store runs
 *    dry and hands out bundles without an OPK, or refuses them under
 *    require_opk); the same when opk_issued_max are handed out.
 *
 * Rotation and expiry are checked on every use (so they never depend on a
 * timer firing) and by the service's timer (x3dh_service.c), which asks
 * x3dh_store_maintain when the next change is due.  With a persistent
 * vault and a persistent node store (x3dh_keep.c) the SPKs, OPKs and ids
 * survive a restart: old bundles keep working and a consumed OPK stays
 * consumed; otherwise all state is in memory and a restarted node makes a
 * new SPK and new OPKs (old bundles then fail with "unknown SPK id").
 * Thread-safe: one mutex per store, one for the registry. */
#include "x3dh_opk.h"
#include "x3dh_prekeys.h"

#include <veil/log.h>

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define SPK_KEEP 4u          /* replaced SPKs held at once inside their grace */
#define SPK_RETIRED X3DH_KEEP_RETIRED /* ids remembered after their grace */

typedef struct spk_slot {
    uint32_t id;
    veil_secret key;
    uint8_t pub[X3DH_KEY_BYTES];
    uint8_t sig[X3DH_SIG_BYTES];
    uint64_t until_ms;       /* previous SPKs: end of the grace period */
    uint64_t made_wall;      /* wall-clock ms it was made (kept) */
    uint64_t ver;            /* its store record's version (kept) */
} spk_slot;

struct x3dh_store {
    x3dh_store *next;        /* registry list */
    unsigned refs;           /* opens + session lookups (registry mutex) */
    bool vault_gone;         /* a close said the vault is closed */
    pthread_mutex_t mu;
    veil_vault *v;
    veil_secret ik;
    uint8_t ik_pub[X3DH_KEY_BYTES];
    x3dh_store_config cfg;
    spk_slot cur;
    uint64_t cur_made_ms;
    spk_slot prev[SPK_KEEP];
    unsigned nprev;
    x3dh_keep keep;          /* ids, retired SPK ids; records when kept */
    opk_pool opk;
    uint32_t next_tag;       /* registrations publishing to a directory */
    x3dh_store_stats st;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static x3dh_store *registry;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A random start for id sequences (below 2^31, so they never wrap in
 * practice): a store made again after a restart does not reuse the ids of
 * bundles still held by initiators. */
static int random_id(veil_vault *v, uint32_t *out)
{
    uint8_t b[4];
    int rc = veil_vault_random(v, b, sizeof b);
    if (rc < 0)
        return veil_error_wrap(rc, "x3dh store: random id");
    *out = (veil__load_be32(b) & 0x3fffffffu) + 1u;
    return 0;
}

/* Write an SPK's record (kept stores). */
static int put_spk(x3dh_store *s, spk_slot *p, uint64_t now)
{
    x3dh_keep_rec r;
    memset(&r, 0, sizeof r);
    r.kind = 's';
    r.id = p->id;
    r.made = p->made_wall;
    r.until = p->until_ms ? x3dh_wall_ms() + (p->until_ms > now ? p->until_ms - now : 0) : 0;
    memcpy(r.pub, p->pub, sizeof r.pub);
    memcpy(r.sig, p->sig, sizeof r.sig);
    r.version = p->ver ? p->ver : VEIL_STORE_ABSENT;
    int rc = x3dh_keep_put(&s->keep, &r);
    if (rc == 0)
        p->ver = r.version;
    return rc;
}

/* A new current SPK (the old one, if any, already moved away).  Kept: the
 * id is reserved before the key is made, the record written after. */
static int make_spk(x3dh_store *s, uint64_t now)
{
    x3dh_keep_meta *m = &s->keep.m;
    x3dh_bundle b;
    memset(&b, 0, sizeof b);
    spk_slot n;
    memset(&n, 0, sizeof n);
    n.id = m->spk_next++;
    n.made_wall = x3dh_wall_ms();
    int rc = x3dh_keep_meta_put(&s->keep);
    if (rc == 0)
        rc = x3dh_keep_gen(&s->keep, 's', n.id, &n.key, n.pub, "signed prekey");
    if (rc < 0)
        return rc;
    b.spk_id = n.id;
    memcpy(b.spk, n.pub, sizeof b.spk);
    if ((rc = x3dh_bundle_sign(s->v, s->ik, &b)) == 0) {
        memcpy(n.sig, b.spk_sig, sizeof n.sig);
        rc = put_spk(s, &n, now);
    }
    if (rc < 0) {
        veil__secret_drop(s->v, &n.key);
        return rc;
    }
    m->spk_made = m->spk_next;
    if ((rc = x3dh_keep_meta_put(&s->keep)) < 0)
        return rc; /* the record is there: the next start keeps the SPK */
    s->cur = n;
    s->cur_made_ms = now;
    return 0;
}

static bool is_retired(const x3dh_store *s, uint32_t id)
{
    for (unsigned i = 0; i < s->keep.m.nretired; i++)
        if (s->keep.m.retired[i] == id)
            return true;
    return false;
}

static void retire_spk(x3dh_store *s, spk_slot *p)
{
    x3dh_keep_meta *m = &s->keep.m;
    (void)x3dh_keep_kill(&s->keep, 's', p->id, &p->ver); /* best effort: see opk expiry */
    if ((s->vault_gone ? 0 : veil__secret_drop(s->v, &p->key)) == 0)
        x3dh_keep_forget(&s->keep, 's', p->id); /* else DEAD: destroyed at the next start */
    p->key = 0;
    m->retired[m->retired_next] = p->id;
    m->retired_next = (uint8_t)((m->retired_next + 1u) % SPK_RETIRED);
    if (m->nretired < SPK_RETIRED)
        m->nretired++;
    if (x3dh_keep_meta_put(&s->keep) < 0)
        veil_log(VEIL_LOG_WARN, "x3dh", "x3dh store: remembering retired SPK %u: %s",
                 (unsigned)p->id, veil_last_error());
}

static void drop_prev(x3dh_store *s, unsigned i)
{
    retire_spk(s, &s->prev[i]);
    memmove(&s->prev[i], &s->prev[i + 1], (s->nprev - i - 1u) * sizeof s->prev[0]);
    s->nprev--;
    veil__memzero(&s->prev[s->nprev], sizeof s->prev[0]);
}

static int rotate(x3dh_store *s, uint64_t now)
{
    spk_slot old = s->cur;
    int rc = make_spk(s, now);
    if (rc < 0)
        return rc;
    s->st.spk_rotations++;
    old.until_ms = now + s->cfg.spk_grace_ms;
    if (s->cfg.spk_grace_ms > 0 && put_spk(s, &old, now) < 0)
        veil_log(VEIL_LOG_WARN, "x3dh", "x3dh store: recording the grace of SPK %u (it is "
                 "kept as current at the next start): %s", (unsigned)old.id, veil_last_error());
    if (s->cfg.spk_grace_ms == 0) {
        retire_spk(s, &old);
        return 0;
    }
    if (s->nprev == SPK_KEEP)
        drop_prev(s, 0);
    s->prev[s->nprev++] = old;
    return 0;
}

/* Under s->mu. */
static int maintain_locked(x3dh_store *s, uint64_t now, uint64_t *next_ms)
{
    int rc = 0;
    if (now - s->cur_made_ms >= s->cfg.spk_rotate_ms)
        rc = rotate(s, now);
    for (unsigned i = 0; i < s->nprev;) {
        if (now >= s->prev[i].until_ms)
            drop_prev(s, i);
        else
            i++;
    }
    opk_pool_expire(&s->opk, now);
    opk_pool_flush(&s->opk, now, false);
    if (rc == 0)
        rc = opk_pool_refill(&s->opk, false);
    if (next_ms != NULL) {
        uint64_t due = s->cur_made_ms + s->cfg.spk_rotate_ms;
        for (unsigned i = 0; i < s->nprev; i++)
            if (s->prev[i].until_ms < due)
                due = s->prev[i].until_ms;
        if (s->opk.next_expiry < due)
            due = s->opk.next_expiry;
        /* kept: a tick at least every X3DH_OPK_DOOM_MS, and at the flush
         * due, bound how long a consumed OPK's secret waits (x3dh_opk.h) */
        if (s->keep.st != NULL && now + X3DH_OPK_DOOM_MS < due)
            due = now + X3DH_OPK_DOOM_MS;
        if (opk_pool_flush_due(&s->opk) < due)
            due = opk_pool_flush_due(&s->opk);
        *next_ms = due > now ? due - now : 0;
    }
    return rc;
}

static void store_free(x3dh_store *s)
{
    if (!s->vault_gone && s->keep.st == NULL) { /* kept secrets outlive us */
        veil__secret_drop(s->v, &s->cur.key);
        for (unsigned i = 0; i < s->nprev; i++)
            veil__secret_drop(s->v, &s->prev[i].key);
    }
    s->opk.vault_gone = s->vault_gone;
    opk_pool_free(&s->opk);
    pthread_mutex_destroy(&s->mu);
    veil__memzero(s, sizeof *s);
    free(s);
}

static x3dh_store *find_locked(veil_vault *v, const uint8_t ik_pub[X3DH_KEY_BYTES])
{
    for (x3dh_store *s = registry; s != NULL; s = s->next)
        if (s->v == v && memcmp(s->ik_pub, ik_pub, X3DH_KEY_BYTES) == 0)
            return s;
    return NULL;
}

/* The kept SPKs (records in id order): the newest without a grace end is
 * current (an older one without, left by a crash inside a rotation, gets
 * a full grace); those past their grace are retired. */
static void load_spks(x3dh_store *s, const x3dh_keep_rec *recs, size_t n, uint64_t now)
{
    uint64_t wall = x3dh_wall_ms();
    size_t cur = n;
    for (size_t i = 0; i < n; i++)
        if (recs[i].kind == 's' && recs[i].until == 0)
            cur = i;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].kind != 's')
            continue;
        spk_slot p = { .id = recs[i].id, .key = recs[i].key, .made_wall = recs[i].made,
                       .ver = recs[i].version };
        memcpy(p.pub, recs[i].pub, sizeof p.pub);
        memcpy(p.sig, recs[i].sig, sizeof p.sig);
        if (i == cur) {
            uint64_t age = wall > p.made_wall ? wall - p.made_wall : 0;
            s->cur = p;
            s->cur_made_ms = now > age ? now - age : 0;
            continue;
        }
        uint64_t left = recs[i].until > wall ? recs[i].until - wall : 0;
        if (recs[i].until == 0 || left > s->cfg.spk_grace_ms)
            left = s->cfg.spk_grace_ms;
        p.until_ms = now + left;
        if (left == 0) {
            retire_spk(s, &p);
            continue;
        }
        if (s->nprev == SPK_KEEP)
            drop_prev(s, 0);
        s->prev[s->nprev++] = p;
    }
}

/* A kept store at start: its SPKs and OPKs back, keys left by a crash
 * destroyed (x3dh_keep_load), a current SPK (made or rotated when due). */
static int load(x3dh_store *s, uint64_t now)
{
    x3dh_keep_rec *recs = NULL;
    size_t n = 0;
    int rc = x3dh_keep_load(&s->keep, &recs, &n);
    if (rc < 0)
        return rc;
    s->opk.next = s->keep.m.opk_next;
    rc = opk_pool_load(&s->opk, recs, n, now);
    if (rc == 0)
        load_spks(s, recs, n, now);
    free(recs);
    s->keep.m.spk_made = s->keep.m.spk_next;
    s->keep.m.opk_made = s->keep.m.opk_next;
    if (rc == 0)
        rc = x3dh_keep_meta_put(&s->keep);
    if (rc == 0 && s->cur.key == 0)
        return make_spk(s, now);
    uint64_t wall = x3dh_wall_ms();
    if (rc == 0 && wall > s->cur.made_wall && wall - s->cur.made_wall >= s->cfg.spk_rotate_ms)
        rc = rotate(s, now);
    return rc;
}

static int store_new(veil_vault *v, veil_secret ik, const uint8_t ik_pub[X3DH_KEY_BYTES],
                     const x3dh_store_config *c, veil_store *st, x3dh_store **out)
{
    x3dh_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return veil_error_set(VEIL_ENOMEM, "x3dh store: out of memory");
    pthread_mutex_init(&s->mu, NULL);
    s->v = v;
    s->ik = ik;
    memcpy(s->ik_pub, ik_pub, X3DH_KEY_BYTES);
    s->cfg = *c;
    x3dh_keep *k = &s->keep;
    x3dh_keep_init(k, v, st, ik_pub);
    int rc = st != NULL ? x3dh_keep_meta_get(k) : VEIL_ENOTFOUND;
    bool fresh = rc == VEIL_ENOTFOUND;
    if (fresh && (rc = random_id(v, &k->m.spk_next)) == 0)
        rc = random_id(v, &k->m.opk_first);
    if (fresh) {
        k->m.spk_made = k->m.spk_next;
        k->m.opk_made = k->m.opk_next = k->m.opk_first;
    }
    opk_pool_init(&s->opk, k, c->opk_count, c->opk_low_water, c->opk_issued_max,
                  c->opk_hold_ms);
    if (rc == 0)
        rc = fresh ? make_spk(s, now_ms()) : load(s, now_ms());
    if (rc == 0)
        rc = opk_pool_refill(&s->opk, true);
    if (rc < 0) {
        store_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int x3dh_store_open(veil_vault *v, veil_secret ik, const x3dh_store_config *c, x3dh_store **out)
{
    return x3dh_store_open_kept(v, ik, c, NULL, out);
}

int x3dh_store_open_kept(veil_vault *v, veil_secret ik, const x3dh_store_config *c,
                         veil_store *st, x3dh_store **out)
{
    uint8_t pub[X3DH_KEY_BYTES];
    size_t n = 0;
    if (v == NULL || ik == 0 || c == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "x3dh_store_open: vault, ik, config and out must be set");
    if (c->spk_rotate_ms == 0 || c->opk_hold_ms == 0 || c->opk_issued_max == 0 ||
        c->opk_count > X3DH_OPK_COUNT_MAX)
        return veil_error_set(VEIL_EINVAL, "x3dh_store_open: spk_rotate_ms, opk_hold_ms and "
                              "opk_issued_max must be > 0 and opk_count <= %u (got %u)",
                              X3DH_OPK_COUNT_MAX, c->opk_count);
    veil_secret_attrs a;
    int rc = veil_vault_attributes(v, ik, &a);
    if (rc == 0 && a.type != VEIL_SECRET_X25519)
        return veil_error_set(VEIL_ETYPE, "x3dh store: the identity key is %s, not X25519",
                              veil_secret_type_name(a.type));
    if (rc == 0)
        rc = veil_vault_public_key(v, ik, pub, sizeof pub, &n);
    if (rc < 0)
        return veil_error_wrap(rc, "x3dh store: the identity key");
    pthread_mutex_lock(&reg_mu);
    x3dh_store *s = find_locked(v, pub);
    if (s == NULL && (rc = store_new(v, ik, pub, c, st, &s)) == 0) {
        s->next = registry;
        registry = s;
    }
    if (rc == 0)
        s->refs++;
    pthread_mutex_unlock(&reg_mu);
    if (rc == 0)
        *out = s;
    return rc;
}

static void unref(x3dh_store *s, bool vault_gone)
{
    pthread_mutex_lock(&reg_mu);
    if (vault_gone)
        s->vault_gone = s->opk.vault_gone = true;
    bool last = --s->refs == 0;
    if (last) {
        x3dh_store **pp = &registry;
        while (*pp != s)
            pp = &(*pp)->next;
        *pp = s->next;
    }
    pthread_mutex_unlock(&reg_mu);
    if (last)
        store_free(s);
}

void x3dh_store_close(x3dh_store *s, bool touch_vault)
{
    if (s != NULL)
        unref(s, !touch_vault);
}

int x3dh_store_lookup(veil_vault *v, const uint8_t ik_pub[X3DH_KEY_BYTES], x3dh_store **out)
{
    pthread_mutex_lock(&reg_mu);
    x3dh_store *s = find_locked(v, ik_pub);
    if (s != NULL)
        s->refs++;
    pthread_mutex_unlock(&reg_mu);
    if (s == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "x3dh: no prekey store for this identity key in "
                              "this vault (no bundle was published for it: is a listener with "
                              "this entity running?)");
    *out = s;
    return 0;
}

void x3dh_store_release(x3dh_store *s)
{
    if (s != NULL)
        unref(s, false);
}

int x3dh_store_maintain(x3dh_store *s, uint64_t *next_ms)
{
    pthread_mutex_lock(&s->mu);
    int rc = maintain_locked(s, now_ms(), next_ms);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void spk_to_bundle(const x3dh_store *s, x3dh_bundle *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->ik, s->ik_pub, sizeof out->ik);
    out->spk_id = s->cur.id;
    memcpy(out->spk, s->cur.pub, sizeof out->spk);
    memcpy(out->spk_sig, s->cur.sig, sizeof out->spk_sig);
}

int x3dh_store_bundle(x3dh_store *s, x3dh_bundle *out)
{
    pthread_mutex_lock(&s->mu);
    uint64_t now = now_ms();
    int rc = maintain_locked(s, now, NULL);
    const opk_slot *o = NULL;
    if (rc == 0)
        rc = opk_pool_issue(&s->opk, now, &o);
    if (rc == 0 && o == NULL && s->cfg.require_opk)
        rc = veil_error_set(VEIL_EAGAIN, "x3dh prekeys: no one-time prekey can be handed out "
                            "(%u fresh, %u of opk_issued_max %u handed out and inside their "
                            "hold time) and require_opk is set: no bundle handed out",
                            s->opk.fresh, s->opk.issued, s->cfg.opk_issued_max);
    if (rc == 0) {
        spk_to_bundle(s, out);
        if (o != NULL) {
            out->has_opk = true;
            out->opk_id = o->id;
            memcpy(out->opk, o->pub, sizeof out->opk);
        } else {
            s->st.bundles_without_opk++;
        }
        /* Refill at once, so the next fetch finds OPKs again. */
        rc = opk_pool_refill(&s->opk, false);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

uint32_t x3dh_store_new_tag(x3dh_store *s)
{
    pthread_mutex_lock(&s->mu);
    uint32_t t = ++s->next_tag;
    pthread_mutex_unlock(&s->mu);
    return t;
}

int x3dh_store_batch(x3dh_store *s, uint32_t tag, x3dh_bundle *spk, unsigned max, uint32_t *ids,
                     uint8_t (*pubs)[X3DH_KEY_BYTES], unsigned *n)
{
    pthread_mutex_lock(&s->mu);
    int rc = maintain_locked(s, now_ms(), NULL);
    *n = 0;
    if (rc == 0) {
        spk_to_bundle(s, spk);
        opk_pool_publish(&s->opk, tag, max, ids, pubs, n);
        rc = opk_pool_refill(&s->opk, false);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

unsigned x3dh_store_report(x3dh_store *s, uint32_t tag, uint32_t held, uint32_t next_id)
{
    pthread_mutex_lock(&s->mu);
    unsigned n = opk_pool_report(&s->opk, tag, held, next_id, now_ms());
    pthread_mutex_unlock(&s->mu);
    return n;
}

int x3dh_store_find_spk(x3dh_store *s, uint32_t id, veil_secret *spk, uint8_t pub[X3DH_KEY_BYTES])
{
    pthread_mutex_lock(&s->mu);
    int rc = maintain_locked(s, now_ms(), NULL);
    const spk_slot *hit = NULL;
    if (rc == 0 && s->cur.id == id)
        hit = &s->cur;
    for (unsigned i = 0; rc == 0 && hit == NULL && i < s->nprev; i++)
        if (s->prev[i].id == id)
            hit = &s->prev[i];
    if (hit != NULL) {
        *spk = hit->key;
        memcpy(pub, hit->pub, X3DH_KEY_BYTES);
    } else if (rc == 0) {
        rc = veil_error_set(VEIL_ENOTFOUND, "x3dh: signed prekey id %u is unknown (current id "
                            "%u)", (unsigned)id, (unsigned)s->cur.id);
        if (is_retired(s, id))
            rc = veil_error_set(VEIL_ETIMEDOUT, "x3dh: signed prekey id %u expired: replaced "
                                "and past its grace period (spk_grace_s = %llu)", (unsigned)id,
                                (unsigned long long)(s->cfg.spk_grace_ms / 1000u));
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int x3dh_store_find_opk(x3dh_store *s, uint32_t id, veil_secret *opk, uint8_t pub[X3DH_KEY_BYTES])
{
    pthread_mutex_lock(&s->mu);
    opk_pool_expire(&s->opk, now_ms());
    int rc = opk_pool_find(&s->opk, id, opk, pub);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int x3dh_store_consume_opk(x3dh_store *s, uint32_t id)
{
    pthread_mutex_lock(&s->mu);
    int rc = opk_pool_consume(&s->opk, id, now_ms());
    pthread_mutex_unlock(&s->mu);
    return rc;
}

veil_secret x3dh_store_ik(const x3dh_store *s, uint8_t pub[X3DH_KEY_BYTES])
{
    memcpy(pub, s->ik_pub, X3DH_KEY_BYTES);
    return s->ik;
}

void x3dh_store_get_stats(x3dh_store *s, x3dh_store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->opk_fresh = s->opk.fresh;
    out->opk_published = s->opk.published;
    out->opk_issued = s->opk.issued;
    out->opk_consumed = s->opk.consumed;
    out->opk_expired = s->opk.expired;
    out->spk_id = s->cur.id;
    pthread_mutex_unlock(&s->mu);
}
