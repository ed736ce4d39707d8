/* The noise key-agreement plugin: configuration, instances and the ops
 * table (docs/NOISE.md).
 *
 * An instance is one [key_agreement] section: its protocol name is parsed
 * (strictly) when the instance is made, so a bad name fails at startup and
 * not at the first connection.  A session is a HandshakeState: the session
 * ops are handshake.c's functions themselves, rekey is libveil's
 * veil_key_agreement_rekey. */
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

static const char *const config_keys[] = { "protocol", "prologue", NULL };

static void instance_free(void *p)
{
    noise_instance *inst = p;
    if (inst == NULL)
        return;
    free(inst->prologue);
    free(inst);
}

static int instance_new(void *plugin_state, const veil_config_scope *scope, void **out)
{
    (void)plugin_state;
    noise_instance *inst = calloc(1, sizeof(*inst));
    if (inst == NULL)
        return veil_error_set(VEIL_ENOMEM, "noise: out of memory for an instance");
    const char *proto = veil_config_scope_get(scope, "protocol");
    const char *prologue = veil_config_scope_get(scope, "prologue");
    if (proto == NULL)
        proto = NOISE_DEFAULT_PROTOCOL;
    noise_protocol parsed;
    int rc = noise_protocol_parse(proto, &parsed);
    if (rc < 0) {
        const char *origin = veil_config_scope_origin(scope, "protocol");
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

static int session_new(void *p, const veil_ka_params *params, void **session)
{
    noise_instance *inst = p;
    if (inst == NULL || params == NULL || session == NULL)
        return veil_error_set(VEIL_EINVAL, "noise: session_new: NULL argument");
    /* A caller built against an older minor passes a shorter struct (the
     * smallest ends at n_psks): copy only what it has; Noise does not use
     * the appended fields, which stay zero. */
    if (!VEIL_ABI_HAS(params, n_psks))
        return veil_error_set(VEIL_EINVAL,
                              "noise: veil_ka_params.size is %zu, expected at least %zu or %zu",
                              params->size, VEIL_ABI_SIZE(veil_ka_params, n_psks),
                              sizeof(veil_ka_params));
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

static const veil_key_agreement_ops ops = {
    .size = sizeof ops,
    .instance_new = instance_new,
    .instance_free = instance_free,
    .session_new = session_new,
    .session_free = noise_handshake_free,
    .next_action = noise_handshake_next_action,
    .write_message = noise_handshake_write,
    .read_message = noise_handshake_read,
    .split = noise_handshake_split,
    .rekey = veil_key_agreement_rekey,
    .describe = describe,
};

static const veil_plugin_descriptor descriptor = {
    VEIL_PLUGIN_ABI,
    .kind = VEIL_PLUGIN_KEY_AGREEMENT,
    .name = "noise",
    .version = "1.0",
    .description = "Noise Protocol Framework (revision 34)",
    .config_keys = config_keys,
    .ops = &ops,
};

VEIL_PLUGIN_ENTRY(descriptor)
