/* One Noise test vector, read from either public JSON format:
 *
 *  - cacophony: the protocol in "protocol_name";
 *  - noise-c: a display "name" (optionally "protocol_name"), the protocol
 *    spelled out in "pattern", "dh", "cipher" and "hash" (which must agree
 *    with "name" unless the vector falls back), a "fail" flag (the last
 *    message must be rejected), and extensions veil does not implement
 *    ("hybrid", "fallback", "*_ssk": reported as skips).
 *
 * Both carry the keys under the same names (init_static, init_remote_static,
 * init_ephemeral, init_prologue, init_psks, the resp_* ones, handshake_hash)
 * and "messages" of payload/ciphertext.  Vectors of Noise revision 30's
 * "NoisePSK_" protocols (psks given as "init_psk"/"resp_psk") are obsolete:
 * skipped by name, never counted as failures. */
#ifndef VEIL_TESTS_NOISE_VECTOR_H
#define VEIL_TESTS_NOISE_VECTOR_H

#include "noise.h"
#include "json.h"

#define NV_MAX_MSG (VEIL_KA_MESSAGE_MAX + 1)

typedef struct nv_bytes {
    uint8_t *p;
    size_t len;
    bool present;
} nv_bytes;

typedef struct nv_message {
    nv_bytes payload, ciphertext;
} nv_message;

typedef struct noise_vector {
    char name[256];         /* what the file calls it */
    char protocol[256];     /* the protocol run */
    noise_protocol proto;
    nv_bytes prologue[2], stat[2], eph[2], rstat[2], hash;  /* [0] initiator */
    uint8_t psks[2][NOISE_MAX_PSKS][32];
    size_t n_psks[2];
    bool fail;              /* the last message must be rejected */
    nv_message *messages;
    size_t n_messages;
} noise_vector;

enum nv_outcome { NV_PASS, NV_FAIL, NV_SKIP };

/* The name to report a vector under before it is read ("?" if none). */
const char *noise_vector_label(const json_t *jv);
/* Read jv into v: NV_PASS, NV_SKIP (why: the reason) or NV_FAIL (why:
 * what is malformed).  noise_vector_free() it in every case. */
enum nv_outcome noise_vector_read(const json_t *jv, noise_vector *v, char *why, size_t cap);
void noise_vector_free(noise_vector *v);

#endif
