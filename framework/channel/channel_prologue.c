/* The handshake prologue of a secure channel (docs/PROTOCOL.md,
 * "Prologue"): both ends feed the same bytes to the key agreement
 * (veil_ka_params.prologue: Noise mixes them into h, X3DH appends them to
 * its AD), so a handshake succeeds only when both agree on all of them:
 *
 *   prologue = version:u8 (= 1)
 *              domain:bytes       "veil.channel.prologue"
 *              listener:address   the listener's address (type, len, octets)
 *              protocol:bytes     the key agreement's protocol name+version
 *              configured:bytes   SHA-256 of the key agreement's own
 *                                 configured prologue, or empty
 *   bytes = len:varint octets; address = type:u8 len:varint octets
 *
 * The initiator names the listener by the last address of its route, the
 * responder by its listener's own address: an HS1 redirected to another
 * listener (of the same entity, say) fails at message 2. */
#include "channel_internal.h"

#include <veil/codec.h>
#include <veil/error.h>

#include <string.h>

#define PROLOGUE_VERSION 3u /* channel handshake version 4 */
static const char domain[] = "veil.channel.prologue";

static int put_bytes(uint8_t *out, size_t cap, size_t *pos, const void *p, size_t n)
{
    size_t k = veil_varint_encode(n, out + *pos, cap - *pos);
    if (k == 0 || cap - *pos - k < n)
        return veil_error_set(VEIL_ELIMIT, "secure channel: prologue over %zu bytes", cap);
    if (n > 0)
        memcpy(out + *pos + k, p, n);
    *pos += k + n;
    return 0;
}

int veil__ch_ka_describe(const veil_key_agreement_ops *ka, void *inst, const char *fallback,
                         veil_ka_description *d)
{
    memset(d, 0, sizeof *d);
    d->size = sizeof *d;
    d->protocol = fallback;
    if (VEIL_ABI_HAS(ka, describe) && ka->describe != NULL) {
        int rc = ka->describe(inst, d);
        if (rc < 0)
            return veil_error_wrap(rc, "secure channel: describing the key agreement");
    }
    size_t plen = d->protocol != NULL ? strnlen(d->protocol, VEIL_KA_PROTOCOL_NAME_MAX + 1u) : 0;
    if (plen == 0 || plen > VEIL_KA_PROTOCOL_NAME_MAX)
        return veil_error_set(VEIL_EPLUGIN_ABI, "secure channel: the key agreement's protocol "
                              "name is empty or over %u bytes", VEIL_KA_PROTOCOL_NAME_MAX);
    return 0;
}

int veil__ch_prologue(const veil_key_agreement_ops *ka, void *inst, const char *fallback,
                      veil_vault *v, const veil_address *listener, uint8_t *out, size_t cap,
                      size_t *len)
{
    veil_ka_description d;
    int rc = veil__ch_ka_describe(ka, inst, fallback, &d);
    if (rc < 0)
        return rc;
    size_t plen = strlen(d.protocol);
    uint8_t hash[32];
    size_t hlen = 0;
    if (d.prologue_len > 0) {
        veil_iovec part = { d.prologue, d.prologue_len };
        rc = veil_vault_hash(v, VEIL_HASH_SHA256, &part, 1, hash);
        if (rc < 0)
            return veil_error_wrap(rc, "secure channel: hashing the configured prologue");
        hlen = sizeof hash;
    }
    size_t pos = 0;
    if (cap < VEIL_CH_PROLOGUE_MAX)
        return veil_error_set(VEIL_ELIMIT, "secure channel: prologue buffer of %zu bytes", cap);
    out[pos++] = PROLOGUE_VERSION;
    rc = put_bytes(out, cap, &pos, domain, sizeof domain - 1u);
    if (rc == 0)
        out[pos++] = listener->type;
    if (rc == 0)
        rc = put_bytes(out, cap, &pos, listener->bytes, listener->len);
    if (rc == 0)
        rc = put_bytes(out, cap, &pos, d.protocol, plen);
    if (rc == 0)
        rc = put_bytes(out, cap, &pos, hash, hlen);
    *len = pos;
    return rc;
}
