/* The host services table handed to every plugin's init().
 *
 * Plugins link against nothing of libveil's internals: everything they need
 * from the host (configuration of their own section, logging, error detail,
 * the node's event loop, randomness, memory hygiene) arrives through this
 * one table, whose first field is its size so it can grow by appending. */
#include <veil/plugin.h>
#include <veil/error.h>
#include <veil/log.h>

#include "util.h"

/* The config wrappers accept a scope without a configuration or a section
 * (a plugin loaded with veil_plugin_load_named(name, NULL, NULL, ...)) and
 * behave as if every key were absent. */
static int scope_usable(const veil_config_scope *s)
{
    return s != NULL && s->config != NULL && s->section != NULL;
}

static const char *host_config_get(const veil_config_scope *s, const char *key)
{
    if (!scope_usable(s) || key == NULL)
        return NULL;
    return veil_config_scope_get(s, key);
}

static int host_config_get_int(const veil_config_scope *s, const char *key,
                               long long def, long long min, long long max,
                               long long *out)
{
    if (out == NULL || key == NULL)
        return veil_error_set(VEIL_EINVAL, "config_get_int: key and out must be non-NULL");
    if (!scope_usable(s)) {
        if (def < min || def > max)
            return veil_error_set(VEIL_EINVAL,
                                  "config_get_int: default %lld for '%s' is outside [%lld, %lld]",
                                  def, key, min, max);
        *out = def;
        return 0;
    }
    return veil_config_scope_get_int(s, key, def, min, max, out);
}

static int host_config_get_bool(const veil_config_scope *s, const char *key,
                                bool def, bool *out)
{
    if (out == NULL || key == NULL)
        return veil_error_set(VEIL_EINVAL, "config_get_bool: key and out must be non-NULL");
    if (!scope_usable(s)) {
        *out = def;
        return 0;
    }
    return veil_config_scope_get_bool(s, key, def, out);
}

/* log and error have exactly the signatures of veil_log and veil_error_set,
 * so the table points straight at them (no va_list forwarding needed). */
static const veil_host_services host_services = {
    .size = sizeof(veil_host_services),
    .abi_major = VEIL_PLUGIN_ABI_MAJOR,
    .abi_minor = VEIL_PLUGIN_ABI_MINOR,
    .config_get = host_config_get,
    .config_get_int = host_config_get_int,
    .config_get_bool = host_config_get_bool,
    .log = veil_log,
    .error = veil_error_set,
    .watch_add = veil_node_watch_add,
    .watch_modify = veil_node_watch_modify,
    .watch_remove = veil_node_watch_remove,
    .timer_add = veil_node_timer_add,
    .timer_cancel = veil_node_timer_cancel,
    .random = veil__random,
    .memzero = veil__memzero,
    .memcmp_ct = veil__memcmp_ct,
};

const veil_host_services *veil_host_services_get(void)
{
    return &host_services;
}
