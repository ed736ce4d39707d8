/* The file vault's instances (vault.c), shared by the plugin module
 * (plugin.c, which adds the vault core's ops) and the tests that link the
 * convenience library directly. */
#ifndef VEIL_FILE_VAULT_H
#define VEIL_FILE_VAULT_H

#include <veil/vault.h>

#include "backend.h"

/* The keys of a file vault's section besides the vault core's `crypto`
 * (docs/VAULT-FILE.md), for a config_keys list. */
#define FV_CONFIG_KEYS                                                        \
    "path", "passphrase_env", "passphrase_file", "passphrase_fd", "passphrase", \
        "passphrase_mode", "kdf_n", "kdf_r", "kdf_p", "allow_open_permissions", "create"

/* instance_new / instance_free of veil_vault_ops: open (or create) the
 * file named by the section's `path`, and close it (writing a change a
 * failed write left behind, then wiping every secret). */
VC_HIDDEN int fv_instance_new(void *plugin_state, const veil_config_scope *scope, void **vault);
VC_HIDDEN void fv_instance_free(void *vault);

#endif
