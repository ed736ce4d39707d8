/* noise-vectors [--crypto sodium|openssl] FILE...
 *
 * Runs Noise test vectors in the cacophony JSON format against veil's
 * HandshakeState/CipherState on a software vault loaded through the real
 * plugin loader.  Every handshake and transport ciphertext is compared in
 * both directions, and the handshake hash on both sides.  A protocol the
 * plugin or backend cannot run is a skip with its reason; anything else
 * that differs is a failure naming the first differing message. */
#include "noise-json.h"
#include "noise-vault.h"
#include "noise.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELD 4096
#define MAX_MSG (VEIL_KA_MESSAGE_MAX + 1)

enum outcome { PASS, FAIL, SKIP };

typedef struct bytes {
    uint8_t *p;
    size_t len;
    bool present;
} bytes;

typedef struct side {
    veil_secret s, e, psks[NOISE_MAX_PSKS];
    size_t n_psks;
    noise_handshake *hs;
    veil_ka_result res;
    noise_cipher send, recv;
} side;

typedef struct runner {
    veil_vault *vault;
    char why[1024];           /* reason of the current skip / failure */
    uint8_t buf[MAX_MSG + 64];
    uint8_t out[MAX_MSG + 64];
} runner;

static int hexdigit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode 2n hex digits; the index of the first bad digit, or -1 if none. */
static long hex_decode(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexdigit(s[2 * i]), lo = hexdigit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return (long)(2 * i + (hi < 0 ? 0 : 1));
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return -1;
}

static int hex_field(const json_value *vec, const char *key, bytes *out, char *why, size_t cap)
{
    const json_value *v = json_get(vec, key);
    memset(out, 0, sizeof(*out));
    if (v == NULL)
        return 0;
    if (v->type != JSON_STRING || v->len % 2 != 0 || v->len / 2 > MAX_MSG) {
        snprintf(why, cap, "field %s (byte %zu) is not an even-length hex string", key, v->offset);
        return -1;
    }
    out->p = malloc(v->len / 2 + 1);
    if (out->p == NULL) {
        snprintf(why, cap, "out of memory");
        return -1;
    }
    long bad = hex_decode(v->str, v->len / 2, out->p);
    if (bad >= 0) {
        snprintf(why, cap, "field %s (byte %zu) has a non-hex character at %ld", key, v->offset, bad);
        free(out->p);
        out->p = NULL;
        return -1;
    }
    out->len = v->len / 2;
    out->present = true;
    return 0;
}

static void side_free(runner *r, side *sd)
{
    noise_handshake_free(sd->hs);
    noise_cipher_clear(&sd->send);
    noise_cipher_clear(&sd->recv);
    noise_drop(r->vault, sd->s);
    noise_drop(r->vault, sd->e);
    for (size_t i = 0; i < sd->n_psks; i++)
        noise_drop(r->vault, sd->psks[i]);
    memset(sd, 0, sizeof(*sd));
}

/* Import a key; an unsupported primitive becomes a skip. */
static enum outcome import(runner *r, int type, const bytes *b, const char *what, veil_secret *out)
{
    int rc = noise_test_import(r->vault, type, b->p, b->len, out);
    if (rc == 0)
        return PASS;
    snprintf(r->why, sizeof(r->why), "%s %s: %s", rc == VEIL_EUNSUPPORTED ? "unsupported by the backend:" : "cannot import",
             what, veil_last_error());
    return rc == VEIL_EUNSUPPORTED ? SKIP : FAIL;
}

typedef struct vector {
    const char *name;
    noise_protocol proto;
    bytes prologue[2], stat[2], eph[2], rstat[2], hash;
    const json_value *psks[2];
    const json_value *messages;
} vector;

static enum outcome setup_side(runner *r, vector *v, int role, side *sd)
{
    int i = role == VEIL_KA_INITIATOR ? 0 : 1;
    const char *who = i == 0 ? "initiator" : "responder";
    bool need_s, rs_pre, rs_sent;
    enum outcome o;
    char what[64];
    noise_pattern_needs(&v->proto.pattern, role, &need_s, &rs_pre, &rs_sent);
    snprintf(what, sizeof(what), "%s static", who);
    if (need_s && v->stat[i].present && (o = import(r, v->proto.dh_type, &v->stat[i], what, &sd->s)) != PASS)
        return o;
    snprintf(what, sizeof(what), "%s ephemeral", who);
    if (v->eph[i].present && (o = import(r, v->proto.dh_type, &v->eph[i], what, &sd->e)) != PASS)
        return o;
    const json_value *psks = v->psks[i];
    for (size_t k = 0; psks != NULL && k < psks->n && k < NOISE_MAX_PSKS; k++) {
        const json_value *pv = &psks->items[k];
        uint8_t psk[32];
        if (pv->type != JSON_STRING || pv->len != 64 || hex_decode(pv->str, 32, psk) >= 0) {
            snprintf(r->why, sizeof(r->why), "%s psk %zu (byte %zu) is not 64 hex digits", who, k,
                     pv->offset);
            return FAIL;
        }
        bytes pb = { psk, 32, true };
        snprintf(what, sizeof(what), "%s psk %zu", who, k);
        if ((o = import(r, VEIL_SECRET_BUFFER, &pb, what, &sd->psks[k])) != PASS)
            return o;
        sd->n_psks++;
    }
    veil_ka_params p = {
        .size = sizeof(p), .role = role, .vault = r->vault, .protocol = v->name,
        .local_static = sd->s, .local_ephemeral = sd->e,
        .remote_static = v->rstat[i].present ? v->rstat[i].p : NULL,
        .remote_static_len = v->rstat[i].len,
        .prologue = v->prologue[i].p, .prologue_len = v->prologue[i].len,
        .psks = sd->psks, .n_psks = sd->n_psks,
    };
    int rc = noise_handshake_new(&p, &sd->hs);
    if (rc < 0) {
        snprintf(r->why, sizeof(r->why), "%s: %s", who, veil_last_error());
        return rc == VEIL_EUNSUPPORTED ? SKIP : FAIL;
    }
    return PASS;
}

static void first_diff(char *why, size_t cap, const char *prefix, const uint8_t *want, size_t wlen,
                       const uint8_t *got, size_t glen)
{
    size_t i = 0;
    while (i < wlen && i < glen && want[i] == got[i])
        i++;
    snprintf(why, cap, "%s differs at byte %zu (expected %zu bytes, got %zu)", prefix, i, wlen, glen);
}

static bool sender_is_initiator(const vector *v, size_t i)
{
    return v->proto.pattern.one_way || i % 2 == 0;
}

/* One message: the sender produces it, the receiver consumes it. */
static enum outcome run_message(runner *r, vector *v, side sd[2], size_t i, bool handshake)
{
    const json_value *m = &v->messages->items[i];
    bytes payload = { NULL, 0, false }, ct = { NULL, 0, false };
    char pfx[96];
    enum outcome o = FAIL;
    int snd = sender_is_initiator(v, i) ? 0 : 1, rcv = 1 - snd;
    snprintf(pfx, sizeof(pfx), "message %zu (%s, %s)", i + 1, snd == 0 ? "initiator -> responder" : "responder -> initiator",
             handshake ? "handshake" : "transport");
    if (hex_field(m, "payload", &payload, r->why, sizeof(r->why)) < 0 ||
        hex_field(m, "ciphertext", &ct, r->why, sizeof(r->why)) < 0)
        goto out;
    size_t n = 0, pn = 0;
    int rc;
    if (handshake) {
        rc = noise_handshake_write(sd[snd].hs, payload.p, payload.len, r->out, sizeof(r->out), &n);
    } else {
        memcpy(r->out, payload.p, payload.len);
        rc = noise_cipher_encrypt(&sd[snd].send, NULL, 0, r->out, payload.len, &n);
    }
    if (rc < 0) {
        snprintf(r->why, sizeof(r->why), "%s: write failed: %s", pfx, veil_last_error());
        goto out;
    }
    if (n != ct.len || memcmp(r->out, ct.p, n) != 0) {
        first_diff(r->why, sizeof(r->why), pfx, ct.p, ct.len, r->out, n);
        goto out;
    }
    if (handshake) {
        rc = noise_handshake_read(sd[rcv].hs, ct.p, ct.len, r->buf, sizeof(r->buf), &pn);
    } else {
        memcpy(r->buf, ct.p, ct.len);
        rc = noise_cipher_decrypt(&sd[rcv].recv, NULL, 0, r->buf, ct.len, &pn);
    }
    if (rc < 0) {
        snprintf(r->why, sizeof(r->why), "%s: read failed: %s", pfx, veil_last_error());
        goto out;
    }
    if (pn != payload.len || memcmp(r->buf, payload.p, pn) != 0) {
        snprintf(pfx + strlen(pfx), sizeof(pfx) - strlen(pfx), " decrypted payload");
        first_diff(r->why, sizeof(r->why), pfx, payload.p, payload.len, r->buf, pn);
        goto out;
    }
    o = PASS;
out:
    free(payload.p);
    free(ct.p);
    return o;
}

static enum outcome finish_handshake(runner *r, vector *v, side sd[2])
{
    for (int i = 0; i < 2; i++) {
        if (noise_handshake_split(sd[i].hs, &sd[i].res) < 0) {
            snprintf(r->why, sizeof(r->why), "%s split: %s", i ? "responder" : "initiator", veil_last_error());
            return FAIL;
        }
        if (v->hash.present && (sd[i].res.handshake_hash_len != v->hash.len ||
                                memcmp(sd[i].res.handshake_hash, v->hash.p, v->hash.len) != 0)) {
            first_diff(r->why, sizeof(r->why), i ? "responder handshake hash" : "initiator handshake hash",
                       v->hash.p, v->hash.len, sd[i].res.handshake_hash, sd[i].res.handshake_hash_len);
            return FAIL;
        }
        noise_cipher_init(&sd[i].send, r->vault, sd[i].res.nonce_format);
        noise_cipher_init(&sd[i].recv, r->vault, sd[i].res.nonce_format);
        noise_cipher_set_key(&sd[i].send, sd[i].res.send_key, true);
        noise_cipher_set_key(&sd[i].recv, sd[i].res.recv_key, true);
    }
    return PASS;
}

static enum outcome run_vector(runner *r, const json_value *jv)
{
    vector v;
    side sd[2];
    enum outcome o = FAIL;
    memset(&v, 0, sizeof(v));
    memset(sd, 0, sizeof(sd));
    const json_value *name = json_get(jv, "protocol_name");
    v.messages = json_get(jv, "messages");
    if (name == NULL || name->type != JSON_STRING || v.messages == NULL || v.messages->type != JSON_ARRAY) {
        snprintf(r->why, sizeof(r->why), "vector lacks protocol_name or messages");
        return FAIL;
    }
    v.name = name->str;
    if (noise_protocol_parse(v.name, &v.proto) < 0) {
        snprintf(r->why, sizeof(r->why), "protocol not supported: %s", veil_last_error());
        return SKIP;
    }
    static const char *const keys[5][2] = {
        { "init_prologue", "resp_prologue" }, { "init_static", "resp_static" },
        { "init_ephemeral", "resp_ephemeral" }, { "init_remote_static", "resp_remote_static" },
        { "handshake_hash", "handshake_hash" },
    };
    bytes *fields[5][2] = { { &v.prologue[0], &v.prologue[1] }, { &v.stat[0], &v.stat[1] },
                            { &v.eph[0], &v.eph[1] }, { &v.rstat[0], &v.rstat[1] }, { &v.hash, NULL } };
    for (int f = 0; f < 5; f++)
        for (int i = 0; i < 2; i++)
            if (fields[f][i] != NULL && hex_field(jv, keys[f][i], fields[f][i], r->why, sizeof(r->why)) < 0)
                goto out;
    v.psks[0] = json_get(jv, "init_psks");
    v.psks[1] = json_get(jv, "resp_psks");
    if ((o = setup_side(r, &v, VEIL_KA_INITIATOR, &sd[0])) != PASS ||
        (o = setup_side(r, &v, VEIL_KA_RESPONDER, &sd[1])) != PASS)
        goto out;
    o = FAIL;
    size_t nh = v.proto.pattern.n_messages;
    if (v.messages->n < nh) {
        snprintf(r->why, sizeof(r->why), "vector has %zu messages, the handshake needs %zu", v.messages->n, nh);
        goto out;
    }
    for (size_t i = 0; i < v.messages->n; i++) {
        if (i == nh && finish_handshake(r, &v, sd) != PASS)
            goto out;
        if (run_message(r, &v, sd, i, i < nh) != PASS)
            goto out;
    }
    if (v.messages->n == nh && finish_handshake(r, &v, sd) != PASS)
        goto out;
    o = PASS;
out:
    side_free(r, &sd[0]);
    side_free(r, &sd[1]);
    for (int f = 0; f < 5; f++)
        for (int i = 0; i < 2; i++)
            if (fields[f][i] != NULL)
                free(fields[f][i]->p);
    return o;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "noise-vectors: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            char *nb = realloc(buf, cap ? cap * 2 : 65536);
            if (nb == NULL)
                break;
            buf = nb;
            cap = cap ? cap * 2 : 65536;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool bad = ferror(f) != 0 || buf == NULL;
    fclose(f);
    if (bad) {
        fprintf(stderr, "noise-vectors: cannot read %s\n", path);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int run_file(runner *r, const char *path, size_t counts[3])
{
    size_t len = 0;
    char err[256];
    char *text = read_file(path, &len);
    if (text == NULL)
        return -1;
    json_value doc;
    int rc = json_parse(text, len, &doc, err, sizeof(err));
    free(text);
    if (rc < 0) {
        fprintf(stderr, "noise-vectors: %s: malformed JSON at %s\n", path, err);
        return -1;
    }
    const json_value *vecs = json_get(&doc, "vectors");
    if (vecs == NULL || vecs->type != JSON_ARRAY) {
        fprintf(stderr, "noise-vectors: %s: no \"vectors\" array at the top level\n", path);
        json_free(&doc);
        return -1;
    }
    for (size_t i = 0; i < vecs->n; i++) {
        const json_value *name = json_get(&vecs->items[i], "protocol_name");
        const char *nm = name && name->type == JSON_STRING ? name->str : "?";
        r->why[0] = '\0';
        enum outcome o = run_vector(r, &vecs->items[i]);
        counts[o]++;
        if (o == FAIL)
            printf("FAIL %s #%zu %s: %s\n", path, i, nm, r->why);
        else if (o == SKIP)
            printf("SKIP %s #%zu %s: %s\n", path, i, nm, r->why);
    }
    json_free(&doc);
    return 0;
}

int main(int argc, char **argv)
{
    const char *crypto = "openssl";
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--crypto") == 0) {
        crypto = argv[2];
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: noise-vectors [--crypto sodium|openssl] FILE...\n");
        return 2;
    }
    noise_test_vault tv;
    if (noise_test_vault_open(&tv, crypto) < 0) {
        fprintf(stderr, "noise-vectors: cannot open a software vault with crypto=%s: %s\n", crypto,
                veil_last_error());
        return 1;
    }
    runner *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return 1;
    r->vault = tv.vault;
    size_t counts[3] = { 0, 0, 0 };
    int status = 0;
    for (int i = first; i < argc; i++)
        if (run_file(r, argv[i], counts) < 0)
            status = 1;
    printf("%zu passed, %zu failed, %zu skipped\n", counts[PASS], counts[FAIL], counts[SKIP]);
    free(r);
    noise_test_vault_close(&tv);
    return status != 0 || counts[FAIL] > 0 ? 1 : 0;
}
