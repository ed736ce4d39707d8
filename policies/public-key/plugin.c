/* Trust policy "public-key": allow the peer whose CURRENT identity key is
 * the configured public key: Ed25519 (64 hex digits) or ECDSA P-256 (66 hex
 * digits, the SEC1 compressed point); a key of the other type never matches.
 *
 *   [policy.pinned]
 *   plugin = public-key
 *   public_key = <64 or 66 hex digits>
 *
 * Pinning the current key (not the identifier) means a peer that rotates
 * its key is refused until the configuration follows: use the identifier
 * policy to trust a peer across rotations.  Constant-time compare. */
#include <veil/error.h>
#include <veil/plugin.h>
#include <veil/trust_policy.h>
#include <veil/vault.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* Ed25519: 32 bytes; P-256: 33, a SEC1 compressed point (0x02 or 0x03 || x). */
#define ED25519_BYTES 32u
#define P256_BYTES 33u

typedef struct pinned {
    int type;                         /* VEIL_SECRET_ED25519 or VEIL_SECRET_P256 */
    size_t len;
    uint8_t key[P256_BYTES];
} pinned;

static const char *const config_keys[] = { "public_key", NULL };

static void instance_free(void *inst)
{
    free(inst);
}

static int bad_key(const veil_config_scope *scope, const char *origin, const char *why)
{
    return veil_error_set(VEIL_ECONFIG, "%s: [%s] public_key: %s (expected 64 hex digits of an "
                          "Ed25519 key, or 66 of a compressed P-256 point starting 02 or 03)",
                          origin, scope->section, why);
}

/* An instance: the pinned key, its type from its length. */
static int instance_new(void *plugin_state, const veil_config_scope *scope, void **inst)
{
    (void)plugin_state;
    const char *hex = veil_config_scope_get(scope, "public_key");
    const char *origin = veil_config_scope_origin(scope, "public_key");
    char why[160];
    if (hex == NULL)
        return veil_error_set(VEIL_ECONFIG, "[%s]: the public-key policy needs the key "
                              "'public_key' (64 hex digits of an Ed25519 public key, or 66 of "
                              "a compressed P-256 one)", scope->section);
    size_t n = strlen(hex);
    if (n != 2 * ED25519_BYTES && n != 2 * P256_BYTES) {
        snprintf(why, sizeof why, "%zu characters", n);
        return bad_key(scope, origin, why);
    }
    pinned *p = calloc(1, sizeof *p);
    if (p == NULL)
        return veil_error_set(VEIL_ENOMEM, "public-key: out of memory");
    p->len = n / 2;
    p->type = p->len == P256_BYTES ? VEIL_SECRET_P256 : VEIL_SECRET_ED25519;
    int rc = veil__hex_decode(hex, p->key, p->len, NULL);
    if (rc == 0 && p->type == VEIL_SECRET_P256 && p->key[0] != 0x02 && p->key[0] != 0x03)
        rc = veil_error_set(VEIL_ECONFIG, "a P-256 key starting %02x", p->key[0]);
    if (rc < 0) {
        snprintf(why, sizeof why, "%s", veil_last_error());
        instance_free(p);
        return bad_key(scope, origin, why);
    }
    *inst = p;
    return 0;
}

static int check(void *inst, const veil_trust_info *info)
{
    const pinned *p = inst;
    /* A trust info without the type (made before key types existed, or
     * left 0): the lengths of the two types differ, the length says it. */
    int type = VEIL_ABI_HAS(info, peer_key_type) ? info->peer_key_type : 0;
    if (type == 0)
        type = info->peer_public_key_len == P256_BYTES ? VEIL_SECRET_P256 : VEIL_SECRET_ED25519;
    if (info->peer_public_key == NULL || info->peer_public_key_len == 0)
        return veil_error_set(VEIL_EINVAL, "public-key policy: the trust info carries no peer "
                              "public key");
    if (type != p->type || info->peer_public_key_len != p->len)
        return veil_error_set(VEIL_EDENIED, "public-key policy: the peer's key is %s, the "
                              "pinned key %s", veil_secret_type_name(type),
                              veil_secret_type_name(p->type));
    return veil__memcmp_ct(p->key, info->peer_public_key, p->len) == 0 ? 0 : VEIL_EDENIED;
}

static const veil_trust_policy_ops ops = {
    .size = sizeof ops,
    .instance_new = instance_new,
    .instance_free = instance_free,
    .check = check,
};

static const veil_plugin_descriptor descriptor = {
    VEIL_PLUGIN_ABI,
    .kind = VEIL_PLUGIN_TRUST_POLICY,
    .name = "public-key",
    .version = "1.1",
    .description = "allow the peer whose current identity key is the configured one",
    .config_keys = config_keys,
    .ops = &ops,
};

VEIL_PLUGIN_ENTRY(descriptor)
