/* The x3dh key-agreement plugin: descriptor and veil_key_agreement_ops.
 *
 * An instance is one [key_agreement] section (info, require_opk, cipher,
 * ad_appendix; docs/X3DH.md), read strictly when the instance is made so a
 * bad value fails at startup.  A session is an x3dh_session. */
#include "x3dh.h"
#include "x3dh_prekeys.h" /* the listener hooks and peer_resolve */

#include <veil/plugin.h>

#include <stdlib.h>

static const veil_host_services *host;

static int plugin_init(const veil_host_services *h, const veil_config_scope *scope, void **state)
{
    (void)scope;
    host = h;
    *state = NULL;
    return 0;
}

static const char *get_str(const veil_config_scope *s, const char *key)
{
    return host != NULL ? host->config_get(s, key) : veil_config_scope_get(s, key);
}

static int get_bool(const veil_config_scope *s, const char *key, bool def, bool *out)
{
    return host != NULL ? host->config_get_bool(s, key, def, out)
                        : veil_config_scope_get_bool(s, key, def, out);
}

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
    int rc = x3dh_config_read(c, scope, get_str, get_bool);
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

static void session_free(void *s)
{
    x3dh_session_free(s);
}

static int next_action(void *s)
{
    return x3dh_session_next_action(s);
}

static int write_message(void *s, const uint8_t *payload, size_t payload_len, uint8_t *out,
                         size_t cap, size_t *out_len)
{
    return x3dh_session_write(s, payload, payload_len, out, cap, out_len);
}

static int read_message(void *s, const uint8_t *in, size_t len, uint8_t *payload, size_t cap,
                        size_t *payload_len)
{
    return x3dh_session_read(s, in, len, payload, cap, payload_len);
}

static int split(void *s, veil_ka_result *out)
{
    return x3dh_session_split(s, out);
}

static int rekey(void *inst, veil_vault *v, veil_secret key, veil_secret *out)
{
    (void)inst;
    if (v == NULL || key == 0 || out == NULL)
        return veil_error_set(VEIL_EINVAL, "x3dh: rekey: vault, key and out must be set");
    return x3dh_rekey_key(v, key, out);
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

static const veil_key_agreement_ops x3dh_ops = {
    .size = sizeof(veil_key_agreement_ops),
    .instance_new = instance_new,
    .instance_free = instance_free,
    .session_new = session_new,
    .session_free = session_free,
    .next_action = next_action,
    .write_message = write_message,
    .read_message = read_message,
    .split = split,
    .rekey = rekey,
    .describe = describe,
    /* the prekey side (x3dh_service.c, x3dh_resolve.c) */
    .listener_start = listener_start,
    .listener_stop = listener_stop,
    .peer_resolve = x3dh_peer_resolve,
};

static const char *const x3dh_config_keys[] = {
    "info", "require_opk", "cipher", "ad_appendix", X3DH_STORE_CONFIG_KEYS NULL
};

static const veil_plugin_descriptor x3dh_descriptor = {
    .abi_major = VEIL_PLUGIN_ABI_MAJOR,
    .abi_minor = VEIL_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(veil_plugin_descriptor),
    .kind = VEIL_PLUGIN_KEY_AGREEMENT,
    .name = "x3dh",
    .version = "1.0",
    .description = "Signal's X3DH (revision 1) over X25519, SHA-256, XEdDSA",
    .config_keys = x3dh_config_keys,
    .init = plugin_init,
    .fini = NULL,
    .ops = &x3dh_ops,
};

VEIL_PLUGIN_ENTRY(x3dh_descriptor)
