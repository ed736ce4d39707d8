/* Private to the vault core (keystore.c, kdf.c, vault_core.c, sign.c). */
#ifndef VEIL_VAULT_CORE_INTERNAL_H
#define VEIL_VAULT_CORE_INTERNAL_H

#include "vault_core.h"

/* What every secret needs to be used, kept small (a secure channel holds
 * four AEAD keys per channel, thousands of channels per vault): type and
 * flags, lengths, backend state.  The label, public key and key id live in
 * a side record (vc_extra) that only labelled or asymmetric secrets have. */
typedef struct vc_attrs {
    int type;                          /* veil_secret_type */
    int persistence;                   /* veil_persistence */
    bool exportable;
    uint16_t length;                   /* bytes */
} vc_attrs;

typedef struct vc_extra {
    char label[VEIL_LABEL_MAX + 1];    /* "" for none */
    uint8_t pub[VEIL_PUBLIC_KEY_MAX_BYTES];
    char key_id[VEIL_KEY_ID_TEXT_BYTES]; /* "" for symmetric secrets */
} vc_extra;

/* One slot of the secret table.  The secret's bytes live in the vault's
 * guarded arena (vc_bytes; never in this struct); slots never move. */
typedef struct vc_entry {
    uint32_t gen;                      /* generation of the current or last occupant */
    uint32_t slot;                     /* this entry's index in the table */
    uint32_t next_free;                /* free list link (slot index + 1, 0 = end) */
    bool used;
    uint8_t len;                       /* private bytes */
    uint8_t pub_len;                   /* 0 unless x has a public key */
    vc_attrs attrs;
    vc_extra *x;                       /* label / public key / key id, or NULL */
    void *aead;                        /* backend AEAD state, AEAD keys only */
    void *xkey;                        /* backend key object (backend.h xkey_*), or NULL */
} vc_entry;

/* The table grows by chunks of VC_CHUNK slots (entries on the heap, bytes
 * in a guarded block of VC_CHUNK * VEIL_SECRET_MAX_BYTES), so nothing is
 * ever moved or copied and growth costs at most one chunk of slack. */
#define VC_CHUNK 256u

typedef struct vc_chunk {
    vc_entry e[VC_CHUNK];
    uint8_t *bytes;                    /* guarded */
} vc_chunk;

/* A guarded block of the AEAD state pool (keystore.c), carved into
 * fixed-size slots; the list lives on the plain heap, slots in the block. */
typedef struct vc_region {
    struct vc_region *next;
    uint8_t *mem;
} vc_region;

struct vc_vault {
    const vc_backend *be;
    vc_chunk **chunks;
    uint32_t nchunks;
    uint32_t cap;                      /* nchunks * VC_CHUNK */
    uint32_t count;
    uint32_t free_head;                /* free list of slots (index + 1, 0 = empty) */
    vc_region *regions;                /* pool of AEAD state slots */
    void *slot_free;                   /* free list threaded through wiped slots */
    size_t slot_bytes;                 /* backend aead_size rounded up to 64 */
    void *aead_cache;                  /* backend aead_cache_new, made with the first key */
    void *hash_pool;                   /* backend hash_pool_new, or NULL */
    vc_change_fn hook;
    void *hook_arg;
    bool batch;                        /* inside batch_begin .. batch_commit */
    bool batch_changed;                /* a change waits for the hook */
    void *user;
    struct vc_records *records;        /* records.c; NULL until the first put */
};

static inline vc_entry *vc_at(vc_vault *v, uint32_t i)
{
    return &v->chunks[i / VC_CHUNK]->e[i % VC_CHUNK];
}

/* Secret bytes of a live entry (VEIL_SECRET_MAX_BYTES, guarded). */
static inline uint8_t *vc_bytes(vc_vault *v, const vc_entry *e)
{
    return v->chunks[e->slot / VC_CHUNK]->bytes + (size_t)(e->slot % VC_CHUNK) * VEIL_SECRET_MAX_BYTES;
}
/* Public key bytes (NULL when pub_len is 0). */
static inline const uint8_t *vc_pub(const vc_entry *e)
{
    return e->x != NULL ? e->x->pub : NULL;
}

/* Handle → live entry, or VEIL_EBADHANDLE (detail names the op). */
VC_HIDDEN int vc_lookup(vc_vault *v, veil_secret s, const char *op, vc_entry **out);
/* Name for messages: the label, else the key id, else "#<handle>". */
VC_HIDDEN const char *vc_entry_name(vc_vault *v, const vc_entry *e, char buf[32]);
/* The public attributes of an entry (label from its side record). */
VC_HIDDEN void vc_attrs_of(const vc_entry *e, veil_secret_attrs *out);
/* Create a secret from bytes (checks type, length, label uniqueness;
 * computes public key, key id and AEAD context).  Does not call the hook. */
VC_HIDDEN int vc_create(vc_vault *v, const veil_secret_attrs *attrs, const uint8_t *bytes,
                        size_t len, veil_secret *out);
/* Remove and wipe (no hook). */
VC_HIDDEN void vc_remove(vc_vault *v, veil_secret s);
/* After creating n secrets: call the hook if any is persistent; on hook
 * failure the n secrets are removed again and the hook's error returned. */
VC_HIDDEN int vc_commit(vc_vault *v, const veil_secret *made, size_t n);
VC_HIDDEN int vc_type_error(vc_vault *v, const vc_entry *e, const char *op,
                            const char *expected);

/* A change to the persistent set or the records: the hook now, or at
 * batch_commit inside a batch (then 0). */
VC_HIDDEN int vc_changed(vc_vault *v);

/* Free every record (records.c; vc_free calls it). */
VC_HIDDEN void vc_records_free(vc_vault *v);

/* HMAC over scattered parts with a raw key (kdf.c). */
VC_HIDDEN int vc_hmac_raw(vc_vault *v, int alg, const uint8_t *key, size_t key_len,
                          const veil_iovec *parts, size_t nparts, uint8_t *out);
/* Resolve an input (secret of type BUFFER, or public bytes) to bytes. */
VC_HIDDEN int vc_input_bytes(vc_vault *v, const veil_vault_input *in, const char *what,
                             veil_iovec *out);

#endif
