/* Entities: an identity whose Ed25519 keys live in a vault.
 *
 * Key i of entity NAME is the persistent, non-exportable Ed25519 secret
 * labelled "veil.entity.NAME.key.i"; key 0 is the root (its SHA-256 is the
 * identifier), the highest is the current key.  Nothing else is stored:
 * Ed25519 signatures are deterministic (RFC 8032), so veil_entity_open
 * rebuilds the very same history bytes by signing every event again.  The
 * consequences: old keys stay in the vault (they sign their part of the
 * history again on every open), and events carry no timestamps. */
#include <veil/entity.h>
#include <veil/error.h>
#include <veil/log.h>
#include <veil/vault.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity_internal.h"
#include "util.h"

#define NAME_MAX_LEN 40u   /* "veil.entity." + name + ".key.NN" fits a label */

struct veil_entity {
    unsigned refs;              /* veil__entity_ref(); freed at 0 */
    veil_node *node;
    veil_vault *vault;
    int owns_vault;
    char name[NAME_MAX_LEN + 1];
    char identifier[VEIL_IDENTIFIER_LEN + 1];
    veil_secret keys[VEIL_HISTORY_MAX_EVENTS];
    size_t nkeys;
    uint8_t current_pub[VEIL_ED25519_PUBLIC_BYTES];
    uint8_t *history;
    size_t history_len;
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

static void key_label(const veil_entity *e, size_t i, char out[VEIL_LABEL_MAX + 1])
{
    snprintf(out, VEIL_LABEL_MAX + 1, "veil.entity.%s.key.%zu", e->name, i);
}

/* Allocate the entity and get its vault (the caller's, or the node's
 * default one, which the entity then owns). */
static int entity_alloc(veil_node *node, veil_vault *vault, const char *name,
                        veil_entity **out)
{
    if (out == NULL || (node == NULL && vault == NULL))
        return veil_error_set(VEIL_EINVAL, "entity: %s", out == NULL ? "out is NULL"
                              : "give a node or a vault (both are NULL)");
    veil_entity *e = calloc(1, sizeof *e);
    if (e == NULL)
        return veil_error_set(VEIL_ENOMEM, "entity: out of memory");
    e->refs = 1;
    e->node = node;
    e->vault = vault;
    if (name != NULL) {
        int rc = check_name(name);
        if (rc < 0) {
            free(e);
            return rc;
        }
        veil__strlcpy(e->name, name, sizeof e->name);
    }
    if (vault == NULL) {
        int rc = veil_vault_open(node, NULL, &e->vault);
        if (rc < 0) {
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

/* Rebuild the history from keys[0..nkeys) and derive identifier and
 * current key from it (verifying what was just built, which also proves
 * the vault's keys are sound). */
static int entity_refresh(veil_entity *e)
{
    uint8_t *h;
    size_t len;
    int rc = veil__history_build(e->vault, e->keys, e->nkeys, &h, &len);
    if (rc < 0)
        return rc;
    veil_history_view view;
    rc = veil__history_verify_view(e->vault, h, len, &view);
    if (rc < 0) {
        free(h);
        return veil_error_wrap(rc, "entity '%s': the rebuilt history does not verify", e->name);
    }
    free(e->history);
    e->history = h;
    e->history_len = len;
    memcpy(e->identifier, view.info.identifier, sizeof e->identifier);
    memcpy(e->current_pub, view.info.current_key, sizeof e->current_pub);
    return 0;
}

static int generate_key(veil_entity *e, size_t i, veil_secret *out)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = VEIL_SECRET_ED25519;
    a.persistence = VEIL_PERSISTENT;
    a.exportable = false;
    key_label(e, i, a.label);
    int rc = veil_vault_generate(e->vault, &a, out);
    if (rc < 0)
        return veil_error_wrap(rc, "entity '%s': generating key %zu", e->name, i);
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

int veil_entity_create(veil_node *node, veil_vault *vault, const char *name, veil_entity **out)
{
    veil_entity *e;
    int rc = entity_alloc(node, vault, name, &e);
    if (rc < 0)
        return rc;
    if (name == NULL)
        rc = random_name(e);
    char label[VEIL_LABEL_MAX + 1];
    veil_secret existing;
    key_label(e, 0, label);
    if (rc == 0 && veil_vault_find_by_label(e->vault, label, &existing) == 0)
        rc = veil_error_set(VEIL_EEXIST, "entity '%s' already exists in this vault (secret "
                            "'%s'); use veil_entity_open", e->name, label);
    if (rc == 0)
        rc = generate_key(e, 0, &e->keys[0]);
    if (rc == 0) {
        e->nkeys = 1;
        rc = entity_refresh(e);
    }
    if (rc < 0) {
        if (e->nkeys > 0 && veil_vault_destroy(e->vault, e->keys[0]) < 0)
            veil_log(VEIL_LOG_WARN, "entity", "entity '%s': could not remove the key of a "
                     "failed creation", e->name);
        veil_entity_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

int veil_entity_open(veil_node *node, veil_vault *vault, const char *name, veil_entity **out)
{
    if (name == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_entity_open: name is NULL");
    veil_entity *e;
    int rc = entity_alloc(node, vault, name, &e);
    if (rc < 0)
        return rc;
    char label[VEIL_LABEL_MAX + 1];
    for (size_t i = 0; i < VEIL_HISTORY_MAX_EVENTS; i++) {
        key_label(e, i, label);
        if (veil_vault_find_by_label(e->vault, label, &e->keys[i]) < 0)
            break;
        e->nkeys = i + 1;
    }
    if (e->nkeys == 0)
        rc = veil_error_set(VEIL_ENOTFOUND, "no entity '%s' in this vault (no secret labelled "
                            "'veil.entity.%s.key.0')", name, name);
    else
        rc = entity_refresh(e);
    if (rc < 0) {
        veil_entity_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

veil_entity *veil__entity_ref(veil_entity *e)
{
    if (e != NULL)
        e->refs++;
    return e;
}

void veil_entity_free(veil_entity *e)
{
    if (e == NULL || --e->refs > 0)
        return;
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

int veil_entity_public_key(const veil_entity *e, uint8_t out[VEIL_ED25519_PUBLIC_BYTES])
{
    if (e == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_entity_public_key: %s is NULL",
                              e == NULL ? "entity" : "out");
    memcpy(out, e->current_pub, VEIL_ED25519_PUBLIC_BYTES);
    return 0;
}

veil_secret veil_entity_current_key(const veil_entity *e)
{
    return e != NULL && e->nkeys > 0 ? e->keys[e->nkeys - 1] : 0;
}

int veil_entity_rotate(veil_entity *e)
{
    if (e == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_entity_rotate: entity is NULL");
    if (e->nkeys >= VEIL_HISTORY_MAX_EVENTS)
        return veil_error_set(VEIL_ELIMIT, "entity '%s': %zu events already, the history "
                              "holds at most %u", e->name, e->nkeys,
                              (unsigned)VEIL_HISTORY_MAX_EVENTS);
    veil_secret k;
    int rc = generate_key(e, e->nkeys, &k);
    if (rc < 0)
        return rc;
    e->keys[e->nkeys++] = k;
    rc = entity_refresh(e);
    if (rc < 0) {
        /* Keep the vault and the history in step: the key goes again. */
        e->keys[--e->nkeys] = 0;
        if (veil_vault_destroy(e->vault, k) < 0)
            veil_log(VEIL_LOG_WARN, "entity", "entity '%s': could not remove key %zu of a "
                     "failed rotation", e->name, e->nkeys);
        return rc;
    }
    return 0;
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

int veil_entity_sign(veil_entity *e, const uint8_t *msg, size_t len,
                     uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    if (e == NULL || sig == NULL || (msg == NULL && len > 0))
        return veil_error_set(VEIL_EINVAL, "veil_entity_sign: %s is NULL",
                              e == NULL ? "entity" : sig == NULL ? "sig" : "msg");
    return veil_vault_sign(e->vault, e->keys[e->nkeys - 1], msg, len, sig);
}
