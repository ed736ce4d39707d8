/* The one-time prekey pool of a prekey store: states, hand-out, directory
 * reports, hold-time expiry, lookup and consumption (x3dh_opk.h has the
 * rules; docs/X3DH.md, "The store").
 *
 * Costs are bounded by configuration, never by requests: at most count
 * FRESH, X3DH_OPK_PUBLISHED_MAX PUBLISHED and issued_max ISSUED by local
 * hand-out (plus what a directory reports gone, at most the PUBLISHED
 * ones); a key generation happens only to replace a FRESH OPK that was
 * handed out or published, which the same caps bound per hold time. */
#include "x3dh_opk.h"

#include <stdlib.h>

void opk_pool_init(opk_pool *p, x3dh_keep *keep, unsigned count, unsigned low_water,
                   unsigned issued_max, uint64_t hold_ms)
{
    memset(p, 0, sizeof *p);
    p->v = keep->v;
    p->keep = keep;
    p->first = p->next = keep->m.opk_first;
    p->count = count;
    p->low_water = low_water;
    p->issued_max = issued_max;
    p->hold_ms = hold_ms;
    p->next_expiry = UINT64_MAX;
}

void opk_pool_free(opk_pool *p)
{
    if (!p->vault_gone)
        opk_pool_flush(p, 0, true);
    if (!p->vault_gone && p->keep->st == NULL)
        for (size_t i = 0; i < p->n; i++)
            veil__secret_drop(p->v, &p->slot[i].key);
    if (p->slot != NULL)
        veil__memzero(p->slot, p->cap * sizeof *p->slot);
    free(p->slot);
    p->slot = NULL;
    p->n = p->cap = 0;
}

static int grow(opk_pool *p, size_t want)
{
    if (want <= p->cap)
        return 0;
    size_t cap = p->cap ? p->cap * 2u : 64u;
    while (cap < want)
        cap *= 2u;
    opk_slot *n = realloc(p->slot, cap * sizeof *n);
    if (n == NULL)
        return veil_error_set(VEIL_ENOMEM, "x3dh store: out of memory for %zu one-time prekeys",
                              cap);
    p->slot = n;
    p->cap = cap;
    return 0;
}

static unsigned *counter(opk_pool *p, uint8_t state)
{
    return state == OPK_FRESH ? &p->fresh : state == OPK_PUBLISHED ? &p->published : &p->issued;
}

/* Drop slot i (destroying its secret) and close the gap. */
static void remove_at(opk_pool *p, size_t i)
{
    if (!p->vault_gone)
        veil__secret_drop(p->v, &p->slot[i].key);
    (*counter(p, p->slot[i].state))--;
    memmove(&p->slot[i], &p->slot[i + 1], (p->n - i - 1u) * sizeof p->slot[0]);
    p->n--;
    veil__memzero(&p->slot[p->n], sizeof p->slot[0]);
}

/* Write o's record (its state, tag and hold time in wall-clock ms). */
static int put_rec(opk_pool *p, opk_slot *o, uint64_t now)
{
    if (p->keep->st == NULL)
        return 0;
    x3dh_keep_rec r;
    memset(&r, 0, sizeof r);
    r.kind = 'o';
    r.state = o->state;
    r.id = o->id;
    r.tag = o->tag;
    r.until = o->state == OPK_ISSUED ? x3dh_wall_ms() + (o->until_ms - now) : 0;
    memcpy(r.pub, o->pub, sizeof r.pub);
    r.version = o->ver ? o->ver : VEIL_STORE_ABSENT;
    int rc = x3dh_keep_put(p->keep, &r);
    if (rc == 0)
        o->ver = r.version;
    return rc;
}

static void set_state(opk_pool *p, opk_slot *o, uint8_t state, uint32_t tag, uint64_t until)
{
    (*counter(p, o->state))--;
    o->state = state;
    o->tag = tag;
    o->until_ms = until;
    (*counter(p, state))++;
    if (state == OPK_ISSUED && until < p->next_expiry)
        p->next_expiry = until;
}

/* ISSUED until now + hold_ms; the record follows (a failed write is
 * returned, the slot stays ISSUED: it expires with its hold time). */
static int set_issued(opk_pool *p, opk_slot *o, uint64_t now)
{
    set_state(p, o, OPK_ISSUED, 0, now + p->hold_ms);
    return put_rec(p, o, now);
}

/* Destroy o's secret, then delete its (DEAD) record; a secret the vault
 * could not destroy (a failed write of a persistent vault) keeps its DEAD
 * record, so the next start destroys it. */
static void drop_secret(opk_pool *p, opk_slot *o)
{
    int rc = p->vault_gone ? 0 : veil__secret_drop(p->v, &o->key);
    o->key = 0;
    if (rc == 0)
        x3dh_keep_forget(p->keep, 'o', o->id);
}

/* o's record is DEAD: destroy its secret now (not kept, or the vault is
 * gone), or doom it to the next flush (kept). */
static void retire(opk_pool *p, opk_slot *o, uint64_t now)
{
    if (p->keep->st == NULL || p->vault_gone) {
        drop_secret(p, o);
        return;
    }
    if (p->ndoom == 0)
        p->doom_since = now;
    p->doom[p->ndoom].id = o->id;
    p->doom[p->ndoom].key = o->key;
    p->ndoom++;
    o->key = 0;
    opk_pool_flush(p, now, false);
}

uint64_t opk_pool_flush_due(const opk_pool *p)
{
    return p->ndoom == 0 ? UINT64_MAX : p->doom_since + X3DH_OPK_DOOM_MS;
}

void opk_pool_flush(opk_pool *p, uint64_t now, bool force)
{
    if (p->ndoom == 0 ||
        (!force && p->ndoom < X3DH_OPK_DOOM_MAX && now < opk_pool_flush_due(p)))
        return;
    /* one rewrite of a file vault for all; without a batch, one each */
    bool batch = veil_vault_batch_begin(p->v) == 0;
    int rc = 0;
    for (unsigned i = 0; i < p->ndoom; i++) {
        int drc = veil__secret_drop(p->v, &p->doom[i].key);
        rc = rc < 0 ? rc : drc;
    }
    if (batch) {
        int crc = veil_vault_batch_commit(p->v);
        rc = rc < 0 ? rc : crc;
    }
    if (rc < 0) /* the DEAD records stay: the next start destroys the secrets */
        veil_log(VEIL_LOG_WARN, "x3dh", "x3dh store: destroying %u consumed one-time prekeys "
                 "did not reach the vault's storage (%s); their records stay DEAD and the next "
                 "start destroys them", p->ndoom, veil_last_error());
    /* the deletions in one transaction (a failed commit: the next start) */
    bool sb = rc == 0 && veil_store_batch_begin(p->keep->st) == 0;
    for (unsigned i = 0; i < p->ndoom && rc == 0; i++)
        x3dh_keep_forget(p->keep, 'o', p->doom[i].id);
    if (sb && veil_store_batch_commit(p->keep->st) < 0)
        veil_log(VEIL_LOG_WARN, "x3dh", "x3dh store: deleting the records of %u destroyed "
                 "one-time prekeys: %s (the next start deletes them)", p->ndoom,
                 veil_last_error());
    veil__memzero(p->doom, sizeof p->doom);
    p->ndoom = 0;
}

/* Remove slot i for good: record marked DEAD first (kept), then the
 * secret destroyed (or doomed, kept), then the record deleted. */
static int kill_at(opk_pool *p, size_t i, uint64_t now)
{
    int rc = x3dh_keep_kill(p->keep, 'o', p->slot[i].id, &p->slot[i].ver);
    if (rc < 0)
        return rc;
    retire(p, &p->slot[i], now);
    remove_at(p, i);
    return 0;
}

int opk_pool_load(opk_pool *p, const x3dh_keep_rec *recs, size_t n, uint64_t now)
{
    uint64_t wall = x3dh_wall_ms();
    int rc = grow(p, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (recs[i].kind != 'o')
            continue;
        opk_slot *o = &p->slot[p->n++];
        memset(o, 0, sizeof *o);
        o->id = recs[i].id;
        o->state = OPK_FRESH;
        o->key = recs[i].key;
        o->ver = recs[i].version;
        memcpy(o->pub, recs[i].pub, sizeof o->pub);
        p->fresh++;
        if (recs[i].state == OPK_FRESH)
            continue;
        uint64_t left = recs[i].until > wall ? recs[i].until - wall : 0;
        if (recs[i].state == OPK_PUBLISHED || left > p->hold_ms)
            left = p->hold_ms;
        set_state(p, o, OPK_ISSUED, 0, now + left);
        if (recs[i].state == OPK_PUBLISHED)
            rc = put_rec(p, o, now);
    }
    return rc;
}

/* Make add FRESH keys in slots n.., ids next..: kept, in one vault write
 * (a failed write destroys them: *made 0). */
static int gen_batch(opk_pool *p, unsigned add, unsigned *made)
{
    x3dh_keep *k = p->keep;
    bool batch = k->st != NULL && veil_vault_batch_begin(p->v) == 0;
    int rc = 0;
    for (*made = 0; *made < add && rc == 0;) {
        opk_slot *o = &p->slot[p->n + *made];
        memset(o, 0, sizeof *o);
        o->id = p->next + *made;
        o->state = OPK_FRESH;
        if ((rc = x3dh_keep_gen(k, 'o', o->id, &o->key, o->pub, "one-time prekey")) == 0)
            (*made)++;
    }
    int crc = batch ? veil_vault_batch_commit(p->v) : 0;
    if (crc < 0) {
        crc = veil_error_wrap(crc, "x3dh store: storing %u new one-time prekeys in the vault",
                              *made);
        for (unsigned i = 0; i < *made; i++)
            veil__secret_drop(p->v, &p->slot[p->n + i].key);
        veil__memzero(&p->slot[p->n], *made * sizeof p->slot[0]);
        *made = 0;
    }
    return rc < 0 ? rc : crc;
}

int opk_pool_refill(opk_pool *p, bool initial)
{
    if ((!initial && p->fresh >= p->low_water) || p->fresh >= p->count)
        return 0;
    unsigned add = p->count - p->fresh;
    x3dh_keep *k = p->keep;
    int rc = grow(p, p->n + add);
    if (rc == 0) { /* ids reserved first: a crash leaves keys in [made, next) */
        k->m.opk_next = p->next + add;
        rc = x3dh_keep_meta_put(k);
    }
    unsigned made = 0;
    if (rc == 0)
        rc = gen_batch(p, add, &made);
    unsigned ok = 0; /* records after the secrets are stored, in one transaction */
    bool sb = made > 0 && k->st != NULL && veil_store_batch_begin(k->st) == 0;
    while (ok < made && rc == 0 && (rc = put_rec(p, &p->slot[p->n + ok], 0)) == 0)
        ok++;
    int crc = sb ? veil_store_batch_commit(k->st) : 0;
    if (crc < 0) { /* none of the records is written */
        rc = rc < 0 ? rc : veil_error_wrap(crc, "x3dh store: writing the records of %u new "
                                           "one-time prekeys", ok);
        ok = 0;
    }
    for (unsigned i = ok; i < made; i++) { /* no record: destroyed, ids above made */
        veil__secret_drop(p->v, &p->slot[p->n + i].key);
        veil__memzero(&p->slot[p->n + i], sizeof p->slot[0]);
    }
    p->next += ok;
    p->n += ok;
    p->fresh += ok;
    k->m.opk_next = p->next;
    if (k->m.opk_made != p->next) {
        k->m.opk_made = p->next;
        int mrc = x3dh_keep_meta_put(k);
        rc = rc < 0 ? rc : mrc;
    }
    return rc;
}

void opk_pool_expire(opk_pool *p, uint64_t now)
{
    if (now < p->next_expiry)
        return;
    uint64_t next = UINT64_MAX;
    size_t keep = 0;
    for (size_t i = 0; i < p->n; i++) {
        opk_slot *o = &p->slot[i];
        if (o->state == OPK_ISSUED && now >= o->until_ms) {
            /* best effort when kept: a record left behind (or DEAD) is
             * cleaned up at the next start */
            (void)x3dh_keep_kill(p->keep, 'o', o->id, &o->ver);
            retire(p, o, now);
            p->issued--;
            p->expired++;
            continue;
        }
        if (o->state == OPK_ISSUED && o->until_ms < next)
            next = o->until_ms;
        if (keep != i)
            p->slot[keep] = *o;
        keep++;
    }
    if (keep < p->n)
        veil__memzero(&p->slot[keep], (p->n - keep) * sizeof p->slot[0]);
    p->n = keep;
    p->next_expiry = next;
}

static opk_slot *oldest_fresh(opk_pool *p)
{
    for (size_t i = 0; i < p->n && p->fresh > 0; i++)
        if (p->slot[i].state == OPK_FRESH)
            return &p->slot[i];
    return NULL;
}

int opk_pool_issue(opk_pool *p, uint64_t now, const opk_slot **out)
{
    *out = NULL;
    if (p->issued >= p->issued_max)
        return 0;
    opk_slot *o = oldest_fresh(p);
    int rc = o != NULL ? set_issued(p, o, now) : 0;
    if (rc == 0)
        *out = o;
    return rc;
}

void opk_pool_publish(opk_pool *p, uint32_t tag, unsigned max, uint32_t *ids,
                      uint8_t (*pubs)[X3DH_KEY_BYTES], unsigned *n)
{
    size_t cap = (size_t)p->issued_max + X3DH_OPK_PUBLISHED_MAX;
    opk_slot *o;
    *n = 0;
    while (*n < max && p->published < X3DH_OPK_PUBLISHED_MAX &&
           (size_t)p->issued + p->published < cap && (o = oldest_fresh(p)) != NULL) {
        set_state(p, o, OPK_PUBLISHED, tag, 0);
        if (put_rec(p, o, 0) < 0) { /* not durably published: not published */
            set_state(p, o, OPK_FRESH, 0, 0);
            return;
        }
        ids[*n] = o->id;
        memcpy(pubs[*n], o->pub, X3DH_KEY_BYTES);
        (*n)++;
    }
}

unsigned opk_pool_report(opk_pool *p, uint32_t tag, uint32_t held, uint32_t next_id,
                         uint64_t now)
{
    unsigned marked = 0;
    for (size_t i = 0; i < p->n && p->published > 0; i++) {
        opk_slot *o = &p->slot[i];
        if (o->state == OPK_PUBLISHED && o->tag == tag && (held == 0 || o->id < next_id)) {
            /* a failed write leaves the record PUBLISHED: at the next start
             * it is ISSUED for a full hold time, which is only longer */
            (void)set_issued(p, o, now);
            marked++;
        }
    }
    return marked;
}

/* Index of id, or -1 (binary search: ids increase). */
static long index_of(const opk_pool *p, uint32_t id)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if (p->slot[mid].id == id)
            return (long)mid;
        if (p->slot[mid].id < id)
            lo = mid + 1u;
        else
            hi = mid;
    }
    return -1;
}

/* The index of a usable id, or the error for one that is not. */
static long usable(const opk_pool *p, uint32_t id, int *rc)
{
    long i = index_of(p, id);
    *rc = 0;
    if (i < 0 && id >= p->first && id < p->next)
        *rc = veil_error_set(VEIL_EREPLAY, "x3dh: one-time prekey id %u was already used "
                             "(consumed by an earlier initial message) or expired unused (its "
                             "hold time of %llu ms, opk_hold_s, ran out)", (unsigned)id,
                             (unsigned long long)p->hold_ms);
    else if (i < 0)
        *rc = veil_error_set(VEIL_ENOTFOUND, "x3dh: one-time prekey id %u was never issued by "
                             "this store", (unsigned)id);
    else if (p->slot[i].state == OPK_FRESH)
        *rc = veil_error_set(VEIL_ENOTFOUND, "x3dh: one-time prekey id %u was never handed out",
                             (unsigned)id);
    return *rc < 0 ? -1 : i;
}

int opk_pool_find(const opk_pool *p, uint32_t id, veil_secret *key, uint8_t pub[X3DH_KEY_BYTES])
{
    int rc;
    long i = usable(p, id, &rc);
    if (i >= 0) {
        *key = p->slot[i].key;
        memcpy(pub, p->slot[i].pub, X3DH_KEY_BYTES);
    }
    return rc;
}

int opk_pool_consume(opk_pool *p, uint32_t id, uint64_t now)
{
    int rc;
    long i = usable(p, id, &rc);
    if (i >= 0 && (rc = kill_at(p, (size_t)i, now)) == 0)
        p->consumed++;
    return rc;
}
