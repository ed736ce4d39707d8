/* The secret table: handles, guarded storage, attributes, lookups and the
 * persistence hooks.  A handle is (generation << 32 | slot + 1): destroying
 * a secret bumps its slot's generation, so a stale handle is refused with
 * VEIL_EBADHANDLE and never reaches the slot's next occupant. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/error.h>

#include "core_internal.h"
#include "p256.h"

#define SLOT_BYTES VEIL_SECRET_MAX_BYTES
/* AEAD context slots per guarded pool region. */
#define POOL_SLOTS 32u
/* A slot whose generation reaches this is retired, never reused. */
#define GEN_RETIRED UINT32_MAX

static veil_secret handle_of(const vc_entry *e)
{
    return ((veil_secret)e->gen << 32) | (veil_secret)(e->slot + 1u);
}

int vc_lookup(vc_vault *v, veil_secret s, const char *op, vc_entry **out)
{
    uint32_t slot = (uint32_t)(s & 0xffffffffu);
    uint32_t gen = (uint32_t)(s >> 32);
    vc_entry *e = slot == 0 || slot > v->cap ? NULL : vc_at(v, slot - 1);
    if (e == NULL || !e->used || e->gen != gen)
        return veil_error_set(VEIL_EBADHANDLE, "%s: secret handle 0x%llx is unknown or destroyed",
                              op, (unsigned long long)s);
    *out = e;
    return 0;
}

const char *vc_entry_name(vc_vault *v, const vc_entry *e, char buf[32])
{
    (void)v;
    if (e->x != NULL && e->x->label[0] != '\0')
        return e->x->label;
    if (e->x != NULL && e->x->key_id[0] != '\0')
        return e->x->key_id;
    snprintf(buf, 32, "#0x%llx", (unsigned long long)handle_of(e));
    return buf;
}

int vc_type_error(vc_vault *v, const vc_entry *e, const char *op, const char *expected)
{
    char nb[32];
    return veil_error_set(VEIL_ETYPE, "%s: secret %s is %s, expected %s", op,
                          vc_entry_name(v, e, nb), veil_secret_type_name(e->attrs.type),
                          expected);
}

void vc_attrs_of(const vc_entry *e, veil_secret_attrs *out)
{
    memset(out, 0, sizeof *out);
    out->type = e->attrs.type;
    out->persistence = e->attrs.persistence;
    out->exportable = e->attrs.exportable;
    out->length = e->attrs.length;
    if (e->x != NULL)
        memcpy(out->label, e->x->label, sizeof out->label);
}

int vc_new(const vc_backend *be, vc_vault **out)
{
    vc_vault *v = calloc(1, sizeof *v);
    if (v == NULL)
        return veil_error_set(VEIL_ENOMEM, "vault: out of memory");
    v->be = be;
    v->slot_bytes = (be->aead_size + 63u) & ~(size_t)63u;
    if (be->hash_pool_new != NULL && (v->hash_pool = be->hash_pool_new()) == NULL) {
        free(v);
        return veil_error_set(VEIL_ENOMEM, "vault: out of memory for hash contexts");
    }
    *out = v;
    return 0;
}

/* ---- the AEAD context pool ------------------------------------------------
 * Every AEAD key has backend state (libsodium's AES-GCM precomputation,
 * OpenSSL's context pointers) that belongs in guarded memory.  One guarded
 * allocation per key cost ~45 us with libsodium (mmap, guard pages, mlock,
 * then munlock, munmap), and a Noise XX exchange creates ten keys; so the
 * state lives in fixed-size slots of a few large guarded regions instead.
 * A released slot is wiped and goes on a free list threaded through the
 * free slots; regions are added when the list is empty and freed (wiped by
 * secure_free) only when the vault closes. */

static size_t region_bytes(const vc_vault *v)
{
    return v->slot_bytes * POOL_SLOTS;
}

static void slot_push(vc_vault *v, void *slot)
{
    memcpy(slot, &v->slot_free, sizeof v->slot_free);
    v->slot_free = slot;
}

static int pool_grow(vc_vault *v)
{
    vc_region *r = calloc(1, sizeof *r);
    uint8_t *mem = v->be->secure_alloc(region_bytes(v)); /* zeroed */
    if (r == NULL || mem == NULL) {
        free(r);
        if (mem != NULL)
            v->be->secure_free(mem, region_bytes(v));
        return veil_error_set(VEIL_ENOMEM, "vault: out of guarded memory for %u AEAD key slots",
                              POOL_SLOTS);
    }
    r->mem = mem;
    r->next = v->regions;
    v->regions = r;
    for (uint32_t i = POOL_SLOTS; i-- > 0;)
        slot_push(v, mem + (size_t)i * v->slot_bytes);
    return 0;
}

/* A zeroed slot of slot_bytes. */
static int slot_get(vc_vault *v, void **out)
{
    int rc;
    if (v->slot_free == NULL && (rc = pool_grow(v)) != 0)
        return rc;
    void *slot = v->slot_free;
    memcpy(&v->slot_free, slot, sizeof v->slot_free);
    memset(slot, 0, sizeof v->slot_free);
    *out = slot;
    return 0;
}

static void slot_put(vc_vault *v, void *slot)
{
    veil__memzero(slot, v->slot_bytes);
    slot_push(v, slot);
}

/* Where an AEAD key's backend state goes: when it fits (OpenSSL's, 32
 * bytes), in the second half of the key's own guarded 64-byte slot, after
 * the 32 key bytes; otherwise (libsodium's AES-GCM state) in a pool slot.
 * The slot never moves, so the backend may keep a pointer to the key. */
#define KEY_HALF 32u
static bool state_inline(const vc_vault *v)
{
    return v->be->aead_size <= VEIL_SECRET_MAX_BYTES - KEY_HALF;
}

/* Give back what derive() made for an entry: library state, pool slot,
 * side record. */
static void release_ctx(vc_vault *v, vc_entry *e)
{
    if (e->aead != NULL) {
        v->be->aead_clear(e->aead);
        if (state_inline(v))
            veil__memzero(e->aead, v->be->aead_size);
        else
            slot_put(v, e->aead);
        e->aead = NULL;
    }
    if (e->xkey != NULL) {
        v->be->xkey_free(e->xkey);
        e->xkey = NULL;
    }
    if (e->x != NULL) {
        veil__memzero(e->x, sizeof *e->x);
        free(e->x);
        e->x = NULL;
    }
}

void vc_free(vc_vault *v)
{
    if (v == NULL)
        return;
    for (uint32_t i = 0; i < v->cap; i++)
        if (vc_at(v, i)->used)
            release_ctx(v, vc_at(v, i));
    if (v->aead_cache != NULL)
        v->be->aead_cache_free(v->aead_cache); /* after every key let go of it */
    if (v->hash_pool != NULL)
        v->be->hash_pool_free(v->hash_pool);
    while (v->regions != NULL) {
        vc_region *r = v->regions;
        v->regions = r->next;
        v->be->secure_free(r->mem, region_bytes(v)); /* wipes */
        free(r);
    }
    for (uint32_t c = 0; c < v->nchunks; c++) {
        v->be->secure_free(v->chunks[c]->bytes, (size_t)VC_CHUNK * SLOT_BYTES); /* wipes */
        veil__memzero(v->chunks[c]->e, sizeof v->chunks[c]->e);
        free(v->chunks[c]);
    }
    free(v->chunks);
    vc_records_free(v);
    free(v);
}

const vc_backend *vc_backend_of(const vc_vault *v)
{
    return v->be;
}

void vc_set_user(vc_vault *v, void *user)
{
    v->user = user;
}

void *vc_user(const vc_vault *v)
{
    return v->user;
}

void vc_set_change_hook(vc_vault *v, vc_change_fn fn, void *arg)
{
    v->hook = fn;
    v->hook_arg = arg;
}

/* Add one chunk of slots (entries on the heap, bytes guarded); its slots
 * go on the free list, lowest index first. */
static int grow(vc_vault *v)
{
    if (v->cap >= (1u << 24))
        return veil_error_set(VEIL_ELIMIT, "vault: more than %u secrets", 1u << 24);
    vc_chunk **nc = realloc(v->chunks, (v->nchunks + 1u) * sizeof *nc);
    if (nc == NULL)
        return veil_error_set(VEIL_ENOMEM, "vault: out of memory for %u secrets",
                              v->cap + VC_CHUNK);
    v->chunks = nc;
    vc_chunk *c = calloc(1, sizeof *c);
    uint8_t *b = v->be->secure_alloc((size_t)VC_CHUNK * SLOT_BYTES); /* zeroed */
    if (c == NULL || b == NULL) {
        free(c);
        if (b != NULL)
            v->be->secure_free(b, (size_t)VC_CHUNK * SLOT_BYTES);
        return veil_error_set(VEIL_ENOMEM, "vault: out of (guarded) memory for %u secrets",
                              v->cap + VC_CHUNK);
    }
    c->bytes = b;
    for (uint32_t i = VC_CHUNK; i-- > 0;) {
        c->e[i].gen = 1;
        c->e[i].slot = v->cap + i;
        c->e[i].next_free = v->free_head;
        v->free_head = v->cap + i + 1u;
    }
    v->chunks[v->nchunks++] = c;
    v->cap += VC_CHUNK;
    return 0;
}

/* Take a free slot (O(1): the free list holds exactly the unused,
 * unretired slots). */
static int free_slot(vc_vault *v, vc_entry **out)
{
    int rc;
    if (v->free_head == 0 && (rc = grow(v)) != 0)
        return rc;
    vc_entry *e = vc_at(v, v->free_head - 1u);
    v->free_head = e->next_free;
    e->next_free = 0;
    *out = e;
    return 0;
}

static void slot_release(vc_vault *v, vc_entry *e)
{
    if (e->gen == GEN_RETIRED)
        return; /* never reused */
    e->next_free = v->free_head;
    v->free_head = e->slot + 1u;
}

/* Length check per type; returns the expected length or 0 on error. */
static int check_len(const veil_secret_attrs *a, size_t len)
{
    if (a->type == VEIL_SECRET_BUFFER) {
        if (len < 1 || len > VEIL_SECRET_MAX_BYTES || (a->length != 0 && a->length != len))
            return veil_error_set(VEIL_EINVAL,
                                  "secret of type buffer: %zu bytes given, attrs.length %u "
                                  "(expected 1..%u and equal)",
                                  len, a->length, VEIL_SECRET_MAX_BYTES);
        return 0;
    }
    size_t want = veil_secret_type_len(a->type);
    if (want == 0)
        return veil_error_set(VEIL_EINVAL, "unknown secret type %d", a->type);
    if (len != want)
        return veil_error_set(VEIL_EINVAL, "secret of type %s: %zu bytes given, expected %zu",
                              veil_secret_type_name(a->type), len, want);
    return 0;
}

static int label_free(vc_vault *v, const char *label)
{
    if (label[0] == '\0')
        return 0;
    for (uint32_t i = 0; i < v->cap; i++) {
        const vc_entry *e = vc_at(v, i);
        if (e->used && e->x != NULL && strcmp(e->x->label, label) == 0)
            return veil_error_set(VEIL_EEXIST, "a secret labelled '%s' already exists", label);
    }
    return 0;
}

/* AEAD state: inline after the key bytes, or in a pool slot. */
static int derive_aead(vc_vault *v, vc_entry *e, const uint8_t *key)
{
    const vc_backend *be = v->be;
    int rc;
    if (be->aead_cache_new != NULL && v->aead_cache == NULL &&
        (v->aead_cache = be->aead_cache_new()) == NULL)
        return veil_error_set(VEIL_ENOMEM, "vault: out of memory for the AEAD context cache");
    if (state_inline(v))
        e->aead = vc_bytes(v, e) + KEY_HALF; /* zero: wiped when last released */
    else if ((rc = slot_get(v, &e->aead)) != 0)
        return rc;
    if ((rc = be->aead_init(e->aead, v->aead_cache, e->attrs.type, key)) != 0) {
        if (!state_inline(v))
            slot_put(v, e->aead);
        e->aead = NULL;
    }
    return rc;
}

/* Public key, key id (hex SHA-256 of the public key) and AEAD state, from
 * the bytes already in the entry's slot. */
static int derive(vc_vault *v, vc_entry *e)
{
    const vc_backend *be = v->be;
    const uint8_t *bytes = vc_bytes(v, e);
    uint8_t *pub = e->x != NULL ? e->x->pub : NULL;
    int rc = 0;
    switch (e->attrs.type) {
    case VEIL_SECRET_X25519:
    case VEIL_SECRET_X448:
        e->pub_len = e->attrs.type == VEIL_SECRET_X448 ? 56 : 32;
        if (be->xkey_new != NULL)
            rc = be->xkey_new(e->attrs.type, bytes, pub, &e->xkey);
        else if (e->attrs.type == VEIL_SECRET_X25519)
            rc = be->x25519_public(pub, bytes);
        else
            rc = be->x448_public(pub, bytes);
        break;
    case VEIL_SECRET_ED25519:
        rc = be->ed25519_public(pub, bytes);
        e->pub_len = 32;
        break;
    case VEIL_SECRET_P256:          /* OpenSSL on both backends (p256.c) */
        rc = vc_p256_public(bytes, pub);
        e->pub_len = VEIL_P256_PUBLIC_BYTES;
        break;
    case VEIL_SECRET_AES256GCM:
    case VEIL_SECRET_CHACHAPOLY:
        return derive_aead(v, e, bytes);
    default:
        return 0;
    }
    if (rc != 0)
        return rc;
    uint8_t id[32];
    vc_hash h;
    if ((rc = be->hash_init(&h, v->hash_pool, VEIL_HASH_SHA256)) != 0)
        return rc;
    if ((rc = be->hash_update(&h, pub, e->pub_len)) != 0) {
        be->hash_abort(&h);
        return rc;
    }
    if ((rc = be->hash_final(&h, id)) != 0)
        return rc;
    veil__hex_encode(id, sizeof id, e->x->key_id);
    return 0;
}

static bool is_asymmetric(int type)
{
    return type == VEIL_SECRET_X25519 || type == VEIL_SECRET_X448 ||
           type == VEIL_SECRET_ED25519 || type == VEIL_SECRET_P256;
}

/* Wipe and free an entry's slot (bytes, state, side record) and bump its
 * generation; no hook, no count change. */
static void scrub(vc_vault *v, vc_entry *e)
{
    release_ctx(v, e);
    veil__memzero(vc_bytes(v, e), SLOT_BYTES);
    uint32_t gen = e->gen, slot = e->slot;
    veil__memzero(e, sizeof *e);
    e->gen = gen + 1u; /* reaching GEN_RETIRED retires the slot */
    e->slot = slot;
    slot_release(v, e);
}

int vc_create(vc_vault *v, const veil_secret_attrs *attrs, const uint8_t *bytes, size_t len,
              veil_secret *out)
{
    int rc;
    vc_entry *e = NULL;
    if (memchr(attrs->label, '\0', sizeof attrs->label) == NULL)
        return veil_error_set(VEIL_EINVAL, "secret label is not NUL-terminated within %u bytes",
                              VEIL_LABEL_MAX + 1);
    if (attrs->persistence != VEIL_EPHEMERAL && attrs->persistence != VEIL_PERSISTENT)
        return veil_error_set(VEIL_EINVAL, "unknown persistence %d", attrs->persistence);
    if ((rc = check_len(attrs, len)) != 0 || (rc = label_free(v, attrs->label)) != 0)
        return rc;
    vc_extra *x = NULL;
    if ((attrs->label[0] != '\0' || is_asymmetric(attrs->type)) &&
        (x = calloc(1, sizeof *x)) == NULL)
        return veil_error_set(VEIL_ENOMEM, "vault: out of memory for a secret's public data");
    if ((rc = free_slot(v, &e)) != 0) {
        free(x);
        return rc;
    }
    e->x = x;
    if (x != NULL)
        memcpy(x->label, attrs->label, sizeof x->label);
    e->attrs.type = attrs->type;
    e->attrs.persistence = attrs->persistence;
    e->attrs.exportable = attrs->exportable;
    e->attrs.length = (uint16_t)len;
    e->len = (uint8_t)len;
    memcpy(vc_bytes(v, e), bytes, len);
    if ((rc = derive(v, e)) != 0) {
        scrub(v, e);
        return rc;
    }
    e->used = true;
    v->count++;
    *out = handle_of(e);
    return 0;
}

void vc_remove(vc_vault *v, veil_secret s)
{
    vc_entry *e = NULL;
    if (vc_lookup(v, s, "destroy", &e) != 0)
        return;
    scrub(v, e);
    v->count--;
}

int vc_commit(vc_vault *v, const veil_secret *made, size_t n)
{
    bool persistent = false;
    for (size_t i = 0; i < n; i++) {
        vc_entry *e = NULL;
        if (vc_lookup(v, made[i], "commit", &e) == 0 && e->attrs.persistence == VEIL_PERSISTENT)
            persistent = true;
    }
    if (!persistent || v->hook == NULL)
        return 0;
    int rc = vc_changed(v);
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            vc_remove(v, made[i]);
        return rc;
    }
    return 0;
}

int vc_insert(vc_vault *v, const veil_secret_attrs *attrs, const uint8_t *bytes, size_t len,
              veil_secret *out)
{
    return vc_create(v, attrs, bytes, len, out);
}

int vc_foreach_persistent(vc_vault *v, vc_each_fn fn, void *arg)
{
    for (uint32_t i = 0; i < v->cap; i++) {
        vc_entry *e = vc_at(v, i);
        if (!e->used || e->attrs.persistence != VEIL_PERSISTENT)
            continue;
        veil_secret_attrs a;
        vc_attrs_of(e, &a);
        int rc = fn(arg, handle_of(e), &a, vc_bytes(v, e), e->len);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- ops on the table ---------------------------------------------------- */

int vc_op_secret_destroy(void *vault, veil_secret s)
{
    vc_vault *v = vault;
    vc_entry *e = NULL;
    int rc = vc_lookup(v, s, "destroy", &e);
    if (rc != 0)
        return rc;
    bool persistent = e->attrs.persistence == VEIL_PERSISTENT;
    vc_remove(v, s);
    /* The secret is gone either way; a failing hook says the store is stale. */
    return persistent ? vc_changed(v) : 0;
}

int vc_changed(vc_vault *v)
{
    if (v->hook == NULL)
        return 0;
    if (v->batch) {
        v->batch_changed = true;
        return 0;
    }
    return v->hook(v->hook_arg, v);
}

int vc_op_batch_begin(void *vault)
{
    ((vc_vault *)vault)->batch = true;
    return 0;
}

int vc_op_batch_commit(void *vault)
{
    vc_vault *v = vault;
    v->batch = false;
    if (!v->batch_changed || v->hook == NULL)
        return 0;
    int rc = v->hook(v->hook_arg, v);
    v->batch_changed = rc != 0; /* written with the next change or at close */
    return rc;
}

bool vc_batch_pending(const vc_vault *v)
{
    return v->batch_changed;
}

int vc_op_attributes(void *vault, veil_secret s, veil_secret_attrs *out)
{
    vc_entry *e = NULL;
    int rc = vc_lookup(vault, s, "attributes", &e);
    if (rc == 0)
        vc_attrs_of(e, out);
    return rc;
}

int vc_op_export(void *vault, veil_secret s, uint8_t *out, size_t cap, size_t *len)
{
    vc_vault *v = vault;
    vc_entry *e = NULL;
    char nb[32];
    int rc = vc_lookup(v, s, "export", &e);
    if (rc != 0)
        return rc;
    if (!e->attrs.exportable)
        return veil_error_set(VEIL_EPERM, "secret %s is not exportable", vc_entry_name(v, e, nb));
    if (cap < e->len)
        return veil_error_set(VEIL_EINVAL, "export: out holds %zu bytes, secret %s has %u", cap,
                              vc_entry_name(v, e, nb), e->len);
    memcpy(out, vc_bytes(v, e), e->len);
    *len = e->len;
    return 0;
}

int vc_op_public_key(void *vault, veil_secret s, uint8_t *out, size_t cap, size_t *len)
{
    vc_vault *v = vault;
    vc_entry *e = NULL;
    int rc = vc_lookup(v, s, "public_key", &e);
    if (rc != 0)
        return rc;
    if (e->pub_len == 0)
        return vc_type_error(v, e, "public_key", "X25519, X448 or Ed25519");
    if (cap < e->pub_len)
        return veil_error_set(VEIL_EINVAL, "public_key: out holds %zu bytes, need %u", cap,
                              e->pub_len);
    memcpy(out, vc_pub(e), e->pub_len);
    *len = e->pub_len;
    return 0;
}

int vc_op_find_by_key_id(void *vault, const char *key_id, veil_secret *out)
{
    vc_vault *v = vault;
    for (uint32_t i = 0; i < v->cap; i++) {
        const vc_entry *e = vc_at(v, i);
        if (e->used && e->x != NULL && e->x->key_id[0] != '\0' &&
            strcmp(e->x->key_id, key_id) == 0) {
            *out = handle_of(e);
            return 0;
        }
    }
    return veil_error_set(VEIL_ENOTFOUND, "no secret with key id %s", key_id);
}

int vc_op_find_by_label(void *vault, const char *label, veil_secret *out)
{
    vc_vault *v = vault;
    if (label[0] != '\0') {
        for (uint32_t i = 0; i < v->cap; i++) {
            const vc_entry *e = vc_at(v, i);
            if (e->used && e->x != NULL && strcmp(e->x->label, label) == 0) {
                *out = handle_of(e);
                return 0;
            }
        }
    }
    return veil_error_set(VEIL_ENOTFOUND, "no secret labelled '%s'", label);
}
