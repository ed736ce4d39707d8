/* veil node run — the daemon (docs/CLI.md "The daemon", docs/CONTROL.md).
 *
 * node_run.c reads the daemon's configuration, opens the vault and the
 * identity, starts transports, secure-channel listeners and the built-in
 * echo worker, handles signals (SIGTERM/SIGINT stop, SIGHUP reloads) and
 * tells systemd it is ready.  control.c serves the control socket;
 * control_ops.c answers its requests; control_client.c holds the client
 * commands (status, channel, connection, secure-channel, message). */
#ifndef VEIL_CLI_DAEMON_H
#define VEIL_CLI_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include <veil/veil.h>

#define DAEMON_NAME_MAX 63u   /* [daemon] name */
#define CTL_LINE_MAX 4096u      /* a request line, its newline included */
#define CTL_CLIENTS_MAX 16u     /* control connections at once */
#define DAEMON_CHANNELS_MAX 256u
#define DAEMON_CONNS_MAX 64u

/* Exit code of the client commands when no daemon answers (docs/CLI.md). */
#define CLI_NO_DAEMON 3

typedef struct daemon_chan {
    bool used;
    bool initiator;
    veil_address addr;
    char key_agreement[64];
    char via[VEIL_ADDRESS_TEXT_MAX + 1]; /* listener address, or the route's text */
    uint64_t opened;                     /* wall clock, seconds */
} daemon_chan;

/* A name `veil relay register` asked the daemon to keep registered. */
#define DAEMON_RELAY_NAMES_MAX 16u
typedef struct daemon_relay_name {
    bool used;
    char name[VEIL_RELAY_NAME_MAX + 1];
    char where[VEIL_ADDRESS_TEXT_MAX + 1];
} daemon_relay_name;

typedef struct daemon_conn {
    bool used;
    char peer[VEIL_ADDRESS_TEXT_MAX + 1];
    char state[160];
} daemon_conn;

struct ctl_client;

typedef struct veil_daemon {
    const char *conf_path;
    veil_config *cfg;
    veil_node *node;
    veil_context *app;
    veil_vault *vault;
    veil_entity *entity;
    uint64_t started;
    char name[DAEMON_NAME_MAX + 1]; /* [daemon] name (copied: SIGHUP frees the old cfg) */
    char crypto[16];
    char key_agreement[64];
    char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char lock_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
    int lock_fd, listen_fd;
    veil_watch *listen_watch;
    struct ctl_client *clients[CTL_CLIENTS_MAX];
    daemon_chan chans[DAEMON_CHANNELS_MAX];
    daemon_conn conns[DAEMON_CONNS_MAX];
    daemon_relay_name relay_names[DAEMON_RELAY_NAMES_MAX];
    uint64_t requests, refused_peers;
} veil_daemon;

/* control.c */
int ctl_open(veil_daemon *d);          /* lock, recover a stale socket, bind, listen */
int ctl_start(veil_daemon *d);         /* watch it (once the node exists) */
void ctl_close(veil_daemon *d);        /* close clients, unlink the socket, unlock */
/* Default socket path for daemon NAME: $XDG_RUNTIME_DIR/veil/NAME.sock,
 * else /run/veil/NAME.sock (root) or /tmp/veil-UID/NAME.sock. */
void ctl_default_path(const char *name, char *out, size_t cap);
/* Write a response line (prefix "= " for data, or "ok" / "error ..."). */
void ctl_reply(struct ctl_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The request of c is answered (its last line sent): read the next one. */
void ctl_done(struct ctl_client *c);
veil_daemon *ctl_daemon(struct ctl_client *c);
/* "error CODE detail" for rc (docs/CONTROL.md). */
void ctl_reply_error(struct ctl_client *c, int rc);
/* control_client.c: send one request line to the daemon of -c CONFIG /
 * --socket / --name and print the answer's data lines (exit codes as the
 * client commands'). */
struct cli_cmd;
int ctl_client_request(const struct cli_cmd *cmd, const char *config, const char *socket,
                       const char *name, const char *line, unsigned long timeout_ms);

/* control_ops.c: run one request line (NUL-terminated, no newline).
 * Answers at once, or later for secure-channel-create / message-send. */
bool ctl_dispatch(struct ctl_client *c, char *line); /* true: answered later */
/* A client went away while its request was pending. */
void ctl_ops_abandon(struct ctl_client *c);

/* node_run.c: the channel table */
int daemon_chan_add(veil_daemon *d, const veil_address *a, bool initiator, const char *ka,
                    const char *via);
void daemon_chan_remove(veil_daemon *d, const veil_address *a);
/* Connections the transport reported lost (connection list shows them
 * after the live ones), forgotten when dialed again. */
void daemon_conn_set(veil_daemon *d, const char *peer, const char *state);
void daemon_conn_forget(veil_daemon *d, const char *peer);
/* node_run.c: does section sec hold the same keys and values in a and b? */
bool daemon_section_equal(const veil_config *a, const veil_config *b, const char *sec);
/* daemon_check.c: [daemon], [control], [listener.NAME] (keys, values; each
 * listener's trust policy is built when node is not NULL). */
int daemon_config_check(veil_node *node, const veil_config *cfg);

/* daemon_setup.c */
int daemon_trust_policy(veil_node *node, const char *trust, veil_trust_policy **out);
int daemon_listener_start(veil_daemon *d, const char *sec);
int daemon_listener_allow(veil_daemon *d, const char *sec);
int daemon_listeners_start(veil_daemon *d);
int daemon_echo_start(veil_daemon *d);

/* The options of every command served by the daemon, for their --help. */
#define SOCK_OPTS \
    "  -c, --config FILE        the daemon's configuration ([control] socket, [daemon] name)\n" \
    "      --socket PATH        the control socket\n" \
    "      --name NAME          the daemon's name, for the default socket path (veil)\n" \
    "  -h, --help               this text\n" \
    "Exit status: 0 ok, 1 the daemon answered with an error, 2 bad command line,\n" \
    "3 no daemon serves the socket.\n"

/* control_client.c: send "VERB ARG..." (nargs arguments) and print the
 * answer; an exit code. */
int ctl_client_verb(const struct cli_cmd *cmd, int argc, char **argv, const char *verb,
                    int nargs);

/* relay_daemon.c: [relay] and [register.NAME] (checked; started), and the
 * control requests relay-create, relay-list, relay-register (false: not
 * one of them; *rc < 0: answer with that error). */
int daemon_relay_check(const veil_config *cfg);
int daemon_relay_start(veil_daemon *d);
bool relay_dispatch(struct ctl_client *c, veil_daemon *d, const char *verb, char *args, int *rc);

/* daemon_keep.c: definitions made through the control socket, kept in
 * the node's store when [node] state_dir is set (no-ops otherwise). */
#define DAEMON_KEEP_MAX 64u          /* records restored per kind */
#define DAEMON_KEEP_FIELDS_MAX 4u
#define DAEMON_KEEP_FIELD_MAX 1023u
typedef void (*daemon_keep_fn)(veil_daemon *d, const char *name, const char *const *fields);
void daemon_keep_put(veil_daemon *d, const char *kind, const char *name,
                     const char *const *fields, size_t n);
void daemon_keep_delete(veil_daemon *d, const char *kind, const char *name);
/* fn for each kept record of kind ("inlet", "outlet", "register") with
 * exactly nfields fields; malformed ones are logged and skipped. */
int daemon_keep_restore(veil_daemon *d, const char *kind, size_t nfields, daemon_keep_fn fn);
/* The same with min..nfields fields (later ones optional: "" when absent). */
int daemon_keep_restore_min(veil_daemon *d, const char *kind, size_t min, size_t nfields,
                            daemon_keep_fn fn);

/* Log through veil's log (timestamps, syslog) as component "daemon". */
#define dlog(level, ...) veil_log(level, "daemon", __VA_ARGS__)

#endif
