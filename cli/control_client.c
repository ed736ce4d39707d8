/* The commands a running daemon serves (docs/CLI.md, "Commands served by
 * the daemon"): each sends one request line over the control socket
 * (docs/CONTROL.md) and prints the answer's data lines.  Exit codes: 0, 1
 * (the daemon answered with an error), 2 (usage), 3 (no daemon). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"

typedef struct client_opts {
    const char *config, *socket, *name, *to, *trust;
    bool resilient;
    unsigned long timeout_ms;
    int nargs;
    char **args;
} client_opts;

enum { OPT_SOCKET = 300, OPT_NAME, OPT_TO, OPT_TRUST, OPT_TIMEOUT, OPT_RESILIENT };

static const struct option client_long[] = {
    { "config", required_argument, NULL, 'c' },
    { "socket", required_argument, NULL, OPT_SOCKET },
    { "name", required_argument, NULL, OPT_NAME },
    { "to", required_argument, NULL, OPT_TO },
    { "trust", required_argument, NULL, OPT_TRUST },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "resilient", no_argument, NULL, OPT_RESILIENT },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static int parse(const cli_cmd *cmd, int argc, char **argv, int nargs, bool route,
                 client_opts *o)
{
    int c;
    char *end;
    memset(o, 0, sizeof *o);
    o->name = "veil";
    o->timeout_ms = 10000;
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":c:h", client_long, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(cmd->help, stdout); return -1;
        case 'c': o->config = optarg; break;
        case OPT_SOCKET: o->socket = optarg; break;
        case OPT_NAME: o->name = optarg; break;
        case OPT_TO: if (!route) goto unknown; o->to = optarg; break;
        case OPT_TRUST: if (!route) goto unknown; o->trust = optarg; break;
        case OPT_RESILIENT: if (!route) goto unknown; o->resilient = true; break;
        case OPT_TIMEOUT:
            if (!route)
                goto unknown;
            errno = 0;
            o->timeout_ms = strtoul(optarg, &end, 10);
            if (*end != '\0' || errno != 0 || o->timeout_ms == 0 || o->timeout_ms > 600000)
                return cli_usage(cmd, "--timeout '%s': not 1..600000 milliseconds", optarg);
            break;
        case ':': return cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
        default:
        unknown:
            return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    o->nargs = argc - optind;
    o->args = argv + optind;
    if (o->nargs < nargs)
        return cli_usage(cmd, "missing argument %s", cmd->args != NULL ? cmd->args : "");
    if (o->nargs > nargs)
        return cli_usage(cmd, "unexpected argument '%s'", o->args[nargs]);
    if (route && o->to == NULL)
        return cli_usage(cmd, "missing --to ROUTE");
    if (o->config != NULL && o->socket != NULL)
        return cli_usage(cmd, "give -c CONFIG or --socket PATH, not both");
    return CLI_OK;
}

/* The socket: --socket, else -c CONFIG's [control] socket (or its
 * [daemon] name's default path), else the default path of --name. */
static int socket_path(const cli_cmd *cmd, const client_opts *o, char *out, size_t cap)
{
    veil_config *cfg = NULL;
    if (o->socket != NULL) {
        snprintf(out, cap, "%s", o->socket);
        return CLI_OK;
    }
    if (o->config == NULL) {
        ctl_default_path(o->name, out, cap);
        return CLI_OK;
    }
    int rc = veil_config_new_from_file(&cfg, o->config);
    if (rc != 0)
        return cli_fail(cmd, rc);
    const char *s = veil_config_get(cfg, "control", "socket");
    const char *n = veil_config_get(cfg, "daemon", "name");
    if (s != NULL)
        snprintf(out, cap, "%s", s);
    else
        ctl_default_path(n != NULL ? n : "veil", out, cap);
    veil_config_free(cfg);
    return CLI_OK;
}

static int connect_daemon(const cli_cmd *cmd, const char *path, int *fd)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "veil: %s %s: socket path too long: %s\n", cmd->group, cmd->verb, path);
        return CLI_ERROR;
    }
    memcpy(sa.sun_path, path, strlen(path));
    *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fd >= 0 && connect(*fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return CLI_OK;
    int err = errno;
    if (*fd >= 0)
        close(*fd);
    fprintf(stderr, "veil: %s %s: no veil daemon is serving %s (%s); start one with 'veil node "
            "run -c FILE'\n", cmd->group, cmd->verb, path, strerror(err));
    return CLI_NO_DAEMON;
}

/* Read the answer: print data lines, stop at ok / error. */
static int read_answer(const cli_cmd *cmd, int fd, unsigned long timeout_ms)
{
    char buf[CTL_LINE_MAX + 8];
    size_t len = 0;
    struct pollfd p = { fd, POLLIN, 0 };
    for (;;) {
        char *nl;
        while ((nl = memchr(buf, '\n', len)) != NULL) {
            *nl = '\0';
            if (strncmp(buf, "= ", 2) == 0)
                printf("%s\n", buf + 2);
            else if (strcmp(buf, "ok") == 0)
                return CLI_OK;
            else {
                fprintf(stderr, "veil: %s %s: %s\n", cmd->group, cmd->verb,
                        strncmp(buf, "error ", 6) == 0 ? buf + 6 : buf);
                return CLI_ERROR;
            }
            len -= (size_t)(nl - buf) + 1;
            memmove(buf, nl + 1, len);
        }
        int r = poll(&p, 1, (int)timeout_ms);
        ssize_t n = r > 0 && len < sizeof buf ? read(fd, buf + len, sizeof buf - len) : -1;
        if (n <= 0) {
            fprintf(stderr, "veil: %s %s: %s\n", cmd->group, cmd->verb,
                    r == 0 ? "the daemon did not answer in time" : "the daemon closed the "
                    "connection without an answer");
            return CLI_ERROR;
        }
        len += (size_t)n;
    }
}

static int request(const cli_cmd *cmd, const client_opts *o, const char *line,
                   unsigned long timeout_ms)
{
    char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
    int fd = -1;
    size_t n = strlen(line);
    if (n >= CTL_LINE_MAX || strchr(line, '\n') != NULL) {
        fprintf(stderr, "veil: %s %s: request longer than %u bytes or with a newline\n",
                cmd->group, cmd->verb, CTL_LINE_MAX - 1);
        return CLI_ERROR;
    }
    int rc = socket_path(cmd, o, path, sizeof path);
    if (rc == CLI_OK)
        rc = connect_daemon(cmd, path, &fd);
    if (rc != CLI_OK)
        return rc;
    char *req = malloc(n + 2);
    if (req == NULL) {
        close(fd);
        return CLI_ERROR;
    }
    memcpy(req, line, n);
    req[n] = '\n';
    ssize_t w = send(fd, req, n + 1, MSG_NOSIGNAL);
    free(req);
    rc = w == (ssize_t)(n + 1) ? read_answer(cmd, fd, timeout_ms) : CLI_ERROR;
    if (w != (ssize_t)(n + 1))
        fprintf(stderr, "veil: %s %s: writing to the daemon: %s\n", cmd->group, cmd->verb,
                strerror(errno));
    close(fd);
    return rc;
}

int ctl_client_request(const cli_cmd *cmd, const char *config, const char *socket,
                       const char *name, const char *line, unsigned long timeout_ms)
{
    client_opts o;
    memset(&o, 0, sizeof o);
    o.config = config;
    o.socket = socket;
    o.name = name != NULL ? name : "veil";
    return request(cmd, &o, line, timeout_ms);
}

/* Routes go on the request line without spaces ("a => b" -> "a=>b"). */
static void squeeze(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in != '\0' && n + 1 < cap; in++)
        if (*in != ' ' && *in != '\t')
            out[n++] = *in;
    out[n] = '\0';
}

static int simple(const cli_cmd *cmd, int argc, char **argv, const char *verb, int nargs)
{
    client_opts o;
    char line[CTL_LINE_MAX];
    int rc = parse(cmd, argc, argv, nargs, false, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    int n = snprintf(line, sizeof line, "%s%s%s", verb, nargs > 0 ? " " : "",
                     nargs > 0 ? o.args[0] : "");
    if (n < 0 || (size_t)n >= sizeof line)
        return cli_usage(cmd, "argument: at most %u bytes", CTL_LINE_MAX - 64);
    return request(cmd, &o, line, 10000);
}

/* A request of verb and its nargs arguments joined by spaces (relay.c). */
int ctl_client_verb(const cli_cmd *cmd, int argc, char **argv, const char *verb, int nargs)
{
    client_opts o;
    char line[CTL_LINE_MAX];
    int rc = parse(cmd, argc, argv, nargs, false, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    size_t n = strlen(verb);
    memcpy(line, verb, n + 1); /* verbs are short constants */
    for (int i = 0; i < nargs; i++) {
        size_t len = strlen(o.args[i]);
        if (len == 0 || strpbrk(o.args[i], " \t\n") != NULL)
            return cli_usage(cmd, "argument '%s': empty or with a space", o.args[i]);
        if (n + 1 + len >= sizeof line)
            return cli_usage(cmd, "arguments longer than %u bytes together", CTL_LINE_MAX - 64);
        line[n++] = ' ';
        memcpy(line + n, o.args[i], len + 1);
        n += len;
    }
    return request(cmd, &o, line, 10000);
}

static int cmd_status(const cli_cmd *cmd, int argc, char **argv)
{
    return simple(cmd, argc, argv, "status", 0);
}

static int cmd_channel_list(const cli_cmd *cmd, int argc, char **argv)
{
    return simple(cmd, argc, argv, "channel-list", 0);
}

static int cmd_channel_close(const cli_cmd *cmd, int argc, char **argv)
{
    return simple(cmd, argc, argv, "channel-close", 1);
}

static int cmd_connection_list(const cli_cmd *cmd, int argc, char **argv)
{
    return simple(cmd, argc, argv, "connection-list", 0);
}

static int cmd_create(const cli_cmd *cmd, int argc, char **argv)
{
    client_opts o;
    char route[CTL_LINE_MAX], line[CTL_LINE_MAX];
    int rc = parse(cmd, argc, argv, 0, true, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (o.trust != NULL && (o.trust[0] == '\0' || strpbrk(o.trust, " \t") != NULL))
        return cli_usage(cmd, "--trust: one identifier, 'everyone' or 'policy.NAME'");
    squeeze(o.to, route, sizeof route);
    int n = snprintf(line, sizeof line, "secure-channel-create %s%s %s",
                     o.resilient ? "--resilient " : "", o.trust != NULL ? o.trust : "-", route);
    if (n < 0 || (size_t)n >= sizeof line)
        return cli_usage(cmd, "--to and --trust: at most %u bytes together", CTL_LINE_MAX - 64);
    return request(cmd, &o, line, 30000);
}

static int cmd_send(const cli_cmd *cmd, int argc, char **argv)
{
    client_opts o;
    char route[CTL_LINE_MAX], line[CTL_LINE_MAX];
    int rc = parse(cmd, argc, argv, 1, true, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    squeeze(o.to, route, sizeof route);
    int n = snprintf(line, sizeof line, "message-send %lu %s %s", o.timeout_ms, route,
                     o.args[0]);
    if (n < 0 || (size_t)n >= sizeof line)
        return cli_usage(cmd, "TEXT and ROUTE: at most %u bytes together", CTL_LINE_MAX - 64);
    return request(cmd, &o, line, o.timeout_ms + 2000);
}


const cli_cmd cli_status_cmds[] = {
    { "status", "show", cmd_status, "the daemon: identifier, uptime, counts",
      "Usage: veil status show [options]   (also: veil status)\n"
      "The running daemon's name, identifier, pid, uptime and counters.\n\n" SOCK_OPTS, NULL },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};

const cli_cmd cli_channel_cmds[] = {
    { "channel", "list", cmd_channel_list, "the daemon's secure channels",
      "Usage: veil channel list [options]\n"
      "One line per secure channel: address, peer identifier, role, key agreement,\n"
      "crypto backend, age (s), messages and payload bytes sent and received, rekeys,\n"
      "dropped.\n\n" SOCK_OPTS,
      NULL },
    { "channel", "close", cmd_channel_close, "close one of the daemon's channels",
      "Usage: veil channel close [options] ADDRESS\n"
      "Close the secure channel at ADDRESS (as 'channel list' shows it).\n\n" SOCK_OPTS,
      "ADDRESS" },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};

const cli_cmd cli_connection_cmds[] = {
    { "connection", "list", cmd_connection_list, "the daemon's transport connections",
      "Usage: veil connection list [options]\n"
      "The tcp transport's counters, then each connection (peer address, state,\n"
      "inbound or outbound), then connections lost since last dialed, with why.\n\n"
      SOCK_OPTS, NULL },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};

const cli_cmd cli_secure_channel_cmds[] = {
    { "secure-channel", "create", cmd_create, "open a secure channel from the daemon",
      "Usage: veil secure-channel create --to ROUTE [--trust ID|everyone|policy.NAME]\n"
      "                                 [--resilient]\n"
      "The daemon opens a secure channel to the listener at the end of ROUTE\n"
      "(e.g. '1#127.0.0.1:4001 => bob'; a first tcp hop is dialed) and prints the\n"
      "channel's address and the peer's identifier.  Without --trust the daemon's\n"
      "[policy] decides; without one either, the command fails.  --resilient: the\n"
      "channel heals (re-dials with backoff when its route is lost or its peer is\n"
      "silent, same address, same peer identity; [secure_channel] sets the timing;\n"
      "[secure_channel] resilient = true makes every channel heal).\n\n" SOCK_OPTS, NULL },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};

const cli_cmd cli_message_cmds[] = {
    { "message", "send", cmd_send, "send TEXT along ROUTE through the daemon",
      "Usage: veil message send --to ROUTE [--timeout MS] TEXT\n"
      "The daemon sends TEXT along ROUTE (e.g. 'CHANNEL => echo') and prints the\n"
      "reply (bytes outside printable ASCII as \\xHH); no reply within --timeout\n"
      "(default 10000 ms) is an error.\n\n" SOCK_OPTS, "TEXT" },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};
