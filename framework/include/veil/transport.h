/* veil — transports.  A transport plugin instance is bound to a node,
 * registers its address type with the router (veil_node_register_transport)
 * and receives every message whose next hop has that type. */
#ifndef VEIL_TRANSPORT_H
#define VEIL_TRANSPORT_H

#include <veil/common.h>
#include <veil/config.h>
#include <veil/address.h>
#include <veil/node.h>

VEIL_BEGIN_DECLS

typedef struct veil_transport_ops {
    size_t size;                      /* sizeof(veil_transport_ops) */
    uint8_t address_type;             /* e.g. VEIL_ADDRESS_TYPE_TCP */
    int (*instance_new)(void *plugin_state, veil_node *node,
                        const veil_config_scope *scope, void **inst);
    void (*instance_free)(void *inst);
    /* Listen on "host:port" (port 0: any); *bound gets the real address. */
    int (*listen)(void *inst, const char *where, veil_address *bound);
    /* Connect to "host:port"; *peer gets the address to route through. */
    int (*connect)(void *inst, const char *where, veil_address *peer);
} veil_transport_ops;

VEIL_END_DECLS
#endif
