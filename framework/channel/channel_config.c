/* Checking the secure channel layer's configuration without opening a
 * channel (veil_secure_channel_config_check): what `veil config check`
 * runs, the same code a listener or an initiator reads [secure_channel]
 * and [key_agreement] with. */
#include "channel_internal.h"

#include <veil/error.h>

#include <stdlib.h>

/* Keep-alive and healing keys of [secure_channel] (docs/CONFIG.md). */
#define MAX_MS 3600000LL

int veil__ch_heal_settings(const veil_config *cfg, veil_ch_settings *out)
{
    static const struct { const char *key; long long def, lo; } k[] = {
        { "ping_interval_ms", 0, 0 },       { "dead_after_ms", 0, 0 },
        { "reconnect_min_ms", 200, 1 },     { "reconnect_max_ms", 10000, 1 },
        { "reconnect_attempts", 0, 0 },     { "peer_silence_max_ms", 600000, 1000 },
    };
    long long v[6];
    bool res = false;
    int rc = veil_config_get_bool(cfg, "secure_channel", "resilient", false, &res);
    for (size_t i = 0; rc == 0 && i < 6; i++)
        rc = veil_config_get_int(cfg, "secure_channel", k[i].key, k[i].def, k[i].lo,
                                 i == 4 ? 1000000LL : MAX_MS, &v[i]);
    if (rc < 0)
        return rc;
    if (v[2] > v[3])
        return veil_error_set(VEIL_ECONFIG, "[secure_channel] reconnect_min_ms = %lld is above "
                              "reconnect_max_ms = %lld", v[2], v[3]);
    if (v[0] > 0 && v[1] > 0 && v[1] <= v[0])
        return veil_error_set(VEIL_ECONFIG, "[secure_channel] dead_after_ms = %lld must be above "
                              "ping_interval_ms = %lld", v[1], v[0]);
    out->resilient = res;
    out->ping_interval_ms = (uint32_t)v[0];
    out->dead_after_ms = (uint32_t)v[1];
    out->backoff_min_ms = (uint32_t)v[2];
    out->backoff_max_ms = (uint32_t)v[3];
    out->max_attempts = (uint32_t)v[4];
    out->peer_silence_max_ms = (uint32_t)v[5];
    return 0;
}

int veil_secure_channel_config_check(veil_node *node)
{
    veil_ch_settings s;
    const veil_key_agreement_ops *ka;
    void *inst;
    if (node == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_secure_channel_config_check: node is NULL");
    int rc = veil__ch_settings(node, &s);
    /* The key agreement instance parses [key_agreement] (e.g. Noise's
     * protocol name) as every channel and listener does. */
    if (rc == 0 && (rc = veil__ch_ka_instance(node, &ka, &inst, NULL, 0)) == 0)
        ka->instance_free(inst);
    return rc;
}

/* At node creation (veil_node_new runs the checks registered for the
 * sections present, issue #16): [secure_channel] whole, and
 * [key_agreement] through the key agreement instance a channel would
 * make, so `crypto`/`protocol` typos fail before the node is up. */
static int check_settings(veil_node *node, const veil_config *cfg, const char *section)
{
    veil_ch_settings s;
    (void)section;
    if (node != NULL)
        return veil_secure_channel_config_check(node);
    return veil__ch_settings_from(cfg, &s);
}

static int check_ka(veil_node *node, const veil_config *cfg, const char *section)
{
    const veil_key_agreement_ops *ka;
    void *inst;
    (void)cfg;
    (void)section;
    if (node == NULL)
        return 0;
    int rc = veil__ch_ka_instance(node, &ka, &inst, NULL, 0);
    if (rc == 0)
        ka->instance_free(inst);
    return rc;
}

__attribute__((constructor)) static void register_sections(void)
{
    /* Valid patterns in a table with room: cannot fail at load. */
    if (veil_config_register_section("secure_channel", check_settings) < 0 ||
        veil_config_register_section("key_agreement", check_ka) < 0)
        abort();
}
