/* Secure channel handshake: the key agreement plugin's messages carried
 * in frames HS1..HS3, the identity proofs inside messages 2 and 3, the
 * trust policy decisions, ACCEPT / REFUSE, and the handshake timeout.
 *
 *   initiator                                  listener → new responder
 *   HS1  KA msg 1 (no payload)          ─────▶ responder at fresh addresses
 *        ◀───── HS2  KA msg 2, payload: responder's proof
 *   verify proof, check policy (deny: stop here, VEIL_EDENIED)
 *   HS3  KA msg 3, payload: initiator's proof ─────▶ verify, check policy
 *        ◀───── ACCEPT (or REFUSE naming the policy), encrypted
 *
 * The initiator keeps message 3 unsent until the responder's identity has
 * been verified and accepted, so a refused responder never learns who the
 * initiator is.  The initiator waits for ACCEPT before returning, so no
 * application message ever enters a channel the responder refused. */
#include "channel_internal.h"
#include "core/util.h"

#include <veil/error.h>
#include <veil/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int open_session(veil_channel *ch, int role, veil_ch_local *loc, const uint8_t *bundle,
                        size_t bundle_len, const uint8_t *prologue, size_t prologue_len)
{
    int rc = veil__ch_local_get(ch->entity, loc);
    if (rc < 0)
        return rc;
    veil_ka_params p;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.role = role;
    p.vault = ch->vault;
    p.local_static = loc->static_key;
    p.peer_bundle = bundle;
    p.peer_bundle_len = bundle_len;
    p.prologue = prologue;
    p.prologue_len = prologue_len;
    rc = ch->ka->session_new(ch->ka_inst, &p, &ch->session);
    return rc < 0 ? veil_error_wrap(rc, "secure channel: key agreement session") : 0;
}

/* The payload of a received KA message (the frame's body), decrypted in
 * place (the plugin allows it: the plaintext is never longer than the
 * message). */
static int ka_read(veil_channel *ch, veil_message *msg, const veil_ch_frame *f,
                   uint8_t **payload, size_t *plen)
{
    size_t len;
    uint8_t *buf = veil_message_payload_mut(msg, &len);
    *payload = buf;
    return ch->ka->read_message(ch->session, buf, f->body_len, buf, f->body_len, plen);
}

/* Write the next KA message (frame `type`) into a new message addressed
 * along route (NULL: the stored route).  Not sent yet. */
static int ka_write(veil_channel *ch, uint8_t type, const uint8_t *payload, size_t plen,
                    const veil_route *route, veil_message **out)
{
    veil_message *m;
    uint8_t *buf;
    size_t n = 0;
    int rc = veil_message_new(ch->node, &m);
    if (rc < 0)
        return rc;
    /* Sized for this message, not for the 64 KiB limit: a pooled buffer
     * of the right class, no large allocation per handshake. */
    size_t cap = plen + VEIL_CH_KA_HEADROOM > VEIL_KA_MESSAGE_MAX ? VEIL_KA_MESSAGE_MAX : plen + VEIL_CH_KA_HEADROOM;
    if ((rc = veil_message_resize_payload(m, cap + 1u, &buf)) == 0) {
        rc = ch->ka->write_message(ch->session, payload, plen, buf, cap, &n);
        if (rc < 0)
            veil_error_wrap(rc, "secure channel: writing handshake message %u", type);
    }
    /* HS1 names the key agreement (docs/PROTOCOL.md, "Frames"): the
     * listener refuses another one before running its own. */
    size_t pn = type == VEIL_CH_HS1 ? strlen(ch->protocol) : 0;
    size_t tail = type == VEIL_CH_HS1 ? pn + 1u : 0; /* protocol || protocol_len */
    if (rc == 0 && (rc = veil_message_resize_payload(m, n + tail + 1u, &buf)) == 0) {
        if (tail > 0) {
            memcpy(buf + n, ch->protocol, pn);
            buf[n + pn] = (uint8_t)pn;
        }
        buf[n + tail] = type; /* frames end with their type */
    }
    if (rc == 0)
        rc = veil__ch_address_to_peer(ch, m, route);
    if (rc < 0) {
        veil_message_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static int start_timer(veil_channel *ch)
{
    if (ch->stopped)
        return veil_error_set(VEIL_ECLOSED, "secure channel: stopped before its handshake timer");
    return veil_node_timer_add(ch->node, ch->set.handshake_timeout_ms, veil__ch_handshake_timer,
                               ch, &ch->timer);
}

/* Keep frame HS1 (KA message 1 and its type) for a COOKIE retry. */
static int keep_hs1(veil_channel *ch, const veil_message *m)
{
    size_t len;
    const uint8_t *p = veil_message_payload(m, &len);
    if ((ch->hs1 = malloc(len)) == NULL)
        return veil_error_set(VEIL_ENOMEM, "secure channel: out of memory");
    memcpy(ch->hs1, p, len);
    ch->hs1_len = len;
    return 0;
}

/* Message 1: the session (with what peer_resolve found of the peer, if
 * anything), frame HS1 (kept for a COOKIE), then the handshake timer. */
static int send_hs1(veil_channel *ch, const uint8_t *peer, size_t peer_len,
                    const uint8_t *prologue, size_t plen)
{
    veil_ch_local loc;
    veil_message *m = NULL;
    int rc = open_session(ch, VEIL_KA_INITIATOR, &loc, peer, peer_len, prologue, plen);
    if (rc == 0)
        rc = ka_write(ch, VEIL_CH_HS1, NULL, 0, NULL, &m);
    if (rc == 0 && (rc = keep_hs1(ch, m)) < 0)
        veil_message_free(m);
    if (rc == 0 && (rc = veil_ctx_forward(ch->ctx, m)) < 0)
        return veil_error_wrap(rc, "secure channel: sending the first handshake message");
    return rc < 0 ? rc : start_timer(ch);
}

/* peer_resolve's answer: message 1 now, unless the channel failed or
 * stopped meanwhile (a stop while create waits fails it too). */
static void resolved(void *arg, int rc, const uint8_t *peer, size_t len)
{
    veil_channel *ch = arg;
    if (ch->state == VEIL_CH_ST_HANDSHAKE && !ch->stopped) {
        if (rc == 0)
            rc = send_hs1(ch, peer, len, ch->prologue, ch->prologue_len);
        if (rc < 0)
            veil__ch_fail(ch, rc); /* veil_last_error() says why */
    }
    free(ch->prologue);
    ch->prologue = NULL;
    veil__ch_unref(ch); /* the answer's */
}

int veil__ch_initiator_begin(veil_channel *ch, const veil_route *route, const char *fallback)
{
    uint8_t prologue[VEIL_CH_PROLOGUE_MAX];
    size_t plen = 0, n = veil_route_count(route);
    veil_address listener;
    veil_ka_description d;
    int rc = veil__ch_ka_describe(ch->ka, ch->ka_inst, fallback, &d);
    if (rc == 0) { /* named in HS1 */
        free(ch->protocol);
        if ((ch->protocol = strdup(d.protocol)) == NULL)
            return veil_error_set(VEIL_ENOMEM, "secure channel: out of memory");
        rc = veil__ch_set_route(ch, route); /* until HS2 tells the real one */
    }
    bool resolve = rc == 0 && veil__ch_ka_resolves(ch->ka);
    if (resolve) { /* the peer first (X3DH: the listener's bundle); the answer sends HS1 */
        ch->refs++; /* the answer's: done is called exactly once */
        rc = ch->ka->peer_resolve(ch->ka_inst, ch->node, route, ch->set.handshake_timeout_ms,
                                  resolved, ch);
        if (rc < 0)
            ch->refs--; /* no answer will come (create's and the worker's remain) */
    }
    if (rc < 0)
        return rc;
    if ((rc = n > 0 ? veil_route_get(route, n - 1u, &listener) : VEIL_EINVAL) < 0)
        return veil_error_set(VEIL_EINVAL, "secure channel: the route to the listener is empty");

    rc = veil__ch_prologue(ch->ka, ch->ka_inst, fallback, ch->vault, &listener, prologue,
                           sizeof prologue, &plen);
    if (rc < 0 || !resolve)
        return rc < 0 ? rc : send_hs1(ch, NULL, 0, prologue, plen);
    if ((ch->prologue = malloc(plen)) == NULL)
        return veil_error_set(VEIL_ENOMEM, "secure channel: out of memory");
    memcpy(ch->prologue, prologue, plen);
    ch->prologue_len = plen;
    return 0;
}

int veil__ch_responder_begin(veil_ch_listener *l, veil_message *msg, const veil_ch_frame *f)
{
    veil_channel *ch;
    int rc = veil__ch_start(veil_ctx_node(l->ctx), l->entity, VEIL_KA_RESPONDER, &l->set, &ch);
    if (rc < 0)
        return rc;
    ch->listener = l;
    l->refs++;
    ch->ka = l->ka;
    ch->ka_inst = l->ka_inst;
    veil__ch_pending_add(ch);
    veil_ch_local loc;
    uint8_t *ignored, *proof = NULL;
    size_t n, plen;
    veil_message *m = NULL;
    rc = open_session(ch, VEIL_KA_RESPONDER, &loc, NULL, 0, l->prologue, l->prologue_len);
    if (rc == 0 && (rc = ka_read(ch, msg, f, &ignored, &n)) < 0) {
        veil_error_wrap(rc, "secure channel: handshake message 1");
        veil__ch_hserr_send(ch, veil_message_return_const(msg), rc);
    }
    if (rc == 0)
        rc = veil__ch_set_route(ch, veil_message_return_const(msg));
    if (rc == 0)
        rc = veil__ch_proof_make(ch->entity, &loc, &proof, &plen);
    if (rc == 0)
        rc = ka_write(ch, VEIL_CH_HS2, proof, plen, NULL, &m);
    free(proof);
    if (rc == 0)
        rc = veil_ctx_forward(ch->ctx, m);
    if (rc == 0)
        rc = start_timer(ch);
    return rc < 0 ? veil__ch_fail(ch, rc) : 0;
}

/* The peer's identity, then the policy: the proof verified against the
 * authenticated static key and the clock, the history checked against the
 * node's contacts (a rollback or fork of a known peer is VEIL_EREVOKED
 * whatever the policy says), the policy run, and only a peer it accepted
 * remembered. */
static int check_peer(veil_channel *ch, const veil_ch_proof *proof, const veil_ka_result *r,
                      veil_trust_policy *policy)
{
    veil_contacts *known = veil__entity_contacts(ch->entity);
    veil_identity_settings defaults;
    veil_history_clock clock;
    veil_history_view view;
    if (known == NULL)
        veil__identity_defaults(&defaults);
    veil__identity_clock(known != NULL ? veil__contacts_settings(known) : &defaults, &clock);
    int rc = veil__ch_peer_verify(ch->vault, proof, r->remote_static, r->remote_static_len,
                                  &clock, &view);
    if (rc < 0)
        return rc;
    memcpy(ch->stats.peer_identifier, view.info.identifier, sizeof ch->stats.peer_identifier);
    if ((rc = veil__ch_heal_check_peer(ch)) < 0) /* a heal finds the same identity */
        return rc;
    if ((rc = veil__contacts_check(known, &view, proof->history, proof->history_len)) < 0)
        return rc;
    veil_route route;
    veil__route_unpack(ch->route, &route);
    veil_trust_info info;
    veil__trust_info_fill(&info, &view, proof->history, proof->history_len,
                          veil_entity_identifier(ch->entity), &route);
    if ((rc = veil_trust_policy_check(policy, &info)) == 0)
        veil__contacts_learn(known, ch->entity, &view, proof->history, proof->history_len);
    return rc;
}

/* Split, then check the peer.  On success the keys are the channel's. */
static int finish(veil_channel *ch, const uint8_t *payload, size_t plen, veil_trust_policy *policy)
{
    veil_ka_result r;
    veil_ch_proof proof;
    int rc = veil__ch_proof_parse(payload, plen, &proof);
    if (rc < 0)
        return veil_error_wrap(VEIL_EHANDSHAKE, "secure channel: the peer's identity proof");
    if (ch->ka->next_action(ch->session) != VEIL_KA_DONE)
        return veil_error_set(VEIL_EHANDSHAKE, "secure channel: the key agreement is not done "
                              "after 3 messages (configure an XX-like pattern)");
    if ((rc = ch->ka->split(ch->session, &r)) < 0)
        return veil_error_wrap(rc, "secure channel: split");
    ch->ka->session_free(ch->session);
    ch->session = NULL;
    veil__ch_keys_set(ch, &r);
    return check_peer(ch, &proof, &r, policy);
}

/* The initiator refused the responder: message 3 (the initiator's proof)
 * is never sent, so a refused responder never learns who we are; a plain
 * HSERR frame (VEIL_EDENIED and its fixed reason: not even our policy's
 * name) tells it to free its state now instead of at its handshake
 * timeout.  Forging one gains nothing over dropping message 3.
 * veil_last_error() is kept for the caller. */
static void tell_refused(veil_channel *ch, veil_message *msg)
{
    veil__ch_hserr_send(ch, veil_message_return_const(msg), VEIL_EDENIED);
}

static int initiator_msg2(veil_channel *ch, veil_message *msg, const veil_ch_frame *f)
{
    uint8_t *payload = NULL, *proof = NULL;
    size_t plen = 0, mine = 0;
    veil_ch_local loc;
    veil_message *m = NULL;
    int rc = ka_read(ch, msg, f, &payload, &plen);
    if (rc < 0)
        veil_error_wrap(rc, "secure channel: handshake message 2 (a listener other than the one "
                        "the route names, a peer of another channel handshake version or key "
                        "agreement, or a forgery)");
    free(ch->hs1);
    ch->hs1 = NULL;
    if (rc == 0)
        rc = veil__ch_set_route(ch, veil_message_return_const(msg));
    if (rc == 0)
        rc = veil__ch_local_get(ch->entity, &loc);
    if (rc == 0)
        rc = veil__ch_proof_make(ch->entity, &loc, &proof, &mine);
    if (rc == 0)
        rc = ka_write(ch, VEIL_CH_HS3, proof, mine, NULL, &m);
    free(proof);
    if (rc == 0)
        rc = finish(ch, payload, plen, ch->policy);
    if (rc == VEIL_EDENIED || (ch->heal != NULL && ch->heal->mismatch))
        tell_refused(ch, msg);
    if (rc < 0) {
        veil_message_free(m);
        return veil__ch_fail(ch, rc);
    }
    ch->state = VEIL_CH_ST_WAIT_ACCEPT;
    rc = veil_ctx_forward(ch->ctx, m);
    return rc < 0 ? veil__ch_fail(ch, rc) : 0;
}

/* The responder refuses an initiator that proved its identity: tell it
 * why (authenticated, under the session keys), so it fails at once with
 * the same code instead of timing out.  REFUSE = code:u8 (-VEIL_E*) ||
 * the refusing policy's name (VEIL_EDENIED only).  veil_last_error() is
 * kept for the log. */
static void tell_initiator_refused(veil_channel *ch, int rc)
{
    uint8_t body[1u + VEIL_CH_POLICY_NAME_MAX];
    size_t n = 1;
    char detail[512];
    snprintf(detail, sizeof detail, "%s", veil_last_error());
    body[0] = (uint8_t)-rc;
    if (rc == VEIL_EDENIED) {
        const char *name = veil_trust_policy_name(ch->listener->policy);
        size_t len = strnlen(name, VEIL_CH_POLICY_NAME_MAX);
        memcpy(body + 1, name, len);
        n += len;
    }
    (void)veil__ch_send_control(ch, VEIL_CH_REFUSE, body, n);
    veil_error_set(rc, "%s", detail);
}

static int responder_msg3(veil_channel *ch, veil_message *msg, const veil_ch_frame *f)
{
    uint8_t *payload = NULL;
    size_t plen = 0;
    int rc = ka_read(ch, msg, f, &payload, &plen);
    if (rc < 0)
        veil_error_wrap(rc, "secure channel: handshake message 3");
    if (rc == 0)
        rc = finish(ch, payload, plen, ch->listener->policy);
    if (rc == VEIL_EDENIED || rc == VEIL_EREVOKED || rc == VEIL_EEXPIRED)
        tell_initiator_refused(ch, rc);
    if (rc == 0 && (rc = veil__ch_send_control(ch, VEIL_CH_ACCEPT, NULL, 0)) == 0) {
        ch->state = VEIL_CH_ST_OPEN;
        if (ch->timer != NULL)
            veil_node_timer_cancel(ch->timer);
        ch->timer = NULL;
        veil__ch_pending_remove(ch);
        ch->listener->stats.opened++;
        veil__ch_log_open(ch);
        veil__ch_tell_open(ch);
    }
    return rc < 0 ? veil__ch_fail(ch, rc) : 0;
}

/* The far node has no worker at the listener's address (an undeliverable
 * notice, unauthenticated like HSERR and honoured like it). */
static int no_listener(veil_channel *ch)
{
    char route[256] = "?";
    veil_route r;
    if (ch->route != NULL) {
        veil__route_unpack(ch->route, &r);
        veil_route_format(&r, route, sizeof route);
    }
    return veil__ch_fail(ch, veil_error_set(VEIL_ENOROUTE, "secure channel: no listener at "
                                            "'%s': the far node has no worker at that address "
                                            "(it said so at once)", route));
}

int veil__ch_handshake_frame(veil_channel *ch, veil_message *msg, const veil_ch_frame *f)
{
    if (ch->state == VEIL_CH_ST_HANDSHAKE && ch->session != NULL) {
        if (ch->role == VEIL_KA_INITIATOR && f->type == VEIL_CH_HS2)
            return initiator_msg2(ch, msg, f);
        if (ch->role == VEIL_KA_INITIATOR && f->type == VEIL_CH_HSERR)
            return veil__ch_hserr_receive(ch, f);
        if (ch->role == VEIL_KA_INITIATOR && f->type == VEIL_CH_COOKIE)
            return veil__ch_cookie_receive(ch, f);
        if (ch->role == VEIL_KA_INITIATOR && f->type == VEIL_CH_NOTICE)
            return no_listener(ch);
        if (ch->role == VEIL_KA_RESPONDER && f->type == VEIL_CH_HS3)
            return responder_msg3(ch, msg, f);
        if (ch->role == VEIL_KA_RESPONDER && f->type == VEIL_CH_HSERR)
            return veil__ch_hserr_receive(ch, f);
    }
    ch->stats.dropped_auth++;
    veil_log(VEIL_LOG_DEBUG, "channel", "%s: dropped an unexpected handshake frame 0x%02x",
             ch->addr->bytes, f->type);
    return 0;
}

void veil__ch_handshake_timer(veil_node *node, void *arg)
{
    (void)node;
    veil_channel *ch = arg;
    ch->timer = NULL; /* fired: the loop frees it */
    char route[256] = "?";
    veil_route r;
    if (ch->route != NULL) {
        veil__route_unpack(ch->route, &r);
        veil_route_format(&r, route, sizeof route);
    }
    veil__ch_ref(ch);
    veil__ch_fail(ch, veil_error_set(VEIL_ETIMEDOUT, "secure channel: handshake with '%s' not "
                                     "done within handshake_timeout_ms = %llu; all its state "
                                     "is freed", route,
                                     (unsigned long long)ch->set.handshake_timeout_ms));
    veil__ch_unref(ch);
}
