/* The pkcs11 vault plugin: configuration and ops table (vault.c: where
 * each op goes; docs/VAULTS.md "pkcs11"). */
#include "config.h"

#include <veil/plugin.h>
#include <veil/vault.h>

#include "p11_vault.h"

static const char *const config_keys[] = { VC_CRYPTO_KEY, PK_CONFIG_KEYS, NULL };

static const veil_vault_ops ops = {
    .size = sizeof ops,
    .instance_new = p11_instance_new,
    .instance_free = p11_instance_free,
    /* The core's ops where the handle is never a token key's ... */
    .backend = vc_op_backend, .random = vc_op_random,
    .hash = vc_op_hash, .hmac = vc_op_hmac, .hkdf = vc_op_hkdf,
    .aead_encrypt = vc_op_aead_encrypt, .aead_decrypt = vc_op_aead_decrypt,
    .aead_rekey = vc_op_aead_rekey, .verify = vc_op_verify,
    .record_put = vc_op_record_put, .record_get = vc_op_record_get,
    .record_delete = vc_op_record_delete, .record_list = vc_op_record_list,
    /* ... and ours where it may be (vault.c). */
    .generate = p11_op_generate, .import = p11_op_import, .export_secret = p11_op_export,
    .attributes = p11_op_attributes, .public_key = p11_op_public_key,
    .find_by_key_id = p11_op_find_by_key_id, .find_by_label = p11_op_find_by_label,
    .secret_destroy = p11_op_secret_destroy, .sign = p11_op_sign, .dh = p11_op_dh,
    .location = p11_op_location,
};

static const veil_plugin_descriptor descriptor = {
    VEIL_PLUGIN_ABI,
    .kind = VEIL_PLUGIN_VAULT,
    .name = "pkcs11",
    .version = PACKAGE_VERSION,
    .description = "identity keys in a PKCS#11 token, channel keys in software "
                   "(crypto = sodium | openssl)",
    .config_keys = config_keys,
    .ops = &ops,
};

VEIL_PLUGIN_ENTRY(descriptor)
