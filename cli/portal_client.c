/* veil tcp-outlet | tcp-inlet create|list|delete (docs/CLI.md, "Portals"):
 * one control request each (docs/CONTROL.md, tcp-outlet-* / tcp-inlet-*). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "daemon.h"

typedef struct portal_opts {
    const char *config, *socket, *name, *to, *from, *allow, *trust;
    bool resilient;
    int nargs;
    char **args;
} portal_opts;

enum { P_SOCKET = 400, P_NAME, P_TO, P_FROM, P_ALLOW, P_TRUST, P_RESILIENT };

static const struct option portal_long[] = {
    { "config", required_argument, NULL, 'c' },
    { "socket", required_argument, NULL, P_SOCKET },
    { "name", required_argument, NULL, P_NAME },
    { "to", required_argument, NULL, P_TO },
    { "from", required_argument, NULL, P_FROM },
    { "allow", required_argument, NULL, P_ALLOW },
    { "trust", required_argument, NULL, P_TRUST },
    { "resilient", no_argument, NULL, P_RESILIENT },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* accept: which of --to/--from/--allow/--trust/--resilient (t f a r R) the
 * command takes. */
static int parse(const cli_cmd *cmd, int argc, char **argv, const char *accept, int nargs,
                 portal_opts *o)
{
    int c;
    memset(o, 0, sizeof *o);
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":c:h", portal_long, NULL)) != -1) {
        const char **slot = NULL;
        switch (c) {
        case 'h': fputs(cmd->help, stdout); return -1;
        case 'c': o->config = optarg; break;
        case P_SOCKET: o->socket = optarg; break;
        case P_NAME: o->name = optarg; break;
        case P_TO: slot = strchr(accept, 't') ? &o->to : NULL; break;
        case P_FROM: slot = strchr(accept, 'f') ? &o->from : NULL; break;
        case P_ALLOW: slot = strchr(accept, 'a') ? &o->allow : NULL; break;
        case P_TRUST: slot = strchr(accept, 'r') ? &o->trust : NULL; break;
        case P_RESILIENT:
            if (strchr(accept, 'R') == NULL)
                return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
            o->resilient = true;
            continue;
        case ':': return cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
        }
        if (c >= P_TO && slot == NULL)
            return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
        if (slot != NULL)
            *slot = optarg;
    }
    o->nargs = argc - optind;
    o->args = argv + optind;
    if (o->nargs != nargs)
        return cli_usage(cmd, o->nargs < nargs ? "missing NAME" : "unexpected argument '%s'",
                         o->args[nargs < o->nargs ? nargs : 0]);
    if (o->config != NULL && o->socket != NULL)
        return cli_usage(cmd, "give -c CONFIG or --socket PATH, not both");
    return CLI_OK;
}

/* One token on the request line: no spaces. */
static int token(const cli_cmd *cmd, const char *what, const char *v, char *out, size_t cap)
{
    size_t n = 0;
    if (v == NULL)
        return cli_usage(cmd, "missing %s", what);
    for (; *v != '\0' && n + 1 < cap; v++)
        if (*v != ' ' && *v != '\t')
            out[n++] = *v;
    out[n] = '\0';
    return n > 0 ? CLI_OK : cli_usage(cmd, "%s is empty", what);
}

static int run(const cli_cmd *cmd, int argc, char **argv, bool inlet)
{
    portal_opts o;
    char line[CTL_LINE_MAX], a[CTL_LINE_MAX / 4], b[CTL_LINE_MAX / 4], t[CTL_LINE_MAX / 4];
    const char *kind = inlet ? "tcp-inlet" : "tcp-outlet";
    bool create = strcmp(cmd->verb, "create") == 0, del = strcmp(cmd->verb, "delete") == 0;
    int rc = parse(cmd, argc, argv, create ? (inlet ? "tfrR" : "ta") : "", create || del ? 1 : 0,
                   &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (!create) {
        snprintf(line, sizeof line, "%s-%s%s%s", kind, cmd->verb, del ? " " : "",
                 del ? o.args[0] : "");
    } else if (inlet) {
        if ((rc = token(cmd, "--from ADDRESS", o.from, a, sizeof a)) != CLI_OK ||
            (rc = token(cmd, "--trust ID|everyone|policy.NAME", o.trust, t, sizeof t)) != CLI_OK ||
            (rc = token(cmd, "--to ROUTE", o.to, b, sizeof b)) != CLI_OK)
            return rc;
        snprintf(line, sizeof line, "%s-create %s%s %s %s %s", kind,
                 o.resilient ? "--resilient " : "", o.args[0], a, t, b);
    } else {
        if ((rc = token(cmd, "--to HOST:PORT", o.to, a, sizeof a)) != CLI_OK ||
            (rc = token(cmd, "--allow ID|everyone|policy.NAME", o.allow, t, sizeof t)) != CLI_OK)
            return rc;
        snprintf(line, sizeof line, "%s-create %s %s %s", kind, o.args[0], a, t);
    }
    return ctl_client_request(cmd, o.config, o.socket, o.name, line, 10000);
}

static int cmd_outlet(const cli_cmd *cmd, int argc, char **argv)
{
    return run(cmd, argc, argv, false);
}

static int cmd_inlet(const cli_cmd *cmd, int argc, char **argv)
{
    return run(cmd, argc, argv, true);
}

#define P_SOCK_OPTS \
    "  -c, --config FILE        the daemon's configuration ([control] socket, [daemon] name)\n" \
    "      --socket PATH        the control socket\n" \
    "      --name NAME          the daemon's name, for the default socket path (veil)\n" \
    "  -h, --help               this text\n" \
    "Exit status: 0 ok, 1 the daemon answered with an error, 2 bad command line,\n" \
    "3 no daemon serves the socket.\n"

const cli_cmd cli_tcp_outlet_cmds[] = {
    { "tcp-outlet", "create", cmd_outlet, "an outlet: streams from trusted peers to a target",
      "Usage: veil tcp-outlet create NAME --to HOST:PORT --allow ID|everyone|policy.NAME\n"
      "The daemon starts an outlet at address NAME: for each stream a secure-channel\n"
      "peer that --allow trusts opens to it, it dials HOST:PORT ([IPv6]:PORT for an\n"
      "IPv6 address).  It is reachable through every listener of the daemon.\n\n" P_SOCK_OPTS, "NAME" },
    { "tcp-outlet", "list", cmd_outlet, "the daemon's outlets",
      "Usage: veil tcp-outlet list [options]\n"
      "One line per outlet: name, target, allow, streams open, opened, refused,\n"
      "resets, bytes out and in.\n\n" P_SOCK_OPTS, NULL },
    { "tcp-outlet", "delete", cmd_outlet, "stop an outlet (its streams are reset)",
      "Usage: veil tcp-outlet delete [options] NAME\n\n" P_SOCK_OPTS, "NAME" },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};

const cli_cmd cli_tcp_inlet_cmds[] = {
    { "tcp-inlet", "create", cmd_inlet, "an inlet: local TCP connections to an outlet",
      "Usage: veil tcp-inlet create NAME --from ADDR:PORT --to ROUTE --trust ID|everyone|policy.NAME\n"
      "                             [--resilient]\n"
      "The daemon listens on --from (IPv4:PORT or [IPv6]:PORT); each connection\n"
      "becomes a stream through one secure channel to the outlet at the end of\n"
      "ROUTE (e.g. '1#127.0.0.1:4001 => bob => web': the listener's route, then the\n"
      "outlet), whose identity --trust must accept.  --resilient: that channel heals\n"
      "(re-dials with backoff when its route is lost or its peer is silent; timing\n"
      "from [secure_channel]), as [inlet.NAME] resilient = true.\n\n" P_SOCK_OPTS, "NAME" },
    { "tcp-inlet", "list", cmd_inlet, "the daemon's inlets",
      "Usage: veil tcp-inlet list [options]\n"
      "One line per inlet: name, listening address and port, route, trust, streams\n"
      "open, opened, refused, resets, bytes out and in.\n\n" P_SOCK_OPTS, NULL },
    { "tcp-inlet", "delete", cmd_inlet, "stop an inlet (its streams are reset)",
      "Usage: veil tcp-inlet delete [options] NAME\n\n" P_SOCK_OPTS, "NAME" },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};
