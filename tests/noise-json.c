/* Recursive-descent JSON reader (RFC 8259) for the vector runner.  Every
 * read is checked against the end of the input; nesting is limited so a
 * hostile file cannot exhaust the stack. */
#include "noise-json.h"

#include "helpers.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

typedef struct parser {
    const char *s;
    size_t len, pos;
    char *err;
    size_t errcap;
} parser;

static int perr(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(parser *p, const char *fmt, ...)
{
    int w = snprintf(p->err, p->errcap, "byte %zu: ", p->pos);
    va_list ap;
    va_start(ap, fmt);
    if (w >= 0 && (size_t)w < p->errcap)
        vsnprintf(p->err + w, p->errcap - (size_t)w, fmt, ap);
    va_end(ap);
    return -1;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) != NULL && p->s[p->pos] != '\0')
        p->pos++;
}

static int read_u16(parser *p, unsigned *out)
{
    if (p->len - p->pos < 4)
        return perr(p, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = veil__hex_digit(p->s[p->pos + (size_t)i]);
        if (h < 0)
            return perr(p, "bad hex digit in \\u escape");
        v = v << 4 | (unsigned)h;
    }
    p->pos += 4;
    *out = v;
    return 0;
}

static size_t utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int read_escape(parser *p, char *o, size_t *n)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (p->pos >= p->len)
        return perr(p, "unterminated string");
    char c = p->s[p->pos++];
    const char *f = c != '\0' ? strchr(from, c) : NULL;
    if (f != NULL) {
        o[(*n)++] = to[f - from];
        return 0;
    }
    if (c != 'u')
        return perr(p, "bad escape '\\%c'", c);
    unsigned cp;
    if (read_u16(p, &cp) < 0)
        return -1;
    if (cp >= 0xd800 && cp < 0xdc00) {
        unsigned lo;
        if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
            return perr(p, "unpaired surrogate");
        p->pos += 2;
        if (read_u16(p, &lo) < 0)
            return -1;
        if (lo < 0xdc00 || lo > 0xdfff)
            return perr(p, "bad low surrogate");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        return perr(p, "unpaired surrogate");
    }
    *n += utf8_put(o + *n, cp);
    return 0;
}

/* The decoded string is never longer than its source, so one allocation
 * of the source length (+1) is enough. */
static int read_string(parser *p, char **out, size_t *out_len)
{
    p->pos++; /* opening quote */
    size_t start = p->pos, end = start;
    while (end < p->len && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len)
        return perr(p, "unterminated string starting here");
    char *o = malloc(end - start + 1);
    if (o == NULL)
        return perr(p, "out of memory");
    size_t n = 0;
    while (p->pos < end) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20) {
            free(o);
            return perr(p, "control character 0x%02x in string", c);
        }
        p->pos++;
        if (c != '\\') {
            o[n++] = (char)c;
        } else if (read_escape(p, o, &n) < 0) {
            free(o);
            return -1;
        }
    }
    if (p->pos != end) {
        free(o);
        return perr(p, "escape runs past the end of the string");
    }
    p->pos = end + 1;
    o[n] = '\0';
    *out = o;
    *out_len = n;
    return 0;
}

static int parse_value(parser *p, json_value *v, int depth);

static int append(parser *p, json_value *v, char *key)
{
    json_value *items = realloc(v->items, (v->n + 1) * sizeof(*items));
    if (items == NULL)
        return perr(p, "out of memory");
    v->items = items;
    memset(&items[v->n], 0, sizeof(items[0]));
    if (v->type == JSON_OBJECT) {
        char **keys = realloc(v->keys, (v->n + 1) * sizeof(*keys));
        if (keys == NULL)
            return perr(p, "out of memory");
        v->keys = keys;
        keys[v->n] = key;
    }
    v->n++;
    return 0;
}

static int parse_container(parser *p, json_value *v, int depth)
{
    char close = v->type == JSON_ARRAY ? ']' : '}';
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        size_t klen;
        skip_ws(p);
        if (v->type == JSON_OBJECT) {
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return perr(p, "expected a string key");
            if (read_string(p, &key, &klen) < 0)
                return -1;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                free(key);
                return perr(p, "expected ':' after key");
            }
            p->pos++;
        }
        if (append(p, v, key) < 0) {
            free(key);
            return -1;
        }
        if (parse_value(p, &v->items[v->n - 1], depth + 1) < 0)
            return -1;
        skip_ws(p);
        if (p->pos >= p->len)
            return perr(p, "unexpected end of input, expected ',' or '%c'", close);
        char c = p->s[p->pos++];
        if (c == close)
            return 0;
        if (c != ',')
            return p->pos--, perr(p, "expected ',' or '%c', found '%c'", close, c);
    }
}

static int parse_literal(parser *p, json_value *v)
{
    static const struct { const char *text; enum json_type type; bool b; } lits[] = {
        { "true", JSON_BOOL, true }, { "false", JSON_BOOL, false }, { "null", JSON_NULL, false },
    };
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(lits[i].text);
        if (p->len - p->pos >= n && memcmp(p->s + p->pos, lits[i].text, n) == 0) {
            v->type = lits[i].type;
            v->boolean = lits[i].b;
            p->pos += n;
            return 0;
        }
    }
    size_t start = p->pos;
    while (p->pos < p->len && strchr("+-.0123456789eE", p->s[p->pos]) != NULL && p->s[p->pos] != '\0')
        p->pos++;
    if (p->pos == start)
        return perr(p, "unexpected character '%c'", p->s[p->pos]);
    v->type = JSON_NUMBER;
    v->len = p->pos - start;
    v->str = malloc(v->len + 1);
    if (v->str == NULL)
        return perr(p, "out of memory");
    memcpy(v->str, p->s + start, v->len);
    v->str[v->len] = '\0';
    return 0;
}

static int parse_value(parser *p, json_value *v, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return perr(p, "nesting deeper than %d", JSON_MAX_DEPTH);
    skip_ws(p);
    v->offset = p->pos;
    if (p->pos >= p->len)
        return perr(p, "unexpected end of input, expected a value");
    switch (p->s[p->pos]) {
    case '"':
        v->type = JSON_STRING;
        return read_string(p, &v->str, &v->len);
    case '[':
        v->type = JSON_ARRAY;
        return parse_container(p, v, depth);
    case '{':
        v->type = JSON_OBJECT;
        return parse_container(p, v, depth);
    default:
        return parse_literal(p, v);
    }
}

int json_parse(const char *text, size_t len, json_value *out, char *err, size_t errcap)
{
    parser p = { text, len, 0, err, errcap };
    memset(out, 0, sizeof(*out));
    if (parse_value(&p, out, 0) < 0) {
        json_free(out);
        return -1;
    }
    skip_ws(&p);
    if (p.pos != len) {
        json_free(out);
        return perr(&p, "trailing data after the JSON document");
    }
    return 0;
}

void json_free(json_value *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n; i++) {
        json_free(&v->items[i]);
        if (v->keys != NULL)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    memset(v, 0, sizeof(*v));
}

const json_value *json_get(const json_value *v, const char *key)
{
    if (v == NULL || v->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->keys[i], key) == 0)
            return &v->items[i];
    return NULL;
}
