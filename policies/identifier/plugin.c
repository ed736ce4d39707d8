/* Trust policy "identifier": allow peers whose identifier is in a list.
 *
 *   [policy.bob]
 *   plugin = identifier
 *   identifiers = P1a2b..., P3c4d...     (comma and/or space separated)
 *
 * Every entry is parsed when the instance is made (a bad one refuses the
 * configuration, naming file:line); check compares the peer's identifier
 * with every entry in constant time and never stops early.  Rotations: an
 * identifier is allowed as its entity follows its rotations, under the
 * channel's checks that run before any policy (an unexpired current key;
 * a known peer's history only extended, never rolled back or forked:
 * docs/PROTOCOL.md, "Contacts"). */
#include <veil/entity.h>
#include <veil/error.h>
#include <veil/plugin.h>
#include <veil/trust_policy.h>

#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define MAX_IDENTIFIERS 1024u

/* An instance: the digests of the listed identifiers. */
typedef struct id_list {
    size_t n;
    uint8_t digest[][32];
} id_list;

static const char *const config_keys[] = { "identifiers", NULL };

static const char *origin_of(const veil_config_scope *scope, const char *key)
{
    const char *o = veil_config_scope_origin(scope, key);
    return o != NULL ? o : "(no configuration)";
}

/* Parse one entry into list->digest[list->n]. */
static int add_entry(const veil_config_scope *scope, id_list *list, const char *tok)
{
    char why[256];
    if (list->n >= MAX_IDENTIFIERS)
        return veil_error_set(VEIL_ECONFIG, "%s: [%s] identifiers: more than %u entries",
                              origin_of(scope, "identifiers"), scope->section, MAX_IDENTIFIERS);
    if (veil_identifier_parse(tok, list->digest[list->n]) < 0) {
        strncpy(why, veil_last_error(), sizeof why - 1);
        why[sizeof why - 1] = '\0';
        return veil_error_set(VEIL_ECONFIG, "%s: [%s] identifiers: entry %zu is not an "
                              "identifier: %s", origin_of(scope, "identifiers"), scope->section,
                              list->n + 1, why);
    }
    list->n++;
    return 0;
}

static void instance_free(void *inst)
{
    free(inst);
}

static int instance_new(void *plugin_state, const veil_config_scope *scope, void **inst)
{
    (void)plugin_state;
    const char *value = veil_config_scope_get(scope, "identifiers");
    if (value == NULL)
        return veil_error_set(VEIL_ECONFIG, "[%s]: the identifier policy needs the key "
                              "'identifiers' (one or more identifiers P<64 hex>)",
                              scope->section);
    size_t max = strlen(value) / 65 + 1;
    if (max > MAX_IDENTIFIERS + 1)
        max = MAX_IDENTIFIERS + 1;
    id_list *list = calloc(1, sizeof *list + max * 32);
    char *copy = strdup(value), *save = NULL;
    int rc = list == NULL || copy == NULL
                 ? veil_error_set(VEIL_ENOMEM, "identifier: out of memory") : 0;
    for (char *t = rc == 0 ? strtok_r(copy, ", \t", &save) : NULL; t != NULL && rc == 0;
         t = strtok_r(NULL, ", \t", &save))
        rc = list->n < max ? add_entry(scope, list, t)
                           : veil_error_set(VEIL_ECONFIG, "%s: [%s] identifiers: entry %zu is "
                                            "not an identifier", origin_of(scope, "identifiers"),
                                            scope->section, list->n + 1);
    if (rc == 0 && list->n == 0)
        rc = veil_error_set(VEIL_ECONFIG, "%s: [%s] identifiers is empty (name at least one "
                            "identifier)", origin_of(scope, "identifiers"), scope->section);
    free(copy);
    if (rc < 0) {
        instance_free(list);
        return rc;
    }
    *inst = list;
    return 0;
}

static int check(void *inst, const veil_trust_info *info)
{
    const id_list *list = inst;
    uint8_t peer[32];
    if (veil_identifier_parse(info->peer_identifier, peer) < 0)
        return veil_error_set(VEIL_EFORMAT, "identifier policy: the peer identifier is "
                              "malformed");
    unsigned match = 0;
    for (size_t i = 0; i < list->n; i++)
        match |= (unsigned)(veil__memcmp_ct(peer, list->digest[i], 32) == 0);
    return match != 0 ? 0 : VEIL_EDENIED;
}

static const veil_trust_policy_ops ops = {
    .size = sizeof ops,
    .instance_new = instance_new,
    .instance_free = instance_free,
    .check = check,
};

static const veil_plugin_descriptor descriptor = {
    VEIL_PLUGIN_ABI,
    .kind = VEIL_PLUGIN_TRUST_POLICY,
    .name = "identifier",
    .version = "1.0",
    .description = "allow peers whose identifier is listed (constant-time compare)",
    .config_keys = config_keys,
    .ops = &ops,
};

VEIL_PLUGIN_ENTRY(descriptor)
