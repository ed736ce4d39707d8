/* The shared world of the secure-channel tests (tests/unit/channel,
 * tests/unit/x3dh, tests/unit/identity): a node made from configuration
 * text, entities, an echoer that records what it saw, hop workers, a "tap"
 * hop that can hold, copy, tamper with and release the frames passing
 * through it.  world_up()/world_down() build and tear down the usual one;
 * pair_up() adds Bob's listener trusting only Alice. */
#ifndef VEIL_TESTS_WORLD_H
#define VEIL_TESTS_WORLD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/veil.h>

#include "logs.h"
#include "msg.h"

/* The echoer ("echoer"): replies with the same payload, recording what it saw. */
typedef struct echo_state {
    unsigned count;
    veil_local_info last_info;
    char last_payload[64];
} echo_state;
extern const veil_worker_ops echo_ops;

/* A hop: forward_next, counting (its state is an unsigned). */
extern const veil_worker_ops hop_ops;

/* A worker that drops everything, counting (its state is an unsigned): a
 * route nobody answers on (handshakes time out). */
extern const veil_worker_ops swallow_ops;

/* The tap: a hop that keeps a copy of every frame passing through it
 * (the first TAP_FRAMES) and can hold frames back. */
#define TAP_MAX 2048
#define TAP_FRAMES 64
typedef struct tap_state {
    unsigned passed;
    int hold;                         /* hold the next `hold` frames */
    veil_message *held[TAP_MAX];
    size_t nheld;
    size_t nframes;                   /* frames recorded (first TAP_FRAMES) */
    struct {
        uint8_t bytes[512];
        size_t len;
        veil_address to;              /* the hop after the tap */
    } frames[TAP_FRAMES];
} tap_state;
extern const veil_worker_ops tap_ops;
/* Release held frames, in reverse order when reverse is set. */
void tap_release(veil_context *ctx, tap_state *t, int reverse);

/* A node from configuration text (NULL: defaults); unless the text sets
 * [secure_channel] allowed_workers, the node's channels may reach "echoer". */
void node_from(const char *text, veil_node **node, veil_context **app);
/* What veil_node_new returns for that text (a node made is freed at once):
 * configurations are checked whole at node creation (issue #16). */
int node_new_rc(const char *text);
/* A policy trusting only peer's identifier. */
veil_trust_policy *trust_only(veil_node *node, const veil_entity *peer);
/* Send text through [ch, "echoer"] from app and expect it back through the
 * channel (the reply's local info names the channel). */
void round_trip(veil_context *app, const veil_address *ch, const char *text);
/* Run the loop until nothing happens for a few rounds. */
void settle(veil_node *node);

/* The world: a node, its app context, an "echoer", Alice and Bob, and on
 * request Carol (WORLD_CAROL) and a "tap" worker (WORLD_TAP). */
typedef struct world {
    veil_node *node;
    veil_context *app;
    veil_entity *alice, *bob, *carol;
    echo_state echo;
    tap_state *tap;
} world;
#define WORLD_CAROL 1u
#define WORLD_TAP 2u
void world_up(world *w, const char *config, unsigned with);
/* Add Carol and/or the tap to a world that has neither yet. */
void world_add(world *w, unsigned with);
void world_down(world *w);

/* Alice and Bob on one node (the audit tests of issue #10): the world with
 * Bob's listener at `listener` (NULL: none) trusting only Alice. */
void pair_up(world *w, const char *config, const char *listener);
void pair_down(world *w);
/* Alice's channel along route (text), trusting only Bob. */
int pair_create(world *w, const char *route, veil_address *ch);

#endif
