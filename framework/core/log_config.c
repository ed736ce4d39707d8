/* The [log] section (docs/CONFIG.md, "[log]"): level, destination
 * (stderr, syslog or an absolute file path),
 * timestamps, pid, ident, facility, repeat_window.  Checked when a node is
 * made (config_sections.c registers it) and by veil_log_configure, which
 * applies it process-wide. */
#include "log_internal.h"
#include "config_internal.h"

#include <veil/config.h>
#include <veil/error.h>

#include <stdio.h>
#include <string.h>
#include <syslog.h>

static const char *const log_keys[] = {
    "level", "destination", "timestamps", "pid", "ident", "facility", "repeat_window", NULL,
};

static const struct { const char *name; int value; } facilities[] = {
    { "user", LOG_USER },     { "daemon", LOG_DAEMON }, { "auth", LOG_AUTH },
    { "authpriv", LOG_AUTHPRIV }, { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
    { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
    { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static int bad(const veil_config *cfg, const char *key, const char *expected)
{
    const char *where = veil_config_origin(cfg, "log", key);
    return veil_error_set(VEIL_ECONFIG, "%s%s[log] %s = '%.64s': expected %s (docs/CONFIG.md, "
                          "\"[log]\")", where != NULL ? where : "", where != NULL ? ": " : "",
                          key, veil_config_get(cfg, "log", key), expected);
}

/* Printable, no blank, no '%' or ':' (syslog's tag ends at ':'). */
static bool ident_ok(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > VEIL_LOG_IDENT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (v[i] <= ' ' || v[i] > '~' || v[i] == '%' || v[i] == ':' || v[i] == '[')
            return false;
    return true;
}

static int read_strings(const veil_config *cfg, veil_log_settings *out, veil_log_level *level,
                        bool *has_level)
{
    const char *v = veil_config_get(cfg, "log", "level");
    if (v != NULL && veil_log_level_parse(v, level) != 0)
        return bad(cfg, "level", "error, warn, info, debug or none");
    *has_level = v != NULL;
    v = veil_config_get(cfg, "log", "destination");
    out->destination = VEIL_LOG_TO_STDERR;
    if (v != NULL && strcmp(v, "syslog") == 0) {
        out->destination = VEIL_LOG_TO_SYSLOG;
    } else if (v != NULL && v[0] == '/' && strlen(v) <= VEIL_LOG_PATH_MAX) {
        out->destination = VEIL_LOG_TO_FILE;
        memcpy(out->path, v, strlen(v) + 1);
    } else if (v != NULL && strcmp(v, "stderr") != 0) {
        return bad(cfg, "destination", "stderr, syslog or an absolute file path");
    }
    v = veil_config_get(cfg, "log", "ident");
    if (v != NULL && !ident_ok(v))
        return bad(cfg, "ident", "1..32 printable characters, no blank, '%', ':' or '['");
    snprintf(out->ident, sizeof out->ident, "%s", v != NULL ? v : "veil");
    v = veil_config_get(cfg, "log", "facility");
    out->facility = LOG_USER;
    if (v == NULL)
        return 0;
    for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++) {
        if (strcmp(v, facilities[i].name) == 0) {
            out->facility = facilities[i].value;
            return 0;
        }
    }
    return bad(cfg, "facility", "user, daemon, auth, authpriv or local0..local7");
}

int veil__log_read_config(const veil_config *cfg, veil_log_settings *out, veil_log_level *level,
                          bool *has_level)
{
    long long window;
    memset(out, 0, sizeof *out);
    int rc = veil_config_check_keys(cfg, "log", log_keys);
    if (rc == 0)
        rc = read_strings(cfg, out, level, has_level);
    if (rc == 0)
        rc = veil_config_get_bool(cfg, "log", "timestamps", true, &out->timestamps);
    if (rc == 0)
        rc = veil_config_get_bool(cfg, "log", "pid", true, &out->pid);
    if (rc == 0)
        rc = veil_config_get_int(cfg, "log", "repeat_window", VEIL_LOG_WINDOW_DEFAULT_S, 0,
                                 VEIL_LOG_WINDOW_MAX_S, &window);
    if (rc == 0)
        out->window_s = (unsigned)window;
    return rc;
}

int veil__config_check_log(struct veil_node *node, const veil_config *cfg, const char *section)
{
    veil_log_settings s;
    veil_log_level level;
    bool has_level;
    (void)node;
    (void)section;
    return veil__log_read_config(cfg, &s, &level, &has_level);
}

int veil_log_configure(const veil_config *cfg)
{
    veil_log_settings s;
    veil_log_level level = VEIL_LOG_WARN;
    bool has_level = false;
    if (cfg == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_log_configure: NULL config");
    int rc = veil__log_read_config(cfg, &s, &level, &has_level);
    if (rc < 0)
        return rc;
    return veil__log_apply(&s, has_level ? &level : NULL);
}
