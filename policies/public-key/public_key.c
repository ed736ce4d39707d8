/* Trust policy "public-key": allow the peer whose CURRENT identity key is
 * the configured Ed25519 public key.
 *
 *   [policy.pinned]
 *   plugin = public-key
 *   public_key = <64 hex digits>
 *
 * Pinning the current key (not the identifier) means a peer that rotates
 * its key is refused until the configuration follows: use the identifier
 * policy to trust a peer across rotations.  Constant-time compare. */
#include <veil/error.h>
#include <veil/plugin.h>
#include <veil/trust_policy.h>

#include <stdlib.h>
#include <string.h>

#define KEY_BYTES 32u

static const veil_host_services *host;

static int pk_init(const veil_host_services *h, const veil_config_scope *scope, void **state)
{
    (void)scope;
    host = h;
    *state = NULL;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int pk_instance_new(void *state, const veil_config_scope *scope, void **inst)
{
    (void)state;
    const char *hex = host->config_get(scope, "public_key");
    const char *origin = scope->config != NULL
                             ? veil_config_origin(scope->config, scope->section, "public_key")
                             : NULL;
    if (hex == NULL)
        return host->error(VEIL_ECONFIG, "[%s]: the public-key policy needs the key "
                           "'public_key' (64 hex digits of an Ed25519 public key)",
                           scope->section);
    if (strlen(hex) != 2 * KEY_BYTES)
        return host->error(VEIL_ECONFIG, "%s: [%s] public_key is %zu characters, expected %u "
                           "hex digits", origin, scope->section, strlen(hex), 2 * KEY_BYTES);
    uint8_t *key = malloc(KEY_BYTES);
    if (key == NULL)
        return host->error(VEIL_ENOMEM, "public-key: out of memory");
    for (size_t i = 0; i < KEY_BYTES; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(key);
            return host->error(VEIL_ECONFIG, "%s: [%s] public_key: character %zu is not a hex "
                               "digit", origin, scope->section, hi < 0 ? 2 * i : 2 * i + 1);
        }
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    *inst = key;
    return 0;
}

static void pk_instance_free(void *inst)
{
    free(inst);
}

static int pk_check(void *inst, const veil_trust_info *info)
{
    if (info->peer_public_key == NULL || info->peer_public_key_len != KEY_BYTES)
        return host->error(VEIL_EINVAL, "public-key policy: the trust info carries no %u-byte "
                           "peer public key", KEY_BYTES);
    return host->memcmp_ct(inst, info->peer_public_key, KEY_BYTES) == 0 ? 1 : 0;
}

static const veil_trust_policy_ops pk_ops = {
    .size = sizeof(veil_trust_policy_ops),
    .instance_new = pk_instance_new,
    .instance_free = pk_instance_free,
    .check = pk_check,
};

static const char *const pk_keys[] = { "public_key", NULL };

static const veil_plugin_descriptor pk_descriptor = {
    .abi_major = VEIL_PLUGIN_ABI_MAJOR,
    .abi_minor = VEIL_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(veil_plugin_descriptor),
    .kind = VEIL_PLUGIN_TRUST_POLICY,
    .name = "public-key",
    .version = "1.0",
    .description = "allow the peer whose current identity key is the configured one",
    .config_keys = pk_keys,
    .init = pk_init,
    .ops = &pk_ops,
};

VEIL_PLUGIN_ENTRY(pk_descriptor)
