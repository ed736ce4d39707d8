/* libFuzzer target: the X3DH decoders and the handshake reads.
 *
 * Input byte 0 picks the target (bits 0-1, or bit 3 for target 4), the
 * rest is the input; with bit 2 set the input is not read as it is but
 * patches (patch.h) an honest one made at run time (the bundle; a message
 * 1 from the initiator; the responder's message 2 to it; the initiator's
 * message 3), so the checks behind the signature and the AEAD tags are
 * reached; unpatched, every honest input must pass:
 *   0  bundle decode; a decoded bundle re-encodes to the same bytes and
 *      its signature check returns 0 or VEIL_EAUTH, nothing else
 *   1  initial message decode; the header re-encodes to the input's prefix
 *   2  a responder session reads the input as message 1 (store: SPK 1,
 *      OPK 2); it must fail cleanly or advance, never touch the store
 *      after release (the store's open references stay 0)
 *   3  an initiator session, after writing message 1, reads the input as
 *      message 2
 *   4  a responder session, after an honest message 1 and its message 2,
 *      reads the input as message 3
 * No read may go out of bounds (ASan), and a failed session must refuse
 * further calls with VEIL_ESTATE. */
#include "noise-vault.h"
#include "test_x3dh_store.h"
#include "patch.h"

#include <stdlib.h>
#include <string.h>

static noise_test_vault tv;
static veil_secret ik_a, ik_b, spk, opk;
static uint8_t bundle[X3DH_BUNDLE_MAX];
static size_t bundle_len;
static x3dh_config cfg;
static uint8_t buf[VEIL_KA_MESSAGE_MAX + 64], pl[VEIL_KA_MESSAGE_MAX + 64];

static veil_secret key(uint8_t seed, uint8_t pub[32])
{
    uint8_t k[32] = { seed, 7, 7 };
    veil_secret s = 0;
    size_t n = 0;
    if (noise_test_import(tv.vault, VEIL_SECRET_X25519, k, 32, &s) < 0 ||
        veil_vault_public_key(tv.vault, s, pub, 32, &n) < 0)
        abort();
    return s;
}

static void setup_once(void)
{
    uint8_t pub[32];
    x3dh_bundle b;
    if (tv.vault != NULL)
        return;
    const char *crypto = getenv("X3DH_FUZZ_CRYPTO");
    if (noise_test_vault_open(&tv, crypto ? crypto : "openssl") < 0)
        abort();
    memset(&b, 0, sizeof b);
    ik_a = key(1, pub);
    ik_b = key(2, pub);
    spk = key(3, b.spk);
    opk = key(4, b.opk);
    b.spk_id = 1;
    b.has_opk = true;
    b.opk_id = 2;
    if (x3dh_bundle_sign(tv.vault, ik_b, &b) < 0 ||
        x3dh_bundle_encode(&b, bundle, sizeof bundle, &bundle_len) < 0)
        abort();
    x3dh_config_default(&cfg);
}

static void fresh_store(void)
{
    x3dh_bundle b;
    if (x3dh_bundle_decode(bundle, bundle_len, &b) < 0)
        abort();
    tstore_reset();
    if (tstore_add_spk(tv.vault, b.ik, 1, spk, false) < 0 || tstore_add_opk(tv.vault, b.ik, 2, opk) < 0)
        abort();
}

static x3dh_session *session(int role)
{
    veil_ka_params p;
    x3dh_session *s = NULL;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.role = role;
    p.vault = tv.vault;
    p.local_static = role == VEIL_KA_INITIATOR ? ik_a : ik_b;
    p.peer_bundle = role == VEIL_KA_INITIATOR ? bundle : NULL;
    p.peer_bundle_len = role == VEIL_KA_INITIATOR ? bundle_len : 0;
    if (x3dh_session_new(&cfg, &p, &s) < 0)
        abort();
    return s;
}

/* After a read: either advanced, or FAILED and refusing more. */
static void check_after(x3dh_session *s, int rc, int expect_next)
{
    size_t n = 0;
    if (rc == 0 && x3dh_session_next_action(s) != expect_next)
        abort();
    if (rc < 0 && (x3dh_session_next_action(s) != VEIL_KA_FAILED ||
                   x3dh_session_write(s, NULL, 0, buf, sizeof buf, &n) != VEIL_ESTATE))
        abort();
    if (tstore_open_refs() != 0)
        abort();
}

/* The honest handshake up to target t: honest[] gets the message the
 * target reads (or the bundle), *reader the session that reads it next
 * (targets 3 and 4; NULL otherwise).  Returns the message's length. */
static uint8_t honest[VEIL_KA_MESSAGE_MAX + 64];

static size_t honest_input(unsigned t, x3dh_session **reader)
{
    size_t n = 0, got = 0;
    *reader = NULL;
    if (t == 0) {
        memcpy(honest, bundle, bundle_len);
        return bundle_len;
    }
    x3dh_session *a = session(VEIL_KA_INITIATOR), *b = NULL;
    if (x3dh_session_write(a, NULL, 0, honest, sizeof honest, &n) < 0)
        abort();
    if (t >= 3) {
        fresh_store();
        b = session(VEIL_KA_RESPONDER);
        if (x3dh_session_read(b, honest, n, pl, sizeof pl, &got) < 0 ||
            x3dh_session_write(b, NULL, 0, honest, sizeof honest, &n) < 0)
            abort();
    }
    if (t == 4 && (x3dh_session_read(a, honest, n, pl, sizeof pl, &got) < 0 ||
                   x3dh_session_write(a, NULL, 0, honest, sizeof honest, &n) < 0))
        abort();
    *reader = t == 3 ? a : t == 4 ? b : NULL;
    if (*reader != a)
        x3dh_session_free(a);
    if (*reader != b)
        x3dh_session_free(b);
    return n;
}

static void run(unsigned t, const uint8_t *in, size_t len, x3dh_session *reader, bool honest_run)
{
    size_t n = 0, got = 0;
    int rc;
    memcpy(buf, in, len);
    if (t == 0) {
        x3dh_bundle b;
        uint8_t re[X3DH_BUNDLE_MAX];
        rc = x3dh_bundle_decode(buf, len, &b);
        if (rc == 0) {
            if (x3dh_bundle_encode(&b, re, sizeof re, &n) < 0 || n != len || memcmp(re, in, n) != 0)
                abort();
            rc = x3dh_bundle_verify(tv.vault, &b);
            if (rc != 0 && rc != VEIL_EAUTH)
                abort();
        }
    } else if (t == 1) {
        x3dh_initial m;
        uint8_t re[X3DH_INITIAL_HEADER_OPK];
        rc = x3dh_initial_decode(buf, len, &m);
        if (rc == 0 && (x3dh_initial_encode_header(&m, re, sizeof re, &n) < 0 ||
                        memcmp(re, in, n) != 0 || m.ct != buf + n || m.ct_len != len - n))
            abort();
    } else if (t == 2) {
        fresh_store();
        x3dh_session *s = session(VEIL_KA_RESPONDER);
        rc = x3dh_session_read(s, buf, len, buf, len, &got); /* in place, as the channel */
        check_after(s, rc, VEIL_KA_WRITE);
        x3dh_session_free(s);
    } else {
        x3dh_session *s = reader;
        if (s == NULL) /* raw input: a session that is waiting for it */
            honest_input(t, &s);
        rc = x3dh_session_read(s, buf, len, pl, sizeof pl, &got);
        check_after(s, rc, t == 3 ? VEIL_KA_WRITE : VEIL_KA_DONE);
        x3dh_session_free(s);
    }
    if (honest_run && rc != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    setup_once();
    unsigned t = data[0] & 8u ? 4u : data[0] & 3u;
    if ((data[0] & 4u) == 0) {
        size_t len = size - 1;
        if (len > VEIL_KA_MESSAGE_MAX + 16)
            len = VEIL_KA_MESSAGE_MAX + 16;
        run(t, data + 1, len, NULL, false);
        return 0;
    }
    x3dh_session *reader;
    size_t n = honest_input(t, &reader), len;
    uint8_t *in = fuzz_patch(honest, n, data + 1, size - 1, &len);
    if (in == NULL)
        abort();
    if (len > VEIL_KA_MESSAGE_MAX + 16)
        len = VEIL_KA_MESSAGE_MAX + 16;
    run(t, in, len, reader, size == 1);
    free(in);
    return 0;
}
