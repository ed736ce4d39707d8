/* The noise key-agreement plugin: descriptor and veil_key_agreement_ops.
 *
 * An instance is one [key_agreement] section: its protocol name is parsed
 * (strictly) when the instance is made, so a bad name fails at startup and
 * not at the first connection.  A session is a HandshakeState. */
#include "noise.h"

#include <veil/plugin.h>

#include <stdlib.h>
#include <string.h>

#define NOISE_DEFAULT_PROTOCOL "Noise_XX_25519_AESGCM_SHA256"

typedef struct noise_instance {
    char protocol[NOISE_NAME_MAX + 1];
    uint8_t *prologue;
    size_t prologue_len;
} noise_instance;

static const veil_host_services *host;

static int plugin_init(const veil_host_services *h, const veil_config_scope *scope, void **state)
{
    (void)scope;
    host = h;
    *state = NULL;
    return 0;
}

static void instance_free(void *p)
{
    noise_instance *inst = p;
    if (inst == NULL)
        return;
    free(inst->prologue);
    free(inst);
}

static const char *config_value(const veil_config_scope *scope, const char *key)
{
    if (scope == NULL || scope->config == NULL || scope->section == NULL)
        return NULL;
    return host != NULL ? host->config_get(scope, key) : veil_config_scope_get(scope, key);
}

static int instance_new(void *plugin_state, const veil_config_scope *scope, void **out)
{
    (void)plugin_state;
    noise_instance *inst = calloc(1, sizeof(*inst));
    if (inst == NULL)
        return veil_error_set(VEIL_ENOMEM, "noise: out of memory for an instance");
    const char *proto = config_value(scope, "protocol");
    const char *prologue = config_value(scope, "prologue");
    if (proto == NULL)
        proto = NOISE_DEFAULT_PROTOCOL;
    noise_protocol parsed;
    int rc = noise_protocol_parse(proto, &parsed);
    if (rc < 0) {
        const char *origin = scope ? veil_config_origin(scope->config, scope->section, "protocol") : NULL;
        instance_free(inst);
        return origin ? veil_error_wrap(rc, "%s: [%s] protocol", origin, scope->section) : rc;
    }
    memcpy(inst->protocol, proto, strlen(proto) + 1);
    if (prologue != NULL && prologue[0] != '\0') {
        inst->prologue_len = strlen(prologue);
        inst->prologue = malloc(inst->prologue_len);
        if (inst->prologue == NULL) {
            instance_free(inst);
            return veil_error_set(VEIL_ENOMEM, "noise: out of memory for the prologue");
        }
        memcpy(inst->prologue, prologue, inst->prologue_len);
    }
    *out = inst;
    return 0;
}

/* veil_ka_params as ABI 1.0 defined it: up to and including n_psks. */
#define NOISE_KA_PARAMS_V1_SIZE offsetof(veil_ka_params, peer_bundle)

static int session_new(void *p, const veil_ka_params *params, void **session)
{
    noise_instance *inst = p;
    if (inst == NULL || params == NULL || session == NULL)
        return veil_error_set(VEIL_EINVAL, "noise: session_new: NULL argument");
    /* ABI 1.0 callers pass a shorter struct (it ends before peer_bundle):
     * copy only what the caller has; Noise does not use the appended
     * fields, which stay zero. */
    if (params->size < NOISE_KA_PARAMS_V1_SIZE)
        return veil_error_set(VEIL_EINVAL,
                              "noise: veil_ka_params.size is %zu, expected at least %zu "
                              "(ABI 1.0) or %zu",
                              params->size, NOISE_KA_PARAMS_V1_SIZE, sizeof(veil_ka_params));
    veil_ka_params local;
    memset(&local, 0, sizeof local);
    memcpy(&local, params,
           params->size < sizeof(veil_ka_params) ? params->size : sizeof(veil_ka_params));
    local.size = sizeof local;
    if (local.protocol == NULL)
        local.protocol = inst->protocol;
    if (local.prologue == NULL && local.prologue_len == 0) {
        local.prologue = inst->prologue;
        local.prologue_len = inst->prologue_len;
    }
    noise_handshake *hs = NULL;
    int rc = noise_handshake_new(&local, &hs);
    if (rc < 0)
        return rc;
    *session = hs;
    return 0;
}

static void session_free(void *s)
{
    noise_handshake_free(s);
}

static int next_action(void *s)
{
    return noise_handshake_next_action(s);
}

static int write_message(void *s, const uint8_t *payload, size_t payload_len, uint8_t *out,
                         size_t cap, size_t *out_len)
{
    return noise_handshake_write(s, payload, payload_len, out, cap, out_len);
}

static int read_message(void *s, const uint8_t *in, size_t len, uint8_t *payload, size_t cap,
                        size_t *payload_len)
{
    return noise_handshake_read(s, in, len, payload, cap, payload_len);
}

static int split(void *s, veil_ka_result *out)
{
    return noise_handshake_split(s, out);
}

static int rekey(void *inst, veil_vault *v, veil_secret key, veil_secret *out)
{
    (void)inst;
    if (v == NULL || key == 0 || out == NULL)
        return veil_error_set(VEIL_EINVAL, "noise: rekey: vault, key and out must be set");
    return noise_rekey_key(v, key, out);
}

/* The protocol name is the wire name with its version (Noise revision 34
 * names the protocol fully); the configured prologue comes with it. */
static int describe(void *p, veil_ka_description *out)
{
    noise_instance *inst = p;
    if (inst == NULL || out == NULL || out->size < sizeof(veil_ka_description))
        return veil_error_set(VEIL_EINVAL, "noise: describe: NULL argument or short struct");
    out->protocol = inst->protocol;
    out->prologue = inst->prologue;
    out->prologue_len = inst->prologue_len;
    return 0;
}

static const veil_key_agreement_ops noise_ops = {
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
};

static const char *const noise_config_keys[] = { "protocol", "prologue", NULL };

static const veil_plugin_descriptor noise_descriptor = {
    .abi_major = VEIL_PLUGIN_ABI_MAJOR,
    .abi_minor = VEIL_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(veil_plugin_descriptor),
    .kind = VEIL_PLUGIN_KEY_AGREEMENT,
    .name = "noise",
    .version = "1.0",
    .description = "Noise Protocol Framework (revision 34)",
    .config_keys = noise_config_keys,
    .init = plugin_init,
    .fini = NULL,
    .ops = &noise_ops,
};

VEIL_PLUGIN_ENTRY(noise_descriptor)
