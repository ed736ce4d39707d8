/* veil config check FILE (docs/CLI.md): parse, make a node from the file
 * (which loads every plugin it names and checks [node] and the
 * transports), then make what each section describes the way a node's
 * users do: open every vault, build every trust policy, read [identity]
 * and [secure_channel].  Nothing is created: file vaults are opened with
 * create = no, and a missing file is reported, not made. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "daemon.h"

static bool is_slot(const char *section, const char *base)
{
    size_t n = strlen(base);
    return strncmp(section, base, n) == 0 && (section[n] == '\0' || section[n] == '.');
}

/* File vaults are checked without being created. */
static int no_create(veil_config *cfg)
{
    size_t n = veil_config_section_count(cfg);
    for (size_t i = 0; i < n; i++) {
        const char *sec = veil_config_section_name(cfg, i);
        const char *plugin = veil_config_get(cfg, sec, "plugin");
        if (is_slot(sec, "vault") && plugin != NULL && strcmp(plugin, "file") == 0 &&
            veil_config_get(cfg, sec, "create") == NULL) {
            int rc = veil_config_set(cfg, sec, "create", "no");
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

static int check_vault(const char *file, veil_node *node, const char *sec)
{
    veil_vault *v = NULL;
    int rc = veil_vault_open(node, sec, &v);
    veil_vault_close(v);
    /* Every key was read and checked before these two: a node would make
     * the file, or wait for the process holding it. */
    if (rc == VEIL_ENOTFOUND)
        printf("%s: [%s]: note: vault file %s does not exist yet (a node makes it when it "
               "first opens it)\n", file, sec, veil_config_get(veil_node_config(node), sec, "path"));
    else if (rc == VEIL_ELOCKED)
        printf("%s: [%s]: note: not opened: %s\n", file, sec, veil_last_error());
    if (rc == VEIL_ENOTFOUND || rc == VEIL_ELOCKED)
        return 0;
    return rc;
}

static int check_section(const char *file, veil_node *node, const char *sec)
{
    veil_trust_policy *p = NULL;
    int rc = 0;
    if (is_slot(sec, "vault"))
        return check_vault(file, node, sec);
    if (is_slot(sec, "policy")) {
        rc = veil_trust_policy_new_from_config(node, sec, &p);
        veil_trust_policy_free(p);
    }
    return rc;
}

static int check(const char *file, veil_config *cfg)
{
    veil_node *node = NULL;
    veil_context *app;
    veil_contacts *contacts;
    veil_node_options opts = { sizeof opts, cfg, NULL };
    int rc = no_create(cfg);
    if (rc == 0)
        rc = veil_node_new(&node, &app, &opts);
    size_t n = veil_config_section_count(cfg);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = check_section(file, node, veil_config_section_name(cfg, i));
    if (rc == 0)
        rc = veil_contacts_of(node, &contacts); /* reads [identity] */
    if (rc == 0)
        rc = veil_secure_channel_config_check(node);
    if (rc == 0)
        rc = daemon_config_check(node, cfg); /* [daemon], [control], [listener.NAME] */
    if (node != NULL && veil_node_free(node) != 0 && rc == 0)
        rc = VEIL_ESTATE;
    return rc;
}

static int config_check(const cli_cmd *cmd, int argc, char **argv)
{
    cli_opts o;
    veil_config *cfg = NULL;
    int rc = cli_parse(cmd, argc, argv, 0, 1, 1, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    int err = veil_config_new_from_file(&cfg, o.args[0]);
    if (err == 0)
        err = check(o.args[0], cfg);
    veil_config_free(cfg);
    if (err != 0)
        return cli_fail(cmd, err);
    printf("%s: ok\n", o.args[0]);
    return CLI_OK;
}

const cli_cmd cli_config_cmds[] = {
    { "config", "check", config_check, "check a configuration file as a node would",
      "Usage: veil config check FILE\n"
      "Parse FILE, load every plugin it names and check every value: make a node\n"
      "from it, open each [vault] / [vault.NAME] (file vaults with their\n"
      "passphrase source, never created: a missing file is a note), build each\n"
      "[policy] / [policy.NAME], read [identity] and [secure_channel].  Prints\n"
      "'FILE: ok' and exits 0, or prints the first error (file:line where the\n"
      "value has one) and exits 1.\n\n"
      "  -h, --help               this text\n", "FILE" },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};
