/* noise-peer: veil's side of the live Noise interop test (noise_interop.py).
 *
 *   noise-peer --crypto C --protocol NAME --role initiator|responder
 *              [--static HEX] [--remote-static HEX] [--psk HEX]... [--prologue HEX]
 *              [--rounds N]
 *
 * Loads the noise plugin and a software vault through the real loader and
 * speaks over stdin/stdout in frames of a 2-byte big-endian length and the
 * bytes.  Script (the Python side runs the mirror image):
 *   1. the handshake; handshake message i carries the payload "hs-i";
 *   2. veil sends two plaintext frames: its handshake hash and the remote
 *      static key it learned (empty if none);
 *   3. N rounds: receive "py-r", answer "veil-r:" + what was received;
 *   4. both sides Rekey() both directions; N more rounds.
 * Any mismatch or error: a message on stderr and exit status 1. */
#include "noise.h"
#include "noise-vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PSKS 4

typedef struct opts {
    const char *crypto, *protocol;
    int role;
    uint8_t s[64], rs[64], prologue[256], psks[MAX_PSKS][32];
    size_t s_len, rs_len, prologue_len, n_psks;
    int rounds;
} opts;

static int die(const char *what)
{
    fprintf(stderr, "noise-peer: %s: %s\n", what, veil_last_error());
    exit(1);
}

static size_t unhex(const char *h, uint8_t *out, size_t cap, const char *what)
{
    size_t n = strlen(h);
    if (n % 2 != 0 || n / 2 > cap) {
        fprintf(stderr, "noise-peer: %s: bad hex length %zu\n", what, n);
        exit(2);
    }
    for (size_t i = 0; i < n / 2; i++) {
        unsigned b;
        if (sscanf(h + 2 * i, "%2x", &b) != 1) {
            fprintf(stderr, "noise-peer: %s: bad hex at %zu\n", what, 2 * i);
            exit(2);
        }
        out[i] = (uint8_t)b;
    }
    return n / 2;
}

static void parse_args(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof(*o));
    o->crypto = "openssl";
    o->rounds = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--crypto") == 0)
            o->crypto = v;
        else if (strcmp(k, "--protocol") == 0)
            o->protocol = v;
        else if (strcmp(k, "--role") == 0)
            o->role = strcmp(v, "initiator") == 0 ? VEIL_KA_INITIATOR : VEIL_KA_RESPONDER;
        else if (strcmp(k, "--static") == 0)
            o->s_len = unhex(v, o->s, sizeof(o->s), k);
        else if (strcmp(k, "--remote-static") == 0)
            o->rs_len = unhex(v, o->rs, sizeof(o->rs), k);
        else if (strcmp(k, "--prologue") == 0)
            o->prologue_len = unhex(v, o->prologue, sizeof(o->prologue), k);
        else if (strcmp(k, "--psk") == 0 && o->n_psks < MAX_PSKS)
            (void)unhex(v, o->psks[o->n_psks++], 32, k);
        else if (strcmp(k, "--rounds") == 0)
            o->rounds = atoi(v);
        else {
            fprintf(stderr, "noise-peer: unknown option %s\n", k);
            exit(2);
        }
    }
    if (o->protocol == NULL || o->role == 0) {
        fprintf(stderr, "noise-peer: --protocol and --role are required\n");
        exit(2);
    }
}

static void put_frame(const uint8_t *p, size_t n)
{
    uint8_t hdr[2] = { (uint8_t)(n >> 8), (uint8_t)n };
    if (fwrite(hdr, 1, 2, stdout) != 2 || (n > 0 && fwrite(p, 1, n, stdout) != n) || fflush(stdout) != 0) {
        fprintf(stderr, "noise-peer: write to stdout failed\n");
        exit(1);
    }
}

static size_t get_frame(uint8_t *p, size_t cap)
{
    uint8_t hdr[2];
    if (fread(hdr, 1, 2, stdin) != 2) {
        fprintf(stderr, "noise-peer: peer closed the stream\n");
        exit(1);
    }
    size_t n = (size_t)hdr[0] << 8 | hdr[1];
    if (n > cap || (n > 0 && fread(p, 1, n, stdin) != n)) {
        fprintf(stderr, "noise-peer: short or oversized frame (%zu bytes)\n", n);
        exit(1);
    }
    return n;
}

static void expect(const uint8_t *got, size_t n, const char *want, const char *what)
{
    if (n != strlen(want) || memcmp(got, want, n) != 0) {
        fprintf(stderr, "noise-peer: %s: expected '%s', got %zu bytes '%.*s'\n", what, want, n, (int)n,
                (const char *)got);
        exit(1);
    }
}

static uint8_t buf[VEIL_KA_MESSAGE_MAX + 64], pl[VEIL_KA_MESSAGE_MAX + 64];

static void handshake(const veil_key_agreement_ops *ops, void *session, veil_ka_result *res)
{
    char text[32];
    size_t n = 0;
    for (unsigned i = 0;; i++) {
        int act = ops->next_action(session);
        snprintf(text, sizeof(text), "hs-%u", i);
        if (act == VEIL_KA_DONE)
            break;
        if (act == VEIL_KA_WRITE) {
            if (ops->write_message(session, (const uint8_t *)text, strlen(text), buf, sizeof(buf), &n) < 0)
                die("write_message");
            put_frame(buf, n);
        } else if (act == VEIL_KA_READ) {
            size_t len = get_frame(buf, sizeof(buf));
            if (ops->read_message(session, buf, len, pl, sizeof(pl), &n) < 0)
                die("read_message");
            expect(pl, n, text, "handshake payload");
        } else {
            die("handshake failed");
        }
    }
    if (ops->split(session, res) < 0)
        die("split");
    put_frame(res->handshake_hash, res->handshake_hash_len);
    put_frame(res->remote_static, res->remote_static_len);
}

/* Rekey through the plugin's op; the counter is kept (§5.1 Rekey). */
static void rekey(const veil_key_agreement_ops *ops, void *inst, noise_cipher *c)
{
    veil_secret nk = 0;
    uint64_t n = c->n;
    if (ops->rekey(inst, c->vault, c->k, &nk) < 0)
        die("rekey");
    noise_cipher_set_key(c, nk, true);
    c->n = n;
}

static void transport(noise_cipher *send, noise_cipher *recv, int rounds, int phase)
{
    char want[64];
    for (int r = 0; r < rounds; r++) {
        size_t len = get_frame(buf, sizeof(buf)), n = 0;
        if (noise_cipher_decrypt(recv, NULL, 0, buf, len, &n) < 0)
            die("transport decrypt");
        snprintf(want, sizeof(want), "py-%d-%d", phase, r);
        expect(buf, n, want, "transport payload");
        int w = snprintf((char *)pl, 128, "veil-%d-%d:%s", phase, r, want);
        if (noise_cipher_encrypt(send, NULL, 0, pl, (size_t)w, &n) < 0)
            die("transport encrypt");
        put_frame(pl, n);
    }
}

int main(int argc, char **argv)
{
    opts o;
    parse_args(argc, argv, &o);
    noise_test_vault tv;
    if (noise_test_vault_open(&tv, o.crypto) < 0)
        die("vault");
    veil_config *cfg = NULL;
    veil_plugin *plugin = NULL;
    void *inst = NULL, *session = NULL;
    if (veil_config_new(&cfg) < 0 || veil_config_set(cfg, "key_agreement", "protocol", o.protocol) < 0)
        die("config");
    if (veil_plugin_open_named("noise", cfg, "key_agreement", VEIL_PLUGIN_KEY_AGREEMENT, NULL, &plugin) < 0)
        die("load noise plugin");
    const veil_key_agreement_ops *ops = veil_plugin_descriptor_of(plugin)->ops;
    veil_config_scope scope = { cfg, "key_agreement" };
    if (ops->instance_new(veil_plugin_state(plugin), &scope, &inst) < 0)
        die("instance_new");
    noise_protocol proto;
    if (noise_protocol_parse(o.protocol, &proto) < 0)
        die("protocol");
    veil_secret s = 0, psks[MAX_PSKS] = { 0 };
    if (o.s_len > 0 && noise_test_import(tv.vault, proto.dh_type, o.s, o.s_len, &s) < 0)
        die("import static");
    for (size_t i = 0; i < o.n_psks; i++)
        if (noise_test_import(tv.vault, VEIL_SECRET_BUFFER, o.psks[i], 32, &psks[i]) < 0)
            die("import psk");
    veil_ka_params p = { .size = sizeof(p), .role = o.role, .vault = tv.vault, .local_static = s,
                         .remote_static = o.rs_len ? o.rs : NULL, .remote_static_len = o.rs_len,
                         .prologue = o.prologue, .prologue_len = o.prologue_len,
                         .psks = psks, .n_psks = o.n_psks };
    if (ops->session_new(inst, &p, &session) < 0)
        die("session_new");
    veil_ka_result res;
    handshake(ops, session, &res);
    noise_cipher send, recv;
    noise_cipher_init(&send, tv.vault, res.nonce_format);
    noise_cipher_init(&recv, tv.vault, res.nonce_format);
    noise_cipher_set_key(&send, res.send_key, true);
    noise_cipher_set_key(&recv, res.recv_key, true);
    transport(&send, &recv, o.rounds, 0);
    rekey(ops, inst, &send);
    rekey(ops, inst, &recv);
    transport(&send, &recv, o.rounds, 1);
    noise_cipher_clear(&send);
    noise_cipher_clear(&recv);
    ops->session_free(session);
    ops->instance_free(inst);
    veil__secret_drop(tv.vault, &s);
    for (size_t i = 0; i < o.n_psks; i++)
        veil__secret_drop(tv.vault, &psks[i]);
    veil_plugin_close(plugin);
    veil_config_free(cfg);
    noise_test_vault_close(&tv);
    return 0;
}
