/* Identity binding for secure channels (docs/PROTOCOL.md, "Secure
 * channel"): each identity key of an entity has its own X25519
 * key-agreement static key in the entity's vault and an attestation of it
 * signed by that identity key, with an expiry (entity.c makes both; a
 * rotation makes new ones and destroys the old static key).  The peer
 * checks the attestation against the verified change history and that the
 * attested key is the static key the key agreement authenticated.
 *
 * The peer side caches: the exact bytes verified (remote static,
 * attestation expiry and signature, history) → the verified history view.
 * Equality of all the bytes means the same signatures over the same data,
 * so the earlier signature checks hold; what depends on the clock (expiry
 * of the key and of the attestation) is checked on every call, hit or not,
 * and the contacts check runs after this in the handshake, always.  The
 * cache is a small fixed table (no allocation), process-wide, under one
 * mutex, replaced round-robin. */
#include "channel_internal.h"

#include <veil/error.h>

#include <pthread.h>
#include <string.h>

#define PEER_SLOTS 64u
#define PEER_HISTORY_CACHED 1024u   /* longer histories are verified each time */

typedef struct peer_slot {
    bool used;
    uint8_t remote[VEIL_X25519_KEY_BYTES];
    uint64_t expires;
    uint8_t sig[VEIL_SIGNATURE_BYTES];
    size_t history_len;
    uint8_t history[PEER_HISTORY_CACHED];
    veil_history_view view;
} peer_slot;

static pthread_mutex_t peer_mu = PTHREAD_MUTEX_INITIALIZER;
static peer_slot peers[PEER_SLOTS];
static unsigned peer_next;

int veil__ch_local_get(veil_entity *e, veil_ch_local *out)
{
    const veil_entity_static *st = veil__entity_static(e);
    if (st->key == 0)
        return veil_error_set(VEIL_ESTATE, "secure channel: entity %s has no static key",
                              veil_entity_identifier(e));
    out->static_key = st->key;
    memcpy(out->static_pub, st->pub, sizeof out->static_pub);
    memcpy(out->sig, st->sig, sizeof out->sig);
    out->expires = st->expires;
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
        if (s->used && s->history_len == p->history_len && s->expires == p->expires &&
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
    s->expires = p->expires;
    memcpy(s->sig, p->sig, sizeof s->sig);
    s->history_len = p->history_len;
    memcpy(s->history, p->history, p->history_len);
    s->view = *view;
    pthread_mutex_unlock(&peer_mu);
}

/* The signatures: history, then the attestation of remote under its
 * current key. */
static int verify_signatures(veil_vault *v, const veil_ch_proof *proof, const uint8_t *remote,
                             veil_history_view *view)
{
    int rc = veil__history_verify_view(v, proof->history, proof->history_len, view);
    if (rc < 0)
        return veil_error_wrap(rc == VEIL_EEXPIRED ? rc : VEIL_EAUTH,
                               "secure channel: the peer's change history (%s)",
                               veil_strerror(rc));
    uint8_t payload[VEIL_ATTEST_PAYLOAD_MAX];
    size_t n = veil__attest_payload(payload, VEIL_SECRET_X25519, remote, VEIL_X25519_KEY_BYTES,
                                    proof->expires);
    rc = veil__identity_verify(v, view->info.key_type, view->info.current_key,
                               view->info.key_len, VEIL_DOMAIN_ATTEST, payload, n, proof->sig);
    if (rc < 0)
        return veil_error_set(VEIL_EAUTH, "secure channel: peer %s: the attestation does not "
                              "bind the key agreement's static key to its current identity key",
                              view->info.identifier);
    return 0;
}

/* What depends on the clock: the current key, then the attestation. */
static int check_clock(const veil_ch_proof *proof, const veil_history_view *view,
                       const veil_history_clock *clock)
{
    int rc = veil__history_check_clock(&view->info, clock);
    if (rc < 0)
        return veil_error_wrap(rc, "secure channel: peer refused");
    uint64_t e = proof->expires;
    if (e != 0 && clock->now > e && clock->now - e > clock->clock_skew)
        return veil_error_set(VEIL_EEXPIRED, "secure channel: peer %s: its static key "
                              "attestation expired at %llu (now %llu, clock skew allowance %llu "
                              "s)", view->info.identifier, (unsigned long long)e,
                              (unsigned long long)clock->now,
                              (unsigned long long)clock->clock_skew);
    return 0;
}

int veil__ch_peer_verify(veil_vault *v, const veil_ch_proof *proof, const uint8_t *remote,
                         size_t remote_len, const veil_history_clock *clock,
                         veil_history_view *view)
{
    if (remote_len != VEIL_X25519_KEY_BYTES)
        return veil_error_set(VEIL_EHANDSHAKE, "secure channel: the key agreement authenticated a "
                              "%zu-byte static key (expected X25519, 32 bytes)", remote_len);
    if (!peer_lookup(proof, remote, view)) {
        int rc = verify_signatures(v, proof, remote, view);
        if (rc < 0)
            return rc;
        peer_store(proof, remote, view);
    }
    return check_clock(proof, view, clock);
}
