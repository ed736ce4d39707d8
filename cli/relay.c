/* veil relay create|list|register — a daemon's relay role and the names it
 * keeps registered at relays (docs/CLI.md, "Relays"), over the control
 * socket (docs/CONTROL.md). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "daemon.h"


/* "veil relay VERB ..." is the request "relay-VERB ..."; register takes
 * four arguments, the others none. */
static int cmd_relay(const cli_cmd *cmd, int argc, char **argv)
{
    char verb[32];
    snprintf(verb, sizeof verb, "relay-%s", cmd->verb);
    int nargs = cmd->args == NULL ? 0 : strchr(cmd->args, ' ') != NULL ? 4 : 1;
    return ctl_client_verb(cmd, argc, argv, verb, nargs);
}

const cli_cmd cli_relay_cmds[] = {
    { "relay", "create", cmd_relay, "start the daemon's relay registry",
      "Usage: veil relay create [options]\n"
      "Start the relay registry and its forwarder in the running daemon, with the\n"
      "settings of its [relay] section (defaults without one).  The daemon's\n"
      "[node] relay must be true, and a listener must allow the registry's\n"
      "address (allowed_workers = relay_registry).\n\n" SOCK_OPTS, NULL },
    { "relay", "list", cmd_relay, "names registered at this relay, and by it",
      "Usage: veil relay list [options]\n"
      "On a relay: its counters ('relay ...') and one line per registered name\n"
      "(name, owner identifier, route to it).  On a registrant: one line per name\n"
      "it keeps registered (relay, up or down, registrations so far).\n\n" SOCK_OPTS,
      NULL },
    { "relay", "register", cmd_relay, "keep NAME registered at a relay",
      "Usage: veil relay register [options] NAME HOST:PORT LISTENER IDENTIFIER\n"
      "The daemon dials the relay at HOST:PORT, opens a secure channel to its\n"
      "LISTENER (the relay must be IDENTIFIER), registers NAME and keeps it\n"
      "registered (keep-alive, re-registration after a reconnect).  Initiators\n"
      "then reach this daemon along '1#HOST:PORT => relay => NAME => LISTENER'.\n"
      "Returns once started; 'veil relay list' shows whether it is up.\n\n" SOCK_OPTS,
      "NAME HOST:PORT LISTENER IDENTIFIER" },
    { "relay", "unregister", cmd_relay, "stop keeping NAME registered",
      "Usage: veil relay unregister [options] NAME\n"
      "Stop keeping NAME registered (one that 'veil relay register' started; a\n"
      "[register.NAME] section is the configuration's).  With [node] state_dir\n"
      "the daemon also forgets it, so a restart does not register it again.\n\n"
      SOCK_OPTS, "NAME" },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};
