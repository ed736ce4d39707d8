/* See noise-vault.h. */
#include "noise-vault.h"

#include <string.h>

int noise_test_vault_open(noise_test_vault *tv, const char *crypto)
{
    memset(tv, 0, sizeof(*tv));
    int rc = veil_config_new(&tv->cfg);
    if (rc == 0)
        rc = veil_config_set(tv->cfg, "vault", "crypto", crypto);
    if (rc == 0)
        rc = veil_plugin_open_named("software", tv->cfg, "vault", VEIL_PLUGIN_VAULT, NULL,
                                    &tv->plugin);
    if (rc == 0) {
        veil_config_scope scope = { tv->cfg, "vault" };
        rc = veil_vault_open_plugin(tv->plugin, &scope, &tv->vault);
    }
    if (rc < 0)
        noise_test_vault_close(tv);
    return rc;
}

void noise_test_vault_close(noise_test_vault *tv)
{
    veil_vault_close(tv->vault);
    veil_plugin_close(tv->plugin);
    veil_config_free(tv->cfg);
    memset(tv, 0, sizeof(*tv));
}

int noise_test_import(veil_vault *v, int type, const uint8_t *data, size_t len,
                      veil_secret *out)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof(a));
    a.type = type;
    a.persistence = VEIL_EPHEMERAL;
    if (type == VEIL_SECRET_BUFFER)
        a.length = (uint16_t)len;
    return veil_vault_import(v, &a, data, len, out);
}
