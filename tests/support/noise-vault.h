/* Open a software vault through the real plugin loader, for the Noise
 * test programs (vector runner, unit tests, peer, fuzzer, bench). */
#ifndef VEIL_TESTS_NOISE_VAULT_H
#define VEIL_TESTS_NOISE_VAULT_H

#include <veil/veil.h>

typedef struct noise_test_vault {
    veil_config *cfg;
    veil_plugin *plugin;
    veil_vault *vault;
} noise_test_vault;

/* crypto: "sodium" or "openssl".  0 or a VEIL_E* code (detail set). */
int noise_test_vault_open(noise_test_vault *tv, const char *crypto);
void noise_test_vault_close(noise_test_vault *tv);

/* Import a private key / psk / AEAD key of type into the vault
 * (ephemeral, non-exportable). */
int noise_test_import(veil_vault *v, int type, const uint8_t *data, size_t len,
                      veil_secret *out);

#endif
