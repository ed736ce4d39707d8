/* Reading a Noise test vector of either format (noise_vector.h). */
#include "noise_vector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBSOLETE_PREFIX "NoisePSK_"

const char *noise_vector_label(const json_t *jv)
{
    const char *n = tjson_str(jv, "name");
    if (n == NULL)
        n = tjson_str(jv, "protocol_name");
    return n != NULL ? n : "?";
}

static bool starts_with(const char *s, const char *prefix)
{
    return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Features of noise-c's files that veil does not implement: a skip. */
static const char *unsupported_extension(const json_t *jv)
{
    static const char *const ssk[] = { "init_ssk", "resp_ssk", "init_remote_ssk", "resp_remote_ssk" };
    bool fallback = false;
    if (json_object_get(jv, "hybrid") != NULL)
        return "hybrid forward secrecy (noise-c's \"hybrid\") is not implemented";
    if (tjson_bool(jv, "fallback", &fallback) == TJSON_OK && fallback)
        return "the fallback modifier (Noise Pipes, noise-c's \"fallback\") is not implemented";
    for (size_t i = 0; i < sizeof ssk / sizeof ssk[0]; i++)
        if (json_object_get(jv, ssk[i]) != NULL)
            return "static symmetric keys (noise-c's \"*_ssk\") are not implemented";
    return NULL;
}

/* The protocol: spelled out (noise-c), else protocol_name (cacophony). */
static enum nv_outcome protocol_of(const json_t *jv, noise_vector *v, char *why, size_t cap)
{
    static const char *const parts[] = { "pattern", "dh", "cipher", "hash" };
    const char *p[4];
    int spelled = 0;
    for (int i = 0; i < 4; i++)
        spelled += (p[i] = tjson_str(jv, parts[i])) != NULL;
    const char *pname = tjson_str(jv, "protocol_name"), *name = tjson_str(jv, "name");
    if (spelled == 4) {
        if ((size_t)snprintf(v->protocol, sizeof v->protocol, "Noise_%s_%s_%s_%s", p[0], p[1], p[2],
                             p[3]) >= sizeof v->protocol) {
            snprintf(why, cap, "the spelled-out protocol is too long");
            return NV_FAIL;
        }
        const char *named = name != NULL ? name : pname;
        if (named != NULL && strcmp(named, v->protocol) != 0) {
            snprintf(why, cap, "pattern/dh/cipher/hash spell %s, the vector is named %s", v->protocol,
                     named);
            return NV_FAIL;
        }
    } else if (spelled > 0) {
        snprintf(why, cap, "pattern, dh, cipher and hash must all be given (%d of 4 are)", spelled);
        return NV_FAIL;
    } else if (pname != NULL) {
        snprintf(v->protocol, sizeof v->protocol, "%s", pname);
    } else {
        snprintf(why, cap, "no protocol: neither protocol_name (cacophony) nor "
                           "pattern/dh/cipher/hash (noise-c)");
        return NV_FAIL;
    }
    snprintf(v->name, sizeof v->name, "%s", name != NULL ? name : v->protocol);
    return NV_PASS;
}

static enum nv_outcome read_psks(const json_t *jv, const char *key, noise_vector *v, int side,
                                 char *why, size_t cap)
{
    const json_t *a = json_object_get(jv, key);
    size_t i;
    const json_t *item;
    if (a == NULL)
        return NV_PASS;
    if (!json_is_array(a) || json_array_size(a) > NOISE_MAX_PSKS) {
        snprintf(why, cap, "%s is not an array of at most %u psks", key, NOISE_MAX_PSKS);
        return NV_FAIL;
    }
    json_array_foreach(a, i, item) {
        char inner[128];
        size_t n = 0;
        if (tjson_hex_value(item, v->psks[side][i], 32, &n, inner, sizeof inner) < 0) {
            snprintf(why, cap, "%s[%zu]: %s", key, i, inner);
            return NV_FAIL;
        }
        if (n != 32) {
            snprintf(why, cap, "%s[%zu] is %zu bytes, a psk is 32", key, i, n);
            return NV_FAIL;
        }
        v->n_psks[side]++;
    }
    return NV_PASS;
}

static enum nv_outcome read_messages(const json_t *jv, noise_vector *v, char *why, size_t cap)
{
    const json_t *a = tjson_array(jv, "messages");
    size_t i;
    const json_t *m;
    if (a == NULL) {
        snprintf(why, cap, "no \"messages\" array");
        return NV_FAIL;
    }
    v->messages = calloc(json_array_size(a) + 1, sizeof *v->messages);
    if (v->messages == NULL) {
        snprintf(why, cap, "out of memory");
        return NV_FAIL;
    }
    json_array_foreach(a, i, m) {
        nv_message *out = &v->messages[v->n_messages++];
        char inner[200];
        if (json_object_get(m, "payload") == NULL || json_object_get(m, "ciphertext") == NULL) {
            snprintf(why, cap, "message %zu has no %s", i + 1,
                     json_object_get(m, "payload") == NULL ? "payload" : "ciphertext");
            return NV_FAIL;
        }
        if (tjson_hex_alloc(m, "payload", NV_MAX_MSG, &out->payload.p, &out->payload.len, inner,
                            sizeof inner) != TJSON_OK ||
            tjson_hex_alloc(m, "ciphertext", NV_MAX_MSG, &out->ciphertext.p, &out->ciphertext.len,
                            inner, sizeof inner) != TJSON_OK) {
            snprintf(why, cap, "message %zu: %s", i + 1, inner);
            return NV_FAIL;
        }
        out->payload.present = out->ciphertext.present = true;
    }
    return NV_PASS;
}

static enum nv_outcome read_keys(const json_t *jv, noise_vector *v, char *why, size_t cap)
{
    static const char *const keys[5][2] = {
        { "init_prologue", "resp_prologue" }, { "init_static", "resp_static" },
        { "init_ephemeral", "resp_ephemeral" }, { "init_remote_static", "resp_remote_static" },
        { "handshake_hash", NULL },
    };
    nv_bytes *fields[5][2] = { { &v->prologue[0], &v->prologue[1] }, { &v->stat[0], &v->stat[1] },
                               { &v->eph[0], &v->eph[1] }, { &v->rstat[0], &v->rstat[1] },
                               { &v->hash, NULL } };
    for (int f = 0; f < 5; f++)
        for (int i = 0; i < 2; i++) {
            if (keys[f][i] == NULL)
                continue;
            int rc = tjson_hex_alloc(jv, keys[f][i], NV_MAX_MSG, &fields[f][i]->p,
                                     &fields[f][i]->len, why, cap);
            if (rc == TJSON_BAD)
                return NV_FAIL;
            fields[f][i]->present = rc == TJSON_OK;
        }
    if (read_psks(jv, "init_psks", v, 0, why, cap) != NV_PASS ||
        read_psks(jv, "resp_psks", v, 1, why, cap) != NV_PASS)
        return NV_FAIL;
    if (json_object_get(jv, "fail") != NULL && tjson_bool(jv, "fail", &v->fail) != TJSON_OK) {
        snprintf(why, cap, "\"fail\" is not a boolean");
        return NV_FAIL;
    }
    return NV_PASS;
}

enum nv_outcome noise_vector_read(const json_t *jv, noise_vector *v, char *why, size_t cap)
{
    memset(v, 0, sizeof *v);
    if (!json_is_object(jv)) {
        snprintf(why, cap, "a vector is not an object");
        return NV_FAIL;
    }
    const char *label = noise_vector_label(jv);
    if (starts_with(label, OBSOLETE_PREFIX) ||
        starts_with(tjson_str(jv, "protocol_name"), OBSOLETE_PREFIX) ||
        json_object_get(jv, "init_psk") != NULL || json_object_get(jv, "resp_psk") != NULL) {
        snprintf(why, cap, "obsolete: a Noise revision 30 " OBSOLETE_PREFIX " vector");
        return NV_SKIP;
    }
    const char *ext = unsupported_extension(jv);
    if (ext != NULL) {
        snprintf(why, cap, "%s", ext);
        return NV_SKIP;
    }
    enum nv_outcome o = protocol_of(jv, v, why, cap);
    if (o != NV_PASS)
        return o;
    if ((o = read_keys(jv, v, why, cap)) != NV_PASS || (o = read_messages(jv, v, why, cap)) != NV_PASS)
        return o;
    if (noise_protocol_parse(v->protocol, &v->proto) < 0) {
        snprintf(why, cap, "protocol not supported: %s", veil_last_error());
        return NV_SKIP;
    }
    return NV_PASS;
}

void noise_vector_free(noise_vector *v)
{
    nv_bytes *all[] = { &v->prologue[0], &v->prologue[1], &v->stat[0], &v->stat[1], &v->eph[0],
                        &v->eph[1], &v->rstat[0], &v->rstat[1], &v->hash };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]->p);
    for (size_t i = 0; i < v->n_messages; i++) {
        free(v->messages[i].payload.p);
        free(v->messages[i].ciphertext.p);
    }
    free(v->messages);
    memset(v, 0, sizeof *v);
}
