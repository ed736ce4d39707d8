/* Opening a secure channel (initiator): veil_secure_channel_open_async,
 * its cancel, and veil_secure_channel_open, the blocking wrapper over it.
 *
 * The async call starts a channel whose worker runs the handshake
 * (channel_handshake.c) and returns.  The open holds a reference on the
 * channel and sits on the node's list of owed completions until its
 * completion ran.  When the handshake settles (the channel opened, or
 * failed: veil__ch_fail) a zero-delay timer is armed and the completion
 * runs from it, on the next loop round: never inside the async call, never
 * nested in the channel code that settled it.  When the node stops, the
 * loop never runs again: its channel state's destroy runs what is owed
 * (VEIL_ESTOPPED, see ch_stop) before the node's timers go. */
#include "channel_internal.h"

#include <veil/error.h>
#include <veil/log.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Run ch's completion now: report, stop a failed channel, drop the open's
 * reference (which may free ch). */
static void deliver(veil_channel *ch)
{
    veil_secure_channel_open_fn done = ch->open_done;
    void *user = ch->open_user;
    veil_address addr;
    veil__ch_public(ch, &addr);
    if (ch->open_timer != NULL)
        veil_node_timer_cancel(ch->open_timer);
    ch->open_timer = NULL;
    veil__ch_pace_end(ch);
    veil__ch_list_remove(&ch->shared->opens, ch, offsetof(veil_channel, in_opens));
    ch->waiting = false;
    ch->open_done = NULL;
    ch->open_user = NULL;
    int rc = 0;
    if (ch->state != VEIL_CH_ST_OPEN || ch->stopped) {
        veil__ch_stop(ch);
        rc = ch->result < 0 ? ch->result : VEIL_EHANDSHAKE;
        veil_error_set(rc, "%s", ch->detail ? ch->detail : "handshake failed");
    } else {
        ch->announced = true; /* its close is told to close subscribers */
    }
    if (done != NULL)
        done(ch->node, rc, rc == 0 ? &addr : NULL,
             rc == 0 ? "" : ch->detail ? ch->detail : "handshake failed", user);
    veil__ch_unref(ch);
}

static void open_timer_fired(veil_node *node, void *arg)
{
    (void)node;
    veil_channel *ch = arg;
    ch->open_timer = NULL; /* fired: the loop frees it */
    deliver(ch);
}

void veil__ch_open_settled(veil_channel *ch)
{
    veil__ch_pace_end(ch);
    if (!ch->waiting || ch->open_timer != NULL)
        return;
    if (veil_node_timer_add(ch->node, 0, open_timer_fired, ch, &ch->open_timer) == 0)
        return;
    ch->open_timer = NULL;
    /* Out of memory for the timer.  Inside the async call, it fails the
     * call (the completion never runs); elsewhere we are in the loop
     * already, so run the completion now rather than never. */
    veil_log(VEIL_LOG_ERROR, "channel", "%s: deferring the open's completion: %s",
             ch->open_name, veil_last_error());
    if (!ch->in_open_call)
        deliver(ch);
}

void veil__ch_opens_flush(veil_ch_node *n)
{
    while (n->opens.head != NULL)
        deliver(n->opens.head);
}

static int open_args(const char *fn, veil_entity *e, const veil_route *route,
                     veil_trust_policy *policy, bool have_done, veil_address *channel)
{
    veil_node *node = e ? veil_entity_node(e) : NULL;
    if (node != NULL && route != NULL && policy != NULL && have_done && channel != NULL)
        return 0;
    veil_trust_policy_free(policy);
    return veil_error_set(VEIL_EINVAL, "%s: %s", fn,
                          e == NULL ? "entity is NULL" : node == NULL ? "the entity has no node"
                          : route == NULL ? "route is NULL" : policy == NULL
                          ? "policy is NULL (a channel must have a trust policy)"
                          : !have_done ? "done is NULL" : "channel is NULL");
}

/* A channel running the handshake, on the owed list.  Takes policy. */
static int initiator_start(veil_entity *e, veil_trust_policy *policy, const veil_ch_settings *set,
                           const veil_key_agreement_ops *ka, void *inst, veil_channel **out)
{
    veil_channel *ch;
    int rc = veil__ch_start(veil_entity_node(e), e, VEIL_KA_INITIATOR, set, &ch);
    if (rc < 0) {
        ka->instance_free(inst);
        veil_trust_policy_free(policy);
        return rc;
    }
    ch->refs++; /* the open's, until its completion ran */
    ch->waiting = true;
    ch->ka = ka;
    ch->ka_inst = inst;
    ch->policy = policy;
    veil__ch_keep_name(ch);
    veil__ch_list_append(&ch->shared->opens, ch, offsetof(veil_channel, in_opens));
    *out = ch;
    return 0;
}

int veil_secure_channel_open_async(veil_entity *e, const veil_route *route,
                                   veil_trust_policy *policy, veil_secure_channel_open_fn done,
                                   void *user, veil_address *channel)
{
    return veil_secure_channel_open_async_with(e, route, policy, NULL, done, user, channel);
}

int veil_secure_channel_open_async_with(veil_entity *e, const veil_route *route,
                                        veil_trust_policy *policy,
                                        const veil_secure_channel_options *opts,
                                        veil_secure_channel_open_fn done, void *user,
                                        veil_address *channel)
{
    int rc = open_args("veil_secure_channel_open_async", e, route, policy, done != NULL,
                       channel);
    if (rc < 0)
        return rc;
    veil_node *node = veil_entity_node(e);
    veil_ch_settings set;
    const veil_key_agreement_ops *ka;
    void *inst;
    char fallback[160];
    rc = veil__ch_settings(node, &set);
    if (rc == 0)
        rc = veil__ch_heal_options(&set, opts);
    if (rc == 0)
        rc = veil__ch_ka_instance(node, &ka, &inst, fallback, sizeof fallback);
    if (rc < 0) {
        veil_trust_policy_free(policy);
        return rc;
    }
    veil_channel *ch;
    if ((rc = initiator_start(e, policy, &set, ka, inst, &ch)) < 0)
        return rc;
    ch->open_done = done;
    ch->open_user = user;
    ch->in_open_call = true;
    if ((rc = veil__ch_heal_setup(ch, route, fallback, opts)) < 0 ||
        ((rc = veil__ch_pace_begin(ch, route, fallback)) < 0 &&
         ch->state != VEIL_CH_ST_FAILED))
        veil__ch_fail(ch, rc); /* settles it */
    ch->in_open_call = false;
    if (ch->state == VEIL_CH_ST_FAILED && ch->open_timer == NULL) {
        /* could not even defer the completion: fail the call instead */
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", ch->detail ? ch->detail : "out of memory");
        ch->open_done = NULL;
        deliver(ch);
        return veil_error_set(VEIL_ENOMEM, "%s", keep);
    }
    veil__ch_public(ch, channel);
    return 0;
}

static veil_channel *find_open(veil_node *node, const veil_address *a)
{
    veil_ch_node *n = node != NULL ? veil_node_extension_get(node, "veil.channels") : NULL;
    for (veil_channel *ch = n != NULL ? n->opens.head : NULL; ch != NULL; ch = ch->in_opens.next)
        if (a != NULL && veil__ch_is_public(ch, a))
            return ch;
    return NULL;
}

int veil_secure_channel_open_cancel(veil_node *node, const veil_address *channel)
{
    veil_channel *ch = find_open(node, channel);
    if (ch == NULL) {
        char text[VEIL_ADDRESS_TEXT_MAX + 1] = "(null)";
        if (channel != NULL)
            veil_address_format(channel, text, sizeof text);
        return veil_error_set(VEIL_ENOTFOUND, "no pending secure channel open at '%s'", text);
    }
    ch->open_done = NULL;
    ch->open_user = NULL;
    if (ch->state == VEIL_CH_ST_OPEN && !ch->stopped &&
        veil__ch_send_control(ch, VEIL_CH_CLOSE, NULL, 0) < 0)
        veil_log(VEIL_LOG_DEBUG, "channel", "%s: cancelled open: could not send the close: %s",
                 ch->open_name, veil_last_error());
    if (ch->state != VEIL_CH_ST_FAILED) {
        ch->state = VEIL_CH_ST_FAILED;
        ch->result = VEIL_ECLOSED;
    }
    deliver(ch); /* no callback: stops the channel, drops the open's reference */
    return 0;
}

/* ---- the blocking wrapper ----------------------------------------------- */

typedef struct open_wait {
    bool done;
    int rc;
    veil_address channel;
    char *detail;
} open_wait;

static void wait_done(veil_node *node, int rc, const veil_address *channel, const char *detail,
                      void *user)
{
    (void)node;
    open_wait *w = user;
    w->done = true;
    w->rc = rc;
    if (channel != NULL)
        w->channel = *channel;
    w->detail = rc < 0 ? strdup(detail) : NULL;
}

int veil_secure_channel_open(veil_entity *e, const veil_route *route,
                             veil_trust_policy *policy, veil_address *channel)
{
    return veil_secure_channel_open_with(e, route, policy, NULL, channel);
}

int veil_secure_channel_open_with(veil_entity *e, const veil_route *route,
                                  veil_trust_policy *policy,
                                  const veil_secure_channel_options *opts, veil_address *channel)
{
    open_wait w;
    veil_address pending;
    memset(&w, 0, sizeof w);
    int rc = open_args("veil_secure_channel_open", e, route, policy, true, channel);
    if (rc == 0)
        rc = veil_secure_channel_open_async_with(e, route, policy, opts, wait_done, &w,
                                                 &pending);
    if (rc < 0)
        return rc;
    veil_node *node = veil_entity_node(e);
    while (!w.done) {
        /* Wait only when nothing is queued (a round that dispatches the
         * last handshake message would otherwise poll needlessly). */
        rc = veil_node_run_once(node, veil_node_pending(node) > 0 ? 0 : 50);
        if (rc < 0) {
            veil_error_wrap(rc, "secure channel: running the node during the handshake");
            char keep[1024];
            snprintf(keep, sizeof keep, "%s", veil_last_error());
            if (veil_secure_channel_open_cancel(node, &pending) < 0)
                veil_log(VEIL_LOG_DEBUG, "channel", "cancelling the open: %s", veil_last_error());
            return veil_error_set(rc, "%s", keep);
        }
    }
    if (w.rc == 0) {
        *channel = w.channel;
        return 0;
    }
    rc = veil_error_set(w.rc, "%s", w.detail != NULL ? w.detail : "handshake failed");
    free(w.detail);
    return rc;
}
