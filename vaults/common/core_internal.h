/* Private to the vault core (keystore.c, kdf.c, vault_core.c, sign.c). */
#ifndef VEIL_VAULT_CORE_INTERNAL_H
#define VEIL_VAULT_CORE_INTERNAL_H

#include "vault_core.h"

/* One slot of the secret table.  The secret's bytes live in the vault's
 * guarded arena at slot * VEIL_SECRET_MAX_BYTES (never in this struct). */
typedef struct vc_entry {
    uint32_t gen;                      /* generation of the current or last occupant */
    bool used;
    uint8_t len;                       /* private bytes */
    uint8_t pub_len;
    veil_secret_attrs attrs;
    uint8_t pub[VEIL_PUBLIC_KEY_MAX_BYTES];
    char key_id[VEIL_KEY_ID_TEXT_BYTES]; /* "" for symmetric secrets */
    void *aead;                        /* backend context in a pool slot, AEAD keys only */
    void *xkey;                        /* backend key object (backend.h xkey_*), or NULL */
} vc_entry;

/* A guarded block of the AEAD context pool (keystore.c), carved into
 * fixed-size slots; the list lives on the plain heap, slots in the block. */
typedef struct vc_region {
    struct vc_region *next;
    uint8_t *mem;
} vc_region;

struct vc_vault {
    const vc_backend *be;
    vc_entry *entries;
    uint8_t *arena;                    /* guarded: cap * VEIL_SECRET_MAX_BYTES */
    uint32_t cap;
    uint32_t count;
    vc_region *regions;                /* pool of AEAD context slots */
    void *slot_free;                   /* free list threaded through wiped slots */
    size_t slot_bytes;                 /* backend aead_size rounded up to 64 */
    void *aead_cache;                  /* backend aead_cache_new, made with the first key */
    vc_change_fn hook;
    void *hook_arg;
    void *user;
};

/* Secret bytes of a live entry. */
static inline uint8_t *vc_bytes(vc_vault *v, const vc_entry *e)
{
    return v->arena + (size_t)(e - v->entries) * VEIL_SECRET_MAX_BYTES;
}

/* Handle → live entry, or VEIL_EBADHANDLE (detail names the op). */
VC_HIDDEN int vc_lookup(vc_vault *v, veil_secret s, const char *op, vc_entry **out);
/* Name for messages: the label, else the key id, else "#<handle>". */
VC_HIDDEN const char *vc_entry_name(vc_vault *v, const vc_entry *e, char buf[32]);
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

/* HMAC over scattered parts with a raw key (kdf.c). */
VC_HIDDEN int vc_hmac_raw(const vc_backend *be, int alg, const uint8_t *key, size_t key_len,
                          const veil_iovec *parts, size_t nparts, uint8_t *out);
/* Resolve an input (secret of type BUFFER, or public bytes) to bytes. */
VC_HIDDEN int vc_input_bytes(vc_vault *v, const veil_vault_input *in, const char *what,
                             veil_iovec *out);

#endif
