/* The file vault's ops table (vault.c), shared by the plugin module
 * (plugin.c) and the tests that link the convenience library directly. */
#ifndef VEIL_FILE_VAULT_H
#define VEIL_FILE_VAULT_H

#include <veil/vault.h>

#include "backend.h"

VC_HIDDEN extern const veil_vault_ops fv_ops;
/* The config keys the plugin accepts (NULL-terminated). */
VC_HIDDEN extern const char *const fv_config_keys[];

#endif
