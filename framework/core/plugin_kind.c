/* Plugin kinds: what the loader and the node need to know of each kind —
 * its name (also the base name of its configuration sections), the size of
 * the smallest ops table the loader accepts, and whether the bare section
 * [name] holds one.  The core's own kinds (vault, transport, store) are here; the
 * layers above register theirs when libveil is loaded (trust policies:
 * identity/trust.c, key agreements: channel/secure_channel.c), so the
 * core never sees their ops tables (docs/PLUGINS.md, "The five kinds"). */
#include "upper.h"

#include <veil/store.h>
#include <veil/transport.h>
#include <veil/vault.h>

#include <string.h>

#define KINDS_MAX 8u

/* Registered at load (constructors) before any thread: no lock. */
static veil_plugin_kind_info kinds[KINDS_MAX] = {
    { VEIL_PLUGIN_VAULT, "vault", VEIL_ABI_SIZE(veil_vault_ops, verify), true },
    { VEIL_PLUGIN_TRANSPORT, "transport", VEIL_ABI_SIZE(veil_transport_ops, connect), false },
    { VEIL_PLUGIN_STORE, "store", VEIL_ABI_SIZE(veil_store_ops, list), true },
};
static size_t nkinds = 3;

void veil__plugin_kind_register(const veil_plugin_kind_info *k)
{
    if (nkinds < KINDS_MAX && veil__plugin_kind(k->kind) == NULL)
        kinds[nkinds++] = *k;
}

const veil_plugin_kind_info *veil__plugin_kind(int kind)
{
    for (size_t i = 0; i < nkinds; i++)
        if (kinds[i].kind == kind)
            return &kinds[i];
    return NULL;
}

const veil_plugin_kind_info *veil__plugin_kind_of_section(const char *section)
{
    for (size_t i = 0; i < nkinds; i++) {
        size_t n = strlen(kinds[i].name);
        if (strncmp(section, kinds[i].name, n) != 0)
            continue;
        if (section[n] == '\0' ? kinds[i].bare_section
                               : section[n] == '.' && section[n + 1] != '\0')
            return &kinds[i];
    }
    return NULL;
}

const char *veil_plugin_kind_name(int kind)
{
    const veil_plugin_kind_info *k = veil__plugin_kind(kind);
    return k != NULL ? k->name : "?";
}
