/* The software vault: secrets in guarded memory for the life of the
 * instance, nothing persisted.  All of it is the shared vault core; this
 * file only picks the backend from `crypto = sodium | openssl`. */
#include "config.h"

#include <veil/plugin.h>
#include <veil/vault.h>

#include "vault_core.h"

static int sw_open(void *plugin_state, const veil_config_scope *scope, void **vault)
{
    (void)plugin_state;
    vc_vault *v;
    int rc = vc_open_scope(scope, &v);
    if (rc == 0)
        *vault = v;
    return rc;
}

static const veil_vault_ops sw_ops = {
    .size = sizeof(veil_vault_ops),
    .open = sw_open,
    .close = vc_op_close,
    .backend = vc_op_backend,
    VC_CORE_OPS,
};

static const char *const sw_keys[] = { VC_CRYPTO_KEY, NULL };

static const veil_plugin_descriptor sw_descriptor = {
    .abi_major = VEIL_PLUGIN_ABI_MAJOR,
    .abi_minor = VEIL_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(veil_plugin_descriptor),
    .kind = VEIL_PLUGIN_VAULT,
    .name = "software",
    .version = PACKAGE_VERSION,
    .description = "in-memory vault (crypto = sodium | openssl)",
    .config_keys = sw_keys,
    .ops = &sw_ops,
};

VEIL_PLUGIN_ENTRY(sw_descriptor)
