/* veil_vault_open: a vault through the node's plugin slots.  Apart from
 * vault.c because it needs the node runtime (veil__node_plugin). */
#include <veil/error.h>
#include <veil/node.h>
#include <veil/plugin.h>
#include <veil/vault.h>

#include "config_internal.h"
#include "upper.h"

int veil_vault_open(veil_node *node, const char *section, veil_vault **out)
{
    static const char fn[] = "veil_vault_open";
    veil_plugin *p;
    if (node == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "%s: %s is NULL", fn, node == NULL ? "node" : "out");
    if (section == NULL)
        section = "vault";
    /* Absent section: the software vault, whose own default is openssl. */
    int rc = veil__node_plugin(node, section, VEIL_PLUGIN_VAULT, "software", &p);
    if (rc != 0)
        return rc;
    veil_config_scope scope = { veil_node_config(node), section };
    return veil_vault_open_plugin(p, &scope, out);
}

/* [vault] / [vault.NAME] at node creation (issue #16): load the section's
 * plugin now, the software vault when it names none, so a bad key or
 * value (crypto = libsodium) fails veil_node_new, not the first entity.
 * The plugin's init checks the values; nothing is opened (a file vault's
 * file is neither made nor read). */
int veil__config_check_vault(veil_node *node, const veil_config *cfg, const char *section)
{
    veil_plugin *p;
    (void)cfg;
    if (node == NULL)
        return 0;
    return veil__node_plugin(node, section, VEIL_PLUGIN_VAULT, "software", &p);
}
