/* Trust policy "everyone": allow every peer whose history verified.
 *
 *   [policy]
 *   plugin = everyone
 *
 * The channel still authenticates the peer (its history and the binding to
 * the key agreement are verified before any policy runs); this policy only
 * gives up choosing among authenticated peers, so each instance says so in
 * the log at info level. */
#include <veil/log.h>
#include <veil/plugin.h>
#include <veil/trust_policy.h>

static const char *const config_keys[] = { NULL };

static void instance_free(void *inst)
{
    (void)inst;
}

static int instance_new(void *plugin_state, const veil_config_scope *scope, void **inst)
{
    (void)plugin_state;
    veil_log(VEIL_LOG_INFO, "policy", "policy 'everyone' ([%s]) is in use: every "
             "authenticated peer is trusted", scope->section);
    *inst = NULL;
    return 0;
}

static int check(void *inst, const veil_trust_info *info)
{
    (void)inst;
    (void)info;
    return 0;
}

static const veil_trust_policy_ops ops = {
    .size = sizeof ops,
    .instance_new = instance_new,
    .instance_free = instance_free,
    .check = check,
};

static const veil_plugin_descriptor descriptor = {
    VEIL_PLUGIN_ABI,
    .kind = VEIL_PLUGIN_TRUST_POLICY,
    .name = "everyone",
    .version = "1.0",
    .description = "allow every authenticated peer",
    .config_keys = config_keys,
    .ops = &ops,
};

VEIL_PLUGIN_ENTRY(descriptor)
