/* The file key: scrypt (RFC 7914) of the passphrase, computed by the crypto
 * backend the vault was opened with (libsodium's
 * crypto_pwhash_scryptsalsa208sha256_ll or OpenSSL's EVP_KDF "SCRYPT"), so
 * a file written on one backend opens on the other. */
#ifndef VEIL_FILE_VAULT_KDF_H
#define VEIL_FILE_VAULT_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* backend: "sodium" or "openssl".  N = 2^log2n.  No parameter policy here
 * (the caller checks bounds); out gets out_len bytes. */
VC_HIDDEN int fv_scrypt(const char *backend, const uint8_t *pass, size_t pass_len,
                        const uint8_t *salt, size_t salt_len, unsigned log2n, uint32_t r,
                        uint32_t p, uint8_t *out, size_t out_len);

#endif
