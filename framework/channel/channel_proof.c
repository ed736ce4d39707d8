/* Identity proofs (docs/PROTOCOL.md, "Handshake and identity binding"):
 * what binds a key agreement's static key to a veil identity.  A channel
 * carries one in handshake messages 2 and 3; key agreements that publish a
 * listener's static key elsewhere (X3DH's prekey directory) carry one too,
 * through veil_identity_proof / veil_identity_proof_verify
 * (secure_channel.h), without knowing the format.
 *
 *   proof = version:u8 (2) || attestation expiry:u64be
 *           || attestation signature (64) || encoded change history */
#include "channel_internal.h"

#include <veil/error.h>

#include <stdlib.h>
#include <string.h>

/* version || expiry || attestation || history, in a buffer of its exact size
 * (*out, malloc'd; the caller frees it). */
int veil__ch_proof_make(veil_entity *e, const veil_ch_local *loc, uint8_t **out, size_t *len)
{
    size_t hlen;
    const uint8_t *h = veil_entity_history(e, &hlen);
    if (h == NULL || VEIL_CH_PROOF_MIN + hlen > VEIL_KA_MESSAGE_MAX - VEIL_CH_KA_HEADROOM)
        return veil_error_set(VEIL_ELIMIT, "secure channel: change history of %s is %zu bytes "
                              "(does not fit a handshake message)",
                              veil_entity_identifier(e), hlen);
    uint8_t *p = malloc(VEIL_CH_PROOF_MIN + hlen);
    if (p == NULL)
        return veil_error_set(VEIL_ENOMEM, "secure channel: out of memory");
    p[0] = VEIL_CH_PROOF_VERSION;
    veil__store_be64(p + 1, loc->expires);
    memcpy(p + 1 + 8, loc->sig, VEIL_SIGNATURE_BYTES);
    memcpy(p + VEIL_CH_PROOF_MIN, h, hlen);
    *out = p;
    *len = VEIL_CH_PROOF_MIN + hlen;
    return 0;
}

int veil_identity_proof(veil_entity *e, veil_secret *static_key, uint8_t **proof, size_t *len)
{
    veil_ch_local loc;
    if (e == NULL || static_key == NULL || proof == NULL || len == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_identity_proof: entity, static_key, proof and "
                              "len must be set");
    *proof = NULL;
    *len = 0;
    int rc = veil__ch_local_get(e, &loc);
    if (rc == 0)
        rc = veil__ch_proof_make(e, &loc, proof, len);
    if (rc == 0)
        *static_key = loc.static_key;
    return rc;
}

int veil_identity_proof_verify(veil_vault *v, const uint8_t *proof, size_t len,
                               const uint8_t *static_pub, size_t static_len,
                               veil_history_info *out)
{
    veil_ch_proof p;
    veil_history_view view;
    veil_identity_settings defaults;
    veil_history_clock clock;
    if (v == NULL || proof == NULL || static_pub == NULL || out == NULL ||
        static_len != VEIL_X25519_KEY_BYTES)
        return veil_error_set(VEIL_EINVAL, "veil_identity_proof_verify: vault, proof, static_pub "
                              "(%u bytes, X25519) and out must be set", VEIL_X25519_KEY_BYTES);
    /* No node here: the clock check uses the [identity] defaults. */
    veil__identity_defaults(&defaults);
    veil__identity_clock(&defaults, &clock);
    int rc = veil__ch_proof_parse(proof, len, &p);
    if (rc == 0)
        rc = veil__ch_peer_verify(v, &p, static_pub, static_len, &clock, &view);
    if (rc == 0)
        *out = view.info;
    return rc;
}
