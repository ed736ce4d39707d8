/* The file vault plugin module: only the descriptor and the entry symbol;
 * everything else is in the convenience library (vault.c and friends) so
 * the tests can link it and reach the fault-injection hook. */
#include "config.h"

#include <veil/plugin.h>
#include <veil/vault.h>

#include "vault.h"

static const veil_plugin_descriptor fv_descriptor = {
    .abi_major = VEIL_PLUGIN_ABI_MAJOR,
    .abi_minor = VEIL_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(veil_plugin_descriptor),
    .kind = VEIL_PLUGIN_VAULT,
    .name = "file",
    .version = PACKAGE_VERSION,
    .description = "persistent vault in an encrypted file (crypto = sodium | openssl)",
    .config_keys = fv_config_keys,
    .ops = &fv_ops,
};

VEIL_PLUGIN_ENTRY(fv_descriptor)
