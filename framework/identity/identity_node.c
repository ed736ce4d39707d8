/* Per-node identity state: the [identity] settings and the node's contacts
 * table, made on first use and kept as the node extension "veil.contacts",
 * so the node releases it when it stops (contacts_gone) without the
 * runtime knowing about identities.  The node's thread only. */
#include <veil/config.h>
#include <veil/entity.h>
#include <veil/error.h>
#include <veil/store.h>
#include <veil/trust_policy.h>

#include <stdlib.h>
#include <string.h>

#include "contacts_internal.h"

#define YEARS_100 3155760000LL
#define CONTACTS_EXTENSION "veil.contacts"

static const char *const identity_keys[] = {
    "key_lifetime", "clock_skew", "max_key_lifetime", "contacts_max", "key_type", NULL
};

static int settings_from(const veil_config *cfg, veil_identity_settings *out)
{
    long long v;
    int rc = 0;
    veil__identity_defaults(out);
    if (veil_config_has_section(cfg, "identity") &&
        (rc = veil_config_check_keys(cfg, "identity", identity_keys)) < 0)
        return rc;
    if ((rc = veil_config_get_int(cfg, "identity", "key_lifetime", VEIL_KEY_LIFETIME_DEFAULT, 0,
                                  YEARS_100, &v)) < 0)
        return rc;
    out->key_lifetime = (uint64_t)v;
    if ((rc = veil_config_get_int(cfg, "identity", "clock_skew", VEIL_CLOCK_SKEW_DEFAULT, 0,
                                  86400, &v)) < 0)
        return rc;
    out->clock_skew = (uint64_t)v;
    if ((rc = veil_config_get_int(cfg, "identity", "max_key_lifetime",
                                  VEIL_MAX_KEY_LIFETIME_DEFAULT, 0, YEARS_100, &v)) < 0)
        return rc;
    out->max_key_lifetime = (uint64_t)v;
    if ((rc = veil_config_get_int(cfg, "identity", "contacts_max", VEIL_CONTACTS_MAX_DEFAULT, 1,
                                  65536, &v)) < 0)
        return rc;
    out->contacts_max = (size_t)v;
    const char *type = veil_config_get(cfg, "identity", "key_type");
    if (type != NULL && (out->key_type = veil__key_type_parse(type)) == 0)
        return veil_error_set(VEIL_ECONFIG, "%s: [identity] key_type '%s' is not known (expected "
                              "ed25519 or p256)", veil_config_origin(cfg, "identity", "key_type"),
                              type);
    return 0;
}

static int read_settings(veil_node *node, veil_identity_settings *out)
{
    return settings_from(veil_node_config(node), out);
}

/* [identity] is checked whole when a node is made (issue #16). */
static int check_section(veil_node *node, const veil_config *cfg, const char *section)
{
    veil_identity_settings s;
    (void)node;
    (void)section;
    return settings_from(cfg, &s);
}

/* [policy] / [policy.NAME] at node creation: built as an application
 * would build it (plugins instantiated, member sections resolved), then
 * freed, so a policy's bad key or value fails veil_node_new. */
static int check_policy(veil_node *node, const veil_config *cfg, const char *section)
{
    veil_trust_policy *p = NULL;
    (void)cfg;
    if (node == NULL)
        return 0;
    int rc = veil_trust_policy_new_from_config(node, section, &p);
    veil_trust_policy_free(p);
    return rc;
}

__attribute__((constructor)) static void register_section(void)
{
    /* Valid patterns in a table with room: cannot fail at load. */
    if (veil_config_register_section("identity", check_section) < 0 ||
        veil_config_register_section("policy", check_policy) < 0 ||
        veil_config_register_section("policy.*", check_policy) < 0)
        abort();
}

/* The node is stopping: entities still alive (freed after the node) must
 * not reach back. */
static void contacts_gone(veil_node *node, void *data)
{
    (void)node;
    veil_contacts *c = data;
    for (size_t i = 0; i < c->nentities; i++)
        veil__entity_leave_node(c->entities[i]);
    free(c->entities);
    veil__contacts_free_all(c);
    free(c);
}

int veil__contacts_for(veil_node *node, veil_contacts **out)
{
    if ((*out = veil_node_extension_get(node, CONTACTS_EXTENSION)) != NULL)
        return 0;
    veil_identity_settings set;
    int rc = read_settings(node, &set);
    if (rc < 0)
        return rc;
    veil_contacts *c = calloc(1, sizeof *c);
    if (c == NULL)
        return veil_error_set(VEIL_ENOMEM, "contacts: out of memory");
    c->set = set;
    if ((rc = veil_node_store(node, &c->store)) < 0 ||
        (rc = veil_node_extension_add(node, CONTACTS_EXTENSION, c, contacts_gone)) < 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int veil_contacts_of(veil_node *node, veil_contacts **out)
{
    if (node == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_contacts_of: %s is NULL",
                              node == NULL ? "node" : "out");
    return veil__contacts_for(node, out);
}

const veil_identity_settings *veil__contacts_settings(const veil_contacts *c)
{
    return &c->set;
}

int veil__contacts_register(veil_contacts *c, veil_entity *e)
{
    if (c->nentities == c->entities_cap) {
        size_t ncap = c->entities_cap ? 2 * c->entities_cap : 4;
        veil_entity **n = realloc(c->entities, ncap * sizeof *n);
        if (n == NULL)
            return veil_error_set(VEIL_ENOMEM, "contacts: out of memory");
        c->entities = n;
        c->entities_cap = ncap;
    }
    c->entities[c->nentities++] = e;
    int rc = veil__contacts_load(c, e);
    if (rc == 0)
        rc = veil__contacts_state_load(c, e);
    if (rc < 0)
        c->nentities--;
    return rc;
}

void veil__contacts_unregister(veil_contacts *c, veil_entity *e)
{
    for (size_t i = 0; i < c->nentities; i++) {
        if (c->entities[i] == e) {
            c->entities[i] = c->entities[--c->nentities];
            return;
        }
    }
}
