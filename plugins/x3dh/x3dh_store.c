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
 *  - one-time prekeys: ids are handed out in increasing order and never
 *    reused, so an id below the next one that is no longer held was
 *    consumed (VEIL_EREPLAY), with no list of consumed ids to keep.  Each
 *    OPK is handed out (issued) at most once; its secret is destroyed only
 *    when the session calls consume after the AEAD authenticated.  Refill
 *    to opk_count when fewer than opk_low_water fresh ones are left (0: no
 *    refill, so the store runs dry and hands out bundles without an OPK,
 *    or refuses them under require_opk).
 *
 * Rotation and expiry are checked on every use (so they never depend on a
 * timer firing) and by the service's timer (x3dh_service.c), which asks
 * x3dh_store_maintain when the next change is due.  All state is in memory:
 * a restarted node makes a new SPK and new OPKs (old bundles then fail
 * with "unknown SPK id").  Thread-safe: one mutex per store, one for the
 * registry. */
#include "x3dh_prekeys.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define SPK_KEEP 4u          /* replaced SPKs held at once inside their grace */
#define SPK_RETIRED 16u      /* ids remembered after their grace */
#define ISSUED_FACTOR 4u     /* issued, unconsumed OPKs kept: 4 x opk_count */

typedef struct spk_slot {
    uint32_t id;
    veil_secret key;
    uint8_t pub[X3DH_KEY_BYTES];
    uint8_t sig[X3DH_SIG_BYTES];
    uint64_t until_ms;       /* previous SPKs: end of the grace period */
} spk_slot;

typedef struct opk_slot {
    uint32_t id;
    bool issued;
    veil_secret key;
    uint8_t pub[X3DH_KEY_BYTES];
} opk_slot;

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
    uint32_t retired[SPK_RETIRED];
    unsigned nretired, retired_next;
    uint32_t spk_next_id;
    opk_slot *opk;           /* increasing ids */
    size_t nopk, capopk;
    uint32_t opk_first, opk_next;  /* every id ever made is in [first, next) */
    unsigned fresh;
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
    *out = (((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]) &
            0x3fffffffu) + 1u;
    return 0;
}

static int new_key(veil_vault *v, veil_secret *key, uint8_t pub[X3DH_KEY_BYTES], const char *what)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = VEIL_SECRET_X25519;
    size_t n = 0;
    int rc = veil_vault_generate(v, &a, key);
    if (rc == 0 && (rc = veil_vault_public_key(v, *key, pub, X3DH_KEY_BYTES, &n)) < 0)
        x3dh_drop(v, key);
    return rc < 0 ? veil_error_wrap(rc, "x3dh store: making a %s", what) : 0;
}

/* A new current SPK (the old one, if any, already moved away). */
static int make_spk(x3dh_store *s, uint64_t now)
{
    x3dh_bundle b;
    memset(&b, 0, sizeof b);
    spk_slot n;
    memset(&n, 0, sizeof n);
    n.id = s->spk_next_id++;
    int rc = new_key(s->v, &n.key, n.pub, "signed prekey");
    if (rc < 0)
        return rc;
    b.spk_id = n.id;
    memcpy(b.spk, n.pub, sizeof b.spk);
    if ((rc = x3dh_bundle_sign(s->v, s->ik, &b)) < 0) {
        x3dh_drop(s->v, &n.key);
        return rc;
    }
    memcpy(n.sig, b.spk_sig, sizeof n.sig);
    s->cur = n;
    s->cur_made_ms = now;
    return 0;
}

static void retire_spk(x3dh_store *s, spk_slot *p)
{
    if (!s->vault_gone)
        x3dh_drop(s->v, &p->key);
    s->retired[s->retired_next++ % SPK_RETIRED] = p->id;
    if (s->nretired < SPK_RETIRED)
        s->nretired++;
}

static void drop_prev(x3dh_store *s, unsigned i)
{
    retire_spk(s, &s->prev[i]);
    memmove(&s->prev[i], &s->prev[i + 1], (s->nprev - i - 1u) * sizeof s->prev[0]);
    s->nprev--;
    x3dh_memzero(&s->prev[s->nprev], sizeof s->prev[0]);
}

static int rotate(x3dh_store *s, uint64_t now)
{
    spk_slot old = s->cur;
    int rc = make_spk(s, now);
    if (rc < 0)
        return rc;
    s->st.spk_rotations++;
    old.until_ms = now + s->cfg.spk_grace_ms;
    if (s->cfg.spk_grace_ms == 0) {
        retire_spk(s, &old);
        return 0;
    }
    if (s->nprev == SPK_KEEP)
        drop_prev(s, 0);
    s->prev[s->nprev++] = old;
    return 0;
}

static int grow_opk(x3dh_store *s, size_t want)
{
    if (want <= s->capopk)
        return 0;
    size_t cap = s->capopk ? s->capopk * 2u : 64u;
    while (cap < want)
        cap *= 2u;
    opk_slot *n = realloc(s->opk, cap * sizeof *n);
    if (n == NULL)
        return veil_error_set(VEIL_ENOMEM, "x3dh store: out of memory for %zu one-time prekeys", cap);
    s->opk = n;
    s->capopk = cap;
    return 0;
}

static void remove_opk(x3dh_store *s, size_t i)
{
    if (!s->vault_gone)
        x3dh_drop(s->v, &s->opk[i].key);
    if (!s->opk[i].issued)
        s->fresh--;
    memmove(&s->opk[i], &s->opk[i + 1], (s->nopk - i - 1u) * sizeof s->opk[0]);
    s->nopk--;
}

/* Top up to opk_count when below the low-water mark (always when made). */
static int refill(x3dh_store *s, bool initial)
{
    if ((!initial && s->fresh >= s->cfg.opk_low_water) || s->fresh >= s->cfg.opk_count)
        return 0;
    unsigned add = s->cfg.opk_count - s->fresh;
    int rc = grow_opk(s, s->nopk + add);
    for (unsigned i = 0; i < add && rc == 0; i++) {
        opk_slot *o = &s->opk[s->nopk];
        memset(o, 0, sizeof *o);
        o->id = s->opk_next;
        if ((rc = new_key(s->v, &o->key, o->pub, "one-time prekey")) == 0) {
            s->opk_next++;
            s->nopk++;
            s->fresh++;
        }
    }
    /* Issued OPKs an initiator never used: keep a bounded number (the
     * oldest go first; a late message naming one is then a replay). */
    size_t keep = (size_t)ISSUED_FACTOR * (s->cfg.opk_count ? s->cfg.opk_count : 1u);
    for (size_t i = 0; i < s->nopk && s->nopk - s->fresh > keep;) {
        if (s->opk[i].issued)
            remove_opk(s, i);
        else
            i++;
    }
    return rc;
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
    if (rc == 0)
        rc = refill(s, false);
    if (next_ms != NULL) {
        uint64_t due = s->cur_made_ms + s->cfg.spk_rotate_ms;
        for (unsigned i = 0; i < s->nprev; i++)
            if (s->prev[i].until_ms < due)
                due = s->prev[i].until_ms;
        *next_ms = due > now ? due - now : 0;
    }
    return rc;
}

static void store_free(x3dh_store *s)
{
    if (!s->vault_gone) {
        x3dh_drop(s->v, &s->cur.key);
        for (unsigned i = 0; i < s->nprev; i++)
            x3dh_drop(s->v, &s->prev[i].key);
        for (size_t i = 0; i < s->nopk; i++)
            x3dh_drop(s->v, &s->opk[i].key);
    }
    if (s->opk != NULL)
        x3dh_memzero(s->opk, s->capopk * sizeof *s->opk);
    free(s->opk);
    pthread_mutex_destroy(&s->mu);
    x3dh_memzero(s, sizeof *s);
    free(s);
}

static x3dh_store *find_locked(veil_vault *v, const uint8_t ik_pub[X3DH_KEY_BYTES])
{
    for (x3dh_store *s = registry; s != NULL; s = s->next)
        if (s->v == v && memcmp(s->ik_pub, ik_pub, X3DH_KEY_BYTES) == 0)
            return s;
    return NULL;
}

static int store_new(veil_vault *v, veil_secret ik, const uint8_t ik_pub[X3DH_KEY_BYTES],
                     const x3dh_store_config *c, x3dh_store **out)
{
    x3dh_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return veil_error_set(VEIL_ENOMEM, "x3dh store: out of memory");
    pthread_mutex_init(&s->mu, NULL);
    s->v = v;
    s->ik = ik;
    memcpy(s->ik_pub, ik_pub, X3DH_KEY_BYTES);
    s->cfg = *c;
    int rc = random_id(v, &s->spk_next_id);
    if (rc == 0)
        rc = random_id(v, &s->opk_first);
    s->opk_next = s->opk_first;
    if (rc == 0)
        rc = make_spk(s, now_ms());
    if (rc == 0)
        rc = refill(s, true);
    if (rc < 0) {
        store_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int x3dh_store_open(veil_vault *v, veil_secret ik, const x3dh_store_config *c, x3dh_store **out)
{
    uint8_t pub[X3DH_KEY_BYTES];
    size_t n = 0;
    if (v == NULL || ik == 0 || c == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "x3dh_store_open: vault, ik, config and out must be set");
    if (c->spk_rotate_ms == 0 || c->opk_count > X3DH_OPK_COUNT_MAX)
        return veil_error_set(VEIL_EINVAL, "x3dh_store_open: spk_rotate_ms must be > 0 and "
                              "opk_count <= %u (got %u)", X3DH_OPK_COUNT_MAX, c->opk_count);
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
    if (s == NULL && (rc = store_new(v, ik, pub, c, &s)) == 0) {
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
        s->vault_gone = true;
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

/* The oldest fresh OPK, marked issued; NULL when none is left. */
static opk_slot *issue_one(x3dh_store *s)
{
    for (size_t i = 0; i < s->nopk; i++) {
        if (!s->opk[i].issued) {
            s->opk[i].issued = true;
            s->fresh--;
            return &s->opk[i];
        }
    }
    return NULL;
}

int x3dh_store_bundle(x3dh_store *s, x3dh_bundle *out)
{
    pthread_mutex_lock(&s->mu);
    int rc = maintain_locked(s, now_ms(), NULL);
    opk_slot *o = rc == 0 ? issue_one(s) : NULL;
    if (rc == 0 && o == NULL && s->cfg.require_opk)
        rc = veil_error_set(VEIL_EAGAIN, "x3dh prekeys: no one-time prekey left (opk_count %u, "
                            "opk_low_water %u) and require_opk is set: no bundle handed out",
                            s->cfg.opk_count, s->cfg.opk_low_water);
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
        rc = refill(s, false);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int x3dh_store_batch(x3dh_store *s, x3dh_bundle *spk, unsigned max, uint32_t *ids,
                     uint8_t (*pubs)[X3DH_KEY_BYTES], unsigned *n)
{
    pthread_mutex_lock(&s->mu);
    int rc = maintain_locked(s, now_ms(), NULL);
    *n = 0;
    if (rc == 0) {
        spk_to_bundle(s, spk);
        opk_slot *o;
        while (*n < max && (o = issue_one(s)) != NULL) {
            ids[*n] = o->id;
            memcpy(pubs[*n], o->pub, X3DH_KEY_BYTES);
            (*n)++;
        }
        rc = refill(s, false);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
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
        for (unsigned i = 0; i < s->nretired; i++)
            if (s->retired[i] == id)
                rc = veil_error_set(VEIL_ETIMEDOUT, "x3dh: signed prekey id %u expired: "
                                    "replaced and past its grace period (spk_grace_s = %llu)",
                                    (unsigned)id,
                                    (unsigned long long)(s->cfg.spk_grace_ms / 1000u));
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Index of id in the OPK array, or -1. */
static long opk_index(const x3dh_store *s, uint32_t id)
{
    size_t lo = 0, hi = s->nopk;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if (s->opk[mid].id == id)
            return (long)mid;
        if (s->opk[mid].id < id)
            lo = mid + 1u;
        else
            hi = mid;
    }
    return -1;
}

/* Under s->mu: the error for an id that is not held. */
static int opk_missing(const x3dh_store *s, uint32_t id)
{
    if (id >= s->opk_first && id < s->opk_next)
        return veil_error_set(VEIL_EREPLAY, "x3dh: one-time prekey id %u was already used "
                              "(consumed by an earlier initial message, or retired unused)",
                              (unsigned)id);
    return veil_error_set(VEIL_ENOTFOUND, "x3dh: one-time prekey id %u was never issued by "
                          "this store", (unsigned)id);
}

int x3dh_store_find_opk(x3dh_store *s, uint32_t id, veil_secret *opk, uint8_t pub[X3DH_KEY_BYTES])
{
    pthread_mutex_lock(&s->mu);
    long i = opk_index(s, id);
    int rc = 0;
    if (i < 0)
        rc = opk_missing(s, id);
    else if (!s->opk[i].issued)
        rc = veil_error_set(VEIL_ENOTFOUND, "x3dh: one-time prekey id %u was never handed out",
                            (unsigned)id);
    if (rc == 0) {
        *opk = s->opk[i].key;
        memcpy(pub, s->opk[i].pub, X3DH_KEY_BYTES);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int x3dh_store_consume_opk(x3dh_store *s, uint32_t id)
{
    pthread_mutex_lock(&s->mu);
    long i = opk_index(s, id);
    int rc = i < 0 ? opk_missing(s, id) : 0;
    if (rc == 0 && !s->opk[i].issued)
        rc = veil_error_set(VEIL_ENOTFOUND, "x3dh: one-time prekey id %u was never handed out",
                            (unsigned)id);
    if (rc == 0) {
        remove_opk(s, (size_t)i);
        s->st.opk_consumed++;
    }
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
    out->opk_fresh = s->fresh;
    out->opk_issued = (unsigned)(s->nopk - s->fresh);
    out->spk_id = s->cur.id;
    pthread_mutex_unlock(&s->mu);
}
