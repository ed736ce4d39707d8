/* The node's key agreement for secure channels ([key_agreement], default
 * noise) and the optional hooks of its table (key_agreement.h, "listeners
 * and peers"): a listener starts and stops the key agreement's listener
 * side, an initiator resolves its peer first (channel_handshake.c), and
 * veil_key_agreement_directory_start starts a directory.  What the hooks
 * do (X3DH: prekey services, bundles, directories) is the plugin's
 * business; the channel only calls them. */
#include "channel_internal.h"

#include <veil/error.h>
#include <veil/plugin.h>

#include <stddef.h>
#include <stdio.h>

/* An optional op: in the table (VEIL_ABI_HAS) and set. */
#define HAS_OP(ka, op) (VEIL_ABI_HAS(ka, op) && (ka)->op != NULL)

/* Key agreement plugins are this layer's kind: [key_agreement],
 * [key_agreement.NAME]. */
__attribute__((constructor)) static void register_kind(void)
{
    static const veil_plugin_kind_info kind = {
        VEIL_PLUGIN_KEY_AGREEMENT, "key_agreement",
        VEIL_ABI_SIZE(veil_key_agreement_ops, rekey), true,
    };
    veil__plugin_kind_register(&kind);
}

int veil__ch_ka_instance(veil_node *node, const veil_key_agreement_ops **ka, void **inst,
                         char *fallback, size_t cap)
{
    veil_plugin *p;
    int rc = veil__node_plugin(node, "key_agreement", VEIL_PLUGIN_KEY_AGREEMENT, "noise", &p);
    if (rc < 0)
        return veil_error_wrap(rc, "secure channel: key agreement plugin");
    /* The loader refused a missing table or one smaller than ABI 1.0's
     * (ends at rekey); ops appended since are checked where used. */
    const veil_plugin_descriptor *d = veil_plugin_descriptor_of(p);
    const veil_key_agreement_ops *ops = d->ops;
    if (fallback != NULL)
        snprintf(fallback, cap, "%s/%s", d->name, d->version ? d->version : "");
    veil_config_scope scope = { veil_node_config(node), "key_agreement" };
    if ((rc = ops->instance_new(veil_plugin_state(p), &scope, inst)) < 0)
        return veil_error_wrap(rc, "secure channel: key agreement instance for [key_agreement]");
    *ka = ops;
    return 0;
}

bool veil__ch_ka_has_listener(const veil_key_agreement_ops *ka)
{
    return HAS_OP(ka, listener_start) && HAS_OP(ka, listener_stop);
}

bool veil__ch_ka_resolves(const veil_key_agreement_ops *ka)
{
    return HAS_OP(ka, peer_resolve);
}

int veil__ch_ka_listen(veil_ch_listener *l, veil_node *node, const char *address,
                       const veil_ch_local *loc)
{
    if (!veil__ch_ka_has_listener(l->ka))
        return 0;
    veil_ka_listener_params p = {
        .size = sizeof p,
        .node = node,
        .vault = veil_entity_vault(l->entity),
        .local_static = loc->static_key,
        .address = address,
        .entity = l->entity,
    };
    int rc = l->ka->listener_start(l->ka_inst, &p, &l->ka_listener);
    if (rc < 0)
        return veil_error_wrap(rc, "secure channel listener '%s': its key agreement's listener",
                               address);
    return 0;
}

void veil__ch_ka_unlisten(veil_ch_listener *l)
{
    /* The listener's entity reference keeps the vault open until after
     * this (veil__ch_listener_unref), so what the key agreement made for
     * the listener dies in the vault. */
    if (l->ka_listener != NULL)
        l->ka->listener_stop(l->ka_listener);
    l->ka_listener = NULL;
}

int veil_key_agreement_directory_start(veil_node *node, veil_vault *vault)
{
    if (node == NULL || vault == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_key_agreement_directory_start: node and vault "
                              "must be set");
    const veil_key_agreement_ops *ka;
    void *inst;
    char name[160];
    int rc = veil__ch_ka_instance(node, &ka, &inst, name, sizeof name);
    if (rc < 0)
        return rc;
    void *h = NULL;
    veil_ka_listener_params p = { .size = sizeof p, .node = node, .vault = vault };
    if (!veil__ch_ka_has_listener(ka))
        rc = veil_error_set(VEIL_EUNSUPPORTED, "veil_key_agreement_directory_start: the configured "
                            "key agreement (%s) has no directory (X3DH has one: [key_agreement] "
                            "plugin = x3dh)", name);
    else if ((rc = ka->listener_start(inst, &p, &h)) < 0)
        veil_error_wrap(rc, "veil_key_agreement_directory_start");
    if (h != NULL) /* a directory keeps no handle (the op contract) */
        ka->listener_stop(h);
    ka->instance_free(inst);
    return rc;
}
