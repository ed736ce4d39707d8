/* The file vault's on-disk format (docs/VAULT-FILE.md): a fixed header, then
 * the AEAD-sealed body.  Pure encode/decode over byte buffers, no I/O and no
 * crypto, so every bounds check can be tested on its own.  All integers are
 * big-endian.  Decode errors name the field and its offset. */
#ifndef VEIL_FILE_VAULT_FORMAT_H
#define VEIL_FILE_VAULT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include <veil/vault.h>

#include "backend.h"

#define FV_MAGIC "VEILVLTF"
#define FV_MAGIC_BYTES 8u
#define FV_VERSION 2u               /* written; version 1 (no records) is still read */
#define FV_VERSION_MIN 1u
#define FV_SALT_BYTES 16u
#define FV_NONCE_BYTES 12u
#define FV_TAG_BYTES 16u
#define FV_HEADER_BYTES 53u

#define FV_KDF_NONE 0u     /* passphrase_mode = none: no KDF, all-zero key */
#define FV_KDF_SCRYPT 1u   /* RFC 7914 scrypt(passphrase, salt, N, r, p, 32) */
#define FV_AEAD_CHACHAPOLY 1u /* RFC 8439 ChaCha20-Poly1305, 96-bit nonce */

/* Bounds on the KDF parameters, checked on decode and on configuration.
 * The lower bound of log2(N) is low enough for tests (docs explain why a
 * real vault should keep the default).  The default for new files is 2^17
 * (128 MiB with r = 8): keys at rest, opened once per process, so a
 * fraction of a second per open buys 4x the time and 4x the memory per
 * guess of the interactive 2^15 (docs/VAULT-FILE.md, "Why these KDF
 * parameters"); below 2^15 is warned about. */
#define FV_LOG2N_MIN 10u
#define FV_LOG2N_MAX 22u
#define FV_LOG2N_DEFAULT 17u
#define FV_LOG2N_WARN 15u
#define FV_R_MIN 1u
#define FV_R_MAX 32u
#define FV_R_DEFAULT 8u
#define FV_P_MIN 1u
#define FV_P_MAX 16u
#define FV_P_DEFAULT 1u
/* 128 * r * N: the scrypt memory (1 GiB cap, so a forged header cannot make
 * the opener allocate more). */
#define FV_KDF_MEM_MAX (1ull << 30)

/* Largest sealed body (ciphertext + tag). */
#define FV_BODY_MAX (16u << 20)

typedef struct fv_header {
    uint16_t version;
    uint8_t kdf;
    uint8_t log2n;
    uint32_t r, p;
    uint8_t salt[FV_SALT_BYTES];
    uint8_t aead;
    uint8_t nonce[FV_NONCE_BYTES];
    uint32_t body_len;                 /* sealed body: plaintext + tag */
} fv_header;

/* Check KDF parameters (log2n, r, p, memory cap).  VEIL_EFORMAT with a
 * detail naming `where` and the parameter. */
VC_HIDDEN int fv_kdf_params_check(const char *where, unsigned log2n, unsigned long long r,
                                  unsigned long long p);

VC_HIDDEN void fv_header_encode(const fv_header *h, uint8_t out[FV_HEADER_BYTES]);
/* Decode the header of a whole file of `len` bytes named `path`: magic,
 * version (VEIL_EVERSION), ids and parameters (VEIL_EFORMAT), a file
 * shorter than the header or its body (VEIL_ETRUNCATED), bytes after the
 * body (VEIL_EFORMAT). */
VC_HIDDEN int fv_header_decode(const char *path, const uint8_t *file, size_t len,
                               fv_header *h);

/* Body plaintext: u32 count, then per secret record u8 type, u8 flags
 * (bit 0 exportable), u8 label_len, label, u8 len, bytes; since version 2
 * then u32 count, then per public record u8 name_len, name, u32 len,
 * value (the vault's records, veil/vault.h). */
#define FV_FLAG_EXPORTABLE 0x01u
#define FV_RECORD_MAX (4u + VEIL_LABEL_MAX + VEIL_SECRET_MAX_BYTES)

/* Per public record: name_len, u32 length. */
#define FV_PUBLIC_OVERHEAD 5u

/* One record read back: attrs (persistent) and its bytes. */
typedef int (*fv_record_fn)(void *arg, const veil_secret_attrs *attrs, const uint8_t *bytes,
                            size_t len);
/* One public record read back (name NUL-terminated). */
typedef int (*fv_public_fn)(void *arg, const char *name, const uint8_t *value, size_t len);
/* Walk a decrypted body of format `version`; every length is
 * bounds-checked first and errors name the field and its offset in the
 * body (VEIL_EFORMAT/VEIL_ETRUNCATED).  A callback's non-zero return stops
 * the walk and is returned. */
VC_HIDDEN int fv_body_decode(const char *path, unsigned version, const uint8_t *body,
                             size_t len, fv_record_fn fn, fv_public_fn public_fn, void *arg);
/* Append one record at out[*pos]; cap is checked (VEIL_ELIMIT). */
VC_HIDDEN int fv_record_encode(uint8_t *out, size_t cap, size_t *pos,
                               const veil_secret_attrs *attrs, const uint8_t *bytes,
                               size_t len);

/* Append one public record at out[*pos] (VEIL_ELIMIT when cap is short). */
VC_HIDDEN int fv_public_encode(uint8_t *out, size_t cap, size_t *pos, const char *name,
                               const uint8_t *value, size_t len);

#endif
