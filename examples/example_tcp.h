/* Shared by the multi-node examples (04, 06): run a node until SIGINT or
 * SIGTERM, print the address a listener got, fail with a message.
 *
 * Servers listen on the address given on the command line; port 0 picks a
 * free port, and the "Listening on 1#HOST:PORT" line says which (tests
 * start servers on port 0 and read that line, so runs never collide).
 * stdout is line-buffered so another process reading it sees each line at
 * once. */
#ifndef VEIL_EXAMPLE_TCP_H
#define VEIL_EXAMPLE_TCP_H

#include <veil/veil.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The node the signal handler stops (set while example_run_until_signal
 * runs; the handler must never see a freed node). */
static veil_node *volatile example_running_node;

static void example_on_signal(int sig)
{
    (void)sig;
    veil_node *node = example_running_node;
    if (node != NULL)
        veil_node_interrupt(node); /* async-signal-safe (node.h) */
}

static inline void example_line_buffered(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
}

static inline int example_fail(const char *who, const char *what, int rc)
{
    fprintf(stderr, "%s: %s: %s (%s)\n", who, what, veil_strerror(rc), veil_last_error());
    return 1;
}

/* Listen on `where` with the tcp transport and print the bound address. */
static inline int example_listen(veil_node *node, const char *where)
{
    veil_address bound;
    char text[VEIL_ADDRESS_TEXT_MAX + 1];
    int rc = veil_node_transport_listen(node, "tcp", where, &bound);
    if (rc < 0)
        return rc;
    veil_address_format(&bound, text, sizeof text);
    printf("Listening on %s\n", text);
    return 0;
}

/* Run the node's loop until SIGINT/SIGTERM: the handler calls
 * veil_node_interrupt, which is async-signal-safe, so the loop sleeps
 * until there is work (no polling).  0, or the loop's error. */
static inline int example_run_until_signal(veil_node *node)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = example_on_signal;
    sigemptyset(&sa.sa_mask);
    example_running_node = node;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = veil_node_run(node, -1);
    /* From now on the handler does nothing: the node is about to go. */
    example_running_node = NULL;
    return rc;
}

/* A listener's trust policy: [policy] when the configuration has one, else
 * the `everyone` plugin (every authenticated peer; the peer's identifier
 * is still proven and shown).  Ockam's example uses TrustEveryonePolicy
 * there too: the responder cannot know the initiator's identity before
 * it runs. */
static inline int example_listener_policy(veil_node *node, veil_trust_policy **out)
{
    if (veil_config_has_section(veil_node_config(node), "policy"))
        return veil_trust_policy_new_from_config(node, "policy", out);
    return veil_trust_policy_new(node, "everyone", NULL, out);
}

/* An initiator's trust policy: exactly `identifier` when given (what the
 * peer printed), else `everyone`. */
static inline int example_peer_policy(veil_node *node, const char *identifier,
                                      veil_trust_policy **out)
{
    if (identifier != NULL && identifier[0] != '\0')
        return veil_trust_policy_new_identifier(node, &identifier, 1, out);
    return veil_trust_policy_new(node, "everyone", NULL, out);
}

#endif
