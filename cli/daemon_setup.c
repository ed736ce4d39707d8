/* veil node run: what the daemon's configuration starts (docs/CLI.md,
 * "The daemon"): the secure-channel listeners of [listener.NAME] with
 * their trust and allowed workers, the built-in echo worker, and the
 * tables of channels and dialed connections the control socket reports. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "daemon.h"
#include "portal.h"

/* ---- channel and connection tables ------------------------------------- */

int daemon_chan_add(veil_daemon *d, const veil_address *a, bool initiator, const char *ka,
                    const char *via)
{
    for (size_t i = 0; i < DAEMON_CHANNELS_MAX; i++) {
        daemon_chan *c = &d->chans[i];
        if (c->used)
            continue;
        memset(c, 0, sizeof *c);
        c->used = true;
        c->initiator = initiator;
        c->addr = *a;
        snprintf(c->key_agreement, sizeof c->key_agreement, "%s", ka);
        snprintf(c->via, sizeof c->via, "%s", via);
        c->opened = (uint64_t)time(NULL);
        return 0;
    }
    dlog(VEIL_LOG_WARN, "channel table full (%u): channel not listed", DAEMON_CHANNELS_MAX);
    return VEIL_ELIMIT;
}

void daemon_chan_remove(veil_daemon *d, const veil_address *a)
{
    for (size_t i = 0; i < DAEMON_CHANNELS_MAX; i++)
        if (d->chans[i].used && veil_address_equal(&d->chans[i].addr, a))
            d->chans[i].used = false;
}

void daemon_conn_set(veil_daemon *d, const char *peer, const char *state)
{
    daemon_conn *free_slot = NULL;
    for (size_t i = 0; i < DAEMON_CONNS_MAX; i++) {
        daemon_conn *c = &d->conns[i];
        if (c->used && strcmp(c->peer, peer) == 0) {
            snprintf(c->state, sizeof c->state, "%s", state);
            return;
        }
        if (!c->used && free_slot == NULL)
            free_slot = c;
    }
    if (free_slot == NULL) { /* forget the oldest lost one: slot 0 */
        free_slot = &d->conns[0];
    }
    free_slot->used = true;
    snprintf(free_slot->peer, sizeof free_slot->peer, "%s", peer);
    snprintf(free_slot->state, sizeof free_slot->state, "%s", state);
}

void daemon_conn_forget(veil_daemon *d, const char *peer)
{
    for (size_t i = 0; i < DAEMON_CONNS_MAX; i++)
        if (d->conns[i].used && strcmp(d->conns[i].peer, peer) == 0)
            d->conns[i].used = false;
}

/* ---- trust ------------------------------------------------------------- */

#define TRUST_IDS_MAX 64u

/* "everyone", "policy" / "policy.NAME", or identifiers separated by commas
 * and/or spaces. */
int daemon_trust_policy(veil_node *node, const char *trust, veil_trust_policy **out)
{
    static const char *const none[] = { NULL };
    char buf[4096], *save = NULL;
    const char *ids[TRUST_IDS_MAX];
    size_t n = 0;
    if (strcmp(trust, "everyone") == 0)
        return veil_trust_policy_new(node, "everyone", none, out);
    if (strcmp(trust, "policy") == 0 || strncmp(trust, "policy.", 7) == 0)
        return veil_trust_policy_new_from_config(node, trust, out);
    if (strlen(trust) >= sizeof buf)
        return veil_error_set(VEIL_ELIMIT, "trust: more than %zu bytes", sizeof buf - 1);
    strcpy(buf, trust);
    for (char *t = strtok_r(buf, ", \t", &save); t != NULL; t = strtok_r(NULL, ", \t", &save)) {
        if (n == TRUST_IDS_MAX)
            return veil_error_set(VEIL_ELIMIT, "trust: more than %u identifiers",
                                  TRUST_IDS_MAX);
        ids[n++] = t;
    }
    if (n == 0)
        return veil_error_set(VEIL_ECONFIG, "trust: empty (give everyone, policy.NAME or "
                                            "identifiers)");
    return veil_trust_policy_new_identifier(node, ids, n, out);
}

/* ---- listeners --------------------------------------------------------- */

static void on_open(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    veil_daemon *d = user;
    char a[VEIL_ADDRESS_TEXT_MAX + 1];
    (void)node;
    veil_address_format(ev->channel, a, sizeof a);
    dlog(VEIL_LOG_INFO, "channel %s opened by %s (%s)", a, ev->peer_identifier,
         ev->key_agreement);
    (void)daemon_chan_add(d, ev->channel, false, ev->key_agreement, "listener");
}

static void on_close(veil_node *node, const veil_secure_channel_event *ev, void *user)
{
    veil_daemon *d = user;
    char a[VEIL_ADDRESS_TEXT_MAX + 1];
    (void)node;
    veil_address_format(ev->channel, a, sizeof a);
    dlog(VEIL_LOG_INFO, "channel %s closed (%s%s%s)", a,
         ev->reason == 0 ? "locally" : veil_strerror(ev->reason),
         ev->detail != NULL && ev->detail[0] != '\0' ? ": " : "",
         ev->detail != NULL ? ev->detail : "");
    daemon_chan_remove(d, ev->channel);
}

static const char *listener_address(const veil_config *cfg, const char *sec)
{
    const char *a = veil_config_get(cfg, sec, "address");
    return a != NULL ? a : sec + strlen("listener.");
}

/* Split a list value ("echo, inbox") in place. */
static size_t split_list(char *buf, const char **out, size_t cap)
{
    char *save = NULL;
    size_t n = 0;
    for (char *t = strtok_r(buf, ", \t", &save); t != NULL && n < cap;
         t = strtok_r(NULL, ", \t", &save))
        out[n++] = t;
    return n;
}

int daemon_listener_allow(veil_daemon *d, const char *sec)
{
    char buf[1024];
    const char *w[32];
    const char *list = veil_config_get(d->cfg, sec, "allowed_workers");
    snprintf(buf, sizeof buf, "%s", list != NULL ? list : "");
    size_t n = split_list(buf, w, 32);
    n += portal_outlet_names(w + n, 32 - n); /* outlets: reachable through every listener */
    return veil_secure_channel_listener_allow(d->node, listener_address(d->cfg, sec), w, n);
}

int daemon_listener_start(veil_daemon *d, const char *sec)
{
    veil_trust_policy *p = NULL;
    veil_secure_channel_listener_options o = { sizeof o, on_open, on_close, d };
    const char *trust = veil_config_get(d->cfg, sec, "trust");
    int rc = trust != NULL ? daemon_trust_policy(d->node, trust, &p)
                           : veil_error_set(VEIL_ECONFIG, "[%s]: needs 'trust'", sec);
    if (rc == 0)
        rc = veil_secure_channel_listener_open_with(d->entity, listener_address(d->cfg, sec), p,
                                                    &o);
    if (rc == 0)
        rc = daemon_listener_allow(d, sec);
    if (rc == 0)
        dlog(VEIL_LOG_INFO, "listener %s: trust %s, allowed workers: %s",
             listener_address(d->cfg, sec), trust,
             veil_config_get(d->cfg, sec, "allowed_workers") != NULL
                 ? veil_config_get(d->cfg, sec, "allowed_workers") : "(none)");
    return rc;
}

/* ---- the echo worker ---------------------------------------------------- */

static int echo_handle(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    const veil_local_info *info = veil_message_local_info(msg);
    dlog(VEIL_LOG_DEBUG, "echo: %s", info->via_channel ? info->peer_identifier : "local");
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

static const veil_worker_ops echo_ops = {
    .size = sizeof(veil_worker_ops),
    .handle_message = echo_handle,
};

int daemon_echo_start(veil_daemon *d)
{
    bool on = false;
    int rc = veil_config_get_bool(d->cfg, "daemon", "echo", false, &on);
    if (rc != 0 || !on)
        return rc;
    rc = veil_ctx_start_worker(d->app, "echo", &echo_ops, NULL);
    if (rc == 0)
        dlog(VEIL_LOG_INFO, "echo worker at 'echo'");
    return rc;
}

/* ---- everything ---------------------------------------------------------- */

static bool is_listener(const char *sec)
{
    return strncmp(sec, "listener.", 9) == 0 && sec[9] != '\0';
}

static void on_route_lost(veil_node *node, const veil_address *peer, int reason,
                          const char *detail, void *arg)
{
    char a[VEIL_ADDRESS_TEXT_MAX + 1], state[160];
    (void)node;
    veil_address_format(peer, a, sizeof a);
    snprintf(state, sizeof state, "lost: %s: %s", veil_strerror(reason),
             detail != NULL ? detail : "");
    daemon_conn_set(arg, a, state);
}

int daemon_listeners_start(veil_daemon *d)
{
    int rc = veil_node_on_route_lost(d->node, on_route_lost, d);
    size_t n = veil_config_section_count(d->cfg);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *sec = veil_config_section_name(d->cfg, i);
        if (is_listener(sec))
            rc = daemon_listener_start(d, sec);
    }
    return rc;
}
