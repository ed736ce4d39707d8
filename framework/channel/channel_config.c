/* Checking the secure channel layer's configuration without opening a
 * channel (veil_secure_channel_config_check): what `veil config check`
 * runs, the same code a listener or an initiator reads [secure_channel]
 * and [key_agreement] with. */
#include "channel_internal.h"

#include <veil/error.h>

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
