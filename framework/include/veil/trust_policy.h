/* veil — trust policies: a tiny vtable, a fixed call sequence, fail closed.
 *
 *   instance_new (from a config section) → check(info)* → instance_free
 *
 * check returns 0 to allow and VEIL_EDENIED to deny, like every other
 * call; anything else (an error code, or any other value) denies too:
 * fail closed. */
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
    /* Appended (read it when size covers it, VEIL_ABI_HAS): the type of
     * peer_public_key, VEIL_SECRET_ED25519 (32 bytes) or VEIL_SECRET_P256
     * (33, a compressed point). */
    int peer_key_type;
} veil_trust_info;

typedef struct veil_trust_policy_ops {
    size_t size;                      /* sizeof(veil_trust_policy_ops) */
    int (*instance_new)(void *plugin_state, const veil_config_scope *scope,
                        void **inst);
    void (*instance_free)(void *inst);
    /* 0 allow, VEIL_EDENIED deny (a detail set with veil_error_set is
     * appended to the caller's); anything else denies. */
    int (*check)(void *inst, const veil_trust_info *info);
} veil_trust_policy_ops;

/* ---- policy objects (core) ------------------------------------------
 * A veil_trust_policy is an instance of a policy plugin, or an all/any
 * combinator over other policies.  check() answers 0 (allow) or
 * VEIL_EDENIED with a detail naming the refused peer identifier and the
 * policy ("peer P1a2b... refused by policy 'identifier' [policy.bob]"). */

typedef struct veil_trust_policy veil_trust_policy;

/* From configuration: section [policy] / [policy.NAME] holding either
 * `plugin = NAME` (+ the plugin's keys) or `all = policy.a, policy.b` /
 * `any = ...` naming other sections. */
VEIL_EXPORT int veil_trust_policy_new_from_config(veil_node *node, const char *section,
                                                  veil_trust_policy **out) VEIL_WUR;
/* Instance of plugin `name` with keys given as NULL-terminated key, value
 * pairs (e.g. {"identifiers", "P...", NULL}); validated like a config
 * section. */
VEIL_EXPORT int veil_trust_policy_new(veil_node *node, const char *name,
                                      const char *const *key_values,
                                      veil_trust_policy **out) VEIL_WUR;
/* Convenience: the `identifier` plugin trusting exactly these identifiers. */
VEIL_EXPORT int veil_trust_policy_new_identifier(veil_node *node,
                                                 const char *const *identifiers,
                                                 size_t n, veil_trust_policy **out) VEIL_WUR;
/* Combinators; take ownership of the members (also on failure). */
VEIL_EXPORT int veil_trust_policy_new_all(veil_trust_policy **members, size_t n,
                                          veil_trust_policy **out) VEIL_WUR;
VEIL_EXPORT int veil_trust_policy_new_any(veil_trust_policy **members, size_t n,
                                          veil_trust_policy **out) VEIL_WUR;
/* 0 allow; VEIL_EDENIED (any deny or error: fail closed). */
VEIL_EXPORT int veil_trust_policy_check(veil_trust_policy *p,
                                        const veil_trust_info *info) VEIL_WUR;
VEIL_EXPORT const char *veil_trust_policy_name(const veil_trust_policy *p);
VEIL_EXPORT void veil_trust_policy_free(veil_trust_policy *p);

VEIL_END_DECLS
#endif
