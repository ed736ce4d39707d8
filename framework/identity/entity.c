/* Entities: an identity whose keys and history live in a vault.
 *
 * Entity NAME stores, in its vault:
 *   veil.entity.NAME.key.I      the current identity key (Ed25519 or P-256,
 *                               persistent, non-exportable), I = its event number
 *   veil.entity.NAME.ka.I       the key-agreement static key (X25519) that
 *                               key I attests for secure channels
 *   veil.entity.NAME.history    record: the encoded change history
 * The history record is the commit point: a rotation makes key I+1 and
 * static key I+1, stores the new history, and only then destroys key I and
 * static key I.  Open trusts the record and removes keys a crash left
 * behind.  Older keys are not needed (the history keeps their signatures)
 * and are not kept: a vault copied after a rotation holds no key that
 * could speak for the entity's past. */
#include <veil/entity.h>
#include <veil/error.h>
#include <veil/log.h>
#include <veil/vault.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "identity_internal.h"
#include "core/util.h"

#define NAME_MAX_LEN 40u   /* "veil.entity." + name + ".history" fits a label */

struct veil_entity {
    unsigned refs;              /* veil__entity_ref(); freed at 0 */
    veil_node *node;
    veil_vault *vault;
    int owns_vault;
    veil_contacts *contacts;    /* the node's table; NULL without a node */
    bool registered;            /* in contacts' entity list */
    veil_identity_settings set;
    char name[NAME_MAX_LEN + 1];
    char identifier[VEIL_IDENTIFIER_LEN + 1];
    uint8_t *history;
    size_t history_len;
    size_t index;               /* event number of the current key */
    veil_secret key;            /* current identity key */
    int key_type;               /* its veil_secret_type */
    size_t key_len;
    uint8_t key_pub[VEIL_IDENTITY_KEY_MAX_BYTES];
    uint64_t created, expires;  /* of the current key */
    veil_entity_static st;      /* static key of the current key + attestation */
};

static int check_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_LEN)
        return veil_error_set(VEIL_EINVAL, "entity name '%.60s' is %zu characters (expected "
                              "1..%u)", name, n, NAME_MAX_LEN);
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            return veil_error_set(VEIL_EINVAL, "entity name '%s': bad character at offset %zu "
                                  "(allowed: A-Z a-z 0-9 _ -)", name, i);
    }
    return 0;
}

/* "veil.entity.NAME.<what>[.I]" */
static void label_of(const veil_entity *e, const char *what, size_t i,
                     char out[VEIL_LABEL_MAX + 1])
{
    if (i == SIZE_MAX)
        snprintf(out, VEIL_LABEL_MAX + 1, "veil.entity.%s.%s", e->name, what);
    else
        snprintf(out, VEIL_LABEL_MAX + 1, "veil.entity.%s.%s.%u", e->name, what,
                 (unsigned)(uint8_t)i); /* i <= VEIL_HISTORY_MAX_EVENTS */
}

/* Allocate the entity and get its vault (the caller's, or the node's
 * default one, which the entity then owns) and its node's settings. */
static int entity_alloc(veil_node *node, veil_vault *vault, const char *name,
                        veil_entity **out)
{
    if (out == NULL || (node == NULL && vault == NULL))
        return veil_error_set(VEIL_EINVAL, "entity: %s", out == NULL ? "out is NULL"
                              : "give a node or a vault (both are NULL)");
    int rc = name != NULL ? check_name(name) : 0;
    veil_contacts *contacts = NULL;
    if (rc == 0 && node != NULL)
        rc = veil__contacts_for(node, &contacts);
    if (rc < 0)
        return rc;
    veil_entity *e = calloc(1, sizeof *e);
    if (e == NULL)
        return veil_error_set(VEIL_ENOMEM, "entity: out of memory");
    e->refs = 1;
    e->node = node;
    e->vault = vault;
    e->contacts = contacts;
    if (contacts != NULL)
        e->set = *veil__contacts_settings(contacts);
    else
        veil__identity_defaults(&e->set);
    if (name != NULL)
        veil__strlcpy(e->name, name, sizeof e->name);
    if (vault == NULL) {
        if ((rc = veil_vault_open(node, NULL, &e->vault)) < 0) {
            free(e);
            return veil_error_wrap(rc, "entity: opening the node's default vault");
        }
        e->owns_vault = 1;
    } else {
        veil__vault_ref(vault);   /* the caller may close it before us */
    }
    *out = e;
    return 0;
}

static int generate(veil_entity *e, int type, const char *what, size_t i, veil_secret *out)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = type;
    a.persistence = VEIL_PERSISTENT;
    a.exportable = false;
    label_of(e, what, i, a.label);
    int rc = veil_vault_generate(e->vault, &a, out);
    return rc < 0 ? veil_error_wrap(rc, "entity '%s': generating '%s'", e->name, a.label) : 0;
}

/* The public key of s, of the length its type has (type 0: X25519). */
static int public_of(veil_entity *e, veil_secret s, int type, uint8_t *out, size_t *len)
{
    size_t n = 0, want = veil_secret_type_public_len(type ? type : VEIL_SECRET_X25519);
    int rc = veil_vault_public_key(e->vault, s, out, want, &n);
    if (rc == 0 && n != want)
        rc = veil_error_set(VEIL_ETYPE, "entity '%s': a %zu-byte public key, expected %zu", e->name,
                            n, want);
    if (len != NULL)
        *len = n;
    return rc;
}

/* The attestation of static key s (public pub) by identity key k, valid
 * as long as k. */
static int attest(veil_entity *e, veil_secret k, veil_secret s, uint64_t expires,
                  veil_entity_static *out)
{
    uint8_t payload[VEIL_ATTEST_PAYLOAD_MAX];
    int rc = public_of(e, s, 0, out->pub, NULL);
    if (rc < 0)
        return rc;
    size_t n = veil__attest_payload(payload, VEIL_SECRET_X25519, out->pub, 32, expires);
    if ((rc = veil__identity_sign(e->vault, k, VEIL_DOMAIN_ATTEST, payload, n, out->sig)) < 0)
        return veil_error_wrap(rc, "entity '%s': attesting its static key", e->name);
    out->key = s;
    out->expires = expires;
    return 0;
}

/* Take history h (verified, current key k / static key st) as the
 * entity's state. */
static void adopt(veil_entity *e, uint8_t *h, size_t len, const veil_history_view *view,
                  veil_secret k, const veil_entity_static *st)
{
    free(e->history);
    e->history = h;
    e->history_len = len;
    e->index = view->info.events - 1;
    e->key = k;
    e->key_type = view->info.key_type;
    e->key_len = view->info.key_len;
    memcpy(e->key_pub, view->info.current_key, view->info.key_len);
    e->created = view->info.created;
    e->expires = view->info.expires;
    e->st = *st;
    memcpy(e->identifier, view->info.identifier, sizeof e->identifier);
}

/* Resolve times: defaults from [identity] key_lifetime; the type from
 * [identity] key_type. */
static int key_times(const veil_entity *e, const veil_key_times *t, uint64_t *created,
                     uint64_t *expires, int *type)
{
    *type = t != NULL && t->key_type != 0 ? t->key_type : e->set.key_type;
    if (veil__key_tag(*type) == 0)
        return veil_error_set(VEIL_EINVAL, "entity '%s': key type %d (%s) cannot be an identity "
                              "key (expected VEIL_SECRET_ED25519 or VEIL_SECRET_P256)", e->name,
                              *type, veil_secret_type_name(*type));
    *created = t != NULL && t->created != 0 ? t->created : (uint64_t)time(NULL);
    if (t != NULL && t->expires == VEIL_EXPIRES_NEVER)
        *expires = 0;
    else if (t != NULL && t->expires != 0)
        *expires = t->expires;
    else
        *expires = e->set.key_lifetime == 0 ? 0 : *created + e->set.key_lifetime;
    if (*expires != 0 && *expires <= *created)
        return veil_error_set(VEIL_EINVAL, "entity '%s': a key expiring at %llu is not valid "
                              "after its creation at %llu", e->name,
                              (unsigned long long)*expires, (unsigned long long)*created);
    return 0;
}

/* Make key I, static key I and the history h (old + event I, the key
 * valid from created to expires), stored as the record: on failure
 * nothing of it stays in the vault. */
static int make_generation(veil_entity *e, int type, uint64_t created, uint64_t expires,
                           uint8_t **h, size_t *hlen, veil_history_view *view, veil_secret *k,
                           veil_entity_static *st)
{
    size_t i = e->history != NULL ? e->index + 1 : 0, n = 0;
    uint8_t pub[VEIL_IDENTITY_KEY_MAX_BYTES];
    char label[VEIL_LABEL_MAX + 1];
    *k = 0;
    st->key = 0;
    *h = NULL;
    int rc = generate(e, type, "key", i, k);
    if (rc == 0 && (rc = public_of(e, *k, type, pub, &n)) == 0)
        rc = veil__history_append(e->vault, e->history, e->history_len, e->key, *k, type, pub, n,
                                  created, expires, h, hlen);
    if (rc == 0)
        rc = veil__history_verify_view(e->vault, *h, *hlen, view);
    if (rc == 0 && (rc = generate(e, VEIL_SECRET_X25519, "ka", i, &st->key)) == 0)
        rc = attest(e, *k, st->key, expires, st);
    label_of(e, "history", SIZE_MAX, label);
    if (rc == 0 && (rc = veil_vault_record_put(e->vault, label, *h, *hlen)) < 0)
        veil_error_wrap(rc, "entity '%s': storing its history", e->name);
    if (rc < 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", veil_last_error());
        if ((*k != 0 && veil_vault_secret_destroy(e->vault, *k) < 0) ||
            (st->key != 0 && veil_vault_secret_destroy(e->vault, st->key) < 0))
            veil_log(VEIL_LOG_WARN, "entity", "entity '%s': could not remove the keys of a "
                     "failed change (removed at its next open)", e->name);
        free(*h);
        *h = NULL;
        return veil_error_set(rc, "%s", why);
    }
    return 0;
}

static int random_name(veil_entity *e)
{
    uint8_t r[8];
    int rc = veil_vault_random(e->vault, r, sizeof r);
    if (rc < 0)
        return rc;
    veil__hex_encode(r, sizeof r, e->name);
    return 0;
}

/* An entity of that name exists (its history, or a key of an old one). */
static int check_absent(veil_entity *e)
{
    char label[VEIL_LABEL_MAX + 1];
    size_t n;
    veil_secret s;
    label_of(e, "history", SIZE_MAX, label);
    if (veil_vault_record_get(e->vault, label, NULL, 0, &n) == 0)
        return veil_error_set(VEIL_EEXIST, "entity '%s' already exists in this vault (record "
                              "'%s'); open it without VEIL_ENTITY_EXCL", e->name, label);
    label_of(e, "key", 0, label);
    if (veil_vault_find_by_label(e->vault, label, &s) == 0)
        return veil_error_set(VEIL_EEXIST, "entity '%s': the vault holds its key '%s' but no "
                              "history (an entity of an older veil, or an interrupted "
                              "creation): choose another name", e->name, label);
    return 0;
}

/* The last step of making an entity (rc: how the others went): it joins
 * its node's contacts and is handed out, or is freed. */
static int join_node(veil_entity *e, int rc, veil_entity **out)
{
    if (rc == 0 && e->contacts != NULL) {
        rc = veil__contacts_register(e->contacts, e);
        e->registered = rc == 0;
    }
    if (rc < 0) {
        veil_entity_close(e);
        return rc;
    }
    *out = e;
    return 0;
}

static int entity_create(veil_node *node, veil_vault *vault, const char *name,
                         const veil_key_times *times, veil_entity **out)
{
    veil_entity *e;
    int rc = entity_alloc(node, vault, name, &e);
    if (rc < 0)
        return rc;
    if (name == NULL)
        rc = random_name(e);
    if (rc == 0)
        rc = check_absent(e);
    uint8_t *h = NULL;
    size_t len = 0;
    uint64_t created, expires;
    int type = 0;
    veil_history_view view;
    veil_secret k = 0;
    veil_entity_static st;
    if (rc == 0)
        rc = key_times(e, times, &created, &expires, &type);
    if (rc == 0 &&
        (rc = make_generation(e, type, created, expires, &h, &len, &view, &k, &st)) == 0)
        adopt(e, h, len, &view, k, &st);
    return join_node(e, rc, out);
}

/* Remove what a crash between making generation I+1 and storing it, or
 * between storing it and destroying generation I, left in the vault. */
static void remove_leftovers(veil_entity *e)
{
    char label[VEIL_LABEL_MAX + 1];
    veil_secret s;
    static const char *const what[] = { "key", "ka" };
    for (size_t i = 0; i <= VEIL_HISTORY_MAX_EVENTS; i++) {
        for (size_t w = 0; w < 2; w++) {
            label_of(e, what[w], i, label);
            if (i == e->index || veil_vault_find_by_label(e->vault, label, &s) < 0)
                continue;
            if (veil_vault_secret_destroy(e->vault, s) == 0)
                veil_log(VEIL_LOG_INFO, "entity", "entity '%s': removed '%s' left by an "
                         "interrupted change", e->name, label);
        }
    }
}

/* The current key (and static key) of the stored history: they must be
 * the vault's. */
static int load_keys(veil_entity *e, const veil_history_view *view, veil_secret *k,
                     veil_entity_static *st)
{
    char label[VEIL_LABEL_MAX + 1];
    uint8_t pub[VEIL_IDENTITY_KEY_MAX_BYTES];
    veil_secret_attrs a;
    size_t i = view->info.events - 1;
    label_of(e, "key", i, label);
    int rc = veil_vault_find_by_label(e->vault, label, k);
    if (rc < 0)
        return veil_error_set(VEIL_ENOTFOUND, "entity '%s': its history names key %zu but the "
                              "vault has no secret '%s'", e->name, i, label);
    if ((rc = veil_vault_attributes(e->vault, *k, &a)) < 0)
        return rc;
    if (a.type != view->info.key_type)
        return veil_error_set(VEIL_EAUTH, "entity '%s': secret '%s' is a %s key, the current key "
                              "of its stored history is %s", e->name, label,
                              veil_secret_type_name(a.type),
                              veil_secret_type_name(view->info.key_type));
    if ((rc = public_of(e, *k, a.type, pub, NULL)) < 0)
        return rc;
    if (memcmp(pub, view->info.current_key, view->info.key_len) != 0)
        return veil_error_set(VEIL_EAUTH, "entity '%s': secret '%s' is not the current key of "
                              "its stored history", e->name, label);
    label_of(e, "ka", i, label);
    if (veil_vault_find_by_label(e->vault, label, &st->key) < 0 &&
        (rc = generate(e, VEIL_SECRET_X25519, "ka", i, &st->key)) < 0)
        return rc;
    return attest(e, *k, st->key, view->info.expires, st);
}

static int load(veil_entity *e)
{
    char label[VEIL_LABEL_MAX + 1];
    size_t len = 0;
    veil_secret s;
    label_of(e, "history", SIZE_MAX, label);
    int rc = veil_vault_record_get(e->vault, label, NULL, 0, &len);
    if (rc == VEIL_ENOTFOUND) {
        label_of(e, "key", 0, label);
        if (veil_vault_find_by_label(e->vault, label, &s) == 0)
            return veil_error_set(VEIL_EVERSION, "entity '%s': the vault holds its key '%s' but "
                                  "no stored history: it was made by a veil older than history "
                                  "version 2 (or its creation was interrupted) and cannot be "
                                  "opened; create a new entity", e->name, label);
        return veil_error_set(VEIL_ENOTFOUND, "no entity '%s' in this vault (no record "
                              "'veil.entity.%s.history')", e->name, e->name);
    }
    uint8_t *h = rc == 0 ? malloc(len ? len : 1) : NULL;
    if (rc == 0 && h == NULL)
        rc = veil_error_set(VEIL_ENOMEM, "entity '%s': out of memory", e->name);
    if (rc == 0)
        rc = veil_vault_record_get(e->vault, label, h, len, &len);
    veil_history_view view;
    veil_secret k = 0;
    veil_entity_static st;
    if (rc == 0 && (rc = veil__history_verify_view(e->vault, h, len, &view)) < 0)
        veil_error_wrap(rc, "entity '%s': its stored history does not verify", e->name);
    if (rc == 0)
        rc = load_keys(e, &view, &k, &st);
    if (rc < 0) {
        free(h);
        return rc;
    }
    adopt(e, h, len, &view, k, &st);
    remove_leftovers(e);
    return 0;
}

static int entity_load(veil_node *node, veil_vault *vault, const char *name, veil_entity **out)
{
    veil_entity *e;
    int rc = entity_alloc(node, vault, name, &e);
    if (rc < 0)
        return rc;
    return join_node(e, load(e), out);
}

/* Flags as open(2)'s O_CREAT / O_EXCL: 0 opens an existing entity,
 * CREATE opens it or makes it when absent, CREATE|EXCL only makes it. */
int veil_entity_open_with(veil_node *node, veil_vault *vault, const char *name, unsigned flags,
                          const veil_key_times *times, veil_entity **out)
{
    const unsigned known = VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL;
    if (out == NULL || (flags & ~known) != 0)
        return veil_error_set(VEIL_EINVAL, "veil_entity_open: %s", out == NULL ? "out is NULL"
                              : "unknown flags (expected VEIL_ENTITY_CREATE, VEIL_ENTITY_EXCL)");
    if (!(flags & VEIL_ENTITY_CREATE)) {
        if (name == NULL || (flags & VEIL_ENTITY_EXCL) || times != NULL)
            return veil_error_set(VEIL_EINVAL, "veil_entity_open: %s without VEIL_ENTITY_CREATE",
                                  name == NULL ? "a NULL (random) name"
                                  : times != NULL ? "key times" : "VEIL_ENTITY_EXCL");
        return entity_load(node, vault, name, out);
    }
    if (name == NULL || (flags & VEIL_ENTITY_EXCL))
        return entity_create(node, vault, name, times, out);
    int rc = entity_load(node, vault, name, out);
    return rc == VEIL_ENOTFOUND ? entity_create(node, vault, name, times, out) : rc;
}

int veil_entity_open(veil_node *node, veil_vault *vault, const char *name, unsigned flags,
                     veil_entity **out)
{
    return veil_entity_open_with(node, vault, name, flags, NULL, out);
}

veil_entity *veil__entity_ref(veil_entity *e)
{
    if (e != NULL)
        e->refs++;
    return e;
}

void veil_entity_close(veil_entity *e)
{
    if (e == NULL || --e->refs > 0)
        return;
    if (e->registered)
        veil__contacts_unregister(e->contacts, e);
    free(e->history);
    veil_vault_close(e->vault);   /* our reference (or the vault we opened) */
    veil__memzero(e, sizeof *e);
    free(e);
}

const char *veil_entity_identifier(const veil_entity *e)
{
    return e != NULL ? e->identifier : NULL;
}

veil_vault *veil_entity_vault(const veil_entity *e)
{
    return e != NULL ? e->vault : NULL;
}

veil_node *veil_entity_node(const veil_entity *e)
{
    return e != NULL ? e->node : NULL;
}

int veil_entity_public_key(const veil_entity *e, int *key_type,
                           uint8_t out[VEIL_IDENTITY_KEY_MAX_BYTES], size_t *len)
{
    if (e == NULL || key_type == NULL || out == NULL || len == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_entity_public_key: %s is NULL",
                              e == NULL ? "entity" : key_type == NULL ? "key_type"
                              : out == NULL ? "out" : "len");
    *key_type = e->key_type;
    *len = e->key_len;
    memcpy(out, e->key_pub, e->key_len);
    return 0;
}

int veil_entity_key_location(const veil_entity *e, int *key_location, int *static_location,
                             char *key_where, char *static_where, size_t cap)
{
    if (e == NULL || key_location == NULL || static_location == NULL ||
        (cap > 0 && (key_where == NULL || static_where == NULL)))
        return veil_error_set(VEIL_EINVAL, "veil_entity_key_location: %s is NULL",
                              e == NULL ? "entity" : key_location == NULL ? "key_location"
                              : static_location == NULL ? "static_location"
                              : key_where == NULL ? "key_where" : "static_where");
    int rc = veil_vault_key_location(e->vault, e->key, key_location, key_where, cap);
    return rc < 0 ? rc : veil_vault_key_location(e->vault, e->st.key, static_location,
                                                 static_where, cap);
}

veil_secret veil__entity_key(const veil_entity *e)
{
    return e->key;
}

const veil_entity_static *veil__entity_static(const veil_entity *e)
{
    return &e->st;
}

veil_contacts *veil__entity_contacts(const veil_entity *e)
{
    return e->contacts;
}

const char *veil__entity_name(const veil_entity *e)
{
    return e->name;
}

/* The contacts table is going away (node stop) before this entity. */
void veil__entity_leave_node(veil_entity *e)
{
    e->contacts = NULL;
    e->registered = false;
}

int veil_entity_rotate_with(veil_entity *e, const veil_key_times *times)
{
    if (e == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_entity_rotate: entity is NULL");
    if (e->index + 1 >= VEIL_HISTORY_MAX_EVENTS)
        return veil_error_set(VEIL_ELIMIT, "entity '%s': %zu events already, the history "
                              "holds at most %u", e->name, e->index + 1,
                              (unsigned)VEIL_HISTORY_MAX_EVENTS);
    uint64_t created, expires;
    int type = 0;
    int rc = key_times(e, times, &created, &expires, &type);
    if (rc == 0 && e->expires != 0 && created > e->expires)
        rc = veil_error_set(VEIL_EEXPIRED, "entity '%s': its current key expired at %llu, "
                            "before the rotation's time %llu (an expired key cannot authorise "
                            "a successor: create a new entity)", e->name,
                            (unsigned long long)e->expires, (unsigned long long)created);
    uint8_t *h;
    size_t len;
    veil_history_view view;
    veil_secret k, old_key = e->key, old_static = e->st.key;
    veil_entity_static st;
    if (rc == 0)
        rc = make_generation(e, type, created, expires, &h, &len, &view, &k, &st);
    if (rc < 0)
        return rc;
    adopt(e, h, len, &view, k, &st);
    /* The new history is stored: the old keys speak for nobody now. */
    if (veil_vault_secret_destroy(e->vault, old_key) < 0 || veil_vault_secret_destroy(e->vault, old_static) < 0)
        veil_log(VEIL_LOG_WARN, "entity", "entity '%s': could not destroy the keys of event "
                 "%zu (%s); they are removed at the next open", e->name, e->index - 1,
                 veil_last_error());
    return 0;
}

int veil_entity_rotate(veil_entity *e)
{
    return veil_entity_rotate_with(e, NULL);
}

int veil_entity_sign(veil_entity *e, const char *context, const uint8_t *msg, size_t len,
                     uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    static const char fn[] = "veil_entity_sign";
    char domain[VEIL_DOMAIN_MAX + 1];
    if (e == NULL || sig == NULL || (msg == NULL && len > 0))
        return veil_error_set(VEIL_EINVAL, "%s: %s is NULL", fn,
                              e == NULL ? "entity" : sig == NULL ? "sig" : "msg");
    int rc = veil__app_domain(context, fn, domain);
    if (rc < 0)
        return rc;
    rc = veil__identity_sign(veil_entity_vault(e), veil__entity_key(e), domain, msg, len, sig);
    return rc < 0 ? veil_error_wrap(rc, "%s: entity %s", fn, veil_entity_identifier(e)) : 0;
}

const uint8_t *veil_entity_history(const veil_entity *e, size_t *len)
{
    if (e == NULL) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    if (len != NULL)
        *len = e->history_len;
    return e->history;
}
