/* Cookies: a listener under load serves only initiators that can receive
 * at their return route (docs/PROTOCOL.md, "Half-open handshakes"; the
 * idea is WireGuard's cookie reply).
 *
 *   HS1 (no or a wrong cookie), node under load  ─▶  COOKIE: cookie || 0x05
 *   HS1_COOKIE: KA message 1 || cookie || 0x06   ─▶  served like HS1
 *
 *   cookie = first 16 bytes of HMAC-SHA256(listener secret,
 *              "veil.channel.cookie.v1" || type:u8 || len:u8 || first hop)
 *
 * The first hop is the first address of the HS1's return route: the
 * transport puts its own connection there (a peer cannot choose it), or
 * the local worker that sent it.  Answering costs one MAC and a reply that
 * reuses the HS1's message and is smaller than the HS1: no state, no key
 * generation, no DH, no timer, so a flood that does not read its replies
 * costs next to nothing.  The secret is a vault buffer secret of the
 * listener's entity's vault, made at the first cookie and replaced every
 * VEIL_CH_COOKIE_ROTATE_MS; the previous one is still accepted, so a cookie
 * lives 2 to 4 minutes.
 *
 * The initiator keeps its HS1 frame until HS2 and answers a COOKIE by
 * sending it again with the cookie, at most VEIL_CH_COOKIE_TRIES times per
 * handshake (a forged COOKIE costs it one extra HS1). */
#include "channel_internal.h"

#include <veil/error.h>
#include <veil/log.h>

#include <string.h>

static const char cookie_domain[] = "veil.channel.cookie.v1";

static void drop_cookie_key(veil_vault *v, veil_secret *k)
{
    if (veil__secret_drop(v, k) < 0)
        veil_log(VEIL_LOG_ERROR, "channel", "destroying a cookie secret: %s", veil_last_error());
}

/* A secret exists and is younger than the rotation period (make one at the
 * first use, and rotate when due). */
static int current_secret(veil_ch_listener *l, uint64_t now)
{
    if (l->cookie_key[0] != 0 && now - l->cookie_since_ms < VEIL_CH_COOKIE_ROTATE_MS)
        return 0;
    veil_vault *v = veil_entity_vault(l->entity);
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = VEIL_SECRET_BUFFER;
    a.length = 32;
    veil_secret k;
    int rc = veil_vault_generate(v, &a, &k);
    if (rc < 0)
        return veil_error_wrap(rc, "secure channel listener '%s': cookie secret", l->name);
    drop_cookie_key(v, &l->cookie_key[1]);
    l->cookie_key[1] = l->cookie_key[0];
    l->cookie_key[0] = k;
    l->cookie_since_ms = now;
    return 0;
}

static int cookie_of(veil_ch_listener *l, veil_secret key, const veil_message *msg,
                     uint8_t out[VEIL_CH_COOKIE_BYTES])
{
    uint8_t type = 0, full[32];
    const uint8_t *hop = NULL;
    size_t n = 0;
    (void)veil_route_front(veil_message_return_const(msg), &type, &hop, &n); /* none: empty */
    uint8_t head[2] = { type, (uint8_t)n };
    veil_iovec parts[3] = {
        { cookie_domain, sizeof cookie_domain - 1u }, { head, sizeof head }, { hop, n },
    };
    veil_vault_input k = { .secret = key };
    int rc = veil_vault_hmac(veil_entity_vault(l->entity), VEIL_HASH_SHA256, &k, parts, 3, full);
    if (rc == 0)
        memcpy(out, full, VEIL_CH_COOKIE_BYTES);
    veil__memzero(full, sizeof full);
    return rc;
}

bool veil__ch_cookie_ok(veil_ch_listener *l, const veil_message *msg, const uint8_t *cookie)
{
    uint8_t want[VEIL_CH_COOKIE_BYTES];
    if (l->cookie_key[0] == 0) /* none was ever handed out */
        return false;
    if (current_secret(l, veil_node_now_ms(veil_ctx_node(l->ctx))) < 0)
        return false;
    for (int i = 0; i < 2; i++)
        if (l->cookie_key[i] != 0 && cookie_of(l, l->cookie_key[i], msg, want) == 0 &&
            veil__memcmp_ct(want, cookie, sizeof want) == 0)
            return true;
    return false;
}

void veil__ch_cookie_reply(veil_ch_listener *l, veil_message *msg)
{
    uint8_t frame[VEIL_CH_COOKIE_BYTES + 1u];
    int rc = current_secret(l, veil_node_now_ms(veil_ctx_node(l->ctx)));
    if (rc == 0)
        rc = cookie_of(l, l->cookie_key[0], msg, frame);
    if (rc < 0) {
        veil__ch_warn(l, "listener '%s': no cookie for a first handshake message: %s", l->name,
                      veil_last_error());
        return;
    }
    frame[VEIL_CH_COOKIE_BYTES] = VEIL_CH_COOKIE;
    l->stats.cookies_sent++;
    if (veil_ctx_reply_message(l->ctx, msg, frame, sizeof frame) < 0)
        veil_log(VEIL_LOG_DEBUG, "channel", "listener '%s': could not send a cookie: %s",
                 l->name, veil_last_error());
}

void veil__ch_cookie_forget(veil_ch_listener *l)
{
    veil_vault *v = veil_entity_vault(l->entity);
    for (int i = 0; i < 2; i++)
        drop_cookie_key(v, &l->cookie_key[i]);
}

int veil__ch_cookie_receive(veil_channel *ch, const veil_ch_frame *f)
{
    if (ch->hs1 == NULL || ch->cookie_tries >= VEIL_CH_COOKIE_TRIES) {
        ch->stats.dropped_auth++;
        veil_log(VEIL_LOG_DEBUG, "channel", "%s: dropped a cookie (%u answered already)",
                 ch->addr->bytes, ch->cookie_tries);
        return 0;
    }
    ch->cookie_tries++;
    size_t ka_len = ch->hs1_len - 1u;
    veil_message *m;
    uint8_t *buf;
    int rc = veil__ch_message_to_peer(ch, ka_len + VEIL_CH_COOKIE_BYTES + 1u, &m, &buf);
    if (rc < 0)
        return veil__ch_fail(ch, rc);
    memcpy(buf, ch->hs1, ka_len);
    memcpy(buf + ka_len, f->cookie, VEIL_CH_COOKIE_BYTES);
    buf[ka_len + VEIL_CH_COOKIE_BYTES] = VEIL_CH_HS1_COOKIE;
    rc = veil_ctx_forward(ch->ctx, m);
    return rc < 0 ? veil__ch_fail(ch, veil_error_wrap(rc, "secure channel: sending the first "
                                                      "handshake message with its cookie"))
                  : 0;
}
