/* Trust policy objects: plugin instances and all/any combinators.
 *
 * Fail closed everywhere: a plugin's error, a malformed trust info, an
 * unexpected return value all deny.  Every denial's detail names the peer
 * (full identifier), the policy and where it was defined, and for a
 * combinator which member refused and why. */
#include <veil/error.h>
#include <veil/plugin.h>
#include <veil/trust_policy.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity_internal.h"
#include "core/upper.h"
#include "core/util.h"

#define MAX_DEPTH 16u      /* nesting of all/any sections */
#define WHERE_MAX 96u

enum { POLICY_PLUGIN = 1, POLICY_ALL = 2, POLICY_ANY = 3 };

struct veil_trust_policy {
    int kind;
    char name[VEIL_CONFIG_NAME_MAX + 1];   /* plugin name, "all" or "any" */
    char where[WHERE_MAX];                 /* "[policy.bob]", "created by program" */
    /* plugin instances */
    const veil_trust_policy_ops *ops;
    void *inst;
    veil_plugin *owned_plugin;             /* veil_trust_policy_new only (a reference) */
    veil_config *owned_config;
    char section[VEIL_CONFIG_NAME_MAX + 1];
    veil_config_scope scope;
    /* combinators */
    veil_trust_policy **members;
    size_t n;
};

static const char PROGRAM[] = "created by program";

/* Trust policy plugins are this layer's kind: [policy], [policy.NAME]. */
__attribute__((constructor)) static void register_kind(void)
{
    static const veil_plugin_kind_info kind = {
        VEIL_PLUGIN_TRUST_POLICY, "policy", VEIL_ABI_SIZE(veil_trust_policy_ops, check), true,
    };
    veil__plugin_kind_register(&kind);
}

void veil_trust_policy_free(veil_trust_policy *p)
{
    if (p == NULL)
        return;
    if (p->ops != NULL)
        p->ops->instance_free(p->inst);
    veil_plugin_close(p->owned_plugin);
    veil_config_free(p->owned_config);
    for (size_t i = 0; i < p->n; i++)
        veil_trust_policy_free(p->members[i]);
    free(p->members);
    free(p);
}

const char *veil_trust_policy_name(const veil_trust_policy *p)
{
    return p != NULL ? p->name : NULL;
}

/* ---- plugin instances ------------------------------------------------- */

/* Make the instance once the plugin is loaded; scope must already be set. */
static int make_instance(veil_trust_policy *p, veil_plugin *plugin)
{
    const veil_plugin_descriptor *d = veil_plugin_descriptor_of(plugin);
    const veil_trust_policy_ops *ops = d->ops;
    veil__strlcpy(p->name, d->name, sizeof p->name);
    void *inst = NULL;
    int rc = ops->instance_new(veil_plugin_state(plugin), &p->scope, &inst);
    if (rc < 0)
        return veil_error_wrap(rc, "policy '%s' (%s) refused its configuration", p->name,
                               p->where);
    p->ops = ops;
    p->inst = inst;
    return 0;
}

static int policy_alloc(int kind, const char *where, veil_trust_policy **out)
{
    veil_trust_policy *p = calloc(1, sizeof *p);
    if (p == NULL)
        return veil_error_set(VEIL_ENOMEM, "trust policy: out of memory");
    p->kind = kind;
    veil__strlcpy(p->where, where, sizeof p->where);
    *out = p;
    return 0;
}

static int set_keys(veil_config *cfg, const char *section, const char *const *kv)
{
    for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2) {
        if (kv[i + 1] == NULL)
            return veil_error_set(VEIL_EINVAL, "trust policy: key '%s' has no value (key_values "
                                  "is a NULL-terminated list of key, value pairs)", kv[i]);
        if (strcmp(kv[i], "plugin") == 0)
            return veil_error_set(VEIL_EINVAL, "trust policy: key 'plugin' is not allowed in "
                                  "key_values (the plugin is the name argument)");
        int rc = veil_config_set(cfg, section, kv[i], kv[i + 1]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- the node's policy plugins --------------------------------------- */

/* Policies made by program share one load of their plugin per node: the
 * first veil_trust_policy_new for a name loads it (path search, dlopen,
 * checks, init), later ones take a reference (searching the plugin path
 * per channel set-up showed in its cost: docs/PROTOCOL.md,
 * "Performance").  The cache is the node extension "veil.policy_plugins"; its
 * references are dropped when the node stops (policy_plugins_gone), each
 * policy holds its own, so a plugin is finalised and closed after the
 * node and the last policy using it, in either order.  The plugin is
 * loaded without configuration (its init sees an empty scope): a policy's
 * keys go to its instance, checked against the descriptor's config_keys
 * exactly as a load would.  Node thread only, like the node. */
#define POLICY_PLUGINS "veil.policy_plugins"

typedef struct cached_plugin {
    struct cached_plugin *next;
    veil_plugin *plugin;
    char name[];
} cached_plugin;

typedef struct policy_plugins {
    cached_plugin *head;
} policy_plugins;

static void policy_plugins_gone(veil_node *node, void *data)
{
    (void)node;
    policy_plugins *pp = data;
    while (pp->head != NULL) {
        cached_plugin *c = pp->head;
        pp->head = c->next;
        veil_plugin_close(c->plugin); /* fini/dlclose now if no policy holds it */
        free(c);
    }
    free(pp);
}

static int node_cache(veil_node *node, policy_plugins **out)
{
    *out = veil_node_extension_get(node, POLICY_PLUGINS);
    if (*out != NULL)
        return 0;
    policy_plugins *pp = calloc(1, sizeof *pp);
    if (pp == NULL)
        return veil_error_set(VEIL_ENOMEM, "trust policy: out of memory");
    int rc = veil_node_extension_add(node, POLICY_PLUGINS, pp, policy_plugins_gone);
    if (rc < 0) {
        free(pp);
        return rc;
    }
    *out = pp;
    return 0;
}

/* A reference on the node's load of the plugin `name`, loading it first. */
static int shared_plugin(veil_node *node, const char *name, veil_plugin **out)
{
    policy_plugins *pp;
    int rc = node_cache(node, &pp);
    if (rc < 0)
        return rc;
    for (cached_plugin *c = pp->head; c != NULL; c = c->next)
        if (strcmp(c->name, name) == 0) {
            veil__plugin_ref(c->plugin);
            *out = c->plugin;
            return 0;
        }
    veil_plugin *p = NULL;
    if ((rc = veil_plugin_open_named(name, NULL, "policy.program", VEIL_PLUGIN_TRUST_POLICY, node,
                                     &p)) < 0)
        return rc;
    size_t len = strlen(name);
    cached_plugin *c = malloc(sizeof *c + len + 1);
    if (c != NULL) { /* without memory for the entry this policy keeps its own load */
        c->plugin = p; /* the node's reference */
        memcpy(c->name, name, len + 1);
        c->next = pp->head;
        pp->head = c;
        veil__plugin_ref(p);
    }
    *out = p;
    return 0;
}

int veil_trust_policy_new(veil_node *node, const char *name, const char *const *key_values,
                          veil_trust_policy **out)
{
    static atomic_uint counter;
    if (name == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_trust_policy_new: %s is NULL",
                              name == NULL ? "name" : "out");
    veil_trust_policy *p = NULL;
    int rc = policy_alloc(POLICY_PLUGIN, PROGRAM, &p);
    if (rc < 0)
        return rc;
    snprintf(p->section, sizeof p->section, "policy.program.%u",
             atomic_fetch_add(&counter, 1u));
    rc = veil_config_new(&p->owned_config);
    if (rc == 0)
        rc = set_keys(p->owned_config, p->section, key_values);
    if (rc == 0 && node != NULL)
        rc = shared_plugin(node, name, &p->owned_plugin);
    else if (rc == 0) /* no node to keep it: a load of its own */
        rc = veil_plugin_open_named(name, NULL, "policy.program", VEIL_PLUGIN_TRUST_POLICY,
                                    NULL, &p->owned_plugin);
    if (rc == 0)
        rc = veil__plugin_check_section(p->owned_plugin, p->owned_config, p->section);
    p->scope = (veil_config_scope){ p->owned_config, p->section };
    if (rc == 0)
        rc = make_instance(p, p->owned_plugin);
    if (rc < 0) {
        veil_trust_policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int veil_trust_policy_new_identifier(veil_node *node, const char *const *identifiers, size_t n,
                                     veil_trust_policy **out)
{
    if (identifiers == NULL || n == 0 || out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_trust_policy_new_identifier: %s",
                              out == NULL ? "out is NULL" : "no identifiers given");
    char list[VEIL_CONFIG_VALUE_MAX + 1];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (identifiers[i] == NULL)
            return veil_error_set(VEIL_EINVAL, "veil_trust_policy_new_identifier: identifier %zu "
                                  "is NULL", i);
        size_t l = strlen(identifiers[i]);
        if (len + l + 2 > VEIL_CONFIG_VALUE_MAX)
            return veil_error_set(VEIL_ELIMIT, "veil_trust_policy_new_identifier: %zu identifiers "
                                  "do not fit one configuration value (%u bytes)", n,
                                  (unsigned)VEIL_CONFIG_VALUE_MAX);
        if (i > 0)
            list[len++] = ',';
        memcpy(list + len, identifiers[i], l);
        len += l;
    }
    list[len] = '\0';
    const char *kv[] = { "identifiers", list, NULL };
    return veil_trust_policy_new(node, "identifier", kv, out);
}

/* ---- combinators ------------------------------------------------------- */

static int combine(int kind, veil_trust_policy **members, size_t n, const char *where,
                   veil_trust_policy **out)
{
    const char *what = kind == POLICY_ALL ? "all" : "any";
    int rc = 0;
    if (out == NULL || members == NULL || n == 0)
        rc = veil_error_set(VEIL_EINVAL, "trust policy '%s': %s", what,
                            out == NULL ? "out is NULL"
                                        : "no members (an empty combinator is refused)");
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (members[i] == NULL)
            rc = veil_error_set(VEIL_EINVAL, "trust policy '%s': member %zu is NULL", what, i);
    veil_trust_policy *p = NULL;
    if (rc == 0)
        rc = policy_alloc(kind, where, &p);
    if (rc == 0 && (p->members = calloc(n, sizeof *p->members)) == NULL)
        rc = veil_error_set(VEIL_ENOMEM, "trust policy '%s': out of memory", what);
    if (rc < 0) {
        veil_trust_policy_free(p);
        for (size_t i = 0; members != NULL && i < n; i++)
            veil_trust_policy_free(members[i]);
        return rc;
    }
    veil__strlcpy(p->name, what, sizeof p->name);
    memcpy(p->members, members, n * sizeof *members);
    p->n = n;
    *out = p;
    return 0;
}

int veil_trust_policy_new_all(veil_trust_policy **members, size_t n, veil_trust_policy **out)
{
    return combine(POLICY_ALL, members, n, PROGRAM, out);
}

int veil_trust_policy_new_any(veil_trust_policy **members, size_t n, veil_trust_policy **out)
{
    return combine(POLICY_ANY, members, n, PROGRAM, out);
}

/* ---- from configuration ------------------------------------------------ */

typedef struct build_ctx {
    veil_node *node;
    const veil_config *cfg;
    const char *stack[MAX_DEPTH];
    size_t depth;
} build_ctx;

static int from_section(build_ctx *b, const char *section, veil_trust_policy **out);

static bool is_policy_section(const char *s)
{
    return strcmp(s, "policy") == 0 || (strncmp(s, "policy.", 7) == 0 && s[7] != '\0');
}

static int check_member(build_ctx *b, const char *section, const char *key, const char *name)
{
    const char *origin = veil_config_origin(b->cfg, section, key);
    if (!is_policy_section(name))
        return veil_error_set(VEIL_ECONFIG, "%s: [%s] %s names '%s', which is not a policy "
                              "section (expected policy or policy.NAME)", origin, section, key,
                              name);
    for (size_t i = 0; i < b->depth; i++) {
        if (strcmp(b->stack[i], name) != 0)
            continue;
        char path[512];
        size_t len = 0;
        for (size_t j = i; j < b->depth && len < sizeof path; j++)
            len += (size_t)snprintf(path + len, sizeof path - len, "%s -> ", b->stack[j]);
        return veil_error_set(VEIL_ECONFIG, "%s: [%s] %s: cycle among policy sections: %s%s",
                              origin, section, key, path, name);
    }
    return 0;
}

/* Build every member named in the list value of section.key. */
static int build_members(build_ctx *b, const char *section, const char *key,
                         veil_trust_policy ***members, size_t *n)
{
    const char *value = veil_config_get(b->cfg, section, key);
    char *copy = strdup(value), *save = NULL;
    size_t cap = strlen(value) / 2 + 1;
    veil_trust_policy **m = calloc(cap, sizeof *m);
    int rc = copy == NULL || m == NULL ? veil_error_set(VEIL_ENOMEM, "out of memory") : 0;
    *n = 0;
    for (char *t = copy != NULL ? strtok_r(copy, ", \t", &save) : NULL; t != NULL && rc == 0;
         t = strtok_r(NULL, ", \t", &save)) {
        rc = check_member(b, section, key, t);
        if (rc == 0)
            rc = from_section(b, t, &m[*n]);
        if (rc == 0)
            (*n)++;
    }
    if (rc == 0 && *n == 0)
        rc = veil_error_set(VEIL_ECONFIG, "%s: [%s] %s is empty (an empty combinator is "
                            "refused: it would mean allow-all or deny-all by accident)",
                            veil_config_origin(b->cfg, section, key), section, key);
    free(copy);
    if (rc < 0) {
        for (size_t i = 0; m != NULL && i < *n; i++)
            veil_trust_policy_free(m[i]);
        free(m);
        return rc;
    }
    *members = m;
    return 0;
}

static int combinator_from_section(build_ctx *b, const char *section, const char *key,
                                   veil_trust_policy **out)
{
    const char *const allowed[] = { key, NULL };
    int rc = veil_config_check_keys(b->cfg, section, allowed);
    if (rc < 0)
        return rc;
    if (b->depth >= MAX_DEPTH)
        return veil_error_set(VEIL_ECONFIG, "%s: [%s]: policies nested more than %u deep",
                              veil_config_origin(b->cfg, section, key), section, MAX_DEPTH);
    veil_trust_policy **members;
    size_t n;
    b->stack[b->depth++] = section;
    rc = build_members(b, section, key, &members, &n);
    b->depth--;
    if (rc < 0)
        return rc;
    char where[WHERE_MAX];
    snprintf(where, sizeof where, "[%s]", section);
    rc = combine(strcmp(key, "all") == 0 ? POLICY_ALL : POLICY_ANY, members, n, where, out);
    free(members);
    return rc;
}

static int plugin_from_section(build_ctx *b, const char *section, veil_trust_policy **out)
{
    char where[WHERE_MAX];
    snprintf(where, sizeof where, "[%s]", section);
    if (veil_config_get(b->cfg, section, "plugin") == NULL)
        return veil_error_set(VEIL_ECONFIG, "configuration section [%s] has none of 'plugin', "
                              "'all', 'any' (a trust policy needs one)", section);
    veil_plugin *plugin;
    int rc = veil__node_plugin(b->node, section, VEIL_PLUGIN_TRUST_POLICY, NULL, &plugin);
    if (rc < 0)
        return veil_error_wrap(rc, "trust policy %s", where);
    veil_trust_policy *p = NULL;
    if ((rc = policy_alloc(POLICY_PLUGIN, where, &p)) < 0)
        return rc;
    veil__strlcpy(p->section, section, sizeof p->section);
    p->scope = (veil_config_scope){ b->cfg, p->section };
    if ((rc = make_instance(p, plugin)) < 0) {
        veil_trust_policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static int from_section(build_ctx *b, const char *section, veil_trust_policy **out)
{
    if (!veil_config_has_section(b->cfg, section))
        return veil_error_set(VEIL_ECONFIG, "the configuration has no section [%s] (a trust "
                              "policy needs 'plugin = NAME', 'all = ...' or 'any = ...')",
                              section);
    bool all = veil_config_get(b->cfg, section, "all") != NULL;
    bool any = veil_config_get(b->cfg, section, "any") != NULL;
    if (all && any)
        return veil_error_set(VEIL_ECONFIG, "%s: [%s] has both 'all' and 'any' (use one; nest "
                              "a section for the other)",
                              veil_config_origin(b->cfg, section, "any"), section);
    if (all || any)
        return combinator_from_section(b, section, all ? "all" : "any", out);
    return plugin_from_section(b, section, out);
}

int veil_trust_policy_new_from_config(veil_node *node, const char *section, veil_trust_policy **out)
{
    if (node == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_trust_policy_new_from_config: %s is NULL",
                              node == NULL ? "node" : "out");
    if (section == NULL)
        section = "policy";
    if (!is_policy_section(section))
        return veil_error_set(VEIL_EINVAL, "veil_trust_policy_new_from_config: '%s' is not a "
                              "policy section (expected policy or policy.NAME)", section);
    build_ctx b;
    memset(&b, 0, sizeof b);
    b.node = node;
    b.cfg = veil_node_config(node);
    return from_section(&b, section, out);
}

/* ---- checking ---------------------------------------------------------- */

static int check_policy(veil_trust_policy *p, const veil_trust_info *info);

/* The plugin's check answers 0 (allow) or VEIL_EDENIED (deny, with or
 * without a detail of its own); anything else is a failure, which denies
 * too: fail closed. */
static int check_plugin(veil_trust_policy *p, const veil_trust_info *info)
{
    veil_error_set(0, "%s", "");
    int r = p->ops->check(p->inst, info);
    if (r == 0)
        return 0;
    char why[512];
    veil__strlcpy(why, veil_last_error(), sizeof why);
    if (r == VEIL_EDENIED)
        return veil_error_set(VEIL_EDENIED, "peer %s refused by policy '%s' (%s)%s%s",
                              info->peer_identifier, p->name, p->where,
                              why[0] != '\0' ? ": " : "", why);
    return veil_error_set(VEIL_EDENIED, "peer %s refused by policy '%s' (%s): the policy "
                          "failed (returned %d%s%s), which denies", info->peer_identifier,
                          p->name, p->where, r, why[0] != '\0' ? ": " : "", why);
}

static int check_all(veil_trust_policy *p, const veil_trust_info *info)
{
    for (size_t i = 0; i < p->n; i++) {
        if (check_policy(p->members[i], info) != 0)
            return veil_error_wrap(VEIL_EDENIED, "peer %s refused by policy 'all' (%s) because "
                                   "member %zu of %zu refused", info->peer_identifier,
                                   p->where, i + 1, p->n);
    }
    return 0;
}

static int check_any(veil_trust_policy *p, const veil_trust_info *info)
{
    char why[768];
    size_t len = 0;
    why[0] = '\0';
    for (size_t i = 0; i < p->n; i++) {
        if (check_policy(p->members[i], info) == 0)
            return 0;
        if (len < sizeof why)
            len += (size_t)snprintf(why + len, sizeof why - len, "%s(%zu) %s",
                                    i > 0 ? "; " : "", i + 1, veil_last_error());
    }
    return veil_error_set(VEIL_EDENIED, "peer %s refused by policy 'any' (%s): all %zu members "
                          "refused: %s", info->peer_identifier, p->where, p->n, why);
}

static int check_policy(veil_trust_policy *p, const veil_trust_info *info)
{
    switch (p->kind) {
    case POLICY_ALL:
        return check_all(p, info);
    case POLICY_ANY:
        return check_any(p, info);
    default:
        return check_plugin(p, info);
    }
}

int veil_trust_policy_check(veil_trust_policy *p, const veil_trust_info *info)
{
    if (p == NULL || info == NULL)
        return veil_error_set(VEIL_EDENIED, "trust policy check: %s is NULL (denied: fail "
                              "closed)", p == NULL ? "policy" : "info");
    /* peer_key_type was appended: an info made before it ends at route. */
    const size_t min = VEIL_ABI_SIZE(veil_trust_info, route);
    if (info->size < min)
        return veil_error_set(VEIL_EDENIED, "trust policy check: info->size %zu is smaller "
                              "than veil_trust_info (%zu) (denied: fail closed)", info->size,
                              min);
    if (info->peer_identifier == NULL)
        return veil_error_set(VEIL_EDENIED, "trust policy check: no peer identifier (denied: "
                              "fail closed)");
    return check_policy(p, info);
}
