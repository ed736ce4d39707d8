/* The checks of the daemon's own sections ([daemon], [control],
 * [listener.NAME]: docs/CLI.md, "The daemon"), shared by `veil node run`
 * (before it takes the socket) and `veil config check` (which also builds
 * each listener's trust policy, as the daemon does when it starts it). */
#include "config.h"

#include <string.h>

#include "cli.h"
#include "daemon.h"
#include "portal.h"

static const char *const daemon_keys[] = { "name", "identity", "echo", NULL };
static const char *const control_keys[] = { "socket", NULL };
static const char *const listener_keys[] = { "address", "trust", "allowed_workers", NULL };

static int bad(const veil_config *cfg, const char *sec, const char *key, const char *why)
{
    const char *where = veil_config_origin(cfg, sec, key);
    return veil_error_set(VEIL_ECONFIG, "%s%s[%s] %s = '%s': %s", where != NULL ? where : "",
                          where != NULL ? ": " : "", sec, key, veil_config_get(cfg, sec, key),
                          why);
}

static int check_daemon(const veil_config *cfg)
{
    bool on;
    const char *name = veil_config_get(cfg, "daemon", "name");
    int rc = 0;
    /* Moved to libveil's [log] (one mechanism, one format): say where. */
    if (veil_config_get(cfg, "daemon", "log") != NULL)
        rc = bad(cfg, "daemon", "log", "moved: write '[log] destination = stderr | syslog' "
                                       "(docs/CONFIG.md, \"[log]\")");
    if (rc == 0 && veil_config_get(cfg, "daemon", "log_level") != NULL)
        rc = bad(cfg, "daemon", "log_level", "moved: write '[log] level = ...' "
                                             "(docs/CONFIG.md, \"[log]\")");
    if (rc == 0)
        rc = veil_config_check_keys(cfg, "daemon", daemon_keys);
    if (rc == 0)
        rc = veil_config_check_keys(cfg, "control", control_keys);
    if (rc == 0 && name != NULL && (name[0] == '\0' || strlen(name) > DAEMON_NAME_MAX ||
                                    strchr(name, '/') != NULL))
        rc = bad(cfg, "daemon", "name", "1..63 characters, no '/'");
    if (rc == 0)
        rc = veil_config_get_bool(cfg, "daemon", "echo", false, &on);
    return rc;
}

static int check_listener(veil_node *node, const veil_config *cfg, const char *sec)
{
    veil_trust_policy *p = NULL;
    const char *trust = veil_config_get(cfg, sec, "trust");
    int rc = veil_config_check_keys(cfg, sec, listener_keys);
    if (rc == 0 && trust == NULL)
        rc = veil_error_set(VEIL_ECONFIG, "[%s]: needs 'trust = everyone | IDENTIFIER... | "
                                          "policy.NAME'", sec);
    if (rc == 0 && node != NULL)
        rc = daemon_trust_policy(node, trust, &p);
    veil_trust_policy_free(p);
    return rc;
}

int daemon_config_check(veil_node *node, const veil_config *cfg)
{
    int rc = check_daemon(cfg);
    if (rc == 0)
        rc = daemon_relay_check(cfg);
    size_t n = veil_config_section_count(cfg);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *sec = veil_config_section_name(cfg, i);
        if (strncmp(sec, "listener.", 9) == 0)
            rc = check_listener(node, cfg, sec);
        else if (strncmp(sec, "inlet.", 6) == 0 || strncmp(sec, "outlet.", 7) == 0)
            rc = portal_config_check(node, cfg, sec);
    }
    return rc;
}
