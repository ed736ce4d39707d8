/* The pkcs11 vault's instance and ops (vault.c) and its records kept in
 * the token (records.c). */
#ifndef VEIL_VAULT_PK_VAULT_H
#define VEIL_VAULT_PK_VAULT_H

#include <veil/vault.h>

#include "keys.h"
#include "vault_core.h"

#define PK_CONFIG_KEYS                                                           \
    "module", "token_label", "token_serial", "pin_env", "pin_fd", "pin_prompt", "pin", "key_label", \
        "key_id"

VC_HIDDEN int p11_instance_new(void *plugin_state, const veil_config_scope *scope, void **out);
VC_HIDDEN void p11_instance_free(void *vault);

VC_HIDDEN int p11_op_generate(void *vault, const veil_secret_attrs *attrs, veil_secret *out);
VC_HIDDEN int p11_op_import(void *vault, const veil_secret_attrs *attrs, const uint8_t *data,
                           size_t len, veil_secret *out);
VC_HIDDEN int p11_op_export(void *vault, veil_secret s, uint8_t *out, size_t cap, size_t *len);
VC_HIDDEN int p11_op_attributes(void *vault, veil_secret s, veil_secret_attrs *out);
VC_HIDDEN int p11_op_public_key(void *vault, veil_secret s, uint8_t *out, size_t cap,
                               size_t *len);
VC_HIDDEN int p11_op_find_by_key_id(void *vault, const char *key_id, veil_secret *out);
VC_HIDDEN int p11_op_find_by_label(void *vault, const char *label, veil_secret *out);
VC_HIDDEN int p11_op_secret_destroy(void *vault, veil_secret s);
VC_HIDDEN int p11_op_sign(void *vault, veil_secret key, const uint8_t *msg, size_t len,
                         uint8_t sig[VEIL_SIGNATURE_BYTES]);
VC_HIDDEN int p11_op_dh(void *vault, veil_secret priv, const uint8_t *peer_public,
                       size_t peer_len, const veil_secret_attrs *out_attrs, veil_secret *out);
VC_HIDDEN int p11_op_location(void *vault, veil_secret s, int *location, char *where,
                             size_t cap);

/* The vault's records live in the token as one CKO_DATA object
 * (CKA_APPLICATION "veil", CKA_LABEL "veil.records.<generation, hex>"),
 * replaced after every change: the new generation is written before the
 * old is destroyed, and load keeps the newest (removing older ones a crash
 * left).  load also installs the change hook that writes them. */
VC_HIDDEN int p11_records_load(p11_state *st, vc_vault *vc);
VC_HIDDEN void p11_records_free(p11_state *st);

#endif
