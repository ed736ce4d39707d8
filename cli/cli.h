/* veil — the command line program (docs/CLI.md, man/veil.1).
 *
 * Built on libveil's public API only (<veil/...>).  One file per group of
 * subcommands (identity.c, vault.c, config.c); common.c holds what they
 * share: options, errors and exit codes, opening a vault and an entity;
 * passphrase.c prompts on the terminal and hands the passphrase to the
 * file vault through a pipe (its passphrase_fd key). */
#ifndef VEIL_CLI_H
#define VEIL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <veil/veil.h>

/* Exit codes (docs/CLI.md, "Exit codes"). */
#define CLI_OK 0
#define CLI_ERROR 1   /* the command ran and failed: veil_last_error() says why */
#define CLI_USAGE 2   /* bad command line: unknown subcommand or option, missing argument */

#define CLI_PASSPHRASE_MAX 1024u /* what the file vault accepts */

/* One subcommand: "identity show" etc. */
typedef struct cli_cmd {
    const char *group;         /* "identity" */
    const char *verb;          /* "show" */
    int (*run)(const struct cli_cmd *cmd, int argc, char **argv);
    const char *summary;       /* one line for `veil --help` */
    const char *help;          /* the text of `veil GROUP VERB --help` */
    const char *args;          /* its arguments, for messages ("FILE"); NULL: none */
} cli_cmd;

/* Options shared by the subcommands; each parser accepts its own subset. */
#define CLI_OPT_VAULT 0x1u     /* -c CONFIG, --vault PATH, --passphrase-env, --passphrase-fd */
#define CLI_OPT_NAME 0x2u      /* --name NAME */
#define CLI_OPT_OUTPUT 0x4u    /* -o FILE */
#define CLI_OPT_EXPECT 0x8u    /* --expect IDENTIFIER */

typedef struct cli_opts {
    const char *config;        /* -c / --config */
    const char *vault;         /* --vault PATH */
    const char *pass_env;      /* --passphrase-env NAME */
    int pass_fd;               /* --passphrase-fd N, -1 when absent */
    const char *name;          /* --name, "default" */
    const char *output;        /* -o / --output */
    const char *expect;        /* --expect IDENTIFIER */
    int nargs;                 /* positional arguments left */
    char **args;
} cli_opts;

/* Parse argv (argv[0] is the verb) for the options in `accept`; exactly
 * min..max positional arguments.  CLI_OK, CLI_USAGE (printed), or -1 when
 * --help was given and printed (the command then exits 0). */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, unsigned accept, int min, int max,
              cli_opts *out);

/* "veil: GROUP VERB: <veil_last_error()>" on stderr; returns CLI_ERROR. */
int cli_fail(const cli_cmd *cmd, int rc);
/* "veil: GROUP VERB: <message>" and the --help hint; returns CLI_USAGE. */
int cli_usage(const cli_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What a command opens: a node from the configuration (-c, or one made for
 * --vault), its [vault], and optionally the entity --name. */
typedef struct cli_session {
    veil_config *cfg;
    veil_node *node;
    veil_context *app;
    veil_vault *vault;
    veil_entity *entity;
    const char *path;          /* the file vault's path, NULL for other plugins */
} cli_session;

/* How the vault file is opened: the file vault's `create` key. */
typedef enum cli_create {
    CLI_EXISTING = 0,          /* create = no: a missing file is an error */
    CLI_NEW = 1,               /* create = new: an existing file is an error */
} cli_create;

/* Build the configuration from the options (usage errors are printed and
 * give CLI_USAGE), get the passphrase, make the node, open [vault].
 * CLI_OK, CLI_USAGE or CLI_ERROR (printed). */
int cli_session_open(const cli_cmd *cmd, const cli_opts *o, cli_create create,
                     cli_session *s);
/* Also open the entity o->name (must exist). */
int cli_session_open_entity(const cli_cmd *cmd, const cli_opts *o, cli_session *s);
void cli_session_close(cli_session *s);

/* What most commands are: parse (options `accept`, min..max arguments),
 * open the existing vault (and the entity --name when with_entity), run
 * fn, which returns 0 or a veil error (printed), close.  An exit code. */
typedef int (*cli_session_fn)(cli_session *s, const cli_opts *o);
int cli_run(const cli_cmd *cmd, int argc, char **argv, unsigned accept, int min, int max,
            bool with_entity, cli_session_fn fn);

/* The configuration alone (for config check and vault sessions). */
int cli_config_load(const cli_cmd *cmd, const cli_opts *o, veil_config **out);

/* passphrase.c: read a passphrase from /dev/tty with echo off (confirm:
 * ask twice); 0 or a veil error (VEIL_EIO no terminal, VEIL_ELIMIT too
 * long, VEIL_EINVAL empty or not confirmed). */
int cli_prompt(const char *prompt, bool confirm, char *buf, size_t cap, size_t *len);
/* A pipe holding the passphrase, its read end in *fd (O_CLOEXEC). */
int cli_pipe_passphrase(const char *pass, size_t len, int *fd);
void cli_wipe(void *p, size_t n);

/* Helpers for output. */
void cli_hex(const uint8_t *in, size_t n, char *out);
/* "Ed25519" / "ECDSA P-256" for an identity key type (veil_secret_type). */
const char *cli_key_type_text(int type);
/* Print where e's identity key and its static key live, each line
 * "<indent><label>" followed by the place (a token with the key's label
 * and CKA_ID, or the vault file, or memory): veil_entity_key_location. */
int cli_print_key_places(const cli_session *s, const veil_entity *e, const char *indent);
/* "2026-12-03T07:00:00Z", or "never" for 0 / VEIL_EXPIRES_NEVER when
 * never_zero. */
void cli_time(uint64_t t, char out[32]);

/* The groups. */
extern const cli_cmd cli_identity_cmds[];
extern const cli_cmd cli_vault_cmds[];
extern const cli_cmd cli_config_cmds[];
extern const cli_cmd cli_node_cmds[];           /* node_run.c */
extern const cli_cmd cli_status_cmds[];         /* control_client.c */
extern const cli_cmd cli_channel_cmds[];
extern const cli_cmd cli_connection_cmds[];
extern const cli_cmd cli_secure_channel_cmds[];
extern const cli_cmd cli_message_cmds[];
extern const cli_cmd cli_relay_cmds[];          /* relay.c */
extern const cli_cmd cli_tcp_outlet_cmds[];     /* portal_client.c */
extern const cli_cmd cli_tcp_inlet_cmds[];

#endif
