/* veil — trust policies: a tiny vtable, a fixed call sequence, fail closed.
 *
 *   instance_new (from a config section) → check(info)* → instance_free
 *
 * check returns 1 to allow, 0 to deny; anything else (an error) denies. */
#ifndef VEIL_TRUST_POLICY_H
#define VEIL_TRUST_POLICY_H

#include <veil/common.h>
#include <veil/config.h>
#include <veil/address.h>

VEIL_BEGIN_DECLS

typedef struct veil_trust_info {
    size_t size;                      /* sizeof(veil_trust_info) */
    const char *peer_identifier;      /* "P<64 hex>" */
    const uint8_t *peer_history;      /* verified encoded change history */
    size_t peer_history_len;
    const uint8_t *peer_public_key;   /* peer's current identity key */
    size_t peer_public_key_len;
    const char *local_identifier;
    const veil_route *route;          /* the channel's route */
} veil_trust_info;

typedef struct veil_trust_policy_ops {
    size_t size;                      /* sizeof(veil_trust_policy_ops) */
    int (*instance_new)(void *plugin_state, const veil_config_scope *scope,
                        void **inst);
    void (*instance_free)(void *inst);
    int (*check)(void *inst, const veil_trust_info *info);
} veil_trust_policy_ops;

VEIL_END_DECLS
#endif
