/* Typed configuration getters and the scoped helpers plugins use.  Built
 * only on the public lookup API (veil_config_get / veil_config_origin): the
 * error message names where the value came from, the key, the value and the
 * form that was expected. */
#include <veil/config.h>
#include <veil/error.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define INT_FORM "an integer with optional suffix k, m or g (x1024, x1024^2, x1024^3)"

static int bad_value(const veil_config *cfg, const char *sec, const char *key,
                     const char *value, const char *expected)
{
    return veil_error_set(VEIL_ECONFIG, "%s: [%s] %s = '%.64s': expected %s",
                          veil_config_origin(cfg, sec, key), sec, key, value, expected);
}

/* Decimal with optional sign and binary suffix; false on junk or overflow. */
static bool parse_ll(const char *s, long long *out)
{
    bool neg = false;
    unsigned long long v = 0, limit;
    size_t i = 0;

    if (s[i] == '+' || s[i] == '-')
        neg = s[i++] == '-';
    if (s[i] < '0' || s[i] > '9')
        return false;
    limit = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    unsigned shift = 0;
    switch (s[i]) {
    case 'k': case 'K': shift = 10; i++; break;
    case 'm': case 'M': shift = 20; i++; break;
    case 'g': case 'G': shift = 30; i++; break;
    default: break;
    }
    if (s[i] != '\0')
        return false;
    if (shift != 0) {
        if (v > limit >> shift)
            return false;
        v <<= shift;
    }
    /* -(LLONG_MAX+1) is representable; compute it without overflow. */
    *out = neg ? (v == 0 ? 0 : -(long long)(v - 1) - 1) : (long long)v;
    return true;
}

int veil_config_get_int(const veil_config *cfg, const char *sec, const char *key,
                        long long def, long long min, long long max, long long *out)
{
    const char *v = veil_config_get(cfg, sec, key);
    long long n;

    if (out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_config_get_int: NULL argument");
    if (v == NULL) {
        *out = def;
        return 0;
    }
    if (!parse_ll(v, &n))
        return bad_value(cfg, sec, key, v, INT_FORM);
    if (n < min || n > max) {
        char form[128];
        snprintf(form, sizeof form, "an integer from %lld to %lld", min, max);
        return bad_value(cfg, sec, key, v, form);
    }
    *out = n;
    return 0;
}

int veil_config_get_bool(const veil_config *cfg, const char *sec, const char *key,
                         bool def, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    const char *v = veil_config_get(cfg, sec, key);

    if (out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_config_get_bool: NULL argument");
    if (v == NULL) {
        *out = def;
        return 0;
    }
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return bad_value(cfg, sec, key, v, "a boolean (true/false, yes/no, on/off, 1/0)");
}

/* A scope without a configuration or a section (a plugin loaded with
 * veil_plugin_open_named(name, NULL, NULL, ...), a policy made by
 * program) reads as "every key absent". */
static bool scope_usable(const veil_config_scope *s)
{
    return s != NULL && s->config != NULL && s->section != NULL;
}

const char *veil_config_scope_get(const veil_config_scope *s, const char *key)
{
    return scope_usable(s) && key != NULL ? veil_config_get(s->config, s->section, key) : NULL;
}

const char *veil_config_scope_origin(const veil_config_scope *s, const char *key)
{
    return scope_usable(s) && key != NULL ? veil_config_origin(s->config, s->section, key)
                                          : NULL;
}

int veil_config_scope_get_int(const veil_config_scope *s, const char *key,
                              long long def, long long min, long long max,
                              long long *out)
{
    if (out == NULL || key == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_config_scope_get_int: key and out must be "
                              "non-NULL");
    if (scope_usable(s))
        return veil_config_get_int(s->config, s->section, key, def, min, max, out);
    *out = def;
    return 0;
}

int veil_config_scope_get_bool(const veil_config_scope *s, const char *key,
                               bool def, bool *out)
{
    if (out == NULL || key == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_config_scope_get_bool: key and out must be "
                              "non-NULL");
    if (scope_usable(s))
        return veil_config_get_bool(s->config, s->section, key, def, out);
    *out = def;
    return 0;
}
