/* Three nodes for the relay tests (veil/relay.h) over real TCP on
 * loopback, all in this process, their loops pumped in turn: M relays and
 * keeps the registry ([node] relay = true, listener "relay_listener"); R
 * registers names over its own outbound connection and runs an "echoer"
 * behind "bob_listener"; A initiates (entities ae and carol, ce).
 * Zero a net before net_up (it keeps m_node).  Failures are cmocka
 * assertions. */
#ifndef RELAY_NET_H
#define RELAY_NET_H

#include <veil/veil.h>

#include <stddef.h>
#include <stdint.h>

typedef struct net {
    veil_node *m, *r, *a;
    veil_context *mapp, *rapp, *aapp;
    veil_entity *me, *re, *ae, *ce;      /* relay, registrant, initiator, carol (on A) */
    char where[64];
    unsigned echoed;
    int last_state;
    unsigned states;
    const char *m_node;                  /* more [node] lines for M (kept by net_up) */
} net;

/* A node from configuration text (NULL: empty). */
veil_node *node_with(const char *text, veil_context **app);
/* Run the three loops until *flag differs from `from` or ms pass. */
void pump_until(net *n, const volatile int *flag, int from, int ms);
/* A policy trusting exactly e's identifier. */
veil_trust_policy *trusting(veil_node *node, const veil_entity *e);
/* M alone (n->where: its TCP listener). */
void relay_up(net *n, const veil_relay_registry_options *o);
/* M, R and A. */
void net_up(net *n, const veil_relay_registry_options *o);
void net_down(net *n);
/* R registers "bob" at M (asserted within 5 s). */
void register_bob(net *n, unsigned keepalive_ms);
/* Open a channel from e along route while all loops run; its result. */
int open_via(net *n, veil_entity *e, const veil_route *route, veil_trust_policy *p,
             veil_address *ch);
/* A channel from A to R's listener through M by name. */
int open_to_bob(net *n, const char *name, veil_address *ch);
/* Send req from a mailbox on node `on` through [ch, worker]; the answer's
 * payload into out (cap, asserted); its length. */
size_t request(net *n, veil_node *on, const veil_address *ch, const char *worker,
               const void *req, size_t len, uint8_t *out, size_t cap);
/* Send text through [ch, echoer] from A; the echo must come back exact. */
void echo_through(net *n, const veil_address *ch, const char *text);
/* net_up with default options, then "bob" registered (keep-alive 10 s). */
void bob_up(net *n);

#endif
