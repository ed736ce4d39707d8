/* The line both ends log when a channel opens (issue #16: the initiator
 * said too little, and nothing named the key agreement or the crypto
 * backend): the channel, the peer's identifier, the key agreement's
 * protocol name, the vault's crypto backend and the route to the peer.
 * Public values only — identifiers, names, addresses — never key
 * material (tests/unit/channel/test_channel_logs.c checks). */
#include "channel_internal.h"

#include <veil/log.h>
#include <veil/vault.h>

#include <stdio.h>
#include <string.h>

/* The protocol name the key agreement describes itself with, or its
 * plugin's name/version when it has no describe op (as the prologue). */
static void protocol_of(veil_channel *ch, char *out, size_t cap)
{
    veil_ka_description d;
    veil_plugin *p;
    char fallback[160] = "?";
    if (ch->role == VEIL_KA_RESPONDER && ch->listener != NULL) {
        snprintf(out, cap, "%s", ch->listener->protocol);
        return;
    }
    if (veil__node_plugin(ch->node, "key_agreement", VEIL_PLUGIN_KEY_AGREEMENT, NULL, &p) == 0) {
        const veil_plugin_descriptor *desc = veil_plugin_descriptor_of(p);
        snprintf(fallback, sizeof fallback, "%s/%s", desc->name,
                 desc->version ? desc->version : "");
    }
    if (veil__ch_ka_describe(ch->ka, ch->ka_inst, fallback, &d) == 0)
        snprintf(out, cap, "%s", d.protocol);
    else
        snprintf(out, cap, "%s", fallback);
}

void veil__ch_log_open(veil_channel *ch)
{
    char protocol[VEIL_KA_PROTOCOL_NAME_MAX + 1], where[VEIL_ADDRESS_MAX + 32];
    char route[1024];
    veil_route r;
    if (veil_log_get_level() > VEIL_LOG_INFO)
        return;
    protocol_of(ch, protocol, sizeof protocol);
    route[0] = '\0';
    if (ch->route != NULL) {
        veil__route_unpack(ch->route, &r);
        veil_route_format(&r, route, sizeof route);
    }
    if (ch->role == VEIL_KA_RESPONDER && ch->listener != NULL)
        snprintf(where, sizeof where, "listener '%s'", ch->listener->name);
    else
        snprintf(where, sizeof where, "initiator");
    veil_log(VEIL_LOG_INFO, "channel", "%s: channel %s open with %s: key agreement %s, "
             "vault backend %s, route %s", where, ch->addr->bytes, ch->stats.peer_identifier,
             protocol, ch->vault != NULL ? veil_vault_backend(ch->vault) : "?",
             route[0] != '\0' ? route : "?");
}
