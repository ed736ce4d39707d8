/* veil identity create|show|rotate|export|import (docs/CLI.md). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define VAULT_OPTIONS                                                                  \
    "  -c, --config FILE        the vault of FILE's [vault] section\n"                \
    "      --vault PATH         the file vault at PATH\n"                             \
    "      --passphrase-env NAME  the passphrase is in environment variable NAME\n"   \
    "      --passphrase-fd N    read the passphrase from file descriptor N\n"         \
    "                           (default: the configuration's source, else a prompt\n" \
    "                           on the terminal)\n"
#define NAME_OPTION "      --name NAME          the identity's name in the vault (default: default)\n"
#define HELP_OPTION "  -h, --help               this text\n"

/* ---- create, rotate ------------------------------------------------------ */

static int identity_create(const cli_cmd *cmd, int argc, char **argv)
{
    cli_opts o;
    cli_session s;
    int rc = cli_parse(cmd, argc, argv, CLI_OPT_VAULT | CLI_OPT_NAME, 0, 0, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if ((rc = cli_session_open(cmd, &o, CLI_EXISTING, &s)) != CLI_OK)
        return rc;
    int err = veil_entity_open(s.node, s.vault, o.name, VEIL_ENTITY_CREATE | VEIL_ENTITY_EXCL,
                               &s.entity);
    if (err == VEIL_EEXIST)
        veil_error_set(err, "vault %s already holds an identity named '%s'", s.path, o.name);
    if (err != 0)
        rc = cli_fail(cmd, err);
    else
        printf("%s\n", veil_entity_identifier(s.entity));
    cli_session_close(&s);
    return rc;
}

#define KEY_HEX (2 * VEIL_IDENTITY_KEY_MAX_BYTES + 1)

static int rotate(cli_session *s, const cli_opts *o)
{
    uint8_t key[VEIL_IDENTITY_KEY_MAX_BYTES];
    char hex[KEY_HEX];
    size_t n;
    int type;
    (void)o;
    int rc = veil_entity_rotate(s->entity);
    if (rc == 0)
        rc = veil_entity_public_key(s->entity, &type, key, &n);
    if (rc == 0) {
        cli_hex(key, n, hex);
        printf("%s %s\n", veil_entity_identifier(s->entity), hex);
    }
    return rc;
}

static int identity_rotate(const cli_cmd *cmd, int argc, char **argv)
{
    return cli_run(cmd, argc, argv, CLI_OPT_VAULT | CLI_OPT_NAME, 0, 0, true, rotate);
}

/* ---- show ---------------------------------------------------------------- */

static void print_events(const veil_history_event *ev, size_t n)
{
    char hex[KEY_HEX], created[32], expires[32];
    for (size_t i = 0; i < n; i++) {
        cli_hex(ev[i].key, ev[i].key_len, hex);
        cli_time(ev[i].created, created);
        cli_time(ev[i].expires, expires);
        printf("  %llu %-6s key %s (%s) created %s expires %s\n", (unsigned long long)ev[i].seq,
               i == 0 ? "create" : "rotate", hex, cli_key_type_text(ev[i].key_type), created,
               expires);
    }
}

static int print_contact(void *arg, const veil_contact_info *c)
{
    char hex[KEY_HEX], expires[32];
    (void)arg;
    cli_hex(c->history.current_key, c->history.key_len, hex);
    cli_time(c->history.expires, expires);
    printf("  %s %s events %zu key %s expires %s\n", c->history.identifier,
           c->pinned ? "pinned" : "learned", c->history.events, hex, expires);
    return 0;
}

static int show(cli_session *s, const cli_opts *o)
{
    veil_history_event ev[VEIL_HISTORY_MAX_EVENTS];
    uint8_t key[VEIL_IDENTITY_KEY_MAX_BYTES];
    char hex[KEY_HEX];
    veil_contacts *contacts;
    size_t len, n, key_len;
    int type;
    const uint8_t *h = veil_entity_history(s->entity, &len);
    int rc = veil_entity_public_key(s->entity, &type, key, &key_len);
    if (rc == 0)
        rc = veil_history_events(s->vault, h, len, ev, VEIL_HISTORY_MAX_EVENTS, &n);
    if (rc == 0)
        rc = veil_contacts_of(s->node, &contacts);
    if (rc != 0)
        return rc;
    cli_hex(key, key_len, hex);
    printf("name:       %s\n", o->name);
    printf("identifier: %s\n", veil_entity_identifier(s->entity));
    printf("key:        %s (%s)\n", hex, cli_key_type_text(type));
    if ((rc = cli_print_key_places(s, s->entity, "")) != 0)
        return rc;
    printf("vault:      %s %s (crypto %s)\n", veil_vault_plugin_name(s->vault),
           s->path != NULL ? s->path : "-", veil_vault_backend(s->vault));
    printf("history:    %zu event%s\n", n, n == 1 ? "" : "s");
    print_events(ev, n);
    printf("contacts:   %zu\n", veil_contacts_count(contacts));
    return veil_contacts_list(contacts, print_contact, NULL);
}

static int identity_show(const cli_cmd *cmd, int argc, char **argv)
{
    return cli_run(cmd, argc, argv, CLI_OPT_VAULT | CLI_OPT_NAME, 0, 0, true, show);
}

/* ---- export, import ------------------------------------------------------ */

static int write_all(int fd, const char *p, size_t n, const char *where)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return veil_error_set(VEIL_EIO, "writing %s: %s", where, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int export_to(const char *output, const uint8_t *h, size_t len)
{
    static char text[2 * VEIL_HISTORY_MAX_BYTES + 2];
    cli_hex(h, len, text);
    text[2 * len] = '\n';
    if (output == NULL || strcmp(output, "-") == 0)
        return write_all(STDOUT_FILENO, text, 2 * len + 1, "standard output");
    int fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return veil_error_set(VEIL_EIO, "cannot create %s: %s", output, strerror(errno));
    int rc = write_all(fd, text, 2 * len + 1, output);
    if (close(fd) != 0 && rc == 0)
        rc = veil_error_set(VEIL_EIO, "writing %s: %s", output, strerror(errno));
    return rc;
}

static int export(cli_session *s, const cli_opts *o)
{
    size_t len;
    const uint8_t *h = veil_entity_history(s->entity, &len);
    return export_to(o->output, h, len);
}

static int identity_export(const cli_cmd *cmd, int argc, char **argv)
{
    return cli_run(cmd, argc, argv, CLI_OPT_VAULT | CLI_OPT_NAME | CLI_OPT_OUTPUT, 0, 0, true,
                   export);
}

static int hex_value(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F'   ? c - 'A' + 10
                                                                 : -1;
}

/* An export: hex digits, whitespace around them ignored. */
static int decode_export(const char *what, const char *text, size_t n, uint8_t *out, size_t cap,
                         size_t *len)
{
    size_t a = 0, b = n;
    while (a < b && strchr(" \t\r\n", text[a]) != NULL)
        a++;
    while (b > a && strchr(" \t\r\n", text[b - 1]) != NULL)
        b--;
    if (a == b)
        return veil_error_set(VEIL_EFORMAT, "%s is empty (expected an identity export: hex "
                                            "digits)", what);
    if ((b - a) % 2 != 0 || (b - a) / 2 > cap)
        return veil_error_set((b - a) / 2 > cap ? VEIL_ELIMIT : VEIL_EFORMAT,
                              "%s: %zu hex digits (expected an even number, at most %zu)", what,
                              b - a, 2 * cap);
    for (size_t i = a; i < b; i += 2) {
        int hi = hex_value((unsigned char)text[i]), lo = hex_value((unsigned char)text[i + 1]);
        if (hi < 0 || lo < 0)
            return veil_error_set(VEIL_EFORMAT, "%s: byte %zu is not a hex digit (expected an "
                                                "identity export)", what,
                                  hi < 0 ? i : i + 1);
        out[(i - a) / 2] = (uint8_t)(hi << 4 | lo);
    }
    *len = (b - a) / 2;
    return 0;
}

static int read_export(const char *file, uint8_t *out, size_t cap, size_t *len)
{
    static char text[2 * VEIL_HISTORY_MAX_BYTES + 64];
    bool in = strcmp(file, "-") == 0;
    const char *what = in ? "standard input" : file;
    int fd = in ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
    size_t n = 0;
    ssize_t r = 0;
    if (fd < 0)
        return veil_error_set(VEIL_EIO, "cannot open %s: %s", file, strerror(errno));
    while (n < sizeof text && ((r = read(fd, text + n, sizeof text - n)) > 0 ||
                               (r < 0 && errno == EINTR)))
        n += r > 0 ? (size_t)r : 0;
    int e = errno;
    if (!in)
        close(fd);
    if (r < 0)
        return veil_error_set(VEIL_EIO, "reading %s: %s", what, strerror(e));
    if (n == sizeof text)
        return veil_error_set(VEIL_ELIMIT, "%s is larger than an identity export can be "
                                           "(%zu bytes)", what, sizeof text - 1);
    return decode_export(what, text, n, out, cap, len);
}

static int import(cli_session *s, const cli_opts *o)
{
    const char *file = o->args[0];
    uint8_t h[VEIL_HISTORY_MAX_BYTES];
    char hex[KEY_HEX];
    veil_contacts *contacts;
    veil_history_info info;
    veil_contact_info out;
    size_t len = 0;
    int rc = read_export(file, h, sizeof h, &len);
    if (rc != 0)
        return rc;
    if ((rc = veil_history_verify_at(s->vault, h, len, NULL, &info)) != 0)
        return veil_error_wrap(rc, "%s", strcmp(file, "-") == 0 ? "standard input" : file);
    if (o->expect != NULL && strcmp(info.identifier, o->expect) != 0)
        return veil_error_set(VEIL_EDENIED, "%s holds the history of %s, not of %s (--expect); "
                              "nothing was pinned", file, info.identifier, o->expect);
    if (strcmp(info.identifier, veil_entity_identifier(s->entity)) == 0)
        return veil_error_set(VEIL_EINVAL, "%s is the history of this identity (%s) itself",
                              file, info.identifier);
    if ((rc = veil_contacts_of(s->node, &contacts)) != 0 ||
        (rc = veil_contacts_pin(contacts, s->vault, h, len, &out)) != 0)
        return rc;
    if (veil_history_verify(s->vault, h, len, NULL) == VEIL_EEXPIRED)
        fprintf(stderr, "veil: identity import: warning: %s\n", veil_last_error());
    cli_hex(out.history.current_key, out.history.key_len, hex);
    printf("%s pinned events %zu key %s\n", out.history.identifier, out.history.events, hex);
    return 0;
}

static int identity_import(const cli_cmd *cmd, int argc, char **argv)
{
    uint8_t digest[32];
    cli_opts o;
    int rc = cli_parse(cmd, argc, argv, CLI_OPT_VAULT | CLI_OPT_NAME | CLI_OPT_EXPECT, 1, 1, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (o.expect != NULL && veil_identifier_parse(o.expect, digest) != 0)
        return cli_usage(cmd, "--expect: %s", veil_last_error());
    return cli_run(cmd, argc, argv, CLI_OPT_VAULT | CLI_OPT_NAME | CLI_OPT_EXPECT, 1, 1, true,
                   import);
}

/* ---- the table ----------------------------------------------------------- */

const cli_cmd cli_identity_cmds[] = {
    { "identity", "create", identity_create, "make a new identity in a vault",
      "Usage: veil identity create (--vault PATH | -c CONFIG) [--name NAME] [options]\n"
      "Make a new identity (an Ed25519 identity key and its change history) in an\n"
      "existing vault and print its identifier.  Refused when the vault already\n"
      "holds an identity of that name.\n\n" VAULT_OPTIONS NAME_OPTION HELP_OPTION, NULL },
    { "identity", "show", identity_show, "print an identity, its vault, history and contacts",
      "Usage: veil identity show (--vault PATH | -c CONFIG) [--name NAME] [options]\n"
      "Print the identifier, the current key and its type, where the identity key\n"
      "and the static key live (a token with the key's label and CKA_ID, the vault\n"
      "file, or memory), the vault (plugin, path, crypto), the change history with each key's created and expires times (UTC), and the\n"
      "contacts the vault holds (peers pinned by 'veil identity import' or learned\n"
      "by channels).\n\n" VAULT_OPTIONS NAME_OPTION HELP_OPTION, NULL },
    { "identity", "rotate", identity_rotate, "replace the identity key (the identifier stays)",
      "Usage: veil identity rotate (--vault PATH | -c CONFIG) [--name NAME] [options]\n"
      "Make a new identity key, signed by the new and the current key, and destroy\n"
      "the old one.  The identifier stays.  Prints the identifier and the new key.\n\n"
      VAULT_OPTIONS NAME_OPTION HELP_OPTION, NULL },
    { "identity", "export", identity_export, "write the change history (public) for peers",
      "Usage: veil identity export (--vault PATH | -c CONFIG) [--name NAME] [-o FILE]\n"
      "Write the identity's change history, which is public, as one line of hex to\n"
      "standard output or FILE.  A peer pins it with 'veil identity import'.\n\n"
      VAULT_OPTIONS NAME_OPTION
      "  -o, --output FILE        write to FILE (created 0644, replaced) instead\n"
      HELP_OPTION, NULL },
    { "identity", "import", identity_import, "pin a peer's exported history as a contact",
      "Usage: veil identity import (--vault PATH | -c CONFIG) [--name NAME]\n"
      "                            [--expect IDENTIFIER] FILE|-\n"
      "Verify a peer's 'veil identity export' (FILE, or - for standard input) and pin\n"
      "it in the contacts of the vault, as veil_contacts_pin: channels with that peer\n"
      "then accept only this history or one that extends it (its later rotations);\n"
      "an older one or a fork is refused.  Pinning an older history than the one\n"
      "known keeps the known one; a fork of it is refused here too.  The identity\n"
      "NAME must exist: contacts are stored with the vault's identities.\n\n"
      VAULT_OPTIONS NAME_OPTION
      "      --expect IDENTIFIER  refuse unless FILE is the history of IDENTIFIER (the\n"
      "                           identifier the peer told you out of band)\n"
      HELP_OPTION, "FILE" },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};
