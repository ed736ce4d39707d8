/* libFuzzer target: the X3DH prekey service's request decoders and the
 * directory's rules (FETCH, PUBLISH, publication acknowledgements;
 * plugins/x3dh/x3dh_service.c, x3dh_limit.c, x3dh_publish.c and
 * x3dh_directory.c, compiled in for coverage; wire format version 2,
 * docs/X3DH.md).
 *
 * One node runs the real service worker at "prekeys", as a directory and
 * serving a listener's store under "bob" (which also publishes to the
 * same service, so acknowledgements flow too).  An input is delivered as
 * a message payload from a mailbox, except one starting with 0xfb (no
 * version of the protocol): the rest then describes a publication that
 * the harness signs with a real identity, so the checks behind the
 * signatures are reached too:
 *      name_len:u8 (1..8) | name | seq:u8 | flags:u8 | n:u8 (<= 8) |
 *      n x id:u32 (the OPK keys are fixed valid keys)
 * Every answer must be a well-formed reply (version 2, the request's op
 * with the reply bit, a status byte) and no read may go out of bounds
 * (ASan).  Run with VEIL_PLUGIN_PATH set (the software vault plugin),
 * e.g.  tests/fuzz/fuzz_prekeys -max_total_time=60 */
#include "x3dh_prekeys.h"

#include <veil/veil.h>

#include <stdlib.h>
#include <string.h>

#define OPKS 8
#define BUILD 0xfbu  /* first byte: build and sign a publication */

static veil_node *node;
static veil_context *app, *box;
static veil_vault *vault;
static veil_entity *listener, *publisher;
static veil_secret pub_ik;
static uint8_t pub_ik_pub[32], spk_pub[32], spk_sig[64], opk_pubs[OPKS][32];
static uint8_t *proof;
static size_t proof_len;
static void *reg;

static const char config_text[] =
    "[prekeys]\ndirectory_route = prekeys\npublish_interval_s = 1\n"
    "request_rate = 1000000\nrequest_burst = 1000000\n";

static void keys_once(void)
{
    veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
    veil_secret k, spk;
    size_t n;
    uint8_t enc[33] = { 0x05 };
    if (veil_identity_proof(publisher, &pub_ik, &proof, &proof_len) < 0 ||
        veil_vault_public_key(vault, pub_ik, pub_ik_pub, 32, &n) < 0 ||
        veil_vault_generate(vault, &a, &spk) < 0 ||
        veil_vault_public_key(vault, spk, spk_pub, 32, &n) < 0)
        abort();
    memcpy(enc + 1, spk_pub, 32);
    if (veil_vault_sign(vault, pub_ik, enc, 33, spk_sig) < 0)
        abort();
    for (int i = 0; i < OPKS; i++)
        if (veil_vault_generate(vault, &a, &k) < 0 ||
            veil_vault_public_key(vault, k, opk_pubs[i], 32, &n) < 0)
            abort();
}

static void setup_once(void)
{
    veil_secret ik;
    veil_config *cfg;
    void *none = NULL;
    uint8_t *mine = NULL;
    size_t mine_len = 0;
    if (node != NULL)
        return;
    if (veil_config_new_from_text(&cfg, config_text, "<fuzz>") < 0)
        abort();
    veil_node_options o = { .size = sizeof o, .config = cfg };
    if (veil_node_new(&node, &app, &o) < 0 || veil_vault_open(node, NULL, &vault) < 0 ||
        veil_ctx_new_detached(node, NULL, &box) < 0 ||
        veil_entity_open(node, vault, NULL, VEIL_ENTITY_CREATE, &listener) < 0 ||
        veil_entity_open(node, vault, NULL, VEIL_ENTITY_CREATE, &publisher) < 0 ||
        veil_identity_proof(listener, &ik, &mine, &mine_len) < 0)
        abort();
    veil_config_free(cfg);
    free(mine);
    keys_once();
    veil_ka_prekey_params p = { .size = sizeof p, .ctx = app, .vault = vault };
    p.scope.config = veil_node_config(node);
    p.scope.section = "prekeys";
    if (x3dh_prekey_start(NULL, &p, &none) < 0) /* the directory */
        abort();
    p.local_static = ik;
    p.name = "bob";
    p.entity = listener;
    if (x3dh_prekey_start(NULL, &p, &reg) < 0)
        abort();
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8u * (n - 1u - i)));
}

/* Mode 1: a publication signed by the publisher from the fuzzer's fields;
 * 0 when the input does not describe one. */
static size_t build(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    static const char dom[] = "veil.x3dh.publish.v2";
    size_t d = sizeof dom - 1u, pos = d;
    if (len < 4 || in[0] == 0 || in[0] > 8 || len < 1u + in[0] + 3u)
        return 0;
    size_t nl = in[0];
    const uint8_t *f = in + 1 + nl;
    unsigned n = f[2] % (OPKS + 1);
    if (len < 1u + nl + 3u + 4u * n || cap < d + 200 + nl + 37u * n + proof_len)
        return 0;
    memcpy(out, dom, d);
    out[pos++] = 2;
    out[pos++] = 0x02;
    out[pos++] = (uint8_t)nl;
    memcpy(out + pos, in + 1, nl);
    pos += nl;
    put_be(out + pos, f[0], 8);
    memset(out + pos + 8, 0x33, 16);
    out[pos + 24] = f[1];
    pos += 25;
    out[pos] = 1;
    out[pos + 1] = 0;
    out[pos + 2] = 0x05;
    memcpy(out + pos + 3, pub_ik_pub, 32);
    put_be(out + pos + 35, 7, 4);
    out[pos + 39] = 0x05;
    memcpy(out + pos + 40, spk_pub, 32);
    memcpy(out + pos + 72, spk_sig, 64);
    pos += 136;
    put_be(out + pos, n, 2);
    pos += 2;
    for (unsigned i = 0; i < n; i++, pos += 37) {
        memcpy(out + pos, f + 3 + 4 * i, 4);
        out[pos + 4] = 0x05;
        memcpy(out + pos + 5, opk_pubs[i], 32);
    }
    put_be(out + pos, proof_len, 2);
    memcpy(out + pos + 2, proof, proof_len);
    pos += 2 + proof_len;
    if (veil_vault_sign(vault, pub_ik, out, pos, out + pos) < 0)
        abort();
    memmove(out, out + d, pos + 64 - d);
    return pos + 64 - d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t msg[70000];
    setup_once();
    size_t len = size;
    const uint8_t *req = data;
    if (size >= 1 && data[0] == BUILD) {
        if ((len = build(data + 1, size - 1, msg, sizeof msg)) == 0)
            return 0;
        req = msg;
    }
    veil_route r;
    veil_route_init(&r);
    if (veil_route_append_str(&r, "prekeys") < 0 || veil_ctx_send(box, &r, req, len) < 0)
        abort();
    for (int i = 0; i < 4; i++)
        if (veil_node_run_once(node, 0) < 0)
            abort();
    veil_message *m;
    while (veil_ctx_receive(box, &m, 0) == 0) {
        size_t n;
        const uint8_t *p = veil_message_payload(m, &n);
        /* Replies only to requests: a well-formed reply, same op. */
        if (n < 3 || p[0] != 2 || !(p[1] & 0x80) || len < 2 || (p[1] & 0x7f) != req[1])
            abort();
        veil_message_free(m);
    }
    return 0;
}
