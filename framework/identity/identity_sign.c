/* Signing domains for identity keys (docs/PROTOCOL.md, "Signing domains").
 *
 * Every signature an identity key makes covers len(D):u8 || D || payload.
 * veil's own domains are fixed strings (change events, static key
 * attestations); an application's is "veil.app:" || its context.  Because
 * the domain is length-prefixed it is recoverable from the signed bytes,
 * and no internal domain begins with "veil.app:": an application signature
 * is never one of veil's by construction, not by inspecting the message. */
#include <veil/entity.h>
#include <veil/error.h>
#include <veil/vault.h>

#include <stdlib.h>
#include <string.h>

#include "identity_internal.h"
#include "core/util.h"

#define APP_PREFIX_LEN (sizeof VEIL_DOMAIN_APP_PREFIX - 1u)
_Static_assert(APP_PREFIX_LEN + VEIL_SIGN_CONTEXT_MAX <= VEIL_DOMAIN_MAX,
               "an application domain fits its length byte");

/* len(D) || D || payload into a buffer of its own (small payloads use
 * the caller's stack buffer).  *out is buf or malloc'd. */
static int signed_bytes(const char *domain, const uint8_t *payload, size_t len, uint8_t *buf,
                        size_t cap, uint8_t **out, size_t *out_len)
{
    size_t dl = strnlen(domain, VEIL_DOMAIN_MAX + 1);
    if (dl == 0 || dl > VEIL_DOMAIN_MAX)
        return veil_error_set(VEIL_EINVAL, "signing domain of %zu bytes (1..%u)", dl,
                              VEIL_DOMAIN_MAX);
    if (len > SIZE_MAX - 1 - dl)
        return veil_error_set(VEIL_ELIMIT, "message of %zu bytes is too long to sign", len);
    size_t n = 1 + dl + len;
    uint8_t *p = n <= cap ? buf : malloc(n);
    if (p == NULL)
        return veil_error_set(VEIL_ENOMEM, "signing: out of memory for %zu bytes", n);
    p[0] = (uint8_t)dl;
    memcpy(p + 1, domain, dl);
    if (len > 0)
        memcpy(p + 1 + dl, payload, len);
    *out = p;
    *out_len = n;
    return 0;
}

int veil__identity_sign(veil_vault *v, veil_secret key, const char *domain,
                        const uint8_t *payload, size_t len, uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    uint8_t buf[512], *msg;
    size_t n;
    int rc = signed_bytes(domain, payload, len, buf, sizeof buf, &msg, &n);
    if (rc < 0)
        return rc;
    rc = veil_vault_sign(v, key, msg, n, sig);
    if (msg != buf)
        free(msg);
    return rc;
}

int veil__identity_verify(veil_vault *v, int key_type, const uint8_t *key, size_t key_len,
                          const char *domain, const uint8_t *payload, size_t len,
                          const uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    uint8_t buf[512], *msg;
    size_t n;
    if (veil__key_tag(key_type) == 0)
        return veil_error_set(VEIL_EINVAL, "identity key of type %s (expected ed25519 or p256)",
                              veil_secret_type_name(key_type));
    int rc = signed_bytes(domain, payload, len, buf, sizeof buf, &msg, &n);
    if (rc < 0)
        return rc;
    rc = veil_vault_verify(v, key_type, key, key_len, msg, n, sig);
    if (msg != buf)
        free(msg);
    return rc;
}

size_t veil__attest_payload(uint8_t out[VEIL_ATTEST_PAYLOAD_MAX], int key_type,
                            const uint8_t *pub, size_t pub_len, uint64_t expires)
{
    out[0] = (uint8_t)key_type;
    memcpy(out + 1, pub, pub_len);
    veil__store_be64(out + 1 + pub_len, expires);
    return 1 + pub_len + 8;
}

/* "veil.app:" || context, checked. */
int veil__app_domain(const char *context, const char *fn, char out[VEIL_DOMAIN_MAX + 1])
{
    if (context == NULL)
        return veil_error_set(VEIL_EINVAL, "%s: context is NULL (name what the signature is "
                              "for, e.g. \"myapp.invoice.v1\")", fn);
    size_t n = strnlen(context, VEIL_SIGN_CONTEXT_MAX + 1);
    if (n == 0 || n > VEIL_SIGN_CONTEXT_MAX)
        return veil_error_set(VEIL_EINVAL, "%s: context of %s bytes (expected 1..%u)", fn,
                              n == 0 ? "0" : "more than 128", VEIL_SIGN_CONTEXT_MAX);
    memcpy(out, VEIL_DOMAIN_APP_PREFIX, APP_PREFIX_LEN);
    memcpy(out + APP_PREFIX_LEN, context, n + 1);
    return 0;
}

int veil_identity_verify(veil_vault *v, int key_type, const uint8_t *public_key,
                         size_t public_len, const char *context, const uint8_t *msg, size_t len,
                         const uint8_t sig[VEIL_SIGNATURE_BYTES])
{
    static const char fn[] = "veil_identity_verify";
    char domain[VEIL_DOMAIN_MAX + 1];
    if (v == NULL || public_key == NULL || sig == NULL || (msg == NULL && len > 0))
        return veil_error_set(VEIL_EINVAL, "%s: %s is NULL", fn,
                              v == NULL ? "vault" : public_key == NULL ? "public_key"
                              : sig == NULL ? "sig" : "msg");
    int rc = veil__app_domain(context, fn, domain);
    if (rc < 0)
        return rc;
    rc = veil__identity_verify(v, key_type, public_key, public_len, domain, msg, len, sig);
    if (rc == VEIL_EAUTH)
        return veil_error_set(VEIL_EAUTH, "%s: not a signature by this key in context '%s'", fn,
                              context);
    return rc;
}
