/* libFuzzer target: identity change-history decoder and verifier.
 *
 * Byte 0 picks the mode:
 *   even: the rest of the input is verified as a history, as is;
 *   odd:  the rest is a list of (offset:u16, byte) patches and a final
 *         length (patch.h) applied to a VALID 3-event history built at
 *         start-up (no patches: it must verify) whose keys are Ed25519,
 *         ECDSA P-256, Ed25519 (version 3), so the fuzzer reaches the
 *         checks behind the signatures (links, seq, times, key types and
 *         their lengths, P-256 point decoding, trailing bytes) too.
 * Histories that verify are also checked against a fixed clock.
 * Invariants: no crash, no out-of-bounds read (ASan); a patched history
 * that still verifies has the original identifier (nobody can make a
 * history with another root without its key).  The software vault is
 * loaded through the plugin loader: run with VEIL_PLUGIN_PATH pointing at
 * vaults/software/.libs. */
#include <veil/error.h>
#include <veil/plugin.h>
#include <veil/vault.h>

#include <stdlib.h>
#include <string.h>

#include "identity_internal.h"
#include "patch.h"

static veil_vault *vault;
static uint8_t *valid;
static size_t valid_len;
static veil_history_info valid_info;

static const veil_history_clock clock_at = { 1700002000u, 300u, 63072000u };

static void setup_once(void)
{
    veil_plugin *p;
    veil_secret keys[3];
    veil_secret_attrs a;
    uint8_t pub[VEIL_P256_PUBLIC_BYTES], *h = NULL, *next;
    size_t n = 0, len = 0;
    if (vault != NULL)
        return;
    if (veil_plugin_open_named("software", NULL, NULL, VEIL_PLUGIN_VAULT, NULL, &p) < 0 ||
        veil_vault_open_plugin(p, NULL, &vault) < 0)
        abort();
    memset(&a, 0, sizeof a);
    /* create, then two rotations; the middle key is P-256 and expires
     * (times as seeds for the time rules). */
    for (uint64_t i = 0; i < 3; i++) {
        a.type = i == 1 ? VEIL_SECRET_P256 : VEIL_SECRET_ED25519;
        if (veil_vault_generate(vault, &a, &keys[i]) < 0 ||
            veil_vault_public_key(vault, keys[i], pub, sizeof pub, &n) < 0 ||
            veil__history_append(vault, h, len, i ? keys[i - 1] : 0, keys[i], a.type, pub, n,
                                 1700000000u + 1000u * i, i == 1 ? 1700002500u : 0, &next,
                                 &len) < 0)
            abort();
        free(h);
        h = next;
    }
    valid = h;
    valid_len = len;
    if (veil_history_verify_at(vault, valid, valid_len, &clock_at, &valid_info) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    veil_history_info info;
    setup_once();
    if (size < 1)
        return 0;
    if ((data[0] & 1) == 0) {
        /* Copy so that ASan sees reads past the end exactly. */
        uint8_t *in = malloc(size - 1 ? size - 1 : 1);
        if (in == NULL)
            return 0;
        memcpy(in, data + 1, size - 1);
        (void)veil_history_verify_at(vault, in, size - 1, &clock_at, &info);
        free(in);
        return 0;
    }
    size_t len;
    uint8_t *in = fuzz_patch(valid, valid_len, data + 1, size - 1, &len);
    if (in == NULL)
        return 0;
    int rc = veil_history_verify_at(vault, in, len, &clock_at, &info);
    if (rc == 0 && strcmp(info.identifier, valid_info.identifier) != 0)
        abort();
    if (size == 1 && rc != 0)
        abort(); /* the honest history, untouched, must verify */
    free(in);
    return 0;
}
