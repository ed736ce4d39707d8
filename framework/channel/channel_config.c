/* Checking the secure channel layer's configuration without opening a
 * channel (veil_secure_channel_config_check): what `veil config check`
 * runs, the same code a listener or an initiator reads [secure_channel]
 * with. */
#include "channel_internal.h"

#include <veil/error.h>

int veil_secure_channel_config_check(veil_node *node)
{
    veil_ch_settings s;
    if (node == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_secure_channel_config_check: node is NULL");
    return veil__ch_settings(node, &s);
}
