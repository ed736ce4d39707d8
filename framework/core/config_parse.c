/* The INI parser of configurations, and loading them from files and
 * $VEIL_CONFIG (docs/CONFIG.md, "Syntax", "Errors"): every error names
 * "path:line", the offending token and what was expected.  Storage and
 * names: config.c. */
#include <veil/config.h>
#include <veil/error.h>

#include "config_internal.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_FILE_MAX (4u << 20) /* refuse absurd files instead of OOM */
#define SHOW VEIL_CONFIG_SHOW
typedef veil_config_entry entry;
typedef veil_config_section section;

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
    if (an > 0 && (after[0] == '#' || after[0] == ';') && after > close + 1)
        an = 0; /* "[vault]  # comment" */
    if (an > 0)
        return veil_error_set(VEIL_ECONFIG,
                              "%sunexpected text '%.*s' after section header (a comment starts "
                              "with '#' or ';' after a blank)",
                              p->where, (int)(an > SHOW ? SHOW : an), after);
    const char *nm = s + 1;
    size_t nn = (size_t)(close - nm);
    trim(&nm, &nn);
    if (nn == 0)
        return veil_error_set(VEIL_ECONFIG, "%sempty section name in '%.*s'", p->where,
                              (int)(n > SHOW ? SHOW : n), s);
    if ((rc = veil__config_check_name(nm, nn, p->where, "section name")) < 0)
        return rc;
    memcpy(name, nm, nn);
    name[nn] = '\0';
    char origin[sizeof p->where];
    snprintf(origin, sizeof origin, "%s:%zu", p->origin, p->line);
    return veil__config_add_section(p->cfg, name, origin, &p->cur);
}

/* A trailing comment (docs/CONFIG.md, "Syntax"): '#' or ';' at the start
 * of an unquoted value or after a blank starts one; anywhere else ("a#b",
 * "x;y") it is part of the value.  A value that must hold " #" is quoted. */
static size_t strip_comment(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((v[i] == '#' || v[i] == ';') && (i == 0 || blank(v[i - 1]))) {
            while (i > 0 && blank(v[i - 1]))
                i--;
            return i;
        }
    }
    return n;
}

/* Decode a value (already trimmed) into a fresh string. */
static int parse_value(parser *p, const char *key, const char *v, size_t n, char **out)
{
    if (n == 0 || v[0] != '"')
        n = strip_comment(v, n);
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
                                          p->where, veil__config_show_char(v[i + 1], cb), key);
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
            if (rn > 0 && (rest[0] == '#' || rest[0] == ';') && rest > v + i + 1)
                goto done; /* a comment after the closing quote and a blank */
            free(buf);
            return veil_error_set(VEIL_ECONFIG,
                                  "%sunexpected text '%.*s' after the closing quote of '%s'",
                                  p->where, (int)(rn > SHOW ? SHOW : rn), rest, key);
        }
    }
done:
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
    if ((rc = veil__config_check_name(k, kn, p->where, "key")) < 0)
        return rc;
    memcpy(key, k, kn);
    key[kn] = '\0';
    if (p->cur == NULL)
        return veil_error_set(VEIL_ECONFIG,
                              "%skey '%s' outside any section (put a [section] line above it)",
                              p->where, key);
    entry *dup = veil__config_find_key(p->cur, key);
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
    return veil__config_put_key(p->cur, key, value, origin);
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
    if (s[0] == '=' || veil__config_name_char(s[0]))
        return parse_key(p, s, n);
    /* Not a section, comment or key: say which character threw us. */
    const char *eq = memchr(s, '=', n);
    if (eq == NULL)
        return veil_error_set(VEIL_ECONFIG, "%smissing '=' in '%.*s' (expected key = value)",
                              p->where, (int)(n > SHOW ? SHOW : n), s);
    size_t kn = (size_t)(eq - s);
    trim(&s, &kn);
    return veil_error_set(VEIL_ECONFIG, "%sbad character %s in key '%.*s' (allowed: a-z 0-9 _ . -)",
                          p->where, veil__config_show_char(s[0], cb), (int)(kn > SHOW ? SHOW : kn), s);
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

int veil_config_new_from_text(veil_config **out, const char *text, const char *origin)
{
    veil_config *cfg;
    int rc;

    if (out == NULL || text == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_config_new_from_text: NULL argument");
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

int veil_config_new_from_file(veil_config **out, const char *path)
{
    veil_config *cfg;
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (out == NULL || path == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_config_new_from_file: NULL argument");
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

int veil_config_new_from_env(veil_config **out)
{
    /* secure_getenv: a setuid program must not read a file an
     * unprivileged caller picked. */
    const char *path = secure_getenv("VEIL_CONF");

    if (out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_config_new_from_env: NULL argument");
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return veil_error_set(VEIL_ENOTFOUND, "VEIL_CONF is not set");
    return veil_config_new_from_file(out, path);
}
