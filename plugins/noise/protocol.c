/* Strict protocol-name parser: Noise_<pattern>_<dh>_<cipher>_<hash> (§8).
 *
 * Every part is checked against the closed list this plugin implements; a
 * wrong part is an error naming the part and the accepted values, so a
 * configuration typo never silently selects something else. */
#include "noise.h"

#include <stdio.h>
#include <string.h>

typedef struct name_map {
    const char *text;
    int value;
} name_map;

static const name_map dh_names[] = {
    { "25519", VEIL_SECRET_X25519 }, { "448", VEIL_SECRET_X448 }, { NULL, 0 },
};
static const name_map cipher_names[] = {
    { "AESGCM", VEIL_SECRET_AES256GCM }, { "ChaChaPoly", VEIL_SECRET_CHACHAPOLY }, { NULL, 0 },
};
static const name_map hash_names[] = {
    { "SHA256", VEIL_HASH_SHA256 }, { "SHA512", VEIL_HASH_SHA512 },
    { "BLAKE2s", VEIL_HASH_BLAKE2S }, { "BLAKE2b", VEIL_HASH_BLAKE2B }, { NULL, 0 },
};

static int lookup(const name_map *map, const char *s, size_t n, const char *what,
                  const char *accepted, int *out)
{
    for (; map->text != NULL; map++)
        if (strlen(map->text) == n && memcmp(map->text, s, n) == 0) {
            *out = map->value;
            return 0;
        }
    return veil_error_set(VEIL_EINVAL, "noise: unknown %s '%.*s' (accepted: %s)", what,
                          (int)n, s, accepted);
}

/* "psk<digits>" with a value in 0..3. */
static int parse_modifier(const char *s, size_t n, unsigned *mask)
{
    if (n < 4 || memcmp(s, "psk", 3) != 0)
        return veil_error_set(VEIL_EINVAL,
                              "noise: unknown pattern modifier '%.*s' (accepted: psk0, psk1, psk2, psk3)",
                              (int)n, s);
    if (n != 4 || s[3] < '0' || s[3] > '3')
        return veil_error_set(VEIL_EINVAL,
                              "noise: pattern modifier '%.*s' out of range (accepted: psk0, psk1, psk2, psk3)",
                              (int)n, s);
    unsigned bit = 1u << (unsigned)(s[3] - '0');
    if (*mask & bit)
        return veil_error_set(VEIL_EINVAL, "noise: duplicate pattern modifier '%.*s'", (int)n, s);
    *mask |= bit;
    return 0;
}

static void pattern_list(char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < noise_pattern_count() && used < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s", i ? " " : "", noise_pattern_at(i)->name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static int parse_pattern(const char *s, size_t n, noise_pattern *out)
{
    size_t base = 0;
    while (base < n && ((s[base] >= 'A' && s[base] <= 'Z') || (s[base] >= '0' && s[base] <= '9')))
        base++;
    const noise_pattern_def *def = noise_pattern_find(s, base);
    if (def == NULL) {
        char list[512];
        pattern_list(list, sizeof(list));
        return veil_error_set(VEIL_EINVAL, "noise: unknown handshake pattern '%.*s' (accepted: %s)",
                              (int)base, s, list);
    }
    unsigned mask = 0;
    size_t pos = base;
    while (pos < n) {
        size_t end = pos;
        while (end < n && s[end] != '+')
            end++;
        int rc = parse_modifier(s + pos, end - pos, &mask);
        if (rc < 0)
            return rc;
        if (end < n && end + 1 == n)
            return veil_error_set(VEIL_EINVAL, "noise: empty pattern modifier after '+' in '%.*s'",
                                  (int)n, s);
        pos = end + (end < n);
    }
    return noise_pattern_build(def, mask, out);
}

int noise_protocol_parse(const char *name, noise_protocol *out)
{
    if (name == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "noise: protocol name is NULL");
    size_t len = strlen(name);
    if (len > NOISE_NAME_MAX)
        return veil_error_set(VEIL_EINVAL, "noise: protocol name is %zu bytes (limit %u)", len,
                              NOISE_NAME_MAX);
    const char *part[5];
    size_t plen[5];
    size_t n = 0;
    const char *p = name;
    for (;;) {
        const char *us = strchr(p, '_');
        if (n == 5)
            return veil_error_set(VEIL_EINVAL,
                                  "noise: protocol name '%s' has too many '_'-separated parts (expected Noise_<pattern>_<dh>_<cipher>_<hash>)",
                                  name);
        part[n] = p;
        plen[n] = us ? (size_t)(us - p) : strlen(p);
        if (plen[n] == 0)
            return veil_error_set(VEIL_EINVAL, "noise: protocol name '%s' has an empty part %zu", name,
                                  n + 1);
        n++;
        if (us == NULL)
            break;
        p = us + 1;
    }
    if (n != 5)
        return veil_error_set(VEIL_EINVAL,
                              "noise: protocol name '%s' has %zu parts (expected Noise_<pattern>_<dh>_<cipher>_<hash>)",
                              name, n);
    if (plen[0] != 5 || memcmp(part[0], "Noise", 5) != 0)
        return veil_error_set(VEIL_EINVAL, "noise: protocol name must start with 'Noise_', found '%.*s'",
                              (int)plen[0], part[0]);
    memset(out, 0, sizeof(*out));
    int rc;
    if ((rc = parse_pattern(part[1], plen[1], &out->pattern)) < 0 ||
        (rc = lookup(dh_names, part[2], plen[2], "DH function", "25519, 448", &out->dh_type)) < 0 ||
        (rc = lookup(cipher_names, part[3], plen[3], "cipher", "AESGCM, ChaChaPoly",
                     &out->cipher_type)) < 0 ||
        (rc = lookup(hash_names, part[4], plen[4], "hash", "SHA256, SHA512, BLAKE2s, BLAKE2b",
                     &out->hash_alg)) < 0)
        return rc;
    memcpy(out->name, name, len + 1);
    /* Sizes are fixed by the spec; no vault needed to know them. */
    out->dhlen = out->dh_type == VEIL_SECRET_X448 ? VEIL_X448_KEY_BYTES : VEIL_X25519_KEY_BYTES;
    out->hashlen = (out->hash_alg == VEIL_HASH_SHA256 || out->hash_alg == VEIL_HASH_BLAKE2S) ? 32 : 64;
    out->nonce_format = veil_nonce_format_of(out->cipher_type);
    return 0;
}
