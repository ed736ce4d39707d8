/* A small, bounds-checked JSON reader for the Noise vector runner.
 * Parses a whole document into a tree; malformed input is an error naming
 * the byte offset.  Numbers are kept as text (the vectors need none). */
#ifndef VEIL_TESTS_NOISE_JSON_H
#define VEIL_TESTS_NOISE_JSON_H

#include <stddef.h>
#include <stdbool.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

typedef struct json_value {
    enum json_type type;
    size_t offset;               /* where the value starts in the input */
    char *str;                   /* STRING (NUL-terminated, decoded), NUMBER text */
    size_t len;                  /* bytes in str */
    bool boolean;
    struct json_value *items;    /* ARRAY elements, OBJECT values */
    char **keys;                 /* OBJECT keys (decoded) */
    size_t n;
} json_value;

/* 0 on success; otherwise -1 with err holding "byte N: what". */
int json_parse(const char *text, size_t len, json_value *out, char *err, size_t errcap);
void json_free(json_value *v);
/* Member of an object by key, NULL if absent or v is not an object. */
const json_value *json_get(const json_value *v, const char *key);

#endif
