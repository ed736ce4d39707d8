/* Routes and messages in tests: a route from its text, a route or payload
 * equal to what is expected, a message received or the test fails. */
#ifndef VEIL_TESTS_MSG_H
#define VEIL_TESTS_MSG_H

#include <veil/veil.h>

/* The route written as text ("a => b"); the test fails if it does not parse. */
veil_route route_of(const char *text);
/* r is the route written as text (compared parsed, and as formatted). */
void route_is(const veil_route *r, const char *text);
/* The message's payload is exactly text. */
void payload_is(const veil_message *m, const char *text);
/* A message for ctx within timeout_ms, or the test fails naming the error. */
veil_message *receive_ok(veil_context *ctx, int timeout_ms);
/* Send text along the route written as text, or the test fails. */
void send_text(veil_context *ctx, const char *route, const char *text);
/* Write one frame of the tcp transport to fd, as a peer would: onward and
 * return routes written as text, payload text (the test fails otherwise). */
void send_tcp_frame(int fd, const char *onward, const char *ret, const char *text);

#endif
