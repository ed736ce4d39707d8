/* The prekey half of the x3dh plugin (x3dh_store.c, x3dh_opk.c,
 * x3dh_service.c, x3dh_limit.c, x3dh_publish.c, x3dh_directory.c): the
 * responder's prekey store (SPK rotation with a grace period, one-time
 * prekeys handed out at most once, usable for a hold time, consumed only
 * after the initial message authenticated) and the prekey service worker
 * (fetch with per-source limits, publishing to a directory, and the
 * directory that accepts signed publications).  Not installed.
 *
 * plugin.c's listener_start / listener_stop / peer_resolve ops
 * (key_agreement.h) lead here.  These keys live in their own section,
 * [prekeys] (docs/CONFIG.md), so [key_agreement]'s key list is untouched.
 * Wire formats: docs/X3DH.md, "Prekey service". */
#ifndef VEIL_X3DH_PREKEYS_H
#define VEIL_X3DH_PREKEYS_H

#include "x3dh.h"

#include <veil/entity.h>
#include <veil/node.h>
#include <veil/store.h>

/* ---- x3dh_store.c: beyond the session-facing calls in x3dh.h ---------- */

typedef struct x3dh_store_config {
    uint64_t spk_rotate_ms;          /* [prekeys] spk_rotate_s */
    uint64_t spk_grace_ms;           /* [prekeys] spk_grace_s */
    unsigned opk_count;              /* refill up to this many fresh OPKs */
    unsigned opk_low_water;          /* ... when fewer are left */
    uint64_t opk_hold_ms;            /* [prekeys] opk_hold_s: a handed-out OPK's life */
    unsigned opk_issued_max;         /* handed out and inside their hold time */
    bool require_opk;                /* [key_agreement] require_opk */
} x3dh_store_config;

#define X3DH_SPK_ROTATE_S_DEFAULT 604800    /* 7 days */
#define X3DH_SPK_GRACE_S_DEFAULT 604800     /* 7 days */
#define X3DH_OPK_COUNT_DEFAULT 100
#define X3DH_OPK_LOW_WATER_DEFAULT 20
#define X3DH_OPK_COUNT_MAX 10000
#define X3DH_OPK_HOLD_S_DEFAULT 60
#define X3DH_OPK_ISSUED_MAX_DEFAULT 1000
#define X3DH_OPK_ISSUED_MAX_MAX 100000

/* The store for (v, ik), made (SPK signed with ik, opk_count OPKs) when
 * none exists; a reference either way (release with x3dh_store_close).
 * An existing store keeps its configuration. */
X3DH_HIDDEN int x3dh_store_open(veil_vault *v, veil_secret ik, const x3dh_store_config *c,
                                x3dh_store **out);
/* The same, kept in st when st is not NULL (x3dh_keep.h: the vault must
 * persist its secrets): a store made before, in an earlier process, comes
 * back with its SPKs, OPKs and ids. */
X3DH_HIDDEN int x3dh_store_open_kept(veil_vault *v, veil_secret ik, const x3dh_store_config *c,
                                     veil_store *st, x3dh_store **out);
/* Drop a reference from open; the last one frees the store, destroying its
 * secrets in the vault only when touch_vault. */
X3DH_HIDDEN void x3dh_store_close(x3dh_store *s, bool touch_vault);
/* Rotate the SPK when due, forget SPKs past their grace, refill OPKs below
 * the low-water mark.  *next_ms: milliseconds until the next rotation. */
X3DH_HIDDEN int x3dh_store_maintain(x3dh_store *s, uint64_t *next_ms);
/* One bundle: the current SPK and one fresh OPK, which is marked issued
 * (usable for opk_hold_ms) and never handed out again; without an OPK when
 * none is fresh or opk_issued_max are issued (VEIL_EAGAIN instead under
 * require_opk).  Never retires an OPK handed out before. */
X3DH_HIDDEN int x3dh_store_bundle(x3dh_store *s, x3dh_bundle *out);
/* A tag for a registration that publishes to a directory (1, 2, ...). */
X3DH_HIDDEN uint32_t x3dh_store_new_tag(x3dh_store *s);
/* For a directory: the current SPK (bundle without OPK) and up to max fresh
 * OPKs (ids and public keys), all marked published under tag (usable until
 * the directory reports them gone, then for opk_hold_ms).  *n gets the
 * count (fewer than max when the published/issued caps are reached). */
X3DH_HIDDEN int x3dh_store_batch(x3dh_store *s, uint32_t tag, x3dh_bundle *spk, unsigned max,
                                 uint32_t *ids, uint8_t (*pubs)[X3DH_KEY_BYTES], unsigned *n);
/* The directory's authenticated acknowledgement for tag: it holds `held`
 * OPKs, the oldest with id next_id; the published OPKs it no longer holds
 * start their hold time now.  Returns how many did. */
X3DH_HIDDEN unsigned x3dh_store_report(x3dh_store *s, uint32_t tag, uint32_t held,
                                       uint32_t next_id);
/* The identity key handle and its public key. */
X3DH_HIDDEN veil_secret x3dh_store_ik(const x3dh_store *s, uint8_t pub[X3DH_KEY_BYTES]);

typedef struct x3dh_store_stats {
    unsigned opk_fresh, opk_published, opk_issued;  /* held now */
    uint64_t opk_consumed, opk_expired, bundles_without_opk, spk_rotations;
    uint32_t spk_id;                 /* current */
} x3dh_store_stats;
X3DH_HIDDEN void x3dh_store_get_stats(x3dh_store *s, x3dh_store_stats *out);

/* ---- x3dh_service.c: a listener's prekeys, or a directory ------------- */

/* What a listener (or a directory) brings to the prekey service.  The
 * plugin's own parameter block since plugin ABI 2.0: plugin.c fills
 * it from veil_ka_listener_params (key_agreement.h) and the node's
 * [prekeys] section.  It kept the name it had as part of the key agreement
 * ABI (1.x), which the fuzz target tests/fuzz/fuzz_prekeys.c still uses. */
typedef struct veil_ka_prekey_params {
    size_t size;                      /* sizeof(veil_ka_prekey_params) */
    veil_context *ctx;                /* starts workers and timers (its node) */
    veil_vault *vault;
    veil_secret local_static;         /* the identity key; 0: directory only */
    const char *name;                 /* served under it (the listener's address) */
    veil_config_scope scope;          /* the [prekeys] section */
    veil_entity *entity;              /* whose proof attests local_static; NULL: directory */
} veil_ka_prekey_params;

X3DH_HIDDEN int x3dh_prekey_start(void *inst, const veil_ka_prekey_params *p, void **handle);
/* touch_vault false: the vault is already closed, its secrets died with it. */
X3DH_HIDDEN void x3dh_prekey_stop(void *handle, bool touch_vault);

/* ---- x3dh_resolve.c: the initiator's FETCH ------------------------------ */

/* [prekeys] keys (docs/CONFIG.md): checked where the section is used. */
X3DH_HIDDEN int x3dh_prekeys_check(const veil_config *cfg);
/* peer_resolve (key_agreement.h): one FETCH to the prekey service for the
 * listener at the end of route, answered through done. */
X3DH_HIDDEN int x3dh_peer_resolve(void *inst, veil_node *node, const veil_route *route,
                                  uint64_t timeout_ms, veil_ka_resolved_fn done, void *arg);

#endif
