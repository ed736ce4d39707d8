/* INI-style configuration (docs/CONFIG.md).
 *
 * Sections and keys keep file order (plugins and docs list them as written).
 * Every value records where it came from ("path:line" or "set by program")
 * so any later complaint about it can point at the exact line.  Configs are
 * small and read at start-up, so plain arrays and linear lookups suffice.
 * This file: storage, names, programmatic access; the parser and files:
 * config_parse.c. */
#include <veil/config.h>
#include <veil/error.h>

#include "config_internal.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOW VEIL_CONFIG_SHOW
typedef veil_config_entry entry;
typedef veil_config_section section;

/* ---- storage ----------------------------------------------------------- */

static void entry_free(entry *e)
{
    free(e->key);
    /* Values may be passphrases or key material: wipe before freeing. */
    if (e->value != NULL)
        veil__memzero(e->value, strlen(e->value));
    free(e->value);
    free(e->origin);
}

static void section_free(section *s)
{
    for (size_t j = 0; j < s->n; j++)
        entry_free(&s->keys[j]);
    free(s->keys);
    free(s->name);
    free(s->origin);
}

void veil_config_free(veil_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->n; i++)
        section_free(&cfg->secs[i]);
    free(cfg->secs);
    free(cfg);
}

int veil_config_new(veil_config **out)
{
    if (out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_config_new: NULL argument");
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory allocating a config");
    return 0;
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, ncap * elem);
    if (p == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory growing a config");
    *arr = p;
    *cap = ncap;
    return 0;
}

static section *find_section(const veil_config *cfg, const char *name)
{
    if (cfg == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->secs[i].name, name) == 0)
            return &cfg->secs[i];
    return NULL;
}

const char *veil__config_section_origin(const veil_config *cfg, const char *name)
{
    section *s = find_section(cfg, name);
    return s != NULL ? s->origin : "?";
}

entry *veil__config_find_key(const section *s, const char *key)
{
    if (s == NULL || key == NULL)
        return NULL;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i].key, key) == 0)
            return &s->keys[i];
    return NULL;
}

int veil__config_add_section(veil_config *cfg, const char *name, const char *origin,
                             section **out)
{
    *out = find_section(cfg, name);
    if (*out != NULL)
        return 0;
    int rc = grow((void **)&cfg->secs, &cfg->cap, cfg->n, sizeof *cfg->secs);
    if (rc < 0)
        return rc;
    section *s = &cfg->secs[cfg->n];
    memset(s, 0, sizeof *s);
    s->name = strdup(name);
    s->origin = strdup(origin);
    if (s->name == NULL || s->origin == NULL) {
        free(s->name);
        free(s->origin);
        return veil_error_set(VEIL_ENOMEM, "out of memory adding [%s]", name);
    }
    cfg->n++;
    *out = s;
    return 0;
}

int veil__config_put_key(section *s, const char *key, char *value, char *origin)
{
    entry *e = veil__config_find_key(s, key);

    if (value == NULL || origin == NULL)
        goto nomem;
    if (e != NULL) {
        veil__memzero(e->value, strlen(e->value));
        free(e->value);
        free(e->origin);
        e->value = value;
        e->origin = origin;
        return 0;
    }
    if (grow((void **)&s->keys, &s->cap, s->n, sizeof *s->keys) < 0)
        goto nomem;
    e = &s->keys[s->n];
    e->key = strdup(key);
    if (e->key == NULL)
        goto nomem;
    e->value = value;
    e->origin = origin;
    s->n++;
    return 0;
nomem:
    free(value);
    free(origin);
    return veil_error_set(VEIL_ENOMEM, "out of memory setting [%s] %s", s->name, key);
}

/* ---- names ------------------------------------------------------------- */

bool veil__config_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

const char *veil__config_show_char(char c, char buf[8])
{
    unsigned char u = (unsigned char)c;
    if (u >= 0x20 && u < 0x7f)
        snprintf(buf, 8, "'%c'", c);
    else
        snprintf(buf, 8, "0x%02x", u);
    return buf;
}

int veil__config_check_name(const char *name, size_t n, const char *where, const char *what)
{
    char cb[8];

    if (n == 0)
        return veil_error_set(VEIL_ECONFIG, "%sempty %s", where, what);
    if (n > VEIL_CONFIG_NAME_MAX)
        return veil_error_set(VEIL_ECONFIG, "%s%s '%.*s...' is %zu characters (limit %u)",
                              where, what, SHOW, name, n, VEIL_CONFIG_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        if (!veil__config_name_char(name[i]))
            return veil_error_set(VEIL_ECONFIG,
                                  "%sbad character %s in %s '%.*s' (allowed: a-z 0-9 _ . -)",
                                  where, veil__config_show_char(name[i], cb), what,
                                  (int)(n > SHOW ? SHOW : n), name);
    return 0;
}

/* ---- programmatic access ----------------------------------------------- */

int veil_config_set(veil_config *cfg, const char *sec, const char *key,
                    const char *value)
{
    section *s;
    int rc;

    if (cfg == NULL || sec == NULL || key == NULL || value == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_config_set: NULL argument");
    if ((rc = veil__config_check_name(sec, strlen(sec), "", "section name")) < 0 ||
        (rc = veil__config_check_name(key, strlen(key), "", "key")) < 0)
        return rc;
    if (strlen(value) > VEIL_CONFIG_VALUE_MAX)
        return veil_error_set(VEIL_ECONFIG, "value of [%s] %s is %zu bytes (limit %u)",
                              sec, key, strlen(value), VEIL_CONFIG_VALUE_MAX);
    if ((rc = veil__config_add_section(cfg, sec, "set by program", &s)) < 0)
        return rc;
    return veil__config_put_key(s, key, strdup(value), strdup("set by program"));
}

int veil_config_unset(veil_config *cfg, const char *sec, const char *key)
{
    section *s = find_section(cfg, sec);
    entry *e = veil__config_find_key(s, key);

    if (e == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no key '%s' in [%s]",
                              key ? key : "(null)", sec ? sec : "(null)");
    entry_free(e);
    memmove(e, e + 1, (size_t)(s->keys + s->n - (e + 1)) * sizeof *e);
    s->n--;
    return 0;
}

int veil_config_remove_section(veil_config *cfg, const char *sec)
{
    section *s = find_section(cfg, sec);
    if (s == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no section [%s]", sec ? sec : "(null)");
    section_free(s);
    memmove(s, s + 1, (size_t)(cfg->secs + cfg->n - (s + 1)) * sizeof *s);
    cfg->n--;
    return 0;
}

const char *veil_config_get(const veil_config *cfg, const char *sec, const char *key)
{
    entry *e = veil__config_find_key(find_section(cfg, sec), key);
    return e ? e->value : NULL;
}

const char *veil_config_origin(const veil_config *cfg, const char *sec, const char *key)
{
    entry *e = veil__config_find_key(find_section(cfg, sec), key);
    return e ? e->origin : NULL;
}

bool veil_config_has_section(const veil_config *cfg, const char *sec)
{
    return find_section(cfg, sec) != NULL;
}

size_t veil_config_section_count(const veil_config *cfg)
{
    return cfg ? cfg->n : 0;
}

const char *veil_config_section_name(const veil_config *cfg, size_t i)
{
    return cfg && i < cfg->n ? cfg->secs[i].name : NULL;
}

size_t veil_config_key_count(const veil_config *cfg, const char *sec)
{
    section *s = find_section(cfg, sec);
    return s ? s->n : 0;
}

int veil_config_key_at(const veil_config *cfg, const char *sec, size_t i,
                       const char **key, const char **value)
{
    section *s = find_section(cfg, sec);

    if (s == NULL || i >= s->n)
        return veil_error_set(VEIL_ENOTFOUND, "no key number %zu in [%s]", i,
                              sec ? sec : "(null)");
    if (key != NULL)
        *key = s->keys[i].key;
    if (value != NULL)
        *value = s->keys[i].value;
    return 0;
}

int veil_config_new_copy(veil_config **out, const veil_config *src)
{
    veil_config *c;
    int rc;

    if (out == NULL || src == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_config_new_copy: NULL argument");
    *out = NULL;
    if ((rc = veil_config_new(&c)) < 0)
        return rc;
    for (size_t i = 0; i < src->n; i++) {
        section *s;
        if ((rc = veil__config_add_section(c, src->secs[i].name, src->secs[i].origin, &s)) < 0)
            goto fail;
        for (size_t j = 0; j < src->secs[i].n; j++) {
            const entry *e = &src->secs[i].keys[j];
            if ((rc = veil__config_put_key(s, e->key, strdup(e->value), strdup(e->origin))) < 0)
                goto fail;
        }
    }
    *out = c;
    return 0;
fail:
    veil_config_free(c);
    return rc;
}

int veil_config_check_keys(const veil_config *cfg, const char *sec,
                           const char *const *allowed)
{
    section *s = find_section(cfg, sec);

    if (s == NULL)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t j;
        for (j = 0; allowed != NULL && allowed[j] != NULL; j++)
            if (strcmp(allowed[j], s->keys[i].key) == 0)
                break;
        if (allowed != NULL && allowed[j] != NULL)
            continue;
        char list[512] = "none";
        size_t pos = 0;
        for (j = 0; allowed != NULL && allowed[j] != NULL && pos < sizeof list; j++) {
            int w = snprintf(list + pos, sizeof list - pos, "%s%s", j ? ", " : "",
                             allowed[j]);
            if (w < 0)
                break;
            pos += (size_t)w;
        }
        return veil_error_set(VEIL_ECONFIG, "%s: unknown key '%s' in [%s] (accepted: %s)",
                              s->keys[i].origin, s->keys[i].key, sec, list);
    }
    return 0;
}

