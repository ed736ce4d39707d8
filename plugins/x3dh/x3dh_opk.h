/* The one-time prekey pool of a prekey store (x3dh_opk.c; docs/X3DH.md,
 * "The store").  Private to x3dh_store.c and x3dh_opk.c; the caller holds
 * the store's mutex around every call.
 *
 * Every OPK is in one of three states:
 *   FRESH      made, never handed out (at most opk_count of them);
 *   PUBLISHED  sent to a directory that has not reported handing it out
 *              (usable by message 1: the directory may have handed it out
 *              since its last report);
 *   ISSUED     handed out (by this node's service, or reported gone by the
 *              directory): usable until until_ms = then + opk_hold_ms.
 * An OPK leaves the pool only when message 1 consumed it or its hold time
 * ran out.  Handing out OPKs to others never shortens anyone's hold time:
 * when opk_issued_max are ISSUED, bundles go out without an OPK (3-DH)
 * instead of retiring one (the FETCH flood of the audit, issue #10 item 5). */
#ifndef VEIL_X3DH_OPK_H
#define VEIL_X3DH_OPK_H

#include "x3dh_keep.h"

enum { OPK_FRESH = 0, OPK_PUBLISHED = 1, OPK_ISSUED = 2 };

typedef struct opk_slot {
    uint32_t id;
    uint8_t state;
    uint32_t tag;                    /* PUBLISHED: the registration's tag */
    uint64_t until_ms;               /* ISSUED: usable until */
    veil_secret key;
    uint8_t pub[X3DH_KEY_BYTES];
    uint64_t ver;                    /* its store record's version (when kept) */
} opk_slot;

/* A consumed or expired OPK whose record is DEAD (durably) and whose vault
 * secret waits to be destroyed with others in one vault write. */
typedef struct opk_doomed {
    uint32_t id;
    veil_secret key;
} opk_doomed;

/* The forward-secrecy bound of a kept store (docs/X3DH.md, "Prekeys across
 * restarts"): the secret of a consumed OPK is destroyed at the latest when
 * X3DH_OPK_DOOM_MAX are waiting, or at the first store call or service
 * tick (at most X3DH_OPK_DOOM_MS apart while a kept store exists) after
 * X3DH_OPK_DOOM_MS; a crash before that destroys it at the next start. */
#define X3DH_OPK_DOOM_MAX 32u
#define X3DH_OPK_DOOM_MS 1000u

typedef struct opk_pool {
    veil_vault *v;
    x3dh_keep *keep;                 /* the store's: records and ids (keep->m) */
    bool vault_gone;                 /* secrets died with the vault: do not destroy */
    opk_slot *slot;                  /* increasing ids */
    size_t n, cap;
    uint32_t first, next;            /* every id ever made is in [first, next) */
    unsigned fresh, published, issued;
    uint64_t next_expiry;            /* earliest until_ms of an ISSUED OPK */
    unsigned count, low_water, issued_max;
    uint64_t hold_ms;
    uint64_t consumed, expired;
    opk_doomed doom[X3DH_OPK_DOOM_MAX]; /* kept only: DEAD, secret not yet destroyed */
    unsigned ndoom;
    uint64_t doom_since;             /* when the oldest of them was consumed */
} opk_pool;

/* Published OPKs held at once, over all registrations of a store. */
#define X3DH_OPK_PUBLISHED_MAX 10000u

/* A new X25519 key in v and its public key (what: for the detail). */
X3DH_HIDDEN void opk_pool_init(opk_pool *p, x3dh_keep *keep, unsigned count, unsigned low_water,
                               unsigned issued_max, uint64_t hold_ms);
/* The kept OPKs of recs (kind 'o', increasing ids, secrets found): FRESH
 * stay FRESH, PUBLISHED and ISSUED become ISSUED (a directory may have
 * handed a published one out) until their kept hold time, at most
 * now + hold_ms. */
X3DH_HIDDEN int opk_pool_load(opk_pool *p, const x3dh_keep_rec *recs, size_t n, uint64_t now);
/* Destroys the secrets unless vault_gone or kept (a kept secret outlives
 * the process; the doomed ones are destroyed), wipes and frees the slots. */
X3DH_HIDDEN void opk_pool_free(opk_pool *p);
/* Top up to count FRESH when fewer than low_water are left (always when
 * initial); low_water 0 never refills after the first. */
X3DH_HIDDEN int opk_pool_refill(opk_pool *p, bool initial);
/* Remove ISSUED OPKs whose hold time ended (O(1) until one is due). */
X3DH_HIDDEN void opk_pool_expire(opk_pool *p, uint64_t now);
/* Destroy the doomed secrets in one vault write, then delete their DEAD
 * records, when X3DH_OPK_DOOM_MAX wait, the oldest waited X3DH_OPK_DOOM_MS,
 * or force.  A failed vault write keeps the records (the next start
 * destroys what the file still holds). */
X3DH_HIDDEN void opk_pool_flush(opk_pool *p, uint64_t now, bool force);
/* When the next flush is due (UINT64_MAX: nothing waits). */
X3DH_HIDDEN uint64_t opk_pool_flush_due(const opk_pool *p);
/* The oldest FRESH OPK, now ISSUED until now + hold_ms (durably when
 * kept); *out NULL when none is fresh or issued_max are ISSUED. */
X3DH_HIDDEN int opk_pool_issue(opk_pool *p, uint64_t now, const opk_slot **out);
/* Up to max FRESH OPKs, now PUBLISHED under tag (never taking ISSUED plus
 * PUBLISHED past issued_max + X3DH_OPK_PUBLISHED_MAX); *n gets the count. */
X3DH_HIDDEN void opk_pool_publish(opk_pool *p, uint32_t tag, unsigned max, uint32_t *ids,
                                  uint8_t (*pubs)[X3DH_KEY_BYTES], unsigned *n);
/* A directory reported for tag: it holds `held` OPKs, the oldest with id
 * next_id.  Every PUBLISHED OPK of tag it no longer holds (all when held
 * is 0, else those below next_id) becomes ISSUED until now + hold_ms.
 * Returns how many. */
X3DH_HIDDEN unsigned opk_pool_report(opk_pool *p, uint32_t tag, uint32_t held, uint32_t next_id,
                                     uint64_t now);
/* A PUBLISHED or ISSUED OPK by id: VEIL_ENOTFOUND never issued / never
 * handed out, VEIL_EREPLAY consumed or expired. */
X3DH_HIDDEN int opk_pool_find(const opk_pool *p, uint32_t id, veil_secret *key,
                              uint8_t pub[X3DH_KEY_BYTES]);
/* Remove it for good: when kept, its record is first marked consumed
 * (durable, compare-and-set: VEIL_EREPLAY when another writer did), then
 * the secret is doomed (destroyed with the next flush: opk_pool_flush) and
 * the record deleted after it; not kept, the secret is destroyed at once.
 * Errors as find. */
X3DH_HIDDEN int opk_pool_consume(opk_pool *p, uint32_t id, uint64_t now);

#endif
