/* The file vault plugin: configuration and ops table.  Its instances are
 * vault.c's (a convenience library, so the tests can link it and reach the
 * fault-injection hook); every other op is the shared vault core's. */
#include "config.h"

#include <veil/plugin.h>
#include <veil/vault.h>

#include "vault.h"
#include "vault_core.h"

static const char *const config_keys[] = { VC_CRYPTO_KEY, FV_CONFIG_KEYS, NULL };

static const veil_vault_ops ops = {
    .size = sizeof ops,
    .instance_new = fv_instance_new,
    .instance_free = fv_instance_free,
    VC_CORE_OPS,
};

static const veil_plugin_descriptor descriptor = {
    VEIL_PLUGIN_ABI,
    .kind = VEIL_PLUGIN_VAULT,
    .name = "file",
    .version = PACKAGE_VERSION,
    .description = "persistent vault in an encrypted file (crypto = sodium | openssl)",
    .config_keys = config_keys,
    .init = vc_op_init,
    .ops = &ops,
};

VEIL_PLUGIN_ENTRY(descriptor)
