/* HSERR: the plain frame that ends a handshake early (docs/PROTOCOL.md,
 * "Frames" and "What unauthenticated peers learn").
 *
 *   responder → initiator: message 1 could not be read (with X3DH: an
 *     expired signed prekey, a used one-time prekey, a bad AEAD), so the
 *     initiator fails at once instead of timing out;
 *   initiator → responder: the initiator's trust policy refused the
 *     responder after message 2, so the responder frees its state now.
 *
 * No key exists yet, so the frame is unauthenticated: anyone on the path
 * could forge one, which gains nothing over dropping the message it
 * answers.  For the same reason it tells the peer only a code and the
 * fixed reason the table below gives for it — never the local detail
 * (prekey ids, store state, policy names), which stays in the local log.
 * Codes outside the table go as VEIL_EHANDSHAKE.  The receiver reports the
 * code and its own table's reason; the reason on the wire is for people
 * reading captures. */
#include "channel_internal.h"
#include "relay_internal.h"

#include <veil/error.h>
#include <veil/log.h>

#include <stdio.h>
#include <string.h>

static const struct {
    int code;
    const char *reason;
} reasons[] = {
    { VEIL_EHANDSHAKE, "handshake message refused" },
    { VEIL_EAUTH, "handshake message did not authenticate" },
    { VEIL_ETRUNCATED, "handshake message truncated" },
    { VEIL_EFORMAT, "handshake message malformed" },
    { VEIL_ELIMIT, "handshake message too large" },
    { VEIL_EVERSION, "handshake version not supported" },
    { VEIL_ELOWORDER, "low-order public key" },
    { VEIL_ENOTFOUND, "unknown prekey" },
    { VEIL_EREPLAY, "one-time prekey already used" },
    { VEIL_EEXPIRED, "prekey expired" },
    { VEIL_ETIMEDOUT, "prekey expired" },
    { VEIL_EDENIED, "refused by policy" },
    { VEIL_EBUSY, "busy" },
    { VEIL_ENOROUTE, "no such name at the relay" },
    /* The body after the code is the listener's protocol name instead. */
    { VEIL_EUNSUPPORTED, "key agreement not supported" },
};

/* The table's entry for rc, or VEIL_EHANDSHAKE's. */
static size_t entry_of(int rc)
{
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].code == rc)
            return i;
    return 0;
}

/* The frame for rc: code, reason, type (cap >= 2 + 64). */
static size_t hserr_frame(int rc, uint8_t *frame)
{
    size_t i = entry_of(rc), n = strlen(reasons[i].reason);
    frame[0] = (uint8_t)-reasons[i].code;
    memcpy(frame + 1, reasons[i].reason, n);
    frame[1u + n] = VEIL_CH_HSERR;
    return n + 2u;
}

/* A relay's refusal of an unknown name (relay_registry.c): the initiator's
 * handshake fails with VEIL_EHANDSHAKE naming VEIL_ENOROUTE. */
size_t veil__relay_refusal_frame(uint8_t *frame, size_t cap)
{
    return cap < 2u + 64u ? 0u : hserr_frame(VEIL_ENOROUTE, frame);
}

void veil__ch_hserr_send(veil_channel *ch, const veil_route *route, int rc)
{
    uint8_t frame[2u + 64u];
    size_t n = hserr_frame(rc, frame) - 2u;
    char keep[512];
    snprintf(keep, sizeof keep, "%s", veil_last_error());
    if (veil__ch_send_raw(ch, route, frame, n + 2u) < 0)
        veil_log(VEIL_LOG_DEBUG, "channel", "could not send a handshake refusal: %s",
                 veil_last_error());
    veil_error_set(rc, "%s", keep); /* the caller reports (and logs) the detail */
}

/* A key agreement mismatch: say which one each side speaks.  The name is
 * a stranger's bytes: printable ASCII and at most the longest name kept
 * (anything else is shown as '?'). */
static int mismatch(veil_channel *ch, const veil_ch_frame *f)
{
    char theirs[VEIL_KA_PROTOCOL_NAME_MAX + 1];
    size_t n = f->body_len - 1u < VEIL_KA_PROTOCOL_NAME_MAX ? f->body_len - 1u
                                                             : VEIL_KA_PROTOCOL_NAME_MAX;
    for (size_t i = 0; i < n; i++)
        theirs[i] = f->body[1 + i] >= 0x20 && f->body[1 + i] < 0x7f ? (char)f->body[1 + i] : '?';
    theirs[n] = '\0';
    const char *mine = ch->protocol != NULL ? ch->protocol : "?";
    return veil__ch_fail(ch, veil_error_set(VEIL_EUNSUPPORTED, "secure channel: the listener "
                                            "refused handshake message 1: peer speaks %s, this "
                                            "listener %s ([key_agreement] must match)",
                                            mine, n > 0 ? theirs : "(not told)"));
}

/* A stateless HSERR answering msg (like a COOKIE): code || text[n] ||
 * type.  The callers keep it no larger than the message it answers (no
 * amplification). */
static void reply(veil_ch_listener *l, veil_message *msg, int code, const char *text, size_t n)
{
    uint8_t frame[2u + VEIL_KA_PROTOCOL_NAME_MAX];
    frame[0] = (uint8_t)-code;
    memcpy(frame + 1, text, n);
    frame[1u + n] = VEIL_CH_HSERR;
    if (veil_ctx_reply_message(l->ctx, msg, frame, n + 2u) < 0)
        veil_log(VEIL_LOG_DEBUG, "channel", "listener '%s': could not send a handshake refusal: "
                 "%s", l->name, veil_last_error());
}

bool veil__ch_protocol_refused(veil_ch_listener *l, veil_message *msg, const veil_ch_frame *f)
{
    size_t mine = strlen(l->protocol), in;
    if (f->protocol_len == mine && memcmp(f->protocol, l->protocol, mine) == 0)
        return false;
    l->stats.failed++;
    veil__ch_warn(l, "listener '%s': refused a first handshake message: peer speaks %.*s, this "
                  "listener %s", l->name, (int)f->protocol_len, (const char *)f->protocol,
                  l->protocol);
    (void)veil_message_payload(msg, &in);
    reply(l, msg, VEIL_EUNSUPPORTED, l->protocol, 2u + mine <= in ? mine : 0);
    return true;
}

void veil__ch_hserr_reply(veil_ch_listener *l, veil_message *msg, int rc)
{
    size_t i = entry_of(rc), n = strlen(reasons[i].reason), in;
    (void)veil_message_payload(msg, &in);
    reply(l, msg, reasons[i].code, reasons[i].reason, 2u + n <= in ? n : 0);
}

int veil__ch_hserr_receive(veil_channel *ch, const veil_ch_frame *f)
{
    int code = -(int)f->body[0];
    if (code == VEIL_EUNSUPPORTED && ch->role == VEIL_KA_INITIATOR)
        return mismatch(ch, f);
    size_t i = entry_of(code);
    const char *reason = reasons[i].code == code ? reasons[i].reason : "(a code this version "
                                                                      "does not know)";
    if (ch->role == VEIL_KA_RESPONDER) /* the initiator refused us after message 2 */
        return veil__ch_fail(ch, veil_error_set(VEIL_EDENIED, "secure channel: the initiator "
                                                "refused the handshake after message 2 (%s): %s",
                                                veil_strerror(code), reason));
    return veil__ch_fail(ch, veil_error_set(VEIL_EHANDSHAKE, "secure channel: the responder "
                                            "refused handshake message 1 (%s): %s",
                                            veil_strerror(code), reason));
}
