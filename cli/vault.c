/* veil vault create|show (docs/CLI.md). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VAULT_OPTIONS                                                                  \
    "  -c, --config FILE        the vault of FILE's [vault] section (plugin = file)\n" \
    "      --vault PATH         the file vault at PATH\n"                             \
    "      --passphrase-env NAME  the passphrase is in environment variable NAME\n"   \
    "      --passphrase-fd N    read the passphrase from file descriptor N\n"         \
    "                           (default: the configuration's source, else a prompt\n" \
    "                           on the terminal)\n"                                   \
    "  -h, --help               this text\n"

static int vault_create(const cli_cmd *cmd, int argc, char **argv)
{
    cli_opts o;
    cli_session s;
    int rc = cli_parse(cmd, argc, argv, CLI_OPT_VAULT, 0, 0, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if ((rc = cli_session_open(cmd, &o, CLI_NEW, &s)) != CLI_OK)
        return rc;
    if (s.path == NULL) {
        veil_error_set(VEIL_EUNSUPPORTED, "vault create makes file vaults; [vault] uses "
                                          "plugin '%s'", veil_vault_plugin_name(s.vault));
        rc = cli_fail(cmd, VEIL_EUNSUPPORTED);
    } else {
        printf("created vault file %s (crypto %s)\n", s.path, veil_vault_backend(s.vault));
    }
    cli_session_close(&s);
    return rc;
}

/* ---- show ---------------------------------------------------------------- */

#define ENTITY_PREFIX "veil.entity."
#define HISTORY_SUFFIX ".history"

typedef struct names {
    char **v;
    size_t n, cap;
} names;

/* Every "veil.entity.NAME.history" record is an identity (veil/entity.h). */
static int collect(void *arg, const char *name, size_t len)
{
    names *l = arg;
    size_t pre = strlen(ENTITY_PREFIX), suf = strlen(HISTORY_SUFFIX), n = strlen(name);
    (void)len;
    if (n <= pre + suf || strcmp(name + n - suf, HISTORY_SUFFIX) != 0)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap != 0 ? 2 * l->cap : 8;
        char **v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return veil_error_set(VEIL_ENOMEM, "out of memory");
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = strndup(name + pre, n - pre - suf);
    if (l->v[l->n] == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory");
    l->n++;
    return 0;
}

static void names_free(names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* Open every identity (so its contacts join the node's table), print. */
static int show_identities(cli_session *s, const names *l)
{
    veil_entity **e = calloc(l->n + 1, sizeof *e);
    veil_contacts *contacts;
    veil_history_info info;
    size_t len;
    int rc = e == NULL ? veil_error_set(VEIL_ENOMEM, "out of memory") : 0;
    for (size_t i = 0; rc == 0 && i < l->n; i++)
        rc = veil_entity_open(s->node, s->vault, l->v[i], 0, &e[i]);
    if (rc == 0)
        rc = veil_contacts_of(s->node, &contacts);
    if (rc == 0)
        printf("identities: %zu\n", l->n);
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        const uint8_t *h = veil_entity_history(e[i], &len);
        if ((rc = veil_history_verify_at(s->vault, h, len, NULL, &info)) == 0)
            printf("  %s %s events %zu\n", l->v[i], info.identifier, info.events);
        if (rc == 0)
            rc = cli_print_key_places(s, e[i], "    ");
    }
    if (rc == 0)
        printf("contacts:   %zu\n", veil_contacts_count(contacts));
    for (size_t i = 0; e != NULL && i < l->n; i++)
        veil_entity_close(e[i]);
    free(e);
    return rc;
}

static int show(cli_session *s, const cli_opts *o)
{
    names l = { 0 };
    (void)o;
    printf("vault:      %s %s\n", veil_vault_plugin_name(s->vault), s->path != NULL ? s->path : "-");
    printf("crypto:     %s\n", veil_vault_backend(s->vault));
    int rc = veil_vault_record_list(s->vault, ENTITY_PREFIX, collect, &l);
    if (rc == 0)
        rc = show_identities(s, &l);
    names_free(&l);
    return rc;
}

static int vault_show(const cli_cmd *cmd, int argc, char **argv)
{
    return cli_run(cmd, argc, argv, CLI_OPT_VAULT, 0, 0, false, show);
}

const cli_cmd cli_vault_cmds[] = {
    { "vault", "create", vault_create, "make a new, empty file vault",
      "Usage: veil vault create (--vault PATH | -c CONFIG) [options]\n"
      "Make a new file vault (mode 0600), sealed with a key derived from the\n"
      "passphrase (scrypt; the configuration's kdf_n, kdf_r, kdf_p, else\n"
      "N = 2^17, r = 8, p = 1).  Refused when the file exists.  The prompt asks\n"
      "twice.\n\n" VAULT_OPTIONS, NULL },
    { "vault", "show", vault_show, "print a vault's plugin, path, identities and contacts",
      "Usage: veil vault show (--vault PATH | -c CONFIG) [options]\n"
      "Open the vault and print its plugin, path, crypto backend, the identities it\n"
      "holds (name, identifier, number of history events, where the identity key\n"
      "and the static key live and their types) and how many contacts.\n\n"
      VAULT_OPTIONS, NULL },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};
