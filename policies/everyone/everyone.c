/* Trust policy "everyone": allow every peer whose history verified.
 *
 *   [policy]
 *   plugin = everyone
 *
 * The channel still authenticates the peer (its history and the binding to
 * the key agreement are verified before any policy runs); this policy only
 * gives up choosing among authenticated peers, so each instance says so in
 * the log at info level. */
#include <veil/plugin.h>
#include <veil/trust_policy.h>

static const veil_host_services *host;

static int every_init(const veil_host_services *h, const veil_config_scope *scope, void **state)
{
    (void)scope;
    host = h;
    *state = NULL;
    return 0;
}

static int every_instance_new(void *state, const veil_config_scope *scope, void **inst)
{
    (void)state;
    host->log(VEIL_LOG_INFO, "policy", "policy 'everyone' ([%s]) is in use: every "
              "authenticated peer is trusted", scope->section);
    *inst = NULL;
    return 0;
}

static void every_instance_free(void *inst)
{
    (void)inst;
}

static int every_check(void *inst, const veil_trust_info *info)
{
    (void)inst;
    (void)info;
    return 1;
}

static const veil_trust_policy_ops every_ops = {
    .size = sizeof(veil_trust_policy_ops),
    .instance_new = every_instance_new,
    .instance_free = every_instance_free,
    .check = every_check,
};

static const char *const every_keys[] = { NULL };

static const veil_plugin_descriptor every_descriptor = {
    .abi_major = VEIL_PLUGIN_ABI_MAJOR,
    .abi_minor = VEIL_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(veil_plugin_descriptor),
    .kind = VEIL_PLUGIN_TRUST_POLICY,
    .name = "everyone",
    .version = "1.0",
    .description = "allow every authenticated peer",
    .config_keys = every_keys,
    .init = every_init,
    .ops = &every_ops,
};

VEIL_PLUGIN_ENTRY(every_descriptor)
