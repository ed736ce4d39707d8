/* Identity binding for secure channels (docs/PROTOCOL.md, "Secure
 * channel"): each entity has an X25519 key-agreement static key in its
 * vault and an attestation of it signed by its current identity key; the
 * peer checks the attestation against the verified change history and that
 * the attested key is the static key the key agreement authenticated.
 *
 * Both sides cache, so a repeat channel costs no signature:
 *  - local: (vault, identity key handle, identity public key) → static key
 *    handle, its public key, attestation.  A hit is re-validated with one
 *    O(1) attributes lookup (the handle still carries the expected label),
 *    so a closed and re-opened vault at the same address is never trusted
 *    blindly.
 *  - peer: the exact bytes verified (remote static, signature, history) →
 *    the verified history view.  Equality of all the bytes means the same
 *    signatures over the same data, so the earlier verification holds.
 * Both caches are small fixed tables (no allocation), process-wide, under
 * one mutex each, replaced round-robin. */
#include "channel_internal.h"

#include <veil/error.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define LOCAL_SLOTS 32u
#define PEER_SLOTS 64u
#define PEER_HISTORY_CACHED 1024u   /* longer histories are verified each time */

typedef struct local_slot {
    bool used;
    veil_vault *vault;
    veil_secret id_key;
    uint8_t id_pub[VEIL_ED25519_PUBLIC_BYTES];
    veil_ch_local val;
} local_slot;

typedef struct peer_slot {
    bool used;
    uint8_t remote[VEIL_X25519_KEY_BYTES];
    uint8_t sig[VEIL_SIGNATURE_BYTES];
    size_t history_len;
    uint8_t history[PEER_HISTORY_CACHED];
    veil_history_view view;
} peer_slot;

static pthread_mutex_t local_mu = PTHREAD_MUTEX_INITIALIZER;
static local_slot locals[LOCAL_SLOTS];
static unsigned local_next;
static pthread_mutex_t peer_mu = PTHREAD_MUTEX_INITIALIZER;
static peer_slot peers[PEER_SLOTS];
static unsigned peer_next;

/* "veil.channel.ka.<first 40 hex digits of the identifier>": unique per
 * entity in a vault, fits VEIL_LABEL_MAX, lets a persistent vault find the
 * same static key again. */
static void static_label(const veil_entity *e, char out[VEIL_LABEL_MAX + 1])
{
    snprintf(out, VEIL_LABEL_MAX + 1, "veil.channel.ka.%.40s", veil_entity_identifier(e) + 1);
}

static bool local_lookup(veil_vault *v, veil_secret idk, const uint8_t *id_pub,
                         veil_ch_local *out)
{
    bool hit = false;
    pthread_mutex_lock(&local_mu);
    for (unsigned i = 0; i < LOCAL_SLOTS && !hit; i++) {
        local_slot *s = &locals[i];
        if (s->used && s->vault == v && s->id_key == idk &&
            memcmp(s->id_pub, id_pub, sizeof s->id_pub) == 0) {
            *out = s->val;
            hit = true;
        }
    }
    pthread_mutex_unlock(&local_mu);
    return hit;
}

static void local_store(veil_vault *v, veil_secret idk, const uint8_t *id_pub,
                        const veil_ch_local *val)
{
    pthread_mutex_lock(&local_mu);
    local_slot *s = &locals[local_next++ % LOCAL_SLOTS];
    s->used = true;
    s->vault = v;
    s->id_key = idk;
    memcpy(s->id_pub, id_pub, sizeof s->id_pub);
    s->val = *val;
    pthread_mutex_unlock(&local_mu);
}

/* Find or make the entity's static key (persistent: a file vault keeps it
 * with the identity, so peers' caches stay valid across restarts). */
static int static_key(veil_vault *v, const char *label, veil_secret *out)
{
    if (veil_vault_find_by_label(v, label, out) == 0)
        return 0;
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = VEIL_SECRET_X25519;
    a.persistence = VEIL_PERSISTENT;
    snprintf(a.label, sizeof a.label, "%s", label);
    int rc = veil_vault_generate(v, &a, out);
    return rc < 0 ? veil_error_wrap(rc, "secure channel: making static key '%s'", label) : 0;
}

int veil__ch_local_get(veil_entity *e, veil_ch_local *out)
{
    veil_vault *v = veil_entity_vault(e);
    veil_secret idk = veil_entity_current_key(e);
    uint8_t id_pub[VEIL_ED25519_PUBLIC_BYTES];
    char label[VEIL_LABEL_MAX + 1];
    int rc = veil_entity_public_key(e, id_pub);
    if (rc < 0)
        return rc;
    static_label(e, label);
    if (local_lookup(v, idk, id_pub, out)) {
        veil_secret_attrs a;
        if (veil_vault_attributes(v, out->static_key, &a) == 0 && strcmp(a.label, label) == 0)
            return 0;
    }
    memset(out, 0, sizeof *out);
    if ((rc = static_key(v, label, &out->static_key)) < 0)
        return rc;
    size_t plen = 0;
    rc = veil_vault_public_key(v, out->static_key, out->static_pub, sizeof out->static_pub, &plen);
    if (rc < 0 || plen != sizeof out->static_pub)
        return rc < 0 ? rc : veil_error_set(VEIL_ETYPE, "secure channel: '%s' is not X25519", label);
    uint8_t msg[64];
    size_t mlen = veil__ch_attest_message(msg, sizeof msg, VEIL_SECRET_X25519, out->static_pub,
                                          plen);
    if ((rc = veil_entity_sign(e, msg, mlen, out->sig)) < 0)
        return veil_error_wrap(rc, "secure channel: signing the static key attestation of %s",
                               veil_entity_identifier(e));
    local_store(v, idk, id_pub, out);
    return 0;
}

static bool peer_lookup(const veil_ch_proof *p, const uint8_t *remote, veil_history_view *view)
{
    bool hit = false;
    if (p->history_len > PEER_HISTORY_CACHED)
        return false;
    pthread_mutex_lock(&peer_mu);
    for (unsigned i = 0; i < PEER_SLOTS && !hit; i++) {
        peer_slot *s = &peers[i];
        if (s->used && s->history_len == p->history_len &&
            memcmp(s->remote, remote, sizeof s->remote) == 0 &&
            memcmp(s->sig, p->sig, sizeof s->sig) == 0 &&
            memcmp(s->history, p->history, p->history_len) == 0) {
            *view = s->view;
            hit = true;
        }
    }
    pthread_mutex_unlock(&peer_mu);
    return hit;
}

static void peer_store(const veil_ch_proof *p, const uint8_t *remote,
                       const veil_history_view *view)
{
    if (p->history_len > PEER_HISTORY_CACHED)
        return;
    pthread_mutex_lock(&peer_mu);
    peer_slot *s = &peers[peer_next++ % PEER_SLOTS];
    s->used = true;
    memcpy(s->remote, remote, sizeof s->remote);
    memcpy(s->sig, p->sig, sizeof s->sig);
    s->history_len = p->history_len;
    memcpy(s->history, p->history, p->history_len);
    s->view = *view;
    pthread_mutex_unlock(&peer_mu);
}

int veil__ch_peer_verify(veil_vault *v, const veil_ch_proof *proof, const uint8_t *remote,
                         size_t remote_len, veil_history_view *view)
{
    if (remote_len != VEIL_X25519_KEY_BYTES)
        return veil_error_set(VEIL_EHANDSHAKE, "secure channel: the key agreement authenticated a "
                              "%zu-byte static key (expected X25519, 32 bytes)", remote_len);
    if (peer_lookup(proof, remote, view))
        return 0;
    int rc = veil__history_verify_view(v, proof->history, proof->history_len, view);
    if (rc < 0)
        return veil_error_wrap(VEIL_EAUTH, "secure channel: the peer's change history (%s)",
                               veil_strerror(rc));
    uint8_t msg[64];
    size_t mlen = veil__ch_attest_message(msg, sizeof msg, VEIL_SECRET_X25519, remote, remote_len);
    rc = veil_vault_verify(v, VEIL_SECRET_ED25519, view->info.current_key,
                           sizeof view->info.current_key, msg, mlen, proof->sig);
    if (rc < 0)
        return veil_error_set(VEIL_EAUTH, "secure channel: peer %s: the attestation does not "
                              "bind the key agreement's static key to its current identity key",
                              view->info.identifier);
    peer_store(proof, remote, view);
    return 0;
}
