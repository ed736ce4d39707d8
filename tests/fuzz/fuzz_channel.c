/* libFuzzer target: the secure channel's decoders (framework/channel/
 * channel_frame.c: the frame, the inner-message and proof parsers; and
 * replay_window.c).
 *
 * Input byte 0 picks the mode:
 *   even: the rest is a frame.  It is parsed; a handshake frame's body is
 *         parsed as an identity proof; a refusal (HSERR) is checked for its
 *         bounds and its code named; a cookie (COOKIE, HS1_COOKIE) for its
 *         place and size; a data frame's body minus the tag is parsed as
 *         the inner message (what the receiver does after a successful
 *         decryption), with a small max_message.  Every result is checked
 *         against the input bounds.
 *   odd:  the rest is a list of (op, u64 nonce): the replay window is run
 *         against a simple reference model (every accepted nonce kept in a
 *         list) and must agree with it on every check.
 * Run: tests/fuzz/fuzz_channel -max_total_time=60 */
#include "channel_internal.h"

#include <veil/error.h>

#include <stdlib.h>
#include <string.h>

/* The checks behind each frame type, as the channel dispatches them (types
 * up to VEIL_CH_HANDSHAKE_LAST are plain handshake frames, the rest
 * encrypted).  A type the parser accepted but this switch does not know
 * is a parser bug. */
static void frame_mode(const uint8_t *in, size_t len)
{
    veil_ch_frame f;
    if (veil__ch_frame_parse(in, len, &f) < 0)
        return;
    if ((f.body != NULL || f.body_len > 0) && (f.body < in || f.body + f.body_len > in + len))
        abort();
    if (f.cookie != NULL && (f.cookie < in || f.cookie + VEIL_CH_COOKIE_BYTES > in + len))
        abort();
    if ((f.type == VEIL_CH_COOKIE || f.type == VEIL_CH_HS1_COOKIE) != (f.cookie != NULL))
        abort();
    if ((f.type == VEIL_CH_HS1 || f.type == VEIL_CH_HS1_COOKIE) != (f.protocol != NULL))
        abort();
    switch (f.type) {
    case VEIL_CH_COOKIE:
        if (f.body_len != 0)
            abort();
        return;
    case VEIL_CH_HS1:
    case VEIL_CH_HS1_COOKIE: /* KA message 1 || protocol || its length (|| cookie) */
        if (f.body_len > VEIL_KA_MESSAGE_MAX || f.protocol != f.body + f.body_len ||
            f.protocol_len == 0 || f.protocol_len > VEIL_KA_PROTOCOL_NAME_MAX ||
            f.protocol[f.protocol_len] != f.protocol_len)
            abort();
        for (size_t i = 0; i < f.protocol_len; i++)
            if (f.protocol[i] < 0x20 || f.protocol[i] > 0x7e)
                abort();
        return;
    case VEIL_CH_HS2:
    case VEIL_CH_HS3: {
        veil_ch_proof p;
        if (veil__ch_proof_parse(f.body, f.body_len, &p) == 0 &&
            (p.history < f.body || p.history + p.history_len > f.body + f.body_len ||
             p.history_len == 0 || p.history_len > VEIL_HISTORY_MAX_BYTES))
            abort();
        return;
    }
    case VEIL_CH_NOTICE: { /* a node's undeliverable notice: exactly its 20 bytes */
        int code;
        if (len != 20 || !veil__notice_parse(in, len, &code))
            abort();
        return;
    }
    case VEIL_CH_HSERR: {
        /* Plain refusal: a code byte (channel_hserr.c names it with
         * veil_strerror; bytes after it are not used). */
        if (f.body_len < 1u || f.body_len > VEIL_CH_HSERR_MAX)
            abort();
        const char *name = veil_strerror(-(int)f.body[0]);
        if (name == NULL || name[0] == '\0')
            abort();
        return;
    }
    case VEIL_CH_DATA:
    case VEIL_CH_CLOSE:
    case VEIL_CH_ACCEPT:
    case VEIL_CH_REFUSE:
        break;
    default:
        abort();
    }
    if (f.body_len < VEIL_AEAD_TAG_BYTES || f.nonce == UINT64_MAX)
        abort();
    if (f.type != VEIL_CH_DATA)
        return; /* control bodies are used as they are (REFUSE: a name, %.*s) */
    /* As if the ciphertext had decrypted to these bytes. */
    static veil_route on, ret;
    size_t plen;
    size_t clen = f.body_len - VEIL_AEAD_TAG_BYTES;
    if (veil__ch_inner_parse(f.body, clen, 512, &on, &ret, &plen) == 0 &&
        (plen > 512 || plen + 4u > clen))
        abort();
}

#define MODEL_MAX 4096

static void window_mode(const uint8_t *in, size_t len)
{
    static uint64_t accepted[MODEL_MAX];
    size_t n = 0;
    uint64_t top = 0;
    bool any = false;
    veil_replay_window w;
    veil__rw_init(&w);
    for (size_t off = 0; off + 9 <= len && n < MODEL_MAX; off += 9) {
        uint64_t v;
        memcpy(&v, in + off + 1, 8);
        /* Mostly small steps around the top, sometimes anything. */
        if (in[off] & 1)
            v = (any ? top : 0) + (v % 2048) - (any && top >= 1024 ? 1024 : 0);
        if (v == UINT64_MAX)
            continue; /* reserved: the frame parser never lets it through */
        int want = VEIL_RW_OK;
        if (any && v <= top) {
            if (top - v >= VEIL_CH_WINDOW_BITS) {
                want = VEIL_RW_TOO_OLD;
            } else {
                for (size_t i = 0; i < n; i++)
                    if (accepted[i] == v)
                        want = VEIL_RW_DUPLICATE;
            }
        }
        if (veil__rw_check(&w, v) != want)
            abort();
        if (want == VEIL_RW_OK && (in[off] & 2) == 0) { /* "authenticated" */
            veil__rw_update(&w, v);
            accepted[n++] = v;
            if (!any || v > top)
                top = v;
            any = true;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] % 2 == 0)
        frame_mode(data + 1, size - 1);
    else
        window_mode(data + 1, size - 1);
    return 0;
}
