/* Checking the secure channel layer's configuration without opening a
 * channel (veil_secure_channel_config_check): what `veil config check`
 * runs, the same code a listener or an initiator reads [secure_channel]
 * and [key_agreement] with. */
#include "channel_internal.h"

#include <veil/error.h>

#include <stdlib.h>

int veil_secure_channel_config_check(veil_node *node)
{
    veil_ch_settings s;
    const veil_key_agreement_ops *ka;
    void *inst;
    if (node == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_secure_channel_config_check: node is NULL");
    int rc = veil__ch_settings(node, &s);
    /* The key agreement instance parses [key_agreement] (e.g. Noise's
     * protocol name) as every channel and listener does. */
    if (rc == 0 && (rc = veil__ch_ka_instance(node, &ka, &inst, NULL, 0)) == 0)
        ka->instance_free(inst);
    return rc;
}

/* At node creation (veil_node_new runs the checks registered for the
 * sections present, issue #16): [secure_channel] whole, and
 * [key_agreement] through the key agreement instance a channel would
 * make, so `crypto`/`protocol` typos fail before the node is up. */
static int check_settings(veil_node *node, const veil_config *cfg, const char *section)
{
    veil_ch_settings s;
    (void)section;
    if (node != NULL)
        return veil_secure_channel_config_check(node);
    return veil__ch_settings_from(cfg, &s);
}

static int check_ka(veil_node *node, const veil_config *cfg, const char *section)
{
    const veil_key_agreement_ops *ka;
    void *inst;
    (void)cfg;
    (void)section;
    if (node == NULL)
        return 0;
    int rc = veil__ch_ka_instance(node, &ka, &inst, NULL, 0);
    if (rc == 0)
        ka->instance_free(inst);
    return rc;
}

__attribute__((constructor)) static void register_sections(void)
{
    /* Valid patterns in a table with room: cannot fail at load. */
    if (veil_config_register_section("secure_channel", check_settings) < 0 ||
        veil_config_register_section("key_agreement", check_ka) < 0)
        abort();
}
