/* The responder's prekeys kept across restarts (x3dh_keep.c; docs/X3DH.md,
 * "Prekeys across restarts").  Private to x3dh_store.c and x3dh_opk.c; the
 * caller holds the store's mutex around every call.
 *
 * Secrets stay in the vault: each SPK and OPK is a persistent X25519
 * secret labelled x3dh.<IK>.s<id> / x3dh.<IK>.o<id> (IK: the first 16
 * bytes of the identity key in hex).  The node's store holds the public,
 * non-secret part, namespace "x3dh.keys", keys <hex(IK)>/... :
 *
 *   <IK>/m           version:u8 (1) | spk_next:u32 | spk_made:u32 |
 *                    opk_first:u32 | opk_next:u32 | opk_made:u32 |
 *                    nretired:u8 | retired_next:u8 | retired[16]:u32
 *   <IK>/s/<id>      version:u8 | state:u8 | id:u32 | made:u64 | until:u64 |
 *                    SPK (32) | signature (64)          (times: wall-clock ms)
 *   <IK>/o/<id>      version:u8 | state:u8 | id:u32 | tag:u32 | until:u64 |
 *                    OPK (32)
 *
 * Ids are reserved in the meta record (…_next) before their keys are
 * made, and …_made says up to where every made key has its record: a crash
 * in between leaves keys in [made, next) without records, destroyed at the
 * next start.  A key leaves by compare-and-set of its record to state DEAD
 * (durable, exactly once: a second consumer finds another version), then
 * its vault secret is destroyed, then the record deleted; a DEAD record
 * found at start has its secret destroyed then.
 *
 * Kept only when the vault keeps X25519 secrets (not the software or
 * pkcs11 vault: x3dh_service.c) and the node's store is not memory;
 * otherwise every call here is a no-op and keys are ephemeral, as before. */
#ifndef VEIL_X3DH_KEEP_H
#define VEIL_X3DH_KEEP_H

#include "x3dh.h"

#include <veil/store.h>

#define X3DH_KEEP_NS "x3dh.keys"
#define X3DH_KEEP_RETIRED 16u
#define X3DH_KEEP_DEAD 3u            /* record state: leaving, its secret may linger */

/* The ids (kept in memory also when nothing is kept). */
typedef struct x3dh_keep_meta {
    uint32_t spk_next, spk_made, opk_first, opk_next, opk_made;
    uint8_t nretired, retired_next;
    uint32_t retired[X3DH_KEEP_RETIRED]; /* SPK ids past their grace */
} x3dh_keep_meta;

typedef struct x3dh_keep {
    veil_store *st;                  /* NULL: nothing is kept */
    veil_vault *v;
    char ik[65];                     /* hex(IK): the record key prefix */
    char label[33];                  /* hex of IK's first 16 bytes */
    x3dh_keep_meta m;
} x3dh_keep;

/* One record as read at start. */
typedef struct x3dh_keep_rec {
    char kind;                       /* 's' or 'o' */
    uint8_t state;
    uint32_t id, tag;
    uint64_t made, until;            /* wall-clock ms; until 0: none */
    uint8_t pub[X3DH_KEY_BYTES];
    uint8_t sig[X3DH_SIG_BYTES];
    uint64_t version;
    veil_secret key;                 /* found by its label (0: gone) */
} x3dh_keep_rec;

X3DH_HIDDEN void x3dh_keep_init(x3dh_keep *k, veil_vault *v, veil_store *st,
                                const uint8_t ik[X3DH_KEY_BYTES]);
X3DH_HIDDEN uint64_t x3dh_wall_ms(void);
/* A new X25519 key: persistent and labelled for (kind, id) when kept. */
X3DH_HIDDEN int x3dh_keep_gen(x3dh_keep *k, char kind, uint32_t id, veil_secret *key,
                              uint8_t pub[X3DH_KEY_BYTES], const char *what);
/* Write / read k->m (VEIL_ENOTFOUND: this IK has no record yet). */
X3DH_HIDDEN int x3dh_keep_meta_put(x3dh_keep *k);
X3DH_HIDDEN int x3dh_keep_meta_get(x3dh_keep *k);
/* Write the record of r (r->version: expected, VEIL_STORE_ANY for any;
 * updated). */
X3DH_HIDDEN int x3dh_keep_put(x3dh_keep *k, x3dh_keep_rec *r);
/* Mark (kind, id) DEAD by compare-and-set on *version: durable on return;
 * VEIL_EREPLAY when the record is gone or at another version (someone
 * else consumed it). */
X3DH_HIDDEN int x3dh_keep_kill(x3dh_keep *k, char kind, uint32_t id, uint64_t *version);
/* Delete the record (after its secret was destroyed); errors are logged. */
X3DH_HIDDEN void x3dh_keep_forget(x3dh_keep *k, char kind, uint32_t id);
/* Every record of this IK, in key order (SPKs, then OPKs by id), with
 * each secret found by its label; DEAD ones and ones whose secret is gone
 * are cleaned up and not returned.  Keys in [made, next) without a record
 * are destroyed.  *recs is malloc'ed (free it). */
X3DH_HIDDEN int x3dh_keep_load(x3dh_keep *k, x3dh_keep_rec **recs, size_t *n);

#endif
