/* The tests' JSON reader (json.h): jansson parses; hex decoding is the
 * core's own (framework/core/util.c, compiled into this library). */
#include "json.h"
#include "util.h"

#include <veil/error.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *tjson_load(const char *path, char *why, size_t cap)
{
    json_error_t err;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (doc == NULL) {
        if (err.line > 0)
            snprintf(why, cap, "%s:%d:%d: %s", path, err.line, err.column, err.text);
        else
            snprintf(why, cap, "%s: %s", path, err.text);
    }
    return doc;
}

json_t *tjson_load_src(const char *relpath, char *why, size_t cap)
{
    const char *top = getenv("VEIL_TOP_SRCDIR");
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", top != NULL ? top : ".", relpath) >= sizeof path) {
        snprintf(why, cap, "path too long: %s/%s", top, relpath);
        return NULL;
    }
    return tjson_load(path, why, cap);
}

const json_t *tjson_array(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_array(v) ? v : NULL;
}

const char *tjson_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

int tjson_bool(const json_t *obj, const char *key, bool *out)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return TJSON_ABSENT;
    if (!json_is_boolean(v))
        return TJSON_BAD;
    *out = json_is_true(v);
    return TJSON_OK;
}

int tjson_int(const json_t *obj, const char *key, long long *out)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return TJSON_ABSENT;
    if (!json_is_integer(v))
        return TJSON_BAD;
    *out = json_integer_value(v);
    return TJSON_OK;
}

int tjson_hex_value(const json_t *v, uint8_t *out, size_t cap, size_t *len, char *why,
                    size_t whycap)
{
    const char *s = json_string_value(v);
    if (s == NULL) {
        snprintf(why, whycap, "not a string");
        return TJSON_BAD;
    }
    if (veil__hex_decode(s, out, cap, len) < 0) {
        snprintf(why, whycap, "%s", veil_last_error());
        return TJSON_BAD;
    }
    return TJSON_OK;
}

int tjson_hex(const json_t *obj, const char *key, uint8_t *out, size_t cap, size_t *len,
              char *why, size_t whycap)
{
    const json_t *v = json_object_get(obj, key);
    char inner[256];
    if (v == NULL || json_is_null(v))
        return TJSON_ABSENT;
    if (tjson_hex_value(v, out, cap, len, inner, sizeof inner) < 0) {
        snprintf(why, whycap, "field %s: %s", key, inner);
        return TJSON_BAD;
    }
    return TJSON_OK;
}

int tjson_hex_alloc(const json_t *obj, const char *key, size_t max, uint8_t **out, size_t *len,
                    char *why, size_t whycap)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    *len = 0;
    if (v == NULL || json_is_null(v))
        return TJSON_ABSENT;
    size_t n = json_string_length(v) / 2;
    *out = malloc(n + 1);
    if (*out == NULL) {
        snprintf(why, whycap, "field %s: out of memory", key);
        return TJSON_BAD;
    }
    int rc = tjson_hex(obj, key, *out, n < max ? n : max, len, why, whycap);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *len = 0;
    }
    return rc;
}

long test_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n;
    return veil__hex_decode(hex, out, cap, &n) < 0 ? -1 : (long)n;
}
