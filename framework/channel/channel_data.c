/* Secure channel data path: sealing and opening encrypted frames, the
 * anti-replay window, rekeying by epochs, delivery of decrypted messages.
 *
 *   frame     = ciphertext tag nonce:u64be type:u8     AD = nonce || type
 *   plaintext = payload onward-route return-route payload_len:u32be
 *
 * No allocation and no copy of the payload in the channel: the
 * application's own message is turned into the frame (the payload stays
 * where it is; the routes and the trailer are written after it, and the
 * buffer only moves when it has no room for them) and encrypted in place;
 * on receipt the frame is decrypted in place, the payload is already at
 * the front of the buffer, and the same message object carries the inner
 * message on.  The vault's AEAD keys are per-handle contexts, so no key
 * schedule runs per message.
 *
 * Rekey: nonce n belongs to epoch n / rekey_interval; the key of epoch
 * e+1 is the key agreement's rekey() of the key of epoch e (Noise
 * Rekey()).  The sender moves on when its counter crosses an epoch; the
 * receiver moves on when a frame of a later epoch authenticates under the
 * derived key, and keeps the previous epoch's key for late (reordered)
 * frames.  A frame that fails to authenticate changes nothing. */
#include "channel_internal.h"
#include "core/util.h"

#include <veil/codec.h>
#include <veil/error.h>
#include <veil/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How many epochs a frame may be ahead of the receiver (frames lost in
 * between); further is dropped without deriving keys. */
#define MAX_EPOCHS_AHEAD 16u

static void destroy(veil_channel *ch, veil_secret *k)
{
    if (veil__secret_drop(ch->vault, k) < 0)
        veil_log(VEIL_LOG_ERROR, "channel", "destroying a channel key: %s", veil_last_error());
}

void veil__ch_keys_set(veil_channel *ch, const veil_ka_result *r)
{
    ch->send_key = r->send_key;
    ch->recv_key = r->recv_key;
    ch->nonce_format = r->nonce_format;
}

void veil__ch_keys_destroy(veil_channel *ch, bool touch_vault)
{
    if (touch_vault) {
        destroy(ch, &ch->send_key);
        destroy(ch, &ch->recv_key);
        destroy(ch, &ch->recv_prev);
    }
    ch->send_key = ch->recv_key = ch->recv_prev = 0;
}

/* Encrypt buf[0 .. plain_len) in place as frame `type`: the tag, then the
 * nonce and the type land after it (buf holds plain_len + OVERHEAD). */
static int seal(veil_channel *ch, uint8_t type, uint8_t *buf, size_t plain_len)
{
    if (ch->send_key == 0)
        return veil_error_set(VEIL_ESTATE, "secure channel %s: no keys yet",
                              ch->addr->bytes);
    uint64_t n = ch->send_n;
    if (n >= UINT64_MAX - 1u)
        return veil_error_set(VEIL_ENONCE, "secure channel %s: nonces exhausted",
                              ch->addr->bytes);
    uint64_t epoch = n / ch->set.rekey_interval;
    if (epoch != ch->send_epoch) {
        veil_secret k;
        int rc = ch->ka->rekey(ch->ka_inst, ch->vault, ch->send_key, &k);
        if (rc < 0)
            return veil_error_wrap(rc, "secure channel %s: rekey", ch->addr->bytes);
        destroy(ch, &ch->send_key);
        ch->send_key = k;
        ch->send_epoch = epoch;
        ch->stats.rekeys++;
    }
    uint8_t nonce[VEIL_AEAD_NONCE_BYTES], trailer[VEIL_CH_TRAILER];
    veil__store_be64(trailer, n);
    trailer[8] = type;
    veil_nonce_encode(ch->nonce_format, n, nonce);
    int rc = veil_vault_aead_encrypt(ch->vault, ch->send_key, nonce, trailer, sizeof trailer,
                                     buf, plain_len);
    if (rc < 0)
        return rc;
    memcpy(buf + plain_len + VEIL_AEAD_TAG_BYTES, trailer, sizeof trailer);
    ch->send_n = n + 1u;
    return 0;
}

int veil__ch_send_control(veil_channel *ch, uint8_t type, const uint8_t *body, size_t len)
{
    veil_message *m;
    uint8_t *buf;
    int rc = veil__ch_message_to_peer(ch, len + VEIL_CH_OVERHEAD, &m, &buf);
    if (rc < 0)
        return rc;
    if (len > 0)
        memcpy(buf, body, len);
    if ((rc = seal(ch, type, buf, len)) < 0) {
        veil_message_free(m);
        return rc;
    }
    return veil_ctx_forward(ch->ctx, m);
}

/* Node-local information, written in place: building a whole
 * veil_local_info per message and copying it in shows in the data path's
 * cost (docs/PROTOCOL.md, "Performance").  A message without channel
 * information (no flag, no channel address, no peer) is left as it is
 * (veil_message_new's state). */
static void clear_local_info(veil_message *m)
{
    veil_local_info *li = veil__message_local_info(m);
    if (li->via_channel || li->channel.len != 0 || li->peer_identifier[0] != '\0')
        veil__local_info_wipe(li);
    li->from_transport = false; /* the frame is made here */
    li->admitted = false;
}

static void set_local_info(veil_message *m, const veil_address *channel,
                           const char peer[VEIL_IDENTIFIER_LEN + 1])
{
    veil_local_info *li = veil__message_local_info(m);
    size_t n = strnlen(peer, VEIL_IDENTIFIER_LEN); /* < sizeof li->peer_identifier */
    li->via_channel = true;
    li->channel.type = channel->type;
    li->channel.len = channel->len;
    memcpy(li->channel.bytes, channel->bytes, channel->len);
    li->channel.bytes[channel->len] = '\0';
    memcpy(li->peer_identifier, peer, n);
    li->peer_identifier[n] = '\0';
    /* It comes from the authenticated peer now, not from the transport
     * that carried the frame. */
    li->from_transport = false;
    li->transport_type = 0;
    li->admitted = true; /* flow control passed it (veil__ch_flow_check) */
}

/* The application's message becomes the frame: payload in place, routes
 * and length after it, encrypted in place, readdressed to the peer. */
int veil__ch_encrypt_send(veil_channel *ch, veil_message *msg)
{
    const char *me = ch->addr->bytes;
    if (ch->state == VEIL_CH_ST_RECONNECT || (ch->heal != NULL && ch->heal->healing))
        return veil_error_set(VEIL_EAGAIN, "secure channel %s: reconnecting; message not sent",
                              me);
    if (ch->state != VEIL_CH_ST_OPEN)
        return veil_error_set(VEIL_ESTATE, "secure channel %s: not open; message dropped", me);
    veil__ch_note_sender(ch, msg);
    veil_route *onward = veil_message_onward(msg);
    int rc = veil_route_pop_front(onward, NULL);
    if (rc < 0)
        return rc;
    size_t plen;
    (void)veil_message_payload(msg, &plen);
    if (plen > ch->set.max_message) {
        ch->stats.dropped_oversize++;
        return veil_error_set(VEIL_ELIMIT, "secure channel %s: message of %zu bytes refused "
                              "(max_message = %zu)", me, plen, ch->set.max_message);
    }
    const veil_route *ret = veil_message_return_const(msg);
    size_t plain = plen + veil_route_encoded_size(onward) + veil_route_encoded_size(ret) + 4u;
    uint8_t *buf;
    size_t pos = plen;
    if ((rc = veil_message_resize_payload(msg, plain + VEIL_CH_OVERHEAD, &buf)) < 0 ||
        (rc = veil_route_encode(onward, buf, plain - 4u, &pos)) < 0 ||
        (rc = veil_route_encode(ret, buf, plain - 4u, &pos)) < 0)
        return rc;
    veil__store_be32(buf + pos, (uint32_t)plen);
    if ((rc = seal(ch, VEIL_CH_DATA, buf, plain)) < 0)
        return rc;
    /* In place: buf is ciphertext, tag and trailer now, and the buffer
     * past them holds nothing written (resize wipes what it cuts): no wipe
     * when the transport frees it (core/upper.h). */
    veil__message_sealed(msg);
    clear_local_info(msg); /* it describes the inner message only */
    if ((rc = veil__ch_address_to_peer(ch, msg, NULL)) < 0)
        return rc;
    ch->stats.sent++;
    ch->stats.bytes_sent += plen;
    return veil_ctx_forward(ch->ctx, msg);
}

/* The key for epoch e, deriving (into tmp) when e is ahead.  *ahead gets
 * how many keys were derived; 0 with *key == 0: no key (too old/far). */
static int key_for(veil_channel *ch, uint64_t e, veil_secret tmp[MAX_EPOCHS_AHEAD],
                   unsigned *ahead, veil_secret *key)
{
    *ahead = 0;
    *key = 0;
    if (e == ch->recv_epoch) {
        *key = ch->recv_key;
    } else if (e + 1u == ch->recv_epoch) {
        *key = ch->recv_prev;
    } else if (e > ch->recv_epoch && e - ch->recv_epoch <= MAX_EPOCHS_AHEAD) {
        veil_secret from = ch->recv_key;
        for (unsigned i = 0; i < e - ch->recv_epoch; i++) {
            int rc = ch->ka->rekey(ch->ka_inst, ch->vault, from, &tmp[i]);
            if (rc < 0) {
                for (unsigned j = 0; j < i; j++)
                    destroy(ch, &tmp[j]);
                return rc;
            }
            from = tmp[i];
            *ahead = i + 1u;
        }
        *key = from;
    }
    return 0;
}

/* The frame authenticated under the key of a later epoch: move on. */
static void advance(veil_channel *ch, uint64_t e, veil_secret tmp[MAX_EPOCHS_AHEAD], unsigned ahead)
{
    destroy(ch, &ch->recv_prev);
    if (ahead == 1u) {
        ch->recv_prev = ch->recv_key;
    } else {
        destroy(ch, &ch->recv_key);
        ch->recv_prev = tmp[ahead - 2u];
        for (unsigned j = 0; j + 2u < ahead; j++)
            destroy(ch, &tmp[j]);
    }
    ch->recv_key = tmp[ahead - 1u];
    ch->recv_epoch = e;
    ch->stats.rekeys += ahead;
}

static int drop(veil_channel *ch, uint64_t *counter, const char *why, uint64_t n)
{
    (*counter)++;
    veil_log(VEIL_LOG_DEBUG, "channel", "%s: dropped frame with nonce %llu: %s",
             ch->addr->bytes, (unsigned long long)n, why);
    return 0;
}

/* Decrypted data: restore the inner message in msg itself and send it on.
 * The payload is already at the front of the buffer. */
static int deliver(veil_channel *ch, veil_message *msg, const uint8_t *buf, size_t plain_len,
                   uint64_t n)
{
    veil_route *on = veil_message_onward(msg), *ret = veil_message_return(msg);
    size_t ilen;
    int rc = veil__ch_inner_parse(buf, plain_len, ch->set.max_message, on, ret, &ilen);
    if (rc == VEIL_ELIMIT)
        return drop(ch, &ch->stats.dropped_oversize, "inner message over max_message", n);
    if (rc < 0 || veil_route_count(on) == 0)
        return drop(ch, &ch->stats.dropped_auth, rc < 0 ? "malformed inner message"
                    : "inner message has no onward route", n);
    if (veil__ch_flow_check(ch, on) < 0)
        return 0; /* counted and logged; the runtime frees msg */
    if (veil_route_prepend(ret, ch->addr) < 0)
        return drop(ch, &ch->stats.dropped_auth, "return route full", n);
    uint8_t *nb;
    if ((rc = veil_message_resize_payload(msg, ilen, &nb)) < 0) /* wipes the rest */
        return rc;
    set_local_info(msg, ch->addr, ch->stats.peer_identifier);
    ch->stats.received++;
    ch->stats.bytes_received += ilen;
    return veil_ctx_forward(ch->ctx, msg);
}

/* An authenticated control frame.  A CLOSE that reaches an initiator
 * whose open's completion is still owed (before or with ACCEPT: routes may
 * reorder) fails the open with VEIL_ECLOSED naming the peer; the
 * completion stops the worker.  Otherwise CLOSE stops it here.  ACCEPT and REFUSE mean
 * something only to an initiator waiting for them. */
/* REFUSE from the authenticated responder: code:u8 (-VEIL_E*) || the
 * refusing policy's name (VEIL_EDENIED).  Any other code, or none, is
 * reported as a plain refusal. */
static int refused(veil_channel *ch, const uint8_t *body, size_t len)
{
    const char *peer = ch->stats.peer_identifier, *me = veil_entity_identifier(ch->entity);
    int code = len > 0 ? -(int)body[0] : VEIL_EDENIED;
    if (code == VEIL_EREVOKED)
        return veil__ch_fail(ch, veil_error_set(VEIL_EREVOKED, "peer %s refused this channel: it "
                                                "knows a newer change history of %s than the one "
                                                "presented (this one is revoked)", peer, me));
    if (code == VEIL_EEXPIRED)
        return veil__ch_fail(ch, veil_error_set(VEIL_EEXPIRED, "peer %s refused this channel: "
                                                "the identity key or attestation of %s presented "
                                                "has expired by its clock", peer, me));
    const char *name = len > 1 && code == VEIL_EDENIED ? (const char *)body + 1 : "";
    int nlen = len > 1 && code == VEIL_EDENIED ? (int)(len - 1u) : 0;
    return veil__ch_fail(ch, veil_error_set(VEIL_EDENIED, "peer %s refused this channel: %s "
                                            "refused by the peer's policy '%.*s'", peer, me, nlen,
                                            name));
}

static int control(veil_channel *ch, uint8_t type, const uint8_t *body, size_t len, uint64_t n)
{
    if (type == VEIL_CH_PING || type == VEIL_CH_PONG)
        return veil__ch_alive_frame(ch, type, body, len);
    if (type == VEIL_CH_CLOSE && ch->role == VEIL_KA_INITIATOR &&
        (ch->state != VEIL_CH_ST_OPEN || ch->waiting))
        return veil__ch_fail(ch, veil_error_set(VEIL_ECLOSED, "secure channel: peer %s closed "
                                                "the channel %s accepting it",
                                                ch->stats.peer_identifier,
                                                ch->state == VEIL_CH_ST_OPEN ? "right after"
                                                                             : "before"));
    if (type == VEIL_CH_CLOSE) {
        veil_log(VEIL_LOG_INFO, "channel", "%s: closed by the peer %s", ch->addr->bytes,
                 ch->stats.peer_identifier);
        char why[VEIL_IDENTIFIER_LEN + 32];
        snprintf(why, sizeof why, "closed by the peer %s", ch->stats.peer_identifier);
        veil__ch_close_cause(ch, VEIL_ECLOSED, why);
        veil__ch_stop(ch);
        return 0;
    }
    if (ch->role != VEIL_KA_INITIATOR || ch->state != VEIL_CH_ST_WAIT_ACCEPT)
        return drop(ch, &ch->stats.dropped_auth, "control frame at the wrong moment", n);
    if (type == VEIL_CH_ACCEPT) {
        ch->state = VEIL_CH_ST_OPEN;
        if (ch->timer != NULL)
            veil_node_timer_cancel(ch->timer);
        ch->timer = NULL;
        veil__ch_log_open(ch);
        veil__ch_heal_opened(ch); /* keep-alive; a heal's end */
        veil__ch_open_settled(ch);
        return 0;
    }
    return refused(ch, body, len);
}

int veil__ch_receive(veil_channel *ch, veil_message *msg, const veil_ch_frame *f)
{
    uint64_t n = f->nonce;
    if (ch->recv_key == 0)
        return drop(ch, &ch->stats.dropped_auth, "no keys yet", n);
    if (f->body_len > VEIL_AEAD_TAG_BYTES + VEIL_CH_ROUTES_OVERHEAD + ch->set.max_message)
        return drop(ch, &ch->stats.dropped_oversize, "frame longer than max_message allows", n);
    int w = veil__rw_check(&ch->window, n);
    if (w != VEIL_RW_OK)
        return drop(ch, &ch->stats.dropped_replay, w == VEIL_RW_DUPLICATE ? "replayed"
                    : "older than the replay window", n);
    veil_secret tmp[MAX_EPOCHS_AHEAD], key;
    unsigned ahead;
    uint64_t e = n / ch->set.rekey_interval;
    int rc = key_for(ch, e, tmp, &ahead, &key);
    if (rc < 0)
        return rc;
    if (key == 0)
        return drop(ch, e < ch->recv_epoch ? &ch->stats.dropped_replay : &ch->stats.dropped_auth,
                    e < ch->recv_epoch ? "epoch older than the keys kept" : "epoch too far ahead",
                    n);
    size_t len;
    uint8_t *buf = veil_message_payload_mut(msg, &len);
    uint8_t nonce[VEIL_AEAD_NONCE_BYTES];
    veil_nonce_encode(ch->nonce_format, n, nonce);
    if (veil_vault_aead_decrypt(ch->vault, key, nonce, buf + f->body_len, VEIL_CH_TRAILER, buf,
                                f->body_len) < 0) {
        for (unsigned j = 0; j < ahead; j++)
            destroy(ch, &tmp[j]);
        return drop(ch, &ch->stats.dropped_auth, "authentication failed", n);
    }
    veil__rw_update(&ch->window, n);
    ch->last_rx_ms = veil_node_now_ms(ch->node); /* a sign of life (channel_alive.c) */
    if (ahead > 0)
        advance(ch, e, tmp, ahead);
    size_t plain = f->body_len - VEIL_AEAD_TAG_BYTES;
    if (f->type == VEIL_CH_DATA) {
        if (ch->state != VEIL_CH_ST_OPEN)
            return drop(ch, &ch->stats.dropped_auth, "data before the channel opened", n);
        return deliver(ch, msg, buf, plain, n);
    }
    return control(ch, f->type, buf, plain, n);
}
