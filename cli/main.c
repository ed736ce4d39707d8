/* veil — the command: `veil GROUP VERB [options]` (docs/CLI.md). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "cli.h"

static const cli_cmd *const groups[] = { cli_identity_cmds,       cli_vault_cmds,
                                         cli_config_cmds,         cli_node_cmds,
                                         cli_status_cmds,         cli_channel_cmds,
                                         cli_connection_cmds,     cli_secure_channel_cmds,
                                         cli_message_cmds,        cli_tcp_outlet_cmds,
                                         cli_tcp_inlet_cmds,      cli_relay_cmds };
#define N_GROUPS (sizeof groups / sizeof groups[0])

static void print_usage(FILE *out)
{
    fputs("Usage: veil GROUP COMMAND [options]   (veil GROUP COMMAND --help for its options)\n"
          "       veil --help | --version\n\nCommands:\n",
          out);
    for (size_t g = 0; g < N_GROUPS; g++)
        for (const cli_cmd *c = groups[g]; c->group != NULL; c++)
            fprintf(out, "  %-14s %-7s %s\n", c->group, c->verb, c->summary);
    fputs("\nExit status: 0 success, 1 the command failed, 2 bad command line,\n"
          "3 no daemon serves the control socket.\n"
          "See veil(1) and docs/CLI.md.\n",
          out);
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "veil: unknown %s '%s'\nTry 'veil --help'.\n", what, arg);
    return CLI_USAGE;
}

static const cli_cmd *find_group(const char *name)
{
    for (size_t g = 0; g < N_GROUPS; g++)
        if (strcmp(groups[g][0].group, name) == 0)
            return groups[g];
    return NULL;
}

/* `veil GROUP --help`: the group's commands. */
static int group_help(const cli_cmd *group)
{
    printf("Usage: veil %s COMMAND [options]\n\nCommands:\n", group->group);
    for (const cli_cmd *c = group; c->group != NULL; c++)
        printf("  %-7s %s\n", c->verb, c->summary);
    return CLI_OK;
}

static int group_usage(const cli_cmd *group, const char *what, const char *verb)
{
    fprintf(stderr, "veil: %s: %s%s%s%s\nTry 'veil %s --help'.\n", group->group, what,
            verb != NULL ? " '" : "", verb != NULL ? verb : "", verb != NULL ? "'" : "",
            group->group);
    return CLI_USAGE;
}

/* What was printed must have reached standard output (a full disk, a
 * closed pipe): otherwise the command failed. */
static int finish(const cli_cmd *c, int rc)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return rc;
    fprintf(stderr, "veil: %s %s: writing standard output: %s\n", c->group, c->verb,
            strerror(errno));
    return rc != CLI_OK ? rc : CLI_ERROR;
}

/* The daemon's own sections ([daemon], [control], [listener.NAME]):
 * registered so that a node made from the daemon's file accepts them
 * (docs/CONFIG.md, "Sections"); their keys and values are checked by
 * cli/daemon_check.c, before any node is made. */
static int register_sections(void)
{
    static const char *const mine[] = { "daemon", "control", "listener.*", "inlet.*",
                                        "outlet.*", "relay", "register.*" };
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++) {
        int rc = veil_config_register_section(mine[i], NULL);
        if (rc < 0) {
            fprintf(stderr, "veil: registering section [%s]: %s\n", mine[i], veil_last_error());
            return rc;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (register_sections() < 0)
        return CLI_ERROR;
    if (argc < 2)
        return print_usage(stderr), CLI_USAGE;
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return print_usage(stdout), CLI_OK;
    if (strcmp(argv[1], "--version") == 0) {
        printf("veil %s\n", PACKAGE_VERSION);
        return CLI_OK;
    }
    const cli_cmd *group = find_group(argv[1]);
    if (group == NULL)
        return usage_error(argv[1][0] == '-' ? "option" : "command", argv[1]);
    /* `veil status [options]`: a group of one command runs it. */
    if (group[1].group == NULL && (argc < 3 || strcmp(argv[2], group->verb) != 0))
        return finish(group, group->run(group, argc - 1, argv + 1));
    if (argc < 3)
        return group_usage(group, "missing command", NULL);
    if (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)
        return group_help(group);
    for (const cli_cmd *c = group; c->group != NULL; c++)
        if (strcmp(c->verb, argv[2]) == 0)
            return finish(c, c->run(c, argc - 2, argv + 2));
    return group_usage(group, "unknown command", argv[2]);
}
