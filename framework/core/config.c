/* INI-style configuration (docs/CONFIG.md).
 *
 * Sections and keys keep file order (plugins and docs list them as written).
 * Every value records where it came from ("path:line" or "set by program")
 * so any later complaint about it can point at the exact line.  Configs are
 * small and read at start-up, so plain arrays and linear lookups suffice. */
#include <veil/config.h>
#include <veil/error.h>

#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_FILE_MAX (4u << 20) /* refuse absurd files instead of OOM */
#define SHOW 64                    /* longest token quoted in an error */

typedef struct entry {
    char *key;
    char *value;
    char *origin;
} entry;

typedef struct section {
    char *name;
    entry *keys;
    size_t n, cap;
} section;

struct veil_config {
    section *secs;
    size_t n, cap;
};

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

void veil_config_free(veil_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        for (size_t j = 0; j < cfg->secs[i].n; j++)
            entry_free(&cfg->secs[i].keys[j]);
        free(cfg->secs[i].keys);
        free(cfg->secs[i].name);
    }
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

static entry *find_key(const section *s, const char *key)
{
    if (s == NULL || key == NULL)
        return NULL;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i].key, key) == 0)
            return &s->keys[i];
    return NULL;
}

static int add_section(veil_config *cfg, const char *name, section **out)
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
    if (s->name == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory adding [%s]", name);
    cfg->n++;
    *out = s;
    return 0;
}

/* Takes ownership of value and origin (freed on failure too). */
static int put_key(section *s, const char *key, char *value, char *origin)
{
    entry *e = find_key(s, key);

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

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/* Describe a character for an error: 'X' when printable, 0xNN otherwise. */
static const char *show_char(char c, char buf[8])
{
    unsigned char u = (unsigned char)c;
    if (u >= 0x20 && u < 0x7f)
        snprintf(buf, 8, "'%c'", c);
    else
        snprintf(buf, 8, "0x%02x", u);
    return buf;
}

/* where: "path:line: " or "" ; what: "section name" / "key". */
static int check_name(const char *name, size_t n, const char *where,
                      const char *what)
{
    char cb[8];

    if (n == 0)
        return veil_error_set(VEIL_ECONFIG, "%sempty %s", where, what);
    if (n > VEIL_CONFIG_NAME_MAX)
        return veil_error_set(VEIL_ECONFIG, "%s%s '%.*s...' is %zu characters (limit %u)",
                              where, what, SHOW, name, n, VEIL_CONFIG_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        if (!name_char(name[i]))
            return veil_error_set(VEIL_ECONFIG,
                                  "%sbad character %s in %s '%.*s' (allowed: a-z 0-9 _ . -)",
                                  where, show_char(name[i], cb), what,
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
    if ((rc = check_name(sec, strlen(sec), "", "section name")) < 0 ||
        (rc = check_name(key, strlen(key), "", "key")) < 0)
        return rc;
    if (strlen(value) > VEIL_CONFIG_VALUE_MAX)
        return veil_error_set(VEIL_ECONFIG, "value of [%s] %s is %zu bytes (limit %u)",
                              sec, key, strlen(value), VEIL_CONFIG_VALUE_MAX);
    if ((rc = add_section(cfg, sec, &s)) < 0)
        return rc;
    return put_key(s, key, strdup(value), strdup("set by program"));
}

int veil_config_unset(veil_config *cfg, const char *sec, const char *key)
{
    section *s = find_section(cfg, sec);
    entry *e = find_key(s, key);

    if (e == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no key '%s' in [%s]",
                              key ? key : "(null)", sec ? sec : "(null)");
    entry_free(e);
    memmove(e, e + 1, (size_t)(s->keys + s->n - (e + 1)) * sizeof *e);
    s->n--;
    return 0;
}

const char *veil_config_get(const veil_config *cfg, const char *sec, const char *key)
{
    entry *e = find_key(find_section(cfg, sec), key);
    return e ? e->value : NULL;
}

const char *veil_config_origin(const veil_config *cfg, const char *sec, const char *key)
{
    entry *e = find_key(find_section(cfg, sec), key);
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

int veil_config_copy(veil_config **out, const veil_config *src)
{
    veil_config *c;
    int rc;

    if (out == NULL || src == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_config_copy: NULL argument");
    *out = NULL;
    if ((rc = veil_config_new(&c)) < 0)
        return rc;
    for (size_t i = 0; i < src->n; i++) {
        section *s;
        if ((rc = add_section(c, src->secs[i].name, &s)) < 0)
            goto fail;
        for (size_t j = 0; j < src->secs[i].n; j++) {
            const entry *e = &src->secs[i].keys[j];
            if ((rc = put_key(s, e->key, strdup(e->value), strdup(e->origin))) < 0)
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

/* ---- parser ------------------------------------------------------------ */

typedef struct parser {
    veil_config *cfg;
    const char *origin;
    size_t line;
    section *cur;
    char where[300]; /* "origin:line: " */
} parser;

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && blank(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && blank((*s)[*n - 1]))
        (*n)--;
}

static int parse_section(parser *p, const char *s, size_t n)
{
    char name[VEIL_CONFIG_NAME_MAX + 1];
    const char *close = memchr(s, ']', n);
    int rc;

    if (close == NULL)
        return veil_error_set(VEIL_ECONFIG, "%sunterminated section header '%.*s' (missing ']')",
                              p->where, (int)(n > SHOW ? SHOW : n), s);
    const char *after = close + 1;
    size_t an = n - (size_t)(after - s);
    trim(&after, &an);
    if (an > 0)
        return veil_error_set(VEIL_ECONFIG,
                              "%sunexpected text '%.*s' after section header (comments need a line of their own)",
                              p->where, (int)(an > SHOW ? SHOW : an), after);
    const char *nm = s + 1;
    size_t nn = (size_t)(close - nm);
    trim(&nm, &nn);
    if (nn == 0)
        return veil_error_set(VEIL_ECONFIG, "%sempty section name in '%.*s'", p->where,
                              (int)(n > SHOW ? SHOW : n), s);
    if ((rc = check_name(nm, nn, p->where, "section name")) < 0)
        return rc;
    memcpy(name, nm, nn);
    name[nn] = '\0';
    return add_section(p->cfg, name, &p->cur);
}

/* Decode a value (already trimmed) into a fresh string. */
static int parse_value(parser *p, const char *key, const char *v, size_t n, char **out)
{
    char *buf = malloc(n + 1);
    size_t o = 0;

    if (buf == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory reading a value");
    if (n == 0 || v[0] != '"') {
        memcpy(buf, v, n);
        o = n;
    } else {
        size_t i = 1;
        for (; i < n && v[i] != '"'; i++) {
            if (v[i] == '\\') {
                if (i + 1 >= n || (v[i + 1] != '"' && v[i + 1] != '\\')) {
                    char cb[8];
                    free(buf);
                    if (i + 1 >= n)
                        return veil_error_set(VEIL_ECONFIG, "%sunterminated quote in value of '%s'",
                                              p->where, key);
                    return veil_error_set(VEIL_ECONFIG,
                                          "%sunknown escape '\\' followed by %s in value of '%s' (only \\\" and \\\\ are allowed)",
                                          p->where, show_char(v[i + 1], cb), key);
                }
                i++;
            }
            buf[o++] = v[i];
        }
        if (i >= n) {
            free(buf);
            return veil_error_set(VEIL_ECONFIG, "%sunterminated quote in value of '%s'",
                                  p->where, key);
        }
        if (i + 1 < n) {
            const char *rest = v + i + 1;
            size_t rn = n - i - 1;
            trim(&rest, &rn);
            free(buf);
            return veil_error_set(VEIL_ECONFIG,
                                  "%sunexpected text '%.*s' after the closing quote of '%s'",
                                  p->where, (int)(rn > SHOW ? SHOW : rn), rest, key);
        }
    }
    buf[o] = '\0';
    if (o > VEIL_CONFIG_VALUE_MAX) {
        free(buf);
        return veil_error_set(VEIL_ECONFIG, "%svalue of '%s' is %zu bytes (limit %u)",
                              p->where, key, o, VEIL_CONFIG_VALUE_MAX);
    }
    *out = buf;
    return 0;
}

static int parse_key(parser *p, const char *s, size_t n)
{
    char key[VEIL_CONFIG_NAME_MAX + 1];
    const char *eq = memchr(s, '=', n);
    char *value = NULL, *origin;
    int rc;

    if (eq == NULL)
        return veil_error_set(VEIL_ECONFIG, "%smissing '=' in '%.*s' (expected key = value)",
                              p->where, (int)(n > SHOW ? SHOW : n), s);
    const char *k = s;
    size_t kn = (size_t)(eq - s);
    trim(&k, &kn);
    if (kn == 0)
        return veil_error_set(VEIL_ECONFIG, "%sempty key in '%.*s' (expected key = value)",
                              p->where, (int)(n > SHOW ? SHOW : n), s);
    if ((rc = check_name(k, kn, p->where, "key")) < 0)
        return rc;
    memcpy(key, k, kn);
    key[kn] = '\0';
    if (p->cur == NULL)
        return veil_error_set(VEIL_ECONFIG,
                              "%skey '%s' outside any section (put a [section] line above it)",
                              p->where, key);
    entry *dup = find_key(p->cur, key);
    if (dup != NULL)
        return veil_error_set(VEIL_ECONFIG, "%sduplicate key '%s' in [%s] (first defined at %s)",
                              p->where, key, p->cur->name, dup->origin);
    const char *v = eq + 1;
    size_t vn = n - (size_t)(v - s);
    trim(&v, &vn);
    if ((rc = parse_value(p, key, v, vn, &value)) < 0)
        return rc;
    size_t olen = strlen(p->origin) + 24;
    origin = malloc(olen);
    if (origin != NULL)
        snprintf(origin, olen, "%s:%zu", p->origin, p->line);
    return put_key(p->cur, key, value, origin);
}

static int parse_line(parser *p, const char *s, size_t n)
{
    char cb[8];

    if (memchr(s, '\0', n) != NULL)
        return veil_error_set(VEIL_ECONFIG, "%sNUL byte in line", p->where);
    trim(&s, &n);
    if (n == 0 || s[0] == '#' || s[0] == ';')
        return 0;
    if (s[0] == '[')
        return parse_section(p, s, n);
    if (s[0] == '=' || name_char(s[0]))
        return parse_key(p, s, n);
    /* Not a section, comment or key: say which character threw us. */
    const char *eq = memchr(s, '=', n);
    if (eq == NULL)
        return veil_error_set(VEIL_ECONFIG, "%smissing '=' in '%.*s' (expected key = value)",
                              p->where, (int)(n > SHOW ? SHOW : n), s);
    size_t kn = (size_t)(eq - s);
    trim(&s, &kn);
    return veil_error_set(VEIL_ECONFIG, "%sbad character %s in key '%.*s' (allowed: a-z 0-9 _ . -)",
                          p->where, show_char(s[0], cb), (int)(kn > SHOW ? SHOW : kn), s);
}

static int parse_buf(veil_config *cfg, const char *text, size_t len, const char *origin)
{
    parser p = {.cfg = cfg, .origin = origin, .line = 0, .cur = NULL};
    size_t i = 0;

    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
        p.line++;
        snprintf(p.where, sizeof p.where, "%s:%zu: ", origin, p.line);
        int rc = parse_line(&p, text + i, n);
        if (rc < 0)
            return rc;
        i += n + 1;
    }
    return 0;
}

int veil_config_parse(veil_config **out, const char *text, const char *origin)
{
    veil_config *cfg;
    int rc;

    if (out == NULL || text == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_config_parse: NULL argument");
    *out = NULL;
    if ((rc = veil_config_new(&cfg)) < 0)
        return rc;
    rc = parse_buf(cfg, text, strlen(text), origin ? origin : "<string>");
    if (rc < 0) {
        veil_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

static int read_file(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 0, n = 0;
    char *buf = NULL;

    if (f == NULL)
        return veil_error_set(VEIL_EIO, "cannot open config file '%s': %s", path,
                              strerror(errno));
    for (;;) {
        if (n == cap) {
            char *nb;
            if (cap >= CONFIG_FILE_MAX) {
                free(buf);
                fclose(f);
                return veil_error_set(VEIL_ECONFIG, "%s: file larger than %u bytes",
                                      path, CONFIG_FILE_MAX);
            }
            cap = cap ? cap * 2 : 4096;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return veil_error_set(VEIL_ENOMEM, "out of memory reading '%s'", path);
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        free(buf);
        fclose(f);
        return veil_error_set(VEIL_EIO, "cannot read config file '%s': %s", path,
                              strerror(e));
    }
    fclose(f);
    *data = buf;
    *len = n;
    return 0;
}

int veil_config_load_file(veil_config **out, const char *path)
{
    veil_config *cfg;
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (out == NULL || path == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_config_load_file: NULL argument");
    *out = NULL;
    if ((rc = read_file(path, &data, &len)) < 0)
        return rc;
    if ((rc = veil_config_new(&cfg)) < 0) {
        free(data);
        return rc;
    }
    rc = parse_buf(cfg, data, len, path);
    /* The file may hold secrets (passphrases): wipe our copy. */
    veil__memzero(data, len);
    free(data);
    if (rc < 0) {
        veil_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

int veil_config_load_env(veil_config **out)
{
    /* secure_getenv: a setuid program must not read a file an
     * unprivileged caller picked. */
    const char *path = secure_getenv("VEIL_CONF");

    if (out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_config_load_env: NULL argument");
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return veil_error_set(VEIL_ENOTFOUND, "VEIL_CONF is not set");
    return veil_config_load_file(out, path);
}
