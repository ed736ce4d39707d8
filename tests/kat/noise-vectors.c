/* noise-vectors [--crypto sodium|openssl] FILE...
 *
 * Runs Noise test vectors, in the cacophony or the noise-c JSON format
 * (noise_vector.h), against veil's HandshakeState/CipherState on a software
 * vault loaded through the real plugin loader.  Every handshake and
 * transport ciphertext is compared in both directions, and the handshake
 * hash on both sides.  A protocol the plugin or backend cannot run, a
 * noise-c extension veil does not implement and an obsolete revision-30
 * NoisePSK_ vector are skips with their reason; anything else that differs
 * is a failure naming the first differing message.  The last line says
 * "N passed, N failed, N skipped". */
#include "noise_vector.h"
#include "noise-vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct side {
    veil_secret s, e, psks[NOISE_MAX_PSKS];
    noise_handshake *hs;
    veil_ka_result res;
    noise_cipher send, recv;
} side;

typedef struct runner {
    veil_vault *vault;
    char why[1024];           /* reason of the current skip / failure */
    uint8_t buf[NV_MAX_MSG + 64];
    uint8_t out[NV_MAX_MSG + 64];
} runner;

static void side_free(runner *r, side *sd)
{
    noise_handshake_free(sd->hs);
    noise_cipher_clear(&sd->send);
    noise_cipher_clear(&sd->recv);
    veil__secret_drop(r->vault, &sd->s);
    veil__secret_drop(r->vault, &sd->e);
    for (size_t i = 0; i < NOISE_MAX_PSKS; i++)
        veil__secret_drop(r->vault, &sd->psks[i]);
    memset(sd, 0, sizeof(*sd));
}

/* Import a key; an unsupported primitive becomes a skip. */
static enum nv_outcome import(runner *r, int type, const uint8_t *p, size_t len, const char *what,
                              veil_secret *out)
{
    int rc = noise_test_import(r->vault, type, p, len, out);
    if (rc == 0)
        return NV_PASS;
    snprintf(r->why, sizeof(r->why), "%s %s: %s",
             rc == VEIL_EUNSUPPORTED ? "unsupported by the backend:" : "cannot import", what,
             veil_last_error());
    return rc == VEIL_EUNSUPPORTED ? NV_SKIP : NV_FAIL;
}

static enum nv_outcome setup_side(runner *r, noise_vector *v, int role, side *sd)
{
    int i = role == VEIL_KA_INITIATOR ? 0 : 1;
    const char *who = i == 0 ? "initiator" : "responder";
    bool need_s, rs_pre, rs_sent;
    enum nv_outcome o;
    char what[64];
    noise_pattern_needs(&v->proto.pattern, role, &need_s, &rs_pre, &rs_sent);
    snprintf(what, sizeof(what), "%s static", who);
    if (need_s && v->stat[i].present &&
        (o = import(r, v->proto.dh_type, v->stat[i].p, v->stat[i].len, what, &sd->s)) != NV_PASS)
        return o;
    /* noise-c's files give a responder ephemeral for one-way patterns,
     * where the responder has none: ignored, as noise-c does. */
    snprintf(what, sizeof(what), "%s ephemeral", who);
    if (v->eph[i].present && !(i == 1 && v->proto.pattern.one_way) &&
        (o = import(r, v->proto.dh_type, v->eph[i].p, v->eph[i].len, what, &sd->e)) != NV_PASS)
        return o;
    for (size_t k = 0; k < v->n_psks[i]; k++) {
        snprintf(what, sizeof(what), "%s psk %zu", who, k);
        if ((o = import(r, VEIL_SECRET_BUFFER, v->psks[i][k], 32, what, &sd->psks[k])) != NV_PASS)
            return o;
    }
    veil_ka_params p = {
        .size = sizeof(p), .role = role, .vault = r->vault, .protocol = v->protocol,
        .local_static = sd->s, .local_ephemeral = sd->e,
        .remote_static = v->rstat[i].present ? v->rstat[i].p : NULL,
        .remote_static_len = v->rstat[i].len,
        .prologue = v->prologue[i].p, .prologue_len = v->prologue[i].len,
        .psks = sd->psks, .n_psks = v->n_psks[i],
    };
    int rc = noise_handshake_new(&p, &sd->hs);
    if (rc < 0) {
        snprintf(r->why, sizeof(r->why), "%s: %s", who, veil_last_error());
        return rc == VEIL_EUNSUPPORTED ? NV_SKIP : NV_FAIL;
    }
    return NV_PASS;
}

static void first_diff(char *why, size_t cap, const char *prefix, const uint8_t *want, size_t wlen,
                       const uint8_t *got, size_t glen)
{
    size_t i = 0;
    while (i < wlen && i < glen && want[i] == got[i])
        i++;
    snprintf(why, cap, "%s differs at byte %zu (expected %zu bytes, got %zu)", prefix, i, wlen, glen);
}

static int receive(side *rcv, bool handshake, const nv_message *m, uint8_t *buf, size_t cap,
                   size_t *n)
{
    if (handshake)
        return noise_handshake_read(rcv->hs, m->ciphertext.p, m->ciphertext.len, buf, cap, n);
    memcpy(buf, m->ciphertext.p, m->ciphertext.len);
    return noise_cipher_decrypt(&rcv->recv, NULL, 0, buf, m->ciphertext.len, n);
}

/* One message: the sender produces it, the receiver consumes it.  The last
 * message of a "fail" vector is only fed to the receiver, which must
 * reject it. */
static enum nv_outcome run_message(runner *r, noise_vector *v, side sd[2], size_t i, bool handshake)
{
    const nv_message *m = &v->messages[i];
    char pfx[96];
    int snd = v->proto.pattern.one_way || i % 2 == 0 ? 0 : 1, rcv = 1 - snd;
    size_t n = 0, pn = 0;
    int rc;
    snprintf(pfx, sizeof(pfx), "message %zu (%s, %s)", i + 1,
             snd == 0 ? "initiator -> responder" : "responder -> initiator",
             handshake ? "handshake" : "transport");
    if (v->fail && i + 1 == v->n_messages) {
        if (receive(&sd[rcv], handshake, m, r->buf, sizeof(r->buf), &pn) == 0) {
            snprintf(r->why, sizeof(r->why), "%s: accepted, the vector expects it rejected", pfx);
            return NV_FAIL;
        }
        return NV_PASS;
    }
    if (handshake) {
        rc = noise_handshake_write(sd[snd].hs, m->payload.p, m->payload.len, r->out,
                                   sizeof(r->out), &n);
    } else {
        memcpy(r->out, m->payload.p, m->payload.len);
        rc = noise_cipher_encrypt(&sd[snd].send, NULL, 0, r->out, m->payload.len, &n);
    }
    if (rc < 0) {
        snprintf(r->why, sizeof(r->why), "%s: write failed: %s", pfx, veil_last_error());
        return NV_FAIL;
    }
    if (n != m->ciphertext.len || memcmp(r->out, m->ciphertext.p, n) != 0) {
        first_diff(r->why, sizeof(r->why), pfx, m->ciphertext.p, m->ciphertext.len, r->out, n);
        return NV_FAIL;
    }
    if (receive(&sd[rcv], handshake, m, r->buf, sizeof(r->buf), &pn) < 0) {
        snprintf(r->why, sizeof(r->why), "%s: read failed: %s", pfx, veil_last_error());
        return NV_FAIL;
    }
    if (pn != m->payload.len || memcmp(r->buf, m->payload.p, pn) != 0) {
        snprintf(pfx + strlen(pfx), sizeof(pfx) - strlen(pfx), " decrypted payload");
        first_diff(r->why, sizeof(r->why), pfx, m->payload.p, m->payload.len, r->buf, pn);
        return NV_FAIL;
    }
    return NV_PASS;
}

static enum nv_outcome finish_handshake(runner *r, noise_vector *v, side sd[2])
{
    for (int i = 0; i < 2; i++) {
        if (noise_handshake_split(sd[i].hs, &sd[i].res) < 0) {
            snprintf(r->why, sizeof(r->why), "%s split: %s", i ? "responder" : "initiator",
                     veil_last_error());
            return NV_FAIL;
        }
        if (v->hash.present && (sd[i].res.handshake_hash_len != v->hash.len ||
                                memcmp(sd[i].res.handshake_hash, v->hash.p, v->hash.len) != 0)) {
            first_diff(r->why, sizeof(r->why),
                       i ? "responder handshake hash" : "initiator handshake hash", v->hash.p,
                       v->hash.len, sd[i].res.handshake_hash, sd[i].res.handshake_hash_len);
            return NV_FAIL;
        }
        noise_cipher_init(&sd[i].send, r->vault, sd[i].res.nonce_format);
        noise_cipher_init(&sd[i].recv, r->vault, sd[i].res.nonce_format);
        noise_cipher_set_key(&sd[i].send, sd[i].res.send_key, true);
        noise_cipher_set_key(&sd[i].recv, sd[i].res.recv_key, true);
    }
    return NV_PASS;
}

static enum nv_outcome run_vector(runner *r, noise_vector *v)
{
    side sd[2];
    enum nv_outcome o;
    memset(sd, 0, sizeof(sd));
    if ((o = setup_side(r, v, VEIL_KA_INITIATOR, &sd[0])) != NV_PASS ||
        (o = setup_side(r, v, VEIL_KA_RESPONDER, &sd[1])) != NV_PASS)
        goto out;
    o = NV_FAIL;
    size_t nh = v->proto.pattern.n_messages;
    if (v->n_messages < nh && !v->fail) {
        snprintf(r->why, sizeof(r->why), "vector has %zu messages, the handshake needs %zu",
                 v->n_messages, nh);
        goto out;
    }
    for (size_t i = 0; i < v->n_messages; i++) {
        if (i == nh && finish_handshake(r, v, sd) != NV_PASS)
            goto out;
        if (run_message(r, v, sd, i, i < nh) != NV_PASS)
            goto out;
    }
    if (v->n_messages == nh && !v->fail && finish_handshake(r, v, sd) != NV_PASS)
        goto out;
    o = NV_PASS;
out:
    side_free(r, &sd[0]);
    side_free(r, &sd[1]);
    return o;
}

static int run_file(runner *r, const char *path, size_t counts[3])
{
    char err[512];
    json_t *doc = tjson_load(path, err, sizeof(err));
    if (doc == NULL) {
        fprintf(stderr, "noise-vectors: %s\n", err);
        return -1;
    }
    const json_t *vecs = tjson_array(doc, "vectors");
    if (vecs == NULL || json_array_size(vecs) == 0) {
        fprintf(stderr, "noise-vectors: %s: no \"vectors\" array with vectors at the top level\n", path);
        json_decref(doc);
        return -1;
    }
    size_t i;
    const json_t *jv;
    json_array_foreach(vecs, i, jv) {
        noise_vector v;
        r->why[0] = '\0';
        enum nv_outcome o = noise_vector_read(jv, &v, r->why, sizeof(r->why));
        if (o == NV_PASS)
            o = run_vector(r, &v);
        counts[o]++;
        if (o != NV_PASS)
            printf("%s %s #%zu %s: %s\n", o == NV_FAIL ? "FAIL" : "SKIP", path, i,
                   noise_vector_label(jv), r->why);
        noise_vector_free(&v);
    }
    json_decref(doc);
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
    printf("%zu passed, %zu failed, %zu skipped\n", counts[NV_PASS], counts[NV_FAIL], counts[NV_SKIP]);
    free(r);
    noise_test_vault_close(&tv);
    return status != 0 || counts[NV_FAIL] > 0 ? 1 : 0;
}
