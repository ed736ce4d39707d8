/* Keys held by the token (the pkcs11 vault's signing keys): Ed25519 key
 * pairs made in the token with CKM_EC_EDWARDS_KEY_PAIR_GEN and used with
 * CKM_EDDSA, and P-256 key pairs made with CKM_EC_KEY_PAIR_GEN and used
 * with CKM_ECDSA over a SHA-256 digest the vault computes (token, private,
 * sensitive, never extractable).  Their
 * handles have zero low 32 bits, which the vault core never hands out
 * (its handles are generation << 32 | slot + 1), so one handle space
 * serves both halves of the vault and a token key's handle is never
 * reused while the instance lives. */
#ifndef VEIL_VAULT_P11_KEYS_H
#define VEIL_VAULT_P11_KEYS_H

#include <veil/vault.h>

#include "p11.h"
#include "vault_core.h"

#define P11_ID_MAX 64u                 /* CKA_ID bytes veil reads */

typedef struct p11_key {
    uint32_t id;                       /* handle = id << 32; 0: free entry */
    CK_OBJECT_HANDLE priv, pub;
    int type;                          /* VEIL_SECRET_ED25519 or VEIL_SECRET_P256 */
    char label[VEIL_LABEL_MAX + 1];
    char cka_id[2 * P11_ID_MAX + 1];   /* CKA_ID, hex */
    size_t pub_len;                    /* 32 or 33 */
    uint8_t pub_bytes[VEIL_P256_PUBLIC_BYTES];
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
    bool has_ed25519, has_p256;        /* the token's mechanisms for each key type */
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

/* 0 when the token offers key pair generation and signing for identity
 * key type (VEIL_SECRET_ED25519 or VEIL_SECRET_P256), else
 * VEIL_EUNSUPPORTED naming the first missing mechanism. */
VC_HIDDEN int p11_key_type_check(p11_state *st, int type);
/* At open: which types the token can hold (has_ed25519, has_p256);
 * VEIL_EUNSUPPORTED naming the missing mechanisms when neither. */
VC_HIDDEN int p11_key_types(p11_state *st);

/* Every Ed25519 or P-256 private key on the token whose public half is there too
 * (matched by CKA_ID).  key_label / key_id (hex CKA_ID; NULL: none) name
 * a key that must be among them: VEIL_ENOTFOUND otherwise. */
VC_HIDDEN int p11_keys_load(p11_state *st, vc_vault *vc, const char *key_label,
                           const char *key_id);
/* A new key pair of type in the token labelled label. */
VC_HIDDEN int p11_key_generate(p11_state *st, vc_vault *vc, int type, const char *label,
                              veil_secret *out);
/* Ed25519: CKM_EDDSA over msg; P-256: CKM_ECDSA over SHA-256(msg) (the
 * vault core's hash), r || s normalised to low S. */
VC_HIDDEN int p11_key_sign(p11_state *st, vc_vault *vc, p11_key *k, const uint8_t *msg,
                          size_t len, uint8_t sig[VEIL_SIGNATURE_BYTES]);
/* Destroy both objects in the token and forget the key. */
VC_HIDDEN int p11_key_destroy(p11_state *st, p11_key *k);
VC_HIDDEN void p11_keys_free(p11_state *st);

#endif
