/* Test helpers for the tcp tests: run tests/support/tcp_peer in a child process,
 * pump a node's loop until a condition holds, read process memory. */
#ifndef TCP_PEER_SPAWN_H
#define TCP_PEER_SPAWN_H

#include <veil/veil.h>

#include <stdbool.h>
#include <sys/types.h>

typedef struct tcp_peer_proc {
    pid_t pid;
    int stdin_fd;                 /* closing it stops the peer */
    char address[VEIL_ADDRESS_TEXT_MAX + 1]; /* "1#127.0.0.1:43121" */
    char where[VEIL_ADDRESS_TEXT_MAX + 1];   /* "127.0.0.1:43121" */
} tcp_peer_proc;

/* Start tcp_peer with argv (NULL-terminated, without the program name);
 * 0 once it printed its LISTEN line, -1 otherwise (message on stderr). */
int tcp_peer_start(tcp_peer_proc *p, const char *const *args);
/* Close its stdin and wait; returns its exit status (or -1). */
int tcp_peer_stop(tcp_peer_proc *p);
/* SIGKILL and reap. */
void tcp_peer_kill(tcp_peer_proc *p);

/* A node with [transport.tcp] plugin = tcp, auto_connect = true (these
 * tests dial on first send) plus key=value pairs (NULL-terminated list of
 * "key=value"; they win). */
int tcp_test_node(veil_node **node, veil_context **app, const char *const *kv);
/* A worker start op making the worker network-facing (veil/access.h): the
 * workers raw TCP clients and peers talk to. */
int tcp_expose(veil_context *ctx, void *state);
/* A worker handle_message op answering every message with an empty reply. */
int tcp_echo(veil_context *ctx, void *state, veil_message *msg);
/* Run the loop in small steps until *flag != 0 or timeout_ms passes. */
bool tcp_pump_until(veil_node *node, const volatile int *flag, int timeout_ms);
/* Resident set size in KiB (from /proc/self/statm). */
long tcp_rss_kib(void);
/* A "Name:   N kB" line of /proc/PID/status (VmRSS, VmHWM, VmData), in
 * KiB; -1 when absent. */
long tcp_proc_kib(pid_t pid, const char *name);
/* Bytes waiting unread in the receive queues of the IPv4 sockets whose
 * local port is port (a listener's accepted connections), from
 * /proc/net/tcp; -1 if it cannot be read. */
long tcp_port_unread(int port);
/* A TCP port on 127.0.0.1 nothing listens on (bound, then closed). */
int tcp_free_port(void);

/* What a route-lost subscriber saw: tcp_on_lost is a veil_route_lost_fn
 * whose arg is a tcp_lost; it counts the calls and keeps the last one. */
typedef struct tcp_lost {
    int calls;
    int reason;
    char peer[VEIL_ADDRESS_TEXT_MAX + 1];
    char detail[1024];
} tcp_lost;
void tcp_on_lost(veil_node *n, const veil_address *peer, int reason, const char *detail,
                 void *arg);
/* Run node until l saw a call (asserted within 2 s); its reason must be
 * reason and its detail contain detail (cmocka assertions). */
void tcp_lost_is(veil_node *node, tcp_lost *l, int reason, const char *detail);

/* Log capture: every "tcp" component log line is appended (bounded). */
void tcp_log_capture_start(void);
const char *tcp_log_captured(void);
void tcp_log_capture_stop(void);
/* Fail (cmocka) unless the captured log contains want. */
void tcp_log_has(const char *want);

#endif
