/* The record wrappers (veil/vault.h, "records"): names and lengths are
 * checked here, once for every vault plugin, then the plugin's op runs.
 * Records are public bytes: nothing here is wiped. */
#include <string.h>

#include <veil/error.h>
#include <veil/vault.h>

#include "vault_internal.h"

static int name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

int veil_vault_record_name_check(const char *name)
{
    if (name == NULL)
        return veil_error_set(VEIL_EINVAL, "record name is NULL");
    size_t n = strnlen(name, VEIL_RECORD_NAME_MAX + 1);
    if (n == 0 || n > VEIL_RECORD_NAME_MAX)
        return veil_error_set(VEIL_EINVAL, "record name '%.40s%s' is %s (expected 1..%u "
                              "characters)", name, n > 40 ? "..." : "",
                              n == 0 ? "empty" : "too long", VEIL_RECORD_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        if (!name_char_ok(name[i]))
            return veil_error_set(VEIL_EINVAL, "record name '%s': bad character 0x%02x at "
                                  "offset %zu (allowed: A-Z a-z 0-9 . _ -)", name,
                                  (unsigned char)name[i], i);
    return 0;
}

static int check_name(const char *name, const char *fn)
{
    int rc = veil_vault_record_name_check(name);
    return rc < 0 ? veil_error_wrap(rc, "%s", fn) : 0;
}

int veil_vault_record_put(veil_vault *v, const char *name, const uint8_t *value, size_t len)
{
    static const char fn[] = "veil_vault_record_put";
    OP(v, record_put, fn);
    int rc = check_name(name, fn);
    if (rc < 0)
        return rc;
    if (value == NULL && len != 0)
        return veil_error_set(VEIL_EINVAL, "%s: value is NULL but len is %zu", fn, len);
    if (len > VEIL_RECORD_VALUE_MAX)
        return veil_error_set(VEIL_ELIMIT, "%s: record '%s' of %zu bytes (limit %u)", fn, name,
                              len, VEIL_RECORD_VALUE_MAX);
    return v->ops->record_put(v->inst, name, value, len);
}

int veil_vault_record_get(veil_vault *v, const char *name, uint8_t *out, size_t cap,
                          size_t *len)
{
    static const char fn[] = "veil_vault_record_get";
    OP(v, record_get, fn);
    NONNULL(len, fn);
    int rc = check_name(name, fn);
    if (rc < 0)
        return rc;
    return v->ops->record_get(v->inst, name, out, out == NULL ? 0 : cap, len);
}

int veil_vault_record_delete(veil_vault *v, const char *name)
{
    static const char fn[] = "veil_vault_record_delete";
    OP(v, record_delete, fn);
    int rc = check_name(name, fn);
    return rc < 0 ? rc : v->ops->record_delete(v->inst, name);
}

int veil_vault_record_list(veil_vault *v, const char *prefix, veil_record_fn fn_each, void *arg)
{
    static const char fn[] = "veil_vault_record_list";
    OP(v, record_list, fn);
    NONNULL(fn_each, fn);
    if (prefix == NULL)
        prefix = "";
    if (strnlen(prefix, VEIL_RECORD_NAME_MAX + 1) > VEIL_RECORD_NAME_MAX)
        return veil_error_set(VEIL_EINVAL, "%s: prefix longer than a record name (%u)", fn,
                              VEIL_RECORD_NAME_MAX);
    return v->ops->record_list(v->inst, prefix, fn_each, arg);
}
