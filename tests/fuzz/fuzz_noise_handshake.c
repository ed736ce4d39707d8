/* libFuzzer target: Noise read_message on arbitrary bytes at every
 * handshake position of XX and IK (both roles' reads).
 *
 * Input byte 0 picks the protocol (bit 0) and the position (bits 1-6); the
 * honest messages before that position are produced by a real peer with
 * fixed static keys, then
 *   bit 7 clear: the rest of the input is read as the next message;
 *   bit 7 set:   the honest peer writes the next message too and the rest
 *                of the input patches it (patch.h), so the reads behind
 *                the AEAD tags are reached; unpatched, it must be read.
 * Whatever happens, the state must end either advanced or FAILED with its
 * secrets gone, and no read may go out of bounds (ASan). */
#include "noise.h"
#include "noise-vault.h"
#include "patch.h"

#include <stdlib.h>
#include <string.h>

static noise_test_vault tv;
static veil_secret statics[2];
static uint8_t spub[2][32];
static uint8_t msg[VEIL_KA_MESSAGE_MAX], pl[VEIL_KA_MESSAGE_MAX];

static const char *const protocols[] = {
    "Noise_XX_25519_AESGCM_SHA256", "Noise_IK_25519_ChaChaPoly_BLAKE2b",
};

static void setup_once(void)
{
    static const uint8_t keys[2][32] = { { 1, 2, 3 }, { 4, 5, 6 } };
    if (tv.vault != NULL)
        return;
    if (noise_test_vault_open(&tv, getenv("NOISE_FUZZ_CRYPTO") ? getenv("NOISE_FUZZ_CRYPTO") : "openssl") < 0)
        abort();
    for (int i = 0; i < 2; i++) {
        size_t len = 0;
        if (noise_test_import(tv.vault, VEIL_SECRET_X25519, keys[i], 32, &statics[i]) < 0 ||
            veil_vault_public_key(tv.vault, statics[i], spub[i], 32, &len) < 0)
            abort();
    }
}

static noise_handshake *make(const char *name, int role)
{
    bool need_s, rs_pre, rs_sent;
    noise_protocol p;
    noise_handshake *hs = NULL;
    if (noise_protocol_parse(name, &p) < 0)
        abort();
    noise_pattern_needs(&p.pattern, role, &need_s, &rs_pre, &rs_sent);
    int i = role == VEIL_KA_INITIATOR ? 0 : 1;
    veil_ka_params prm = { .size = sizeof(prm), .role = role, .vault = tv.vault, .protocol = name,
                           .local_static = statics[i],
                           .remote_static = rs_pre ? spub[1 - i] : NULL,
                           .remote_static_len = rs_pre ? 32 : 0 };
    if (noise_handshake_new(&prm, &hs) < 0)
        abort();
    return hs;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    setup_once();
    const char *name = protocols[data[0] & 1];
    noise_handshake *hs[2] = { make(name, VEIL_KA_INITIATOR), make(name, VEIL_KA_RESPONDER) };
    unsigned target = ((data[0] >> 1) & 0x3fu) % hs[0]->proto.pattern.n_messages;
    size_t n = 0, pn = 0;
    for (unsigned m = 0; m < target; m++) {
        int s = m % 2;
        if (noise_handshake_write(hs[s], NULL, 0, msg, sizeof(msg), &n) < 0 ||
            noise_handshake_read(hs[1 - s], msg, n, pl, sizeof(pl), &pn) < 0)
            abort();
    }
    noise_handshake *reader = hs[1 - target % 2];
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    uint8_t *patched = NULL;
    if (data[0] & 0x80) {
        if (noise_handshake_write(hs[target % 2], NULL, 0, msg, sizeof(msg), &n) < 0 ||
            (patched = fuzz_patch(msg, n, data + 1, size - 1, &len)) == NULL)
            abort();
        in = patched;
    }
    int rc = noise_handshake_read(reader, in, len, pl, sizeof(pl), &pn);
    if (rc < 0 && (noise_handshake_next_action(reader) != VEIL_KA_FAILED || reader->sym.ck != 0))
        abort();
    if (rc == 0 && pn > len)
        abort();
    if ((data[0] & 0x80) && size == 1 && rc != 0)
        abort(); /* the honest message, untouched */
    free(patched);
    noise_handshake_free(hs[0]);
    noise_handshake_free(hs[1]);
    return 0;
}
