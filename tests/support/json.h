/* The tests' one JSON reader: jansson, plus what the vector files need —
 * a document from a file (a parse error names file, line and column), and
 * fields by key: strings, booleans, integers and hex strings decoded with
 * their bounds checked.  Used by the known-answer runners (tests/kat/) and
 * every test that reads tests/vectors/. */
#ifndef VEIL_TESTS_JSON_H
#define VEIL_TESTS_JSON_H

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a field lookup found (negative: the field cannot be used). */
enum { TJSON_OK = 0, TJSON_ABSENT = -1, TJSON_BAD = -2 };

/* The document in path; NULL with why ("path:line:column: text" or the
 * system's reason) when it cannot be read or parsed.  json_decref() it. */
json_t *tjson_load(const char *path, char *why, size_t cap);
/* The same for a path relative to the source tree ($VEIL_TOP_SRCDIR, "."
 * when unset), e.g. "tests/vectors/xeddsa.json". */
json_t *tjson_load_src(const char *relpath, char *why, size_t cap);

/* The array under key of a document or object; NULL if absent or not an
 * array. */
const json_t *tjson_array(const json_t *obj, const char *key);
/* A string member; NULL if absent or not a string. */
const char *tjson_str(const json_t *obj, const char *key);
/* A boolean member: TJSON_OK, TJSON_ABSENT, or TJSON_BAD (not a boolean). */
int tjson_bool(const json_t *obj, const char *key, bool *out);
/* An integer member: TJSON_OK, TJSON_ABSENT (absent or null), TJSON_BAD. */
int tjson_int(const json_t *obj, const char *key, long long *out);

/* A hex string value into out[0..cap): TJSON_OK with *len set, or
 * TJSON_BAD (not a string, odd length, a non-hex character, longer than
 * cap) with why naming what was wrong. */
int tjson_hex_value(const json_t *v, uint8_t *out, size_t cap, size_t *len, char *why,
                    size_t whycap);
/* A hex string member the same way; TJSON_ABSENT when the key is absent or
 * null (why untouched). */
int tjson_hex(const json_t *obj, const char *key, uint8_t *out, size_t cap, size_t *len,
              char *why, size_t whycap);
/* A hex string member into a new buffer of at most max bytes (*out NULL
 * and *len 0 when absent; free() it). */
int tjson_hex_alloc(const json_t *obj, const char *key, size_t max, uint8_t **out, size_t *len,
                    char *why, size_t whycap);

/* Decode a NUL-terminated hex string into out[0..cap); the decoded length,
 * or -1 (odd length, non-hex character, too long).  For tests' inline
 * vectors. */
long test_unhex(const char *hex, uint8_t *out, size_t cap);

#endif
