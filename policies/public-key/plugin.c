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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define KEY_BYTES 32u

static const char *const config_keys[] = { "public_key", NULL };

static void instance_free(void *inst)
{
    free(inst);
}

/* An instance: the pinned key. */
static int instance_new(void *plugin_state, const veil_config_scope *scope, void **inst)
{
    (void)plugin_state;
    const char *hex = veil_config_scope_get(scope, "public_key");
    const char *origin = veil_config_scope_origin(scope, "public_key");
    if (hex == NULL)
        return veil_error_set(VEIL_ECONFIG, "[%s]: the public-key policy needs the key "
                              "'public_key' (64 hex digits of an Ed25519 public key)",
                              scope->section);
    if (strlen(hex) != 2 * KEY_BYTES)
        return veil_error_set(VEIL_ECONFIG, "%s: [%s] public_key is %zu characters, expected "
                              "%u hex digits", origin, scope->section, strlen(hex),
                              2 * KEY_BYTES);
    uint8_t *key = malloc(KEY_BYTES);
    if (key == NULL)
        return veil_error_set(VEIL_ENOMEM, "public-key: out of memory");
    int rc = veil__hex_decode(hex, key, KEY_BYTES, NULL);
    if (rc < 0) {
        char why[128];
        snprintf(why, sizeof why, "%s", veil_last_error());
        instance_free(key);
        return veil_error_set(VEIL_ECONFIG, "%s: [%s] public_key: %s", origin, scope->section,
                              why);
    }
    *inst = key;
    return 0;
}

static int check(void *inst, const veil_trust_info *info)
{
    if (info->peer_public_key == NULL || info->peer_public_key_len != KEY_BYTES)
        return veil_error_set(VEIL_EINVAL, "public-key policy: the trust info carries no "
                              "%u-byte peer public key", KEY_BYTES);
    return veil__memcmp_ct(inst, info->peer_public_key, KEY_BYTES) == 0 ? 0 : VEIL_EDENIED;
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
    .version = "1.0",
    .description = "allow the peer whose current identity key is the configured one",
    .config_keys = config_keys,
    .ops = &ops,
};

VEIL_PLUGIN_ENTRY(descriptor)
