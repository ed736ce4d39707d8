/* Keys held by the token (the pkcs11 vault's signing keys): Ed25519 key
 * pairs made in the token with CKM_EC_EDWARDS_KEY_PAIR_GEN (token,
 * private, sensitive, never extractable) and used with CKM_EDDSA.  Their
 * handles have zero low 32 bits, which the vault core never hands out
 * (its handles are generation << 32 | slot + 1), so one handle space
 * serves both halves of the vault and a token key's handle is never
 * reused while the instance lives. */
#ifndef VEIL_VAULT_P11_KEYS_H
#define VEIL_VAULT_P11_KEYS_H

#include <veil/vault.h>

#include "p11.h"
#include "vault_core.h"

typedef struct p11_key {
    uint32_t id;                       /* handle = id << 32; 0: free entry */
    CK_OBJECT_HANDLE priv, pub;
    char label[VEIL_LABEL_MAX + 1];
    uint8_t pub_bytes[VEIL_ED25519_PUBLIC_BYTES];
    char key_id[VEIL_KEY_ID_TEXT_BYTES];
} p11_key;

typedef struct p11_state {
    p11_module mod;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE sess;
    char token[160];                   /* "'label' (serial S)" for messages */
    p11_key *keys;
    size_t nkeys;
    uint32_t next_id;
    CK_OBJECT_HANDLE records;          /* the records object, or CK_INVALID_HANDLE */
    uint64_t records_gen;              /* its generation */
} p11_state;

static inline bool p11_is_token_handle(veil_secret s)
{
    return (s & 0xffffffffu) == 0 && s != 0;
}

/* The token key of handle s, or NULL. */
VC_HIDDEN p11_key *p11_key_of(p11_state *st, veil_secret s);
VC_HIDDEN p11_key *p11_key_by_label(p11_state *st, const char *label);
VC_HIDDEN p11_key *p11_key_by_key_id(p11_state *st, const char *key_id);

/* Every Ed25519 private key on the token whose public half is there too
 * (matched by CKA_ID).  key_label / key_id (hex CKA_ID; NULL: none) name
 * a key that must be among them: VEIL_ENOTFOUND otherwise. */
VC_HIDDEN int p11_keys_load(p11_state *st, vc_vault *vc, const char *key_label,
                           const char *key_id);
/* A new key pair in the token labelled label. */
VC_HIDDEN int p11_key_generate(p11_state *st, vc_vault *vc, const char *label, veil_secret *out);
VC_HIDDEN int p11_key_sign(p11_state *st, p11_key *k, const uint8_t *msg, size_t len,
                          uint8_t sig[VEIL_SIGNATURE_BYTES]);
/* Destroy both objects in the token and forget the key. */
VC_HIDDEN int p11_key_destroy(p11_state *st, p11_key *k);
VC_HIDDEN void p11_keys_free(p11_state *st);

#endif
