/* Signal's X3DH (revision 1, 2016-11-04) as a veil key agreement —
 * internal interface of the x3dh plugin, shared by its two halves:
 *
 *   protocol (x3dh_encode.c, x3dh_derive.c, x3dh_session.c, plugin.c)
 *   prekeys  (x3dh_store.c: the responder's prekey store; the prekey
 *             service worker; both built on the codecs and signing below)
 *
 * Not installed.  The module x3dh.la, the unit tests, the KAT runner, the
 * interop peer and the fuzzer link the same convenience library
 * (libx3dh-core.la: encode, derive, session; NOT the store, so a test can
 * link its own store).  docs/X3DH.md has the wire formats and every choice.
 *
 * All cryptography goes through the vault: private keys, DH outputs, SK,
 * chaining keys and AEAD keys are vault secrets that never appear here. */
#ifndef VEIL_X3DH_H
#define VEIL_X3DH_H

#include <veil/common.h>
#include <veil/error.h>
#include <veil/vault.h>
#include <veil/key_agreement.h>
#include <veil/plugin.h> /* VEIL_ABI_HAS */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "helpers.h" /* byte order, wiping, dropping secrets */

#define X3DH_HIDDEN __attribute__((visibility("hidden")))

#define X3DH_KEY_BYTES 32u           /* X25519 public key u */
#define X3DH_ENC_BYTES 33u           /* Encode(PK) = 0x05 || u */
#define X3DH_KEY_TYPE 0x05u          /* the type byte of Encode (as libsignal) */
#define X3DH_SIG_BYTES 64u           /* XEdDSA signature R || s */
#define X3DH_SK_BYTES 32u
#define X3DH_VERSION 1u              /* first byte of bundles and messages */
#define X3DH_FLAG_OPK 0x01u          /* the only flag bit; others must be 0 */
#define X3DH_INFO_MAX 255u           /* longest HKDF info accepted */
#define X3DH_APPENDIX_MAX 1024u      /* longest AD appendix accepted */
#define X3DH_AD_MAX (2u * X3DH_ENC_BYTES + X3DH_APPENDIX_MAX)
#define X3DH_DEFAULT_INFO "veil X3DH v1 X25519 SHA-256"

/* ---- x3dh_encode.c: Encode(PK), bundles, the initial message --------- */

/* out = 0x05 || pub. */
X3DH_HIDDEN void x3dh_encode_key(const uint8_t pub[X3DH_KEY_BYTES],
                                 uint8_t out[X3DH_ENC_BYTES]);
/* Strict decode: type byte 0x05 (else VEIL_EFORMAT), u < 2^255 and not one
 * of the X25519 low-order points (0, 1, the two of order 8, p-1, p, p+1:
 * VEIL_ELOWORDER).  what names the field in the detail ("SPK"). */
X3DH_HIDDEN int x3dh_decode_key(const uint8_t in[X3DH_ENC_BYTES], const char *what,
                                uint8_t pub[X3DH_KEY_BYTES]);
/* The same checks on a raw 32-byte key. */
X3DH_HIDDEN int x3dh_check_key(const uint8_t pub[X3DH_KEY_BYTES], const char *what);
/* The public key of an X25519 vault secret (an Ed25519 key has a 32-byte
 * public key too, so the type is checked, not the length): VEIL_ETYPE
 * "x3dh: <what> is a <type> key, expected X25519". */
X3DH_HIDDEN int x3dh_public_key(veil_vault *v, veil_secret k, const char *what,
                                uint8_t pub[X3DH_KEY_BYTES]);

/* A prekey bundle: what a responder publishes and an initiator needs.
 * Wire format (all integers big-endian):
 *   u8 version = 1 | u8 flags (bit 0: an OPK follows) | Encode(IK) 33 |
 *   u32 SPK id | Encode(SPK) 33 | signature 64 = XEdDSA(IK, Encode(SPK)) |
 *   [u32 OPK id | Encode(OPK) 33]
 * = 136 bytes, 173 with an OPK.  Nothing may follow. */
#define X3DH_BUNDLE_MIN 136u
#define X3DH_BUNDLE_MAX 173u
typedef struct x3dh_bundle {
    uint8_t ik[X3DH_KEY_BYTES];
    uint32_t spk_id;
    uint8_t spk[X3DH_KEY_BYTES];
    uint8_t spk_sig[X3DH_SIG_BYTES];
    bool has_opk;
    uint32_t opk_id;
    uint8_t opk[X3DH_KEY_BYTES];
} x3dh_bundle;

X3DH_HIDDEN size_t x3dh_bundle_len(const x3dh_bundle *b);
/* VEIL_ELIMIT when cap is too small (nothing written). */
X3DH_HIDDEN int x3dh_bundle_encode(const x3dh_bundle *b, uint8_t *out, size_t cap,
                                   size_t *out_len);
/* Parse only (no signature check): VEIL_ETRUNCATED, VEIL_ETRAILING,
 * VEIL_EVERSION, VEIL_EFORMAT (flags, type byte), VEIL_ELOWORDER. */
X3DH_HIDDEN int x3dh_bundle_decode(const uint8_t *in, size_t len, x3dh_bundle *out);
/* b->spk_sig = XEdDSA(ik, Encode(b->spk)); b->ik = public key of ik
 * (an X25519 vault secret). */
X3DH_HIDDEN int x3dh_bundle_sign(veil_vault *v, veil_secret ik, x3dh_bundle *b);
/* Strict XEdDSA verification of b->spk_sig under b->ik over Encode(b->spk).
 * 0 or VEIL_EAUTH (detail names the bundle's SPK id and the vault's
 * reason). */
X3DH_HIDDEN int x3dh_bundle_verify(veil_vault *v, const x3dh_bundle *b);

/* The initial message (handshake message 1, initiator → responder):
 *   u8 version = 1 | u8 flags (bit 0: OPK id present) | Encode(IK_A) 33 |
 *   Encode(EK_A) 33 | u32 SPK id | [u32 OPK id] | AEAD ciphertext (>= 16)
 * The header is 72 bytes (76 with an OPK id). */
#define X3DH_INITIAL_HEADER 72u
#define X3DH_INITIAL_HEADER_OPK 76u
typedef struct x3dh_initial {
    uint8_t ik[X3DH_KEY_BYTES];
    uint8_t ek[X3DH_KEY_BYTES];
    uint32_t spk_id;
    bool has_opk;
    uint32_t opk_id;
    const uint8_t *ct;               /* points into the decoded input */
    size_t ct_len;                   /* includes the 16-byte tag */
} x3dh_initial;

X3DH_HIDDEN size_t x3dh_initial_header_len(bool has_opk);
/* Write the header (m->ct ignored); VEIL_ELIMIT when cap is too small. */
X3DH_HIDDEN int x3dh_initial_encode_header(const x3dh_initial *m, uint8_t *out, size_t cap,
                                           size_t *out_len);
/* Parse and check a whole initial message (ciphertext at least a tag). */
X3DH_HIDDEN int x3dh_initial_decode(const uint8_t *in, size_t len, x3dh_initial *out);

/* ---- x3dh_derive.c: DH1..DH4, SK, AD --------------------------------- */

/* SK = HKDF-SHA-256(salt = 32 zero bytes, IKM = 32 x 0xFF || DH1 || DH2 ||
 * DH3 [|| DH4], info, 32 bytes), made into a vault secret of sk_attrs (NULL:
 * ephemeral, non-exportable 32-byte buffer).  Initiator side: DH1 =
 * DH(IK_A, SPK_B), DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A, SPK_B), DH4 =
 * DH(EK_A, OPK_B) when b->has_opk.  The bundle must have been verified.
 * Every DH output is destroyed before return; VEIL_ELOWORDER names the DH. */
X3DH_HIDDEN int x3dh_derive_initiator(veil_vault *v, veil_secret ik_a, veil_secret ek_a,
                                      const x3dh_bundle *b, const uint8_t *info,
                                      size_t info_len, const veil_secret_attrs *sk_attrs,
                                      veil_secret *sk);
/* Responder side: DH1 = DH(SPK_B, IK_A), DH2 = DH(IK_B, EK_A), DH3 =
 * DH(SPK_B, EK_A), DH4 = DH(OPK_B, EK_A) when opk != 0. */
X3DH_HIDDEN int x3dh_derive_responder(veil_vault *v, veil_secret ik_b, veil_secret spk,
                                      veil_secret opk, const uint8_t ik_a[X3DH_KEY_BYTES],
                                      const uint8_t ek_a[X3DH_KEY_BYTES], const uint8_t *info,
                                      size_t info_len, const veil_secret_attrs *sk_attrs,
                                      veil_secret *sk);
/* AD = Encode(IK_A) || Encode(IK_B) || appendix; VEIL_ELIMIT over cap. */
X3DH_HIDDEN int x3dh_make_ad(const uint8_t ik_a[X3DH_KEY_BYTES],
                             const uint8_t ik_b[X3DH_KEY_BYTES], const uint8_t *appendix,
                             size_t appendix_len, uint8_t *out, size_t cap, size_t *out_len);

/* ---- x3dh_store.c (owned by the prekey side) -------------------------
 *
 * The responder's secrets come from a prekey store: one per (vault,
 * identity key IK), in a process-wide registry inside the module, created
 * by whoever publishes bundles for IK (the prekey service) and found by a
 * responder session with x3dh_store_lookup(params->vault, public key of
 * params->local_static).  The responder session calls, in this order and
 * only while reading the initial message:
 *   lookup → find_spk → [find_opk] → (DH, SK, AEAD check)
 *   → [consume_opk, only after the AEAD authenticated] → release.
 * Secret handles returned are OWNED BY THE STORE: the session never
 * destroys them and does not use them after release (consume_opk may
 * destroy the OPK at once).  All functions are thread-safe.  Every error
 * sets a detail naming the id (veil_error_set). */
typedef struct x3dh_store x3dh_store;

/* 0 and a reference (release it), or VEIL_ENOTFOUND: no store for this
 * identity key in this vault (no bundle was ever published for it). */
X3DH_HIDDEN int x3dh_store_lookup(veil_vault *v, const uint8_t ik_pub[X3DH_KEY_BYTES],
                                  x3dh_store **out);
X3DH_HIDDEN void x3dh_store_release(x3dh_store *s);
/* The SPK with this id (the current one, or a previous one still inside
 * its grace period): 0; VEIL_ENOTFOUND unknown id; VEIL_ETIMEDOUT known
 * but expired beyond the grace period. */
X3DH_HIDDEN int x3dh_store_find_spk(x3dh_store *s, uint32_t id, veil_secret *spk,
                                    uint8_t pub[X3DH_KEY_BYTES]);
/* The OPK with this id: 0; VEIL_ENOTFOUND never issued; VEIL_EREPLAY
 * already consumed (ids are never reused, so the store can tell). */
X3DH_HIDDEN int x3dh_store_find_opk(x3dh_store *s, uint32_t id, veil_secret *opk,
                                    uint8_t pub[X3DH_KEY_BYTES]);
/* Delete the OPK for good (its secret is destroyed): 0; VEIL_EREPLAY when
 * it was consumed meanwhile (two initial messages raced: the second one
 * is refused); VEIL_ENOTFOUND unknown. */
X3DH_HIDDEN int x3dh_store_consume_opk(x3dh_store *s, uint32_t id);

/* ---- x3dh_session.c: the handshake ----------------------------------
 *
 * Three messages (docs/X3DH.md "Handshake"), so a secure channel carries
 * it exactly like Noise XX (the responder's identity proof rides in
 * message 2, the initiator's in message 3):
 *   1 I→R  the X3DH initial message; payload AEAD under k1 (from SK), AD
 *   2 R→I  Encode(ER) || AEAD under k2; ck mixes DH(ER, EK_A), DH(ER, IK_A)
 *   3 I→R  AEAD under k3
 * then split into two transport keys.  remote_static is the peer's IK. */

typedef struct x3dh_config {
    uint8_t info[X3DH_INFO_MAX];
    size_t info_len;
    bool require_opk;               /* refuse bundles / messages without OPK */
    int cipher_type;                /* VEIL_SECRET_AES256GCM (default) or _CHACHAPOLY */
    uint8_t appendix[X3DH_APPENDIX_MAX];  /* AD appendix (instance key ad_appendix) */
    size_t appendix_len;
} x3dh_config;

/* x3dh_config.c.  Defaults: info X3DH_DEFAULT_INFO, require_opk false,
 * AES-256-GCM, no appendix. */
X3DH_HIDDEN void x3dh_config_default(x3dh_config *c);
/* Read [key_agreement] keys info, require_opk, cipher (AESGCM |
 * ChaChaPoly), ad_appendix over the defaults; VEIL_ECONFIG names file:line.
 * A scope without a configuration leaves the defaults. */
X3DH_HIDDEN int x3dh_config_read(x3dh_config *c, const veil_config_scope *scope);

typedef struct x3dh_session x3dh_session;

/* Initiator: params->peer_bundle is required (decoded, signature verified,
 * require_opk applied here: an unusable bundle fails now), local_static is
 * IK_A, local_ephemeral (optional) presets EK_A.  Responder: local_static
 * is IK_B, its store is looked up when message 1 arrives.  params->prologue
 * (when set) replaces the configured AD appendix; remote_static (when set)
 * must equal the peer's IK. */
X3DH_HIDDEN int x3dh_session_new(const x3dh_config *cfg, const veil_ka_params *params,
                                 x3dh_session **out);
/* The rest have the signatures of the session ops of veil_key_agreement_ops
 * (session is an x3dh_session *), so the plugin's table points straight at
 * them; the transport keys rekey with veil_key_agreement_rekey. */
X3DH_HIDDEN void x3dh_session_free(void *session);
X3DH_HIDDEN int x3dh_session_next_action(void *session);
/* payload must not overlap out; in may alias payload on read. */
X3DH_HIDDEN int x3dh_session_write(void *session, const uint8_t *payload, size_t payload_len,
                                   uint8_t *out, size_t cap, size_t *out_len);
X3DH_HIDDEN int x3dh_session_read(void *session, const uint8_t *in, size_t len,
                                  uint8_t *payload, size_t cap, size_t *payload_len);
X3DH_HIDDEN int x3dh_session_split(void *session, veil_ka_result *out);

#endif
