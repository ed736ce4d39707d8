/* The x3dh key-agreement plugin: configuration, instances and the ops
 * table (docs/X3DH.md).
 *
 * An instance is one [key_agreement] section (info, require_opk, cipher,
 * ad_appendix), read strictly when the instance is made so a bad value
 * fails at startup.  A session is an x3dh_session: the session ops are
 * x3dh_session.c's functions themselves, rekey is libveil's
 * veil_key_agreement_rekey.  The listener hooks and peer_resolve lead to
 * the prekey side (x3dh_prekeys.h). */
#include "x3dh.h"
#include "x3dh_prekeys.h"

#include <veil/plugin.h>

#include <stdlib.h>

static const char *const config_keys[] = {
    "info", "require_opk", "cipher", "ad_appendix", NULL
};

static void instance_free(void *p)
{
    if (p == NULL)
        return;
    veil__memzero(p, sizeof(x3dh_config));
    free(p);
}

static int instance_new(void *plugin_state, const veil_config_scope *scope, void **out)
{
    (void)plugin_state;
    x3dh_config *c = calloc(1, sizeof *c);
    if (c == NULL)
        return veil_error_set(VEIL_ENOMEM, "x3dh: out of memory for an instance");
    int rc = x3dh_config_read(c, scope);
    if (rc < 0) {
        instance_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int session_new(void *inst, const veil_ka_params *params, void **session)
{
    if (inst == NULL || session == NULL)
        return veil_error_set(VEIL_EINVAL, "x3dh: session_new: NULL argument");
    x3dh_session *s = NULL;
    int rc = x3dh_session_new(inst, params, &s);
    if (rc == 0)
        *session = s;
    return rc;
}

/* The wire name of the protocol with its version (X3DH revision 1 over
 * X25519 and SHA-256, the configured AEAD; the info string already enters
 * the key derivation), and ad_appendix as the configured prologue. */
static int describe(void *inst, veil_ka_description *out)
{
    const x3dh_config *c = inst;
    if (c == NULL || out == NULL || out->size < sizeof(veil_ka_description))
        return veil_error_set(VEIL_EINVAL, "x3dh: describe: NULL argument or short struct");
    out->protocol = c->cipher_type == VEIL_SECRET_CHACHAPOLY ? "X3DH-1_25519_SHA256_ChaChaPoly"
                                                             : "X3DH-1_25519_SHA256_AESGCM";
    out->prologue = c->appendix_len > 0 ? c->appendix : NULL;
    out->prologue_len = c->appendix_len;
    return 0;
}

/* A listener of X3DH channels serves bundles for its static key from the
 * node's prekey service (and publishes them to a directory); with no
 * listener, the node's directory (x3dh_service.c). */
static int listener_start(void *inst, const veil_ka_listener_params *lp, void **handle)
{
    if (lp == NULL || handle == NULL || lp->size < sizeof *lp || lp->node == NULL)
        return veil_error_set(VEIL_EINVAL, "x3dh: listener_start: params (of at least %zu bytes) "
                              "with a node, and handle, must be set", sizeof *lp);
    const veil_config *cfg = veil_node_config(lp->node);
    int rc = x3dh_prekeys_check(cfg);
    if (rc < 0)
        return rc;
    veil_ka_prekey_params p = {
        .size = sizeof p,
        .ctx = veil_node_context(lp->node),
        .vault = lp->vault,
        .local_static = lp->local_static,
        .name = lp->address,
        .scope = { cfg, "prekeys" },
        .entity = lp->entity,
    };
    return x3dh_prekey_start(inst, &p, handle);
}

/* The listener's state goes; its entity keeps the vault open until after
 * this, so the store's secrets are destroyed in it. */
static void listener_stop(void *handle)
{
    x3dh_prekey_stop(handle, true);
}

static const veil_key_agreement_ops ops = {
    .size = sizeof ops,
    .instance_new = instance_new,
    .instance_free = instance_free,
    .session_new = session_new,
    .session_free = x3dh_session_free,
    .next_action = x3dh_session_next_action,
    .write_message = x3dh_session_write,
    .read_message = x3dh_session_read,
    .split = x3dh_session_split,
    .rekey = veil_key_agreement_rekey,
    .describe = describe,
    /* the prekey side (x3dh_service.c, x3dh_resolve.c) */
    .listener_start = listener_start,
    .listener_stop = listener_stop,
    .peer_resolve = x3dh_peer_resolve,
};

/* [prekeys] is read by this plugin, not by a slot of its own: registered
 * when the plugin loads (at veil_node_new when [key_agreement] names it),
 * so a node accepts the section, with its keys checked then
 * (docs/PLUGINS.md, "Sections a plugin reads"). */
static int check_prekeys(veil_node *node, const veil_config *cfg, const char *section)
{
    (void)node;
    (void)section;
    return x3dh_prekeys_check(cfg);
}

static int init(const veil_config_scope *scope, void **state)
{
    (void)scope;
    *state = NULL;
    return veil_config_register_section("prekeys", check_prekeys);
}

static void fini(void *state)
{
    (void)state;
    veil_config_unregister_section("prekeys", check_prekeys);
}

static const veil_plugin_descriptor descriptor = {
    VEIL_PLUGIN_ABI,
    .kind = VEIL_PLUGIN_KEY_AGREEMENT,
    .name = "x3dh",
    .version = "1.0",
    .description = "Signal's X3DH (revision 1) over X25519, SHA-256, XEdDSA",
    .config_keys = config_keys,
    .init = init,
    .fini = fini,
    .ops = &ops,
};

VEIL_PLUGIN_ENTRY(descriptor)
