/* Raw TCP clients for the tcp tests: a plain socket playing a (good or
 * bad) peer of a node that runs in this process.  Failures are cmocka
 * assertions. */
#ifndef TCP_RAW_H
#define TCP_RAW_H

#include <veil/veil.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr_in;
/* A TCP socket listening on 127.0.0.1 at a port the kernel picks (in
 * *sin); extra: SOCK_NONBLOCK or 0. */
int raw_listen(int extra, int backlog, struct sockaddr_in *sin);
/* A blocking connection to 127.0.0.1:port, or -1 (nobody listens). */
int raw_try_connect(int port);
/* The veil-tcp v1 preamble (docs/PROTOCOL.md, "TCP framing"). */
extern const uint8_t raw_preamble[8];
/* A blocking connection to 127.0.0.1:port that has sent the preamble (a
 * veil peer); the node's own preamble is skipped by the readers below. */
int raw_connect(int port);
/* The same without the preamble (a non-veil client). */
int raw_connect_plain(int port);
/* Send all n bytes (asserted). */
void raw_send(int fd, const void *p, size_t n);
void put32(uint8_t *p, uint32_t v);
/* A frame holding a message to "echoer" (return route "client") with a
 * payload of plen bytes of fill; returns its length (header included). */
size_t raw_echo_frame(uint8_t *out, size_t cap, size_t plen, uint8_t fill);
/* Run node until the socket sees EOF or a reset; false on timeout. */
bool raw_wait_closed(veil_node *node, int fd, int timeout_ms);
/* One echo round trip of text through the node's "echoer" (node NULL:
 * the node runs in another process; just wait). */
void raw_echo_ok(veil_node *node, int fd, const char *text);
/* Read one echoed frame back (running node meanwhile) and check it
 * carries plen bytes of fill. */
void raw_expect_echo(veil_node *node, int fd, size_t plen, uint8_t fill);

/* Make node dial the (non-blocking) listener ls on 127.0.0.1:port by
 * sending "hello" there from app; accept that connection, check the
 * node's preamble arrived first, and return it. */
int raw_dialed_by(veil_node *node, veil_context *app, int ls, int port);

/* Run node for ms (0: one round), then the bytes waiting on fd. */
size_t raw_available(veil_node *node, int fd, int ms);
/* Read the node's preamble from fd (running node meanwhile), checked. */
void raw_take_preamble(veil_node *node, int fd);
/* Send one message (routes as text) as a frame. */
void raw_send_message(int fd, const char *onward, const char *ret, const void *payload,
                      size_t plen);
/* Read one message (running node; 5 s at most): routes as text (tcap
 * bytes each), payload into payload (cap); returns its length. */
size_t raw_recv_message(veil_node *node, int fd, char *onward, char *ret, size_t tcap,
                        uint8_t *payload, size_t cap);

#endif
