/* Noise Protocol Framework (revision 34) — internal interface of the noise
 * plugin.  Not installed: the plugin module, the vector runner, the unit
 * tests, the fuzzer and the bench link the same convenience library and
 * drive HandshakeState / CipherState directly.
 *
 * All cryptography goes through the vault (veil/vault.h): h is public,
 * ck and every key k are vault secrets that never leave the vault. */
#ifndef VEIL_NOISE_H
#define VEIL_NOISE_H

#include <veil/common.h>
#include <veil/error.h>
#include <veil/vault.h>
#include <veil/key_agreement.h>
#include <stdbool.h>

#include "helpers.h" /* wiping, dropping secrets */

#define NOISE_HIDDEN __attribute__((visibility("hidden")))

#define NOISE_NAME_MAX 128u          /* longest protocol name accepted */
#define NOISE_MAX_MESSAGES 4u        /* deferred patterns have up to 4 */
#define NOISE_MAX_TOKENS 8u          /* per message, psk tokens included */
#define NOISE_MAX_PSKS 4u            /* psk0..psk3 */
#define NOISE_NONCE_MAX UINT64_MAX   /* 2^64-1: reserved for Rekey */

/* Tokens of a message pattern. */
enum noise_token {
    NOISE_TOK_E = 1,
    NOISE_TOK_S,
    NOISE_TOK_EE,
    NOISE_TOK_ES,
    NOISE_TOK_SE,
    NOISE_TOK_SS,
    NOISE_TOK_PSK,
};

/* ---- patterns.c ---------------------------------------------------- */

/* A handshake pattern from the spec, in text form ("e, es, s, ss").
 * Pre-messages are "" or "s"; messages alternate initiator → responder,
 * responder → initiator, starting with the initiator. */
typedef struct noise_pattern_def {
    const char *name;
    const char *pre_initiator;
    const char *pre_responder;
    const char *messages[NOISE_MAX_MESSAGES];   /* NULL-terminated */
    bool one_way;
} noise_pattern_def;

/* A pattern with its psk modifiers applied (§9), as token arrays. */
typedef struct noise_pattern {
    const noise_pattern_def *def;
    uint8_t pre_init[2], n_pre_init;   /* tokens of the pre-messages */
    uint8_t pre_resp[2], n_pre_resp;
    uint8_t tokens[NOISE_MAX_MESSAGES][NOISE_MAX_TOKENS];
    uint8_t n_tokens[NOISE_MAX_MESSAGES];
    uint8_t n_messages;
    uint8_t n_psks;                    /* psk tokens in the whole pattern */
    bool has_psk;                      /* "e" then also does MixKey (§9.2) */
    bool one_way;
} noise_pattern;

NOISE_HIDDEN const noise_pattern_def *noise_pattern_find(const char *name, size_t len);
NOISE_HIDDEN size_t noise_pattern_count(void);
NOISE_HIDDEN const noise_pattern_def *noise_pattern_at(size_t i);
/* Build the token form of def with psk modifiers psk_mask (bit i = pski).
 * VEIL_EINVAL when a modifier names a message the pattern does not have. */
NOISE_HIDDEN int noise_pattern_build(const noise_pattern_def *def, unsigned psk_mask,
                                     noise_pattern *out);
/* What role (veil_ka_role) needs: its own static key; the peer's static
 * key in advance (pre-message); whether the peer sends its static key. */
NOISE_HIDDEN void noise_pattern_needs(const noise_pattern *p, int role, bool *local_s,
                                      bool *remote_s_pre, bool *remote_s_sent);

/* ---- protocol.c ---------------------------------------------------- */

typedef struct noise_protocol {
    char name[NOISE_NAME_MAX + 1];
    noise_pattern pattern;
    int dh_type;            /* VEIL_SECRET_X25519 / VEIL_SECRET_X448 */
    size_t dhlen;
    int cipher_type;        /* VEIL_SECRET_AES256GCM / VEIL_SECRET_CHACHAPOLY */
    int nonce_format;       /* veil_nonce_format of the cipher */
    int hash_alg;           /* veil_hash_alg */
    size_t hashlen;
} noise_protocol;

/* Strict parse of Noise_<pattern>_<dh>_<cipher>_<hash>.  VEIL_EINVAL with a
 * detail naming the bad part and the accepted values. */
NOISE_HIDDEN int noise_protocol_parse(const char *name, noise_protocol *out);

/* ---- cipher.c: CipherState ----------------------------------------- */

typedef struct noise_cipher {
    veil_vault *vault;
    veil_secret k;          /* 0: no key (EncryptWithAd is the identity) */
    uint64_t n;
    int nonce_format;
    bool owns_key;          /* destroy k on free / rekey */
} noise_cipher;

NOISE_HIDDEN void noise_cipher_init(noise_cipher *c, veil_vault *v, int nonce_format);
/* Take k (the cipher then owns it) and reset n to 0. */
NOISE_HIDDEN void noise_cipher_set_key(noise_cipher *c, veil_secret k, bool owns);
NOISE_HIDDEN bool noise_cipher_has_key(const noise_cipher *c);
/* Destroy an owned key; k = 0, n = 0. */
NOISE_HIDDEN void noise_cipher_clear(noise_cipher *c);
/* In place: buf holds len plaintext bytes, room for len+16 (no key: no tag,
 * nothing changes).  *out_len = len (+16 with a key).  n advances. */
NOISE_HIDDEN int noise_cipher_encrypt(noise_cipher *c, const uint8_t *ad, size_t ad_len,
                                      uint8_t *buf, size_t len, size_t *out_len);
/* In place: len = ciphertext + tag.  n advances only on success. */
NOISE_HIDDEN int noise_cipher_decrypt(noise_cipher *c, const uint8_t *ad, size_t ad_len,
                                      uint8_t *buf, size_t len, size_t *out_len);
/* Explicit-nonce forms (out-of-order delivery): n is neither read nor
 * advanced.  2^64-1 refused (VEIL_ENONCE). */
NOISE_HIDDEN int noise_cipher_encrypt_at(noise_cipher *c, uint64_t n, const uint8_t *ad,
                                         size_t ad_len, uint8_t *buf, size_t len,
                                         size_t *out_len);
NOISE_HIDDEN int noise_cipher_decrypt_at(noise_cipher *c, uint64_t n, const uint8_t *ad,
                                         size_t ad_len, uint8_t *buf, size_t len,
                                         size_t *out_len);
/* Rekey(): k = first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros); n kept
 * (veil_key_agreement_rekey, which rekeys a bare key handle). */
NOISE_HIDDEN int noise_cipher_rekey(noise_cipher *c);

/* ---- symmetric.c: SymmetricState ----------------------------------- */

typedef struct noise_symmetric {
    veil_vault *vault;
    const noise_protocol *proto;
    noise_cipher cs;
    veil_secret ck;                 /* vault BUFFER of hashlen bytes */
    uint8_t h[VEIL_HASH_MAX_BYTES];
} noise_symmetric;

NOISE_HIDDEN int noise_symmetric_init(noise_symmetric *ss, veil_vault *v,
                                      const noise_protocol *proto);
NOISE_HIDDEN int noise_symmetric_mix_hash(noise_symmetric *ss, const uint8_t *data,
                                          size_t len);
/* ikm is a secret (DH output, psk) or public bytes (the "e" token in psk mode). */
NOISE_HIDDEN int noise_symmetric_mix_key(noise_symmetric *ss, const veil_vault_input *ikm);
NOISE_HIDDEN int noise_symmetric_mix_key_and_hash(noise_symmetric *ss,
                                                  const veil_vault_input *ikm);
/* buf holds len bytes with room for +16; *out_len the ciphertext length. */
NOISE_HIDDEN int noise_symmetric_encrypt_and_hash(noise_symmetric *ss, uint8_t *buf,
                                                  size_t len, size_t *out_len);
NOISE_HIDDEN int noise_symmetric_decrypt_and_hash(noise_symmetric *ss, uint8_t *buf,
                                                  size_t len, size_t *out_len);
/* Two new AEAD secrets (c1 for initiator → responder, c2 the other way). */
NOISE_HIDDEN int noise_symmetric_split(noise_symmetric *ss, veil_secret *k1,
                                       veil_secret *k2);
/* Destroy ck and k, wipe h. */
NOISE_HIDDEN void noise_symmetric_clear(noise_symmetric *ss);

/* ---- handshake.c: HandshakeState ----------------------------------- */

enum noise_hs_state {
    NOISE_HS_RUNNING = 1,
    NOISE_HS_DONE,          /* all messages processed, split not yet called */
    NOISE_HS_SPLIT,
    NOISE_HS_FAILED,
};

typedef struct noise_handshake {
    noise_protocol proto;
    noise_symmetric sym;
    veil_vault *vault;
    int role;
    int state;
    unsigned msg_index;
    unsigned psk_index;
    veil_secret s, e;               /* local keys */
    bool owns_e;                    /* generated here (not preset) */
    uint8_t s_pub[VEIL_PUBLIC_KEY_MAX_BYTES];
    uint8_t e_pub[VEIL_PUBLIC_KEY_MAX_BYTES];
    uint8_t rs[VEIL_PUBLIC_KEY_MAX_BYTES];
    uint8_t re[VEIL_PUBLIC_KEY_MAX_BYTES];
    bool have_rs, have_re;
    bool rs_expected;               /* rs was given and must match */
    uint8_t rs_expect[VEIL_PUBLIC_KEY_MAX_BYTES];
    veil_secret psks[NOISE_MAX_PSKS];
    unsigned n_psks;
} noise_handshake;

/* params->protocol must be set (the plugin fills in its default). */
NOISE_HIDDEN int noise_handshake_new(const veil_ka_params *params,
                                     noise_handshake **out);
/* The rest have the signatures of the session ops of veil_key_agreement_ops
 * (session is a noise_handshake *), so the plugin's table points straight
 * at them. */
/* Wipes and frees; NULL ok. */
NOISE_HIDDEN void noise_handshake_free(void *session);
/* veil_ka_action */
NOISE_HIDDEN int noise_handshake_next_action(void *session);
/* payload must not overlap out; in may alias payload on read. */
NOISE_HIDDEN int noise_handshake_write(void *session, const uint8_t *payload,
                                       size_t payload_len, uint8_t *out, size_t cap,
                                       size_t *out_len);
NOISE_HIDDEN int noise_handshake_read(void *session, const uint8_t *in, size_t len,
                                      uint8_t *payload, size_t cap, size_t *payload_len);
/* Transport keys in role order; the caller owns them. */
NOISE_HIDDEN int noise_handshake_split(void *session, veil_ka_result *out);

#endif
