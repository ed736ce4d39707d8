/* The software vault plugin: configuration and ops table.  Secrets live
 * in guarded memory for the life of the instance, nothing is persisted:
 * all of it is the shared vault core, whose backend the section's
 * `crypto = sodium | openssl` picks. */
#include "config.h"

#include <veil/plugin.h>
#include <veil/vault.h>

#include "vault_core.h"

static const char *const config_keys[] = { VC_CRYPTO_KEY, NULL };

static const veil_vault_ops ops = {
    .size = sizeof ops,
    .instance_new = vc_op_instance_new,
    .instance_free = vc_op_instance_free,
    VC_CORE_OPS,
};

static const veil_plugin_descriptor descriptor = {
    VEIL_PLUGIN_ABI,
    .kind = VEIL_PLUGIN_VAULT,
    .name = "software",
    .version = PACKAGE_VERSION,
    .description = "in-memory vault (crypto = sodium | openssl)",
    .config_keys = config_keys,
    .init = vc_op_init,
    .ops = &ops,
};

VEIL_PLUGIN_ENTRY(descriptor)
