/* scrypt on either backend (kdf.h).  Both libraries implement RFC 7914
 * exactly, so the same inputs give the same key (tests/unit/vault/test_vault_file.c
 * checks both against the RFC 7914 vectors and against each other). */
#include "config.h"

#include <string.h>

#include <veil/error.h>

#include "kdf.h"

#include <sodium.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

static int scrypt_sodium(const uint8_t *pass, size_t pass_len, const uint8_t *salt,
                         size_t salt_len, unsigned log2n, uint32_t r, uint32_t p, uint8_t *out,
                         size_t out_len)
{
    if (sodium_init() < 0)
        return veil_error_set(VEIL_EUNSUPPORTED, "scrypt: sodium_init failed");
    if (crypto_pwhash_scryptsalsa208sha256_ll(pass, pass_len, salt, salt_len,
                                              (uint64_t)1 << log2n, r, p, out, out_len) != 0)
        return veil_error_set(VEIL_ENOMEM,
                              "scrypt (libsodium) failed for N=2^%u r=%u p=%u: out of memory "
                              "or parameters refused",
                              log2n, r, p);
    return 0;
}

static int scrypt_openssl(const uint8_t *pass, size_t pass_len, const uint8_t *salt,
                          size_t salt_len, unsigned log2n, uint32_t r, uint32_t p, uint8_t *out,
                          size_t out_len)
{
    uint64_t n = (uint64_t)1 << log2n;
    /* OpenSSL refuses above its own memory limit: allow what our cap allows
     * (format.h, FV_KDF_MEM_MAX) plus scrypt's small extra buffers. */
    uint64_t maxmem = 128ull * r * (n + p + 2) + 65536;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    int rc = 0;
    if (ctx == NULL) {
        rc = veil_error_set(VEIL_EUNSUPPORTED, "scrypt: OpenSSL has no SCRYPT KDF here");
        goto out;
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pass, pass_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_KDF_derive(ctx, out, out_len, params) != 1) {
        ERR_clear_error();
        rc = veil_error_set(VEIL_ENOMEM,
                            "scrypt (OpenSSL) failed for N=2^%u r=%u p=%u: out of memory or "
                            "parameters refused",
                            log2n, r, p);
    }
out:
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

int fv_scrypt(const char *backend, const uint8_t *pass, size_t pass_len, const uint8_t *salt,
              size_t salt_len, unsigned log2n, uint32_t r, uint32_t p, uint8_t *out,
              size_t out_len)
{
    /* libsodium wants a non-NULL password pointer even when empty. */
    static const uint8_t empty[1];
    if (pass == NULL)
        pass = empty;
    if (strcmp(backend, "sodium") == 0)
        return scrypt_sodium(pass, pass_len, salt, salt_len, log2n, r, p, out, out_len);
    if (strcmp(backend, "openssl") == 0)
        return scrypt_openssl(pass, pass_len, salt, salt_len, log2n, r, p, out, out_len);
    return veil_error_set(VEIL_EINVAL, "scrypt: unknown crypto backend '%s' (accepted: sodium, "
                          "openssl)", backend);
}
