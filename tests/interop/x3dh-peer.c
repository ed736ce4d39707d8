/* The veil side of the live X3DH interop test (tests/interop/x3dh_interop.py,
 * driving python3-x3dh).  One command per run; hex in argv, "key=hex"
 * lines out; exit 0 on success, 1 with the veil error on stderr.
 *
 *   x3dh-peer CRYPTO verify-bundle BUNDLE
 *   x3dh-peer CRYPTO make-bundle IK_PRIV SPK_PRIV SPK_ID [OPK_PRIV OPK_ID]
 *       → bundle=  (veil format, SPK signed by veil's XEdDSA)
 *   x3dh-peer CRYPTO initiate IK_A_PRIV EK_PRIV BUNDLE INFO APPENDIX PAYLOAD
 *       → msg1= sk= ad=  (msg1 from the real initiator session with EK
 *         preset; sk/ad from the same derivation, exported for comparison)
 *   x3dh-peer CRYPTO respond IK_B_PRIV SPK_PRIV SPK_ID OPK_PRIV|- OPK_ID MSG1 INFO APPENDIX
 *       → payload= sk= ad=  (the real responder session reads msg1)
 *   x3dh-peer CRYPTO handshake-i IK_A_PRIV BUNDLE INFO APPENDIX
 *       → msg1=, reads message 2 (hex line) on stdin → payload=, msg3=, then
 *         hh= and seal_send= / seal_recv= (see finish())
 *   x3dh-peer CRYPTO handshake-r IK_B_PRIV SPK_PRIV SPK_ID OPK_PRIV|- OPK_ID MSG1 INFO APPENDIX
 *       → payload=, msg2=, reads message 3 on stdin → payload=, hh=, seal_*=
 * The handshake commands run a whole session (AES-256-GCM) so the peer can
 * check docs/X3DH.md's key schedule end to end; the payloads veil sends are
 * "veil 1", "veil 2", "veil 3" for messages 1, 2, 3.
 * INFO is text; APPENDIX and PAYLOAD are hex ("-" for empty). */
#include "config.h"
#include "noise-vault.h"
#include "test_x3dh_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int die(const char *what)
{
    fprintf(stderr, "x3dh-peer: %s: %s\n", what, veil_last_error());
    return 1;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = strcmp(s, "-") == 0 ? 0 : strlen(s);
    if (n % 2 || n / 2 > cap) {
        fprintf(stderr, "x3dh-peer: bad hex argument (%zu digits, room for %zu bytes)\n", n, cap);
        exit(2);
    }
    for (size_t i = 0; i < n / 2; i++) {
        unsigned b;
        if (sscanf(s + 2 * i, "%2x", &b) != 1) {
            fprintf(stderr, "x3dh-peer: bad hex digit at %zu\n", 2 * i);
            exit(2);
        }
        out[i] = (uint8_t)b;
    }
    return n / 2;
}

static void put(const char *k, const uint8_t *p, size_t n)
{
    printf("%s=", k);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("\n");
}

static veil_secret import_x25519(veil_vault *v, const char *hex)
{
    uint8_t k[32];
    veil_secret s = 0;
    if (unhex(hex, k, sizeof k) != 32 || noise_test_import(v, VEIL_SECRET_X25519, k, 32, &s) < 0)
        exit(die("importing a private key"));
    return s;
}

static veil_secret_attrs exportable_sk(void)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = VEIL_SECRET_BUFFER;
    a.exportable = true;
    a.length = 32;
    return a;
}

static int put_secret(veil_vault *v, const char *k, veil_secret s)
{
    uint8_t b[32];
    size_t n = 0;
    if (veil_vault_export(v, s, b, sizeof b, &n) < 0)
        return die("exporting SK");
    put(k, b, n);
    return 0;
}

static void config(x3dh_config *c, const char *info, const char *appendix)
{
    x3dh_config_default(c);
    c->info_len = strlen(info);
    memcpy(c->info, info, c->info_len);
    c->appendix_len = unhex(appendix, c->appendix, sizeof c->appendix);
}

static int make_bundle(veil_vault *v, int argc, char **argv)
{
    x3dh_bundle b;
    uint8_t out[X3DH_BUNDLE_MAX];
    size_t n = 0;
    memset(&b, 0, sizeof b);
    veil_secret ik = import_x25519(v, argv[0]);
    veil_secret spk = import_x25519(v, argv[1]);
    b.spk_id = (uint32_t)strtoul(argv[2], NULL, 10);
    if (veil_vault_public_key(v, spk, b.spk, 32, &n) < 0)
        return die("SPK public key");
    if (argc >= 5) {
        veil_secret opk = import_x25519(v, argv[3]);
        b.has_opk = true;
        b.opk_id = (uint32_t)strtoul(argv[4], NULL, 10);
        if (veil_vault_public_key(v, opk, b.opk, 32, &n) < 0)
            return die("OPK public key");
    }
    if (x3dh_bundle_sign(v, ik, &b) < 0 || x3dh_bundle_encode(&b, out, sizeof out, &n) < 0)
        return die("bundle");
    put("bundle", out, n);
    return 0;
}

static int initiate(veil_vault *v, char **argv)
{
    uint8_t bun[X3DH_BUNDLE_MAX + 1], payload[1024], msg[2048], ad[X3DH_AD_MAX];
    size_t blen = unhex(argv[2], bun, sizeof bun), plen, n = 0, ad_len = 0;
    x3dh_config c;
    x3dh_bundle b;
    x3dh_session *s = NULL;
    config(&c, argv[3], argv[4]);
    plen = unhex(argv[5], payload, sizeof payload);
    veil_secret ik = import_x25519(v, argv[0]), ek = import_x25519(v, argv[1]), sk = 0;
    veil_ka_params p;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.role = VEIL_KA_INITIATOR;
    p.vault = v;
    p.local_static = ik;
    p.local_ephemeral = ek;
    p.peer_bundle = bun;
    p.peer_bundle_len = blen;
    if (x3dh_session_new(&c, &p, &s) < 0)
        return die("initiator session");
    if (x3dh_session_write(s, payload, plen, msg, sizeof msg, &n) < 0)
        return die("writing message 1");
    put("msg1", msg, n);
    x3dh_session_free(s);
    uint8_t ik_pub[32];
    veil_secret_attrs a = exportable_sk();
    if (x3dh_bundle_decode(bun, blen, &b) < 0 ||
        x3dh_derive_initiator(v, ik, ek, &b, c.info, c.info_len, &a, &sk) < 0 ||
        veil_vault_public_key(v, ik, ik_pub, 32, &n) < 0 ||
        x3dh_make_ad(ik_pub, b.ik, c.appendix, c.appendix_len, ad, sizeof ad, &ad_len) < 0)
        return die("SK and AD");
    put("ad", ad, ad_len);
    return put_secret(v, "sk", sk);
}

static int respond(veil_vault *v, char **argv)
{
    uint8_t msg[2048], payload[2048], ad[X3DH_AD_MAX], ik_pub[32];
    size_t mlen = unhex(argv[5], msg, sizeof msg), n = 0, ad_len = 0;
    x3dh_config c;
    x3dh_initial m;
    x3dh_session *s = NULL;
    config(&c, argv[6], argv[7]);
    veil_secret ik = import_x25519(v, argv[0]), spk = import_x25519(v, argv[1]), opk = 0, sk = 0;
    if (veil_vault_public_key(v, ik, ik_pub, 32, &n) < 0)
        return die("IK public key");
    tstore_reset();
    tstore_add_spk(v, ik_pub, (uint32_t)strtoul(argv[2], NULL, 10), spk, false);
    if (strcmp(argv[3], "-") != 0) {
        opk = import_x25519(v, argv[3]);
        tstore_add_opk(v, ik_pub, (uint32_t)strtoul(argv[4], NULL, 10), opk);
    }
    veil_ka_params p;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.role = VEIL_KA_RESPONDER;
    p.vault = v;
    p.local_static = ik;
    if (x3dh_session_new(&c, &p, &s) < 0)
        return die("responder session");
    /* Derive SK/AD for comparison before the session consumes the OPK. */
    veil_secret_attrs a = exportable_sk();
    if (x3dh_initial_decode(msg, mlen, &m) < 0 ||
        x3dh_derive_responder(v, ik, spk, opk, m.ik, m.ek, c.info, c.info_len, &a, &sk) < 0 ||
        x3dh_make_ad(m.ik, ik_pub, c.appendix, c.appendix_len, ad, sizeof ad, &ad_len) < 0)
        return die("SK and AD");
    if (x3dh_session_read(s, msg, mlen, payload, sizeof payload, &n) < 0)
        return die("reading message 1");
    put("payload", payload, n);
    x3dh_session_free(s);
    put("ad", ad, ad_len);
    return put_secret(v, "sk", sk);
}

static int read_line(uint8_t *out, size_t cap, size_t *n)
{
    static char line[2 * 4096 + 2];
    if (fgets(line, sizeof line, stdin) == NULL)
        return -1;
    line[strcspn(line, "\r\n")] = '\0';
    *n = unhex(line, out, cap);
    return 0;
}

/* hh = handshake hash; seal_send / seal_recv = AEAD of "transport" under
 * the send / receive key at nonce 0 with no AD (deterministic, so the peer
 * compares with the keys it derived). */
static int finish(veil_vault *v, x3dh_session *s)
{
    veil_ka_result r;
    uint8_t nonce[VEIL_AEAD_NONCE_BYTES], ct[9 + 16];
    if (x3dh_session_split(s, &r) < 0)
        return die("split");
    put("hh", r.handshake_hash, r.handshake_hash_len);
    veil_secret keys[2] = { r.send_key, r.recv_key };
    for (int i = 0; i < 2; i++) {
        veil_nonce_encode(r.nonce_format, 0, nonce);
        memcpy(ct, "transport", 9);
        if (veil_vault_aead_encrypt(v, keys[i], nonce, NULL, 0, ct, 9) < 0)
            return die("sealing with a transport key");
        put(i == 0 ? "seal_send" : "seal_recv", ct, sizeof ct);
    }
    return 0;
}

static int step_write(x3dh_session *s, const char *key, const char *payload)
{
    uint8_t msg[2048];
    size_t n = 0;
    if (x3dh_session_write(s, (const uint8_t *)payload, strlen(payload), msg, sizeof msg, &n) < 0)
        return die(key);
    put(key, msg, n);
    fflush(stdout);
    return 0;
}

static int step_read(x3dh_session *s, const char *what)
{
    uint8_t msg[4096];
    size_t n = 0, got = 0;
    if (read_line(msg, sizeof msg, &n) < 0) {
        fprintf(stderr, "x3dh-peer: no %s on stdin\n", what);
        return 1;
    }
    if (x3dh_session_read(s, msg, n, msg, sizeof msg, &got) < 0)
        return die(what);
    put("payload", msg, got);
    return 0;
}

static int handshake_i(veil_vault *v, char **argv)
{
    uint8_t bun[X3DH_BUNDLE_MAX + 1];
    x3dh_config c;
    x3dh_session *s = NULL;
    size_t blen = unhex(argv[1], bun, sizeof bun);
    config(&c, argv[2], argv[3]);
    veil_ka_params p;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.role = VEIL_KA_INITIATOR;
    p.vault = v;
    p.local_static = import_x25519(v, argv[0]);
    p.peer_bundle = bun;
    p.peer_bundle_len = blen;
    if (x3dh_session_new(&c, &p, &s) < 0)
        return die("initiator session");
    int rc = step_write(s, "msg1", "veil 1");
    if (rc == 0)
        rc = step_read(s, "message 2");
    if (rc == 0)
        rc = step_write(s, "msg3", "veil 3");
    if (rc == 0)
        rc = finish(v, s);
    x3dh_session_free(s);
    return rc;
}

static int handshake_r(veil_vault *v, char **argv)
{
    uint8_t msg[2048], ik_pub[32];
    size_t mlen = unhex(argv[5], msg, sizeof msg), n = 0;
    x3dh_config c;
    x3dh_session *s = NULL;
    config(&c, argv[6], argv[7]);
    veil_secret ik = import_x25519(v, argv[0]), spk = import_x25519(v, argv[1]);
    if (veil_vault_public_key(v, ik, ik_pub, 32, &n) < 0)
        return die("IK public key");
    tstore_reset();
    tstore_add_spk(v, ik_pub, (uint32_t)strtoul(argv[2], NULL, 10), spk, false);
    if (strcmp(argv[3], "-") != 0)
        tstore_add_opk(v, ik_pub, (uint32_t)strtoul(argv[4], NULL, 10), import_x25519(v, argv[3]));
    veil_ka_params p;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.role = VEIL_KA_RESPONDER;
    p.vault = v;
    p.local_static = ik;
    if (x3dh_session_new(&c, &p, &s) < 0)
        return die("responder session");
    int rc = 0;
    if (x3dh_session_read(s, msg, mlen, msg, sizeof msg, &n) < 0)
        rc = die("message 1");
    if (rc == 0)
        put("payload", msg, n);
    if (rc == 0)
        rc = step_write(s, "msg2", "veil 2");
    if (rc == 0)
        rc = step_read(s, "message 3");
    if (rc == 0)
        rc = finish(v, s);
    x3dh_session_free(s);
    return rc;
}

int main(int argc, char **argv)
{
    noise_test_vault tv;
    if (argc < 4) {
        fprintf(stderr, "usage: x3dh-peer CRYPTO COMMAND ARGS... (see the source)\n");
        return 2;
    }
    if (noise_test_vault_open(&tv, argv[1]) < 0)
        return die("opening the vault");
    int rc = 2;
    const char *cmd = argv[2];
    char **args = argv + 3;
    int n = argc - 3;
    if (strcmp(cmd, "verify-bundle") == 0 && n == 1) {
        uint8_t bun[X3DH_BUNDLE_MAX + 1];
        x3dh_bundle b;
        size_t len = unhex(args[0], bun, sizeof bun);
        rc = x3dh_bundle_decode(bun, len, &b) < 0 || x3dh_bundle_verify(tv.vault, &b) < 0
                 ? die("bundle") : 0;
        if (rc == 0)
            printf("verified=1\n");
    } else if (strcmp(cmd, "make-bundle") == 0 && (n == 3 || n == 5)) {
        rc = make_bundle(tv.vault, n, args);
    } else if (strcmp(cmd, "initiate") == 0 && n == 6) {
        rc = initiate(tv.vault, args);
    } else if (strcmp(cmd, "respond") == 0 && n == 8) {
        rc = respond(tv.vault, args);
    } else if (strcmp(cmd, "handshake-i") == 0 && n == 4) {
        rc = handshake_i(tv.vault, args);
    } else if (strcmp(cmd, "handshake-r") == 0 && n == 8) {
        rc = handshake_r(tv.vault, args);
    } else {
        fprintf(stderr, "x3dh-peer: unknown command or wrong argument count: %s\n", cmd);
    }
    noise_test_vault_close(&tv);
    return rc;
}
