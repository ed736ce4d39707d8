/* Test fixture: a well-formed trust-policy plugin.
 *
 * Accepts the config key "greeting"; init reads it and logs it through
 * libveil's API (the host contract) and keeps a copy as the
 * plugin state (the loader test reads it back), fini frees it.  Built as a
 * module (tests/plugins/.libs/fixture_good.so) and, with
 * -DVEIL_PLUGIN_BUILTIN, compiled into test_plugin_loader to exercise
 * built-in registration of the very same descriptor. */
#include <veil/plugin.h>
#include <veil/error.h>
#include <veil/trust_policy.h>

#include <stdlib.h>
#include <string.h>

#include "fixtures.h"

static int good_instance_new(void *plugin_state, const veil_config_scope *scope,
                             void **inst)
{
    (void)scope;
    *inst = plugin_state;
    return 0;
}

static void good_instance_free(void *inst)
{
    (void)inst;
}

/* Allows everything: the fixture exercises loading, not policy. */
static int good_check(void *inst, const veil_trust_info *info)
{
    (void)inst;
    (void)info;
    return 0;
}

static const veil_trust_policy_ops good_ops = {
    .size = sizeof(veil_trust_policy_ops),
    .instance_new = good_instance_new,
    .instance_free = good_instance_free,
    .check = good_check,
};

static int good_init(const veil_config_scope *scope, void **state)
{
    const char *greeting = veil_config_scope_get(scope, "greeting");
    char *copy;

    if (greeting == NULL)
        greeting = FIXTURE_GOOD_DEFAULT_GREETING;
    copy = strdup(greeting);
    if (copy == NULL)
        return veil_error_set(VEIL_ENOMEM, "fixture_good: out of memory");
    veil_log(VEIL_LOG_INFO, "fixture_good", "greeting: %s", copy);
    *state = copy;
    return 0;
}

static void good_fini(void *state)
{
    free(state);
}

static const char *const good_keys[] = { "greeting", NULL };

const veil_plugin_descriptor fixture_good_descriptor = {
    .abi_major = VEIL_PLUGIN_ABI_MAJOR,
    .abi_minor = VEIL_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(veil_plugin_descriptor),
    .kind = VEIL_PLUGIN_TRUST_POLICY,
    .name = "fixture_good",
    .version = "1.0",
    .description = "test fixture: allow-all trust policy",
    .config_keys = good_keys,
    .init = good_init,
    .fini = good_fini,
    .ops = &good_ops,
};

VEIL_PLUGIN_ENTRY(fixture_good_descriptor)
