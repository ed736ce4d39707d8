/* What the subcommands share (cli.h): option parsing, errors and exit
 * codes, and opening the configuration, the node, the vault and an
 * entity. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* ---- errors ------------------------------------------------------------ */

int cli_fail(const cli_cmd *cmd, int rc)
{
    const char *detail = veil_last_error();
    fprintf(stderr, "veil: %s %s: %s\n", cmd->group, cmd->verb,
            detail[0] != '\0' ? detail : veil_strerror(rc));
    return CLI_ERROR;
}

int cli_usage(const cli_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "veil: %s %s: ", cmd->group, cmd->verb);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'veil %s %s --help'.\n", cmd->group, cmd->verb);
    return CLI_USAGE;
}

/* ---- options ----------------------------------------------------------- */

enum { OPT_VAULT = 256, OPT_PASS_ENV, OPT_PASS_FD, OPT_NAME, OPT_EXPECT };

static const struct option long_options[] = {
    { "config", required_argument, NULL, 'c' },
    { "vault", required_argument, NULL, OPT_VAULT },
    { "passphrase-env", required_argument, NULL, OPT_PASS_ENV },
    { "passphrase-fd", required_argument, NULL, OPT_PASS_FD },
    { "name", required_argument, NULL, OPT_NAME },
    { "output", required_argument, NULL, 'o' },
    { "expect", required_argument, NULL, OPT_EXPECT },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* The group an option belongs to (0: always accepted). */
static unsigned option_group(int c)
{
    switch (c) {
    case 'c': case OPT_VAULT: case OPT_PASS_ENV: case OPT_PASS_FD:
        return CLI_OPT_VAULT;
    case OPT_NAME:
        return CLI_OPT_NAME;
    case 'o':
        return CLI_OPT_OUTPUT;
    case OPT_EXPECT:
        return CLI_OPT_EXPECT;
    default:
        return 0;
    }
}

static int parse_fd(const cli_cmd *cmd, const char *text, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v > INT_MAX)
        return cli_usage(cmd, "--passphrase-fd '%s' is not a file descriptor number", text);
    *out = (int)v;
    return CLI_OK;
}

static int set_option(const cli_cmd *cmd, int c, cli_opts *o)
{
    switch (c) {
    case 'c': o->config = optarg; break;
    case OPT_VAULT: o->vault = optarg; break;
    case OPT_PASS_ENV: o->pass_env = optarg; break;
    case OPT_PASS_FD: return parse_fd(cmd, optarg, &o->pass_fd);
    case OPT_NAME: o->name = optarg; break;
    case 'o': o->output = optarg; break;
    case OPT_EXPECT: o->expect = optarg; break;
    default: break;
    }
    return CLI_OK;
}

/* The option text getopt stopped at, for messages: idx is the long
 * option matched (-1 for none). */
static const char *bad_option(char **argv, int c, int idx, char *buf, size_t cap)
{
    if (c != '?' && c != ':') {
        if (idx >= 0)
            snprintf(buf, cap, "--%s", long_options[idx].name);
        else
            snprintf(buf, cap, "-%c", c);
        return buf;
    }
    if (optopt != 0 && optopt < 256) {
        snprintf(buf, cap, "-%c", optopt);
        return buf;
    }
    return argv[optind - 1];
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, unsigned accept, int min, int max,
              cli_opts *out)
{
    char buf[32];
    int c, idx = -1, rc;
    memset(out, 0, sizeof *out);
    out->pass_fd = -1;
    out->name = "default";
    opterr = 0;
    optind = 0; /* a full reset: import parses twice */
    while ((c = getopt_long(argc, argv, ":c:o:h", long_options, &idx)) != -1) {
        const char *opt = bad_option(argv, c, idx, buf, sizeof buf);
        idx = -1;
        if (c == 'h') {
            fputs(cmd->help, stdout);
            return -1;
        }
        if (c == ':')
            return cli_usage(cmd, "option '%s' needs a value", opt);
        if (c == '?' || (option_group(c) & accept) != option_group(c))
            return cli_usage(cmd, "unknown option '%s'", opt);
        if ((rc = set_option(cmd, c, out)) != CLI_OK)
            return rc;
    }
    out->nargs = argc - optind;
    out->args = argv + optind;
    if (out->nargs < min)
        return cli_usage(cmd, "missing argument %s", cmd->args != NULL ? cmd->args : "");
    if (out->nargs > max)
        return cli_usage(cmd, "unexpected argument '%s'", out->args[max]);
    if (out->pass_env != NULL && out->pass_fd >= 0)
        return cli_usage(cmd, "give --passphrase-env or --passphrase-fd, not both");
    return CLI_OK;
}

/* ---- configuration ----------------------------------------------------- */

int cli_config_load(const cli_cmd *cmd, const cli_opts *o, veil_config **out)
{
    int rc;
    *out = NULL;
    if (o->config != NULL && o->vault != NULL)
        return cli_usage(cmd, "give -c CONFIG or --vault PATH, not both");
    if (o->config == NULL && o->vault == NULL)
        return cli_usage(cmd, "no vault: give --vault PATH or -c CONFIG");
    if (o->config != NULL)
        rc = veil_config_new_from_file(out, o->config);
    else if ((rc = veil_config_new(out)) == 0 &&
             (rc = veil_config_set(*out, "vault", "plugin", "file")) == 0)
        rc = veil_config_set(*out, "vault", "path", o->vault);
    if (rc != 0) {
        veil_config_free(*out);
        *out = NULL;
        return cli_fail(cmd, rc);
    }
    return CLI_OK;
}

/* The vault and identity commands use [vault] and [identity] only: the
 * other sections are removed, so that no transport listens and no other
 * plugin loads for them, and no section that only a plugin not loaded
 * here registers ([prekeys] of x3dh) is refused as unknown. */
static int keep_vault_identity(veil_config *cfg)
{
    size_t i = 0;
    while (i < veil_config_section_count(cfg)) {
        const char *sec = veil_config_section_name(cfg, i);
        if (strcmp(sec, "vault") == 0 || strcmp(sec, "identity") == 0) {
            i++;
            continue;
        }
        int rc = veil_config_remove_section(cfg, sec);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static const char *const pass_keys[] = { "passphrase_env", "passphrase_file", "passphrase_fd",
                                         "passphrase", "passphrase_mode", NULL };

/* The command line's passphrase source replaces the configuration's. */
static int replace_source(veil_config *cfg, const char *key, const char *value)
{
    for (size_t i = 0; pass_keys[i] != NULL; i++) {
        int rc = veil_config_unset(cfg, "vault", pass_keys[i]);
        if (rc != 0 && rc != VEIL_ENOTFOUND)
            return rc;
    }
    return veil_config_set(cfg, "vault", key, value);
}

static bool has_source(const veil_config *cfg)
{
    for (size_t i = 0; pass_keys[i] != NULL; i++)
        if (veil_config_get(cfg, "vault", pass_keys[i]) != NULL)
            return true;
    return false;
}

/* Prompt on the terminal; the passphrase goes into a pipe whose read end
 * becomes passphrase_fd (*pipe_fd, closed by the caller). */
static int prompt_source(veil_config *cfg, const char *path, cli_create create, int *pipe_fd)
{
    static char pass[CLI_PASSPHRASE_MAX + 2];
    char prompt[PATH_MAX + 64], num[16];
    size_t len = 0;
    snprintf(prompt, sizeof prompt, "%s for vault file %s: ",
             create == CLI_NEW ? "New passphrase" : "Passphrase", path);
    int rc = cli_prompt(prompt, create == CLI_NEW, pass, sizeof pass, &len);
    if (rc == 0)
        rc = cli_pipe_passphrase(pass, len, pipe_fd);
    cli_wipe(pass, sizeof pass);
    if (rc != 0)
        return rc;
    snprintf(num, sizeof num, "%d", *pipe_fd);
    return replace_source(cfg, "passphrase_fd", num);
}

/* The file vault's `create` and passphrase, from the options. */
static int file_vault_options(const cli_opts *o, veil_config *cfg, cli_create create,
                              int *pipe_fd)
{
    char num[16];
    int rc = veil_config_set(cfg, "vault", "create", create == CLI_NEW ? "new" : "no");
    if (rc != 0)
        return rc;
    if (o->pass_env != NULL && getenv(o->pass_env) == NULL)
        return veil_error_set(VEIL_ECONFIG, "--passphrase-env %s: no such variable in the "
                                            "environment", o->pass_env);
    if (o->pass_env != NULL)
        return replace_source(cfg, "passphrase_env", o->pass_env);
    if (o->pass_fd >= 0) {
        snprintf(num, sizeof num, "%d", o->pass_fd);
        return replace_source(cfg, "passphrase_fd", num);
    }
    if (has_source(cfg))
        return 0;
    const char *path = veil_config_get(cfg, "vault", "path");
    if (path == NULL)
        return veil_error_set(VEIL_ECONFIG, "[vault]: the file vault needs 'path = FILE'");
    /* Say so before asking for a passphrase that could not be used (the
     * vault checks again, under its lock). */
    bool exists = access(path, F_OK) == 0;
    if (create == CLI_NEW && exists)
        return veil_error_set(VEIL_EEXIST, "vault file %s already exists", path);
    if (create == CLI_EXISTING && !exists && errno == ENOENT)
        return veil_error_set(VEIL_ENOTFOUND, "vault file %s does not exist", path);
    return prompt_source(cfg, path, create, pipe_fd);
}

static int vault_kind(const cli_cmd *cmd, const cli_opts *o, const veil_config *cfg,
                      bool *is_file)
{
    const char *plugin = veil_config_get(cfg, "vault", "plugin");
    *is_file = plugin != NULL && strcmp(plugin, "file") == 0;
    if (!*is_file && (o->pass_env != NULL || o->pass_fd >= 0))
        return cli_usage(cmd, "--passphrase-env and --passphrase-fd are for file vaults; "
                              "[vault] uses plugin '%s'", plugin != NULL ? plugin : "software");
    if (plugin == NULL || strcmp(plugin, "software") == 0) {
        veil_error_set(VEIL_EUNSUPPORTED, "[vault] uses plugin 'software', which keeps nothing "
                                          "once the command ends; use a file vault (--vault "
                                          "PATH, or plugin = file in [vault])");
        return cli_fail(cmd, VEIL_EUNSUPPORTED);
    }
    return CLI_OK;
}

int cli_session_open(const cli_cmd *cmd, const cli_opts *o, cli_create create,
                     cli_session *s)
{
    bool is_file = false;
    int pipe_fd = -1;
    memset(s, 0, sizeof *s);
    int rc = cli_config_load(cmd, o, &s->cfg);
    if (rc == CLI_OK && (rc = vault_kind(cmd, o, s->cfg, &is_file)) == CLI_OK) {
        veil_node_options opts = { sizeof opts, s->cfg, NULL };
        int err = keep_vault_identity(s->cfg);
        if (err == 0 && is_file)
            err = file_vault_options(o, s->cfg, create, &pipe_fd);
        if (err == 0)
            err = veil_node_new(&s->node, &s->app, &opts);
        if (err == 0)
            err = veil_vault_open(s->node, NULL, &s->vault);
        if (pipe_fd >= 0)
            close(pipe_fd);
        if (err != 0)
            rc = cli_fail(cmd, err);
    }
    if (rc != CLI_OK) {
        cli_session_close(s);
        return rc;
    }
    s->path = is_file ? veil_config_get(s->cfg, "vault", "path") : NULL;
    return CLI_OK;
}

int cli_session_open_entity(const cli_cmd *cmd, const cli_opts *o, cli_session *s)
{
    int rc = veil_entity_open(s->node, s->vault, o->name, 0, &s->entity);
    if (rc == VEIL_ENOTFOUND)
        veil_error_set(rc, "no identity named '%s' in vault %s (make one with 'veil identity "
                           "create')", o->name, s->path != NULL ? s->path : "[vault]");
    return rc != 0 ? cli_fail(cmd, rc) : CLI_OK;
}

void cli_session_close(cli_session *s)
{
    veil_entity_close(s->entity);
    veil_vault_close(s->vault);
    if (s->node != NULL && veil_node_free(s->node) != 0)
        fprintf(stderr, "veil: stopping the node: %s\n", veil_last_error());
    veil_config_free(s->cfg);
    memset(s, 0, sizeof *s);
}

int cli_run(const cli_cmd *cmd, int argc, char **argv, unsigned accept, int min, int max,
            bool with_entity, cli_session_fn fn)
{
    cli_opts o;
    cli_session s;
    int rc = cli_parse(cmd, argc, argv, accept, min, max, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if ((rc = cli_session_open(cmd, &o, CLI_EXISTING, &s)) != CLI_OK)
        return rc;
    if (!with_entity || (rc = cli_session_open_entity(cmd, &o, &s)) == CLI_OK) {
        int err = fn(&s, &o);
        if (err != 0)
            rc = cli_fail(cmd, err);
    }
    cli_session_close(&s);
    return rc;
}

/* ---- output ------------------------------------------------------------ */

void cli_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void cli_time(uint64_t t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t == 0 || t == UINT64_MAX || t > (uint64_t)INT64_MAX / 2 || gmtime_r(&tt, &tm) == NULL ||
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, t == 0 || t == UINT64_MAX ? "never" : "%llu", (unsigned long long)t);
}

const char *cli_key_type_text(int type)
{
    return type == VEIL_SECRET_P256 ? "ECDSA P-256" : type == VEIL_SECRET_ED25519 ? "Ed25519"
                                                                                 : "?";
}

/* The place of a key for people: the vault's description, and the file a
 * software key of a file vault is kept in. */
static void place(const cli_session *s, int loc, const char *where, char *out, size_t cap)
{
    if (loc == VEIL_KEY_IN_SOFTWARE && s->path != NULL)
        snprintf(out, cap, "%s, file %s", where, s->path);
    else
        snprintf(out, cap, "%s", where);
}

int cli_print_key_places(const cli_session *s, const veil_entity *e, const char *indent)
{
    char kw[512], sw[512], line[1024];
    uint8_t key[VEIL_IDENTITY_KEY_MAX_BYTES];
    size_t n;
    int kl, sl, type;
    int rc = veil_entity_key_location(e, &kl, &sl, kw, sw, sizeof kw);
    if (rc == 0)
        rc = veil_entity_public_key(e, &type, key, &n);
    if (rc != 0)
        return rc;
    place(s, kl, kw, line, sizeof line);
    printf("%skey at:     %s (%s, %s)\n", indent, line, cli_key_type_text(type),
           kl == VEIL_KEY_IN_TOKEN ? "in a token" : "in software");
    place(s, sl, sw, line, sizeof line);
    printf("%sstatic key: %s (X25519, %s)\n", indent, line,
           sl == VEIL_KEY_IN_TOKEN ? "in a token" : "in software");
    return 0;
}
