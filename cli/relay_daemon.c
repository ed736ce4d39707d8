/* The daemon's relay parts (docs/CLI.md, "Relays"; docs/CONFIG.md,
 * "[relay]" and "[register.NAME]"): the registry of a relaying daemon
 * ([relay], or `veil relay create`), the names a daemon behind NAT keeps
 * registered at a relay ([register.NAME], or `veil relay register`), and
 * the control requests relay-create, relay-list and relay-register. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "daemon.h"

#define REGISTRANTS_MAX 64u

static const char *const relay_keys[] = { "registry", "forward", "max_names", "max_per_identity",
                                          "refusals_per_second", "registrants", "reserve",
                                          "restart_hold_ms", NULL };
static const char *const register_keys[] = { "relay", "listener", "relay_identity",
                                             "keepalive_ms", "registry", NULL };

static int bad(const veil_config *cfg, const char *sec, const char *key, const char *why)
{
    const char *where = veil_config_origin(cfg, sec, key);
    return veil_error_set(VEIL_ECONFIG, "%s%s[%s] %s = '%s': %s", where != NULL ? where : "",
                          where != NULL ? ": " : "", sec, key, veil_config_get(cfg, sec, key),
                          why);
}

static int uint_key(const veil_config *cfg, const char *sec, const char *key, long long max,
                    unsigned *out)
{
    long long v = 0;
    int rc = veil_config_get_int(cfg, sec, key, 0, 0, max, &v);
    *out = (unsigned)v;
    return rc;
}

/* Split the list at [relay] key into out (at most REGISTRANTS_MAX; buf
 * holds the strings); *n gets how many. */
static int split_key(const veil_config *cfg, const char *key, char *buf, size_t cap,
                     const char **out, size_t *n)
{
    const char *list = veil_config_get(cfg, "relay", key);
    char *save = NULL;
    *n = 0;
    if (list == NULL)
        return 0;
    snprintf(buf, cap, "%s", list);
    for (char *t = strtok_r(buf, ", \t", &save); t != NULL; t = strtok_r(NULL, ", \t", &save)) {
        if (*n == REGISTRANTS_MAX)
            return bad(cfg, "relay", key, "more than 64 entries");
        out[(*n)++] = t;
    }
    return 0;
}

typedef struct relay_lists {
    char ids_buf[4096], res_buf[4096];
    const char *ids[REGISTRANTS_MAX], *res[REGISTRANTS_MAX];
} relay_lists;

/* [relay] into options (l holds the lists it points to). */
static int relay_options(const veil_config *cfg, veil_relay_registry_options *o, relay_lists *l)
{
    bool on = false;
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->forward_address = veil_config_get(cfg, "relay", "forward");
    int rc = veil_config_check_keys(cfg, "relay", relay_keys);
    if (rc == 0)
        rc = uint_key(cfg, "relay", "max_names", 65536, &o->max_names);
    if (rc == 0)
        rc = uint_key(cfg, "relay", "max_per_identity", 65536, &o->max_per_identity);
    if (rc == 0)
        rc = uint_key(cfg, "relay", "refusals_per_second", 100000, &o->refusals_per_second);
    if (rc == 0)
        rc = uint_key(cfg, "relay", "restart_hold_ms", 86400000, &o->restart_hold_ms);
    if (rc == 0)
        rc = veil_config_get_bool(cfg, "node", "relay", false, &on);
    if (rc == 0 && !on)
        rc = veil_error_set(VEIL_ECONFIG, "[relay]: needs '[node] relay = true' (the node "
                                          "forwards for registered names; docs/CONFIG.md)");
    if (rc == 0)
        rc = split_key(cfg, "registrants", l->ids_buf, sizeof l->ids_buf, l->ids, &o->n_registrants);
    if (rc == 0)
        rc = split_key(cfg, "reserve", l->res_buf, sizeof l->res_buf, l->res, &o->n_reserved);
    o->registrants = o->n_registrants > 0 ? l->ids : NULL;
    o->reserved = o->n_reserved > 0 ? l->res : NULL;
    return rc;
}

static int register_check(const veil_config *cfg, const char *sec)
{
    unsigned ka;
    int rc = veil_config_check_keys(cfg, sec, register_keys);
    static const char *const needed[] = { "relay", "listener", "relay_identity" };
    for (size_t i = 0; rc == 0 && i < 3; i++)
        if (veil_config_get(cfg, sec, needed[i]) == NULL)
            rc = veil_error_set(VEIL_ECONFIG, "[%s]: needs '%s' (relay = HOST:PORT, listener = "
                                "the relay's listener, relay_identity = its identifier)", sec,
                                needed[i]);
    if (rc == 0 && !veil_relay_name_valid(sec + strlen("register.")))
        rc = veil_error_set(VEIL_ECONFIG, "[%s]: the name '%s' is not 1..64 bytes of "
                            "[A-Za-z0-9._-]", sec, sec + strlen("register."));
    if (rc == 0)
        rc = uint_key(cfg, sec, "keepalive_ms", 3600000, &ka);
    return rc;
}

static bool is_register(const char *sec)
{
    return strncmp(sec, "register.", 9) == 0 && sec[9] != '\0';
}

int daemon_relay_check(const veil_config *cfg)
{
    int rc = 0;
    if (veil_config_has_section(cfg, "relay")) {
        veil_relay_registry_options o;
        relay_lists l;
        rc = relay_options(cfg, &o, &l);
    }
    size_t n = veil_config_section_count(cfg);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (is_register(veil_config_section_name(cfg, i)))
            rc = register_check(cfg, veil_config_section_name(cfg, i));
    return rc;
}

static int relay_create(veil_daemon *d)
{
    veil_relay_registry_options o;
    static relay_lists l;
    int rc = relay_options(d->cfg, &o, &l);
    const char *registry = veil_config_get(d->cfg, "relay", "registry");
    if (rc == 0)
        rc = veil_relay_registry_start(d->node, registry, &o);
    if (rc == 0)
        dlog(VEIL_LOG_INFO, "relay: registry at '%s', forwarder at '%s'",
             registry != NULL ? registry : "relay_registry",
             o.forward_address != NULL ? o.forward_address : "relay");
    return rc;
}

static void on_state(veil_node *node, const char *name, int rc, const char *detail, void *arg)
{
    (void)node, (void)arg;
    if (rc == 0)
        dlog(VEIL_LOG_INFO, "relay: name '%s' registered", name);
    else
        dlog(VEIL_LOG_WARN, "relay: name '%s' not registered (%s): %s", name, veil_strerror(rc),
             detail);
}

static int register_start(veil_daemon *d, const char *name, const char *where,
                          const char *listener, const char *id, unsigned keepalive_ms,
                          const char *registry)
{
    veil_relay_register_options o = { .size = sizeof o, .on_state = on_state, .arg = d,
                                      .keepalive_ms = keepalive_ms, .registry = registry };
    int rc = veil_relay_register_start(d->entity, where, listener, id, name, &o);
    if (rc == 0)
        dlog(VEIL_LOG_INFO, "relay: registering '%s' at %s (listener %s)", name, where, listener);
    return rc;
}

static void restore_name(veil_daemon *d, const char *name, const char *const *f);

int daemon_relay_start(veil_daemon *d)
{
    int rc = veil_config_has_section(d->cfg, "relay") ? relay_create(d) : 0;
    size_t n = veil_config_section_count(d->cfg);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *sec = veil_config_section_name(d->cfg, i);
        unsigned ka = 0;
        if (!is_register(sec))
            continue;
        rc = uint_key(d->cfg, sec, "keepalive_ms", 3600000, &ka);
        if (rc == 0)
            rc = register_start(d, sec + 9, veil_config_get(d->cfg, sec, "relay"),
                                veil_config_get(d->cfg, sec, "listener"),
                                veil_config_get(d->cfg, sec, "relay_identity"), ka,
                                veil_config_get(d->cfg, sec, "registry"));
    }
    if (rc == 0) /* then the ones registered at run time before a restart */
        rc = daemon_keep_restore(d, "register", 3, restore_name);
    return rc;
}

/* ---- control requests --------------------------------------------------- */

typedef struct list_ctx {
    struct ctl_client *c;
} list_ctx;

static void list_one(const char *name, const char *owner, const char *route, void *arg)
{
    ctl_reply(((list_ctx *)arg)->c, "= name %s owner %s route %s", name, owner, route);
}

static void list_registered(struct ctl_client *c, veil_daemon *d)
{
    size_t n = veil_config_section_count(d->cfg);
    for (size_t i = 0; i < n; i++) {
        const char *sec = veil_config_section_name(d->cfg, i);
        bool up = false;
        unsigned times = 0;
        if (is_register(sec) && veil_relay_register_status(d->node, sec + 9, &up, &times) == 0)
            ctl_reply(c, "= registered %s at %s %s registrations %u", sec + 9,
                      veil_config_get(d->cfg, sec, "relay"), up ? "up" : "down", times);
    }
    for (size_t i = 0; i < DAEMON_RELAY_NAMES_MAX; i++) {
        bool up = false;
        unsigned times = 0;
        const daemon_relay_name *r = &d->relay_names[i];
        if (r->used && veil_relay_register_status(d->node, r->name, &up, &times) == 0)
            ctl_reply(c, "= registered %s at %s %s registrations %u", r->name, r->where,
                      up ? "up" : "down", times);
    }
}

static void do_list(struct ctl_client *c, veil_daemon *d)
{
    veil_relay_registry_stats st;
    list_ctx lc = { c };
    if (veil_relay_registry_get_stats(d->node, &st) == 0) {
        ctl_reply(c, "= relay names %u registered %llu refused %llu forwarded %llu returned %llu "
                  "unknown %llu refusals_suppressed %llu dropped %llu expired %llu", st.names,
                  (unsigned long long)st.registered, (unsigned long long)st.refused,
                  (unsigned long long)st.forwarded, (unsigned long long)st.returned,
                  (unsigned long long)st.unknown, (unsigned long long)st.refusals_suppressed,
                  (unsigned long long)st.dropped_return, (unsigned long long)st.expired);
        if (veil_relay_registry_list(d->node, list_one, &lc) < 0)
            dlog(VEIL_LOG_WARN, "relay-list: %s", veil_last_error());
    }
    list_registered(c, d);
    ctl_reply(c, "ok");
}

/* Start keeping name registered (a relay-register request, or one kept
 * from before a restart); the configuration's [register.NAME] and the
 * names registered already refuse it. */
static int add_name(veil_daemon *d, const char *name, const char *where, const char *listener,
                    const char *id)
{
    char sec[16 + VEIL_RELAY_NAME_MAX];
    snprintf(sec, sizeof sec, "register.%s", name);
    daemon_relay_name *slot = NULL;
    for (size_t i = 0; i < DAEMON_RELAY_NAMES_MAX; i++)
        if (d->relay_names[i].used && strcmp(d->relay_names[i].name, name) == 0)
            return veil_error_set(VEIL_EEXIST, "relay-register: '%s' is registered already",
                                  name);
    if (veil_config_has_section(d->cfg, sec))
        return veil_error_set(VEIL_EEXIST, "relay-register: [%s] in the configuration "
                              "registers '%s' (the configuration wins)", sec, name);
    for (size_t i = 0; i < DAEMON_RELAY_NAMES_MAX && slot == NULL; i++)
        if (!d->relay_names[i].used)
            slot = &d->relay_names[i];
    if (slot == NULL)
        return veil_error_set(VEIL_ELIMIT, "relay-register: this daemon registers %u names "
                              "already", DAEMON_RELAY_NAMES_MAX);
    int rc = register_start(d, name, where, listener, id, 0, NULL);
    if (rc == 0) {
        slot->used = true;
        snprintf(slot->name, sizeof slot->name, "%s", name);
        snprintf(slot->where, sizeof slot->where, "%s", where);
    }
    return rc;
}

static void restore_name(veil_daemon *d, const char *name, const char *const *f)
{
    if (add_name(d, name, f[0], f[1], f[2]) < 0)
        dlog(VEIL_LOG_WARN, "relay: '%s' registered at run time before the restart is not "
             "registered again: %s", name, veil_last_error());
}

/* relay-unregister NAME: stop keeping a name registered with relay-register */
static int do_unregister(veil_daemon *d, const char *name)
{
    for (size_t i = 0; i < DAEMON_RELAY_NAMES_MAX; i++) {
        daemon_relay_name *r = &d->relay_names[i];
        if (!r->used || strcmp(r->name, name) != 0)
            continue;
        int rc = veil_relay_register_stop(d->node, name);
        r->used = false;
        daemon_keep_delete(d, "register", name);
        dlog(VEIL_LOG_INFO, "relay: '%s' no longer registered", name);
        return rc;
    }
    return veil_error_set(VEIL_ENOTFOUND, "relay-unregister: '%s' was not registered with "
                          "relay-register", name);
}

/* relay-register NAME HOST:PORT LISTENER IDENTIFIER */
static int do_register(veil_daemon *d, char *args)
{
    char *save = NULL, *f[4];
    size_t n = 0;
    for (char *t = strtok_r(args, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save))
        if (n < 4)
            f[n++] = t;
        else
            return veil_error_set(VEIL_EINVAL, "relay-register: NAME HOST:PORT LISTENER IDENTIFIER");
    if (n != 4)
        return veil_error_set(VEIL_EINVAL, "relay-register: NAME HOST:PORT LISTENER IDENTIFIER");
    int rc = add_name(d, f[0], f[1], f[2], f[3]);
    const char *keep[3] = { f[1], f[2], f[3] };
    if (rc == 0)
        daemon_keep_put(d, "register", f[0], keep, 3);
    return rc;
}

bool relay_dispatch(struct ctl_client *c, veil_daemon *d, const char *verb, char *args, int *rc)
{
    *rc = 0;
    if (strcmp(verb, "relay-list") == 0 && args == NULL)
        do_list(c, d);
    else if (strcmp(verb, "relay-create") == 0 && args == NULL)
        *rc = relay_create(d);
    else if (strcmp(verb, "relay-register") == 0 && args != NULL)
        *rc = do_register(d, args);
    else if (strcmp(verb, "relay-unregister") == 0 && args != NULL && strchr(args, ' ') == NULL)
        *rc = do_unregister(d, args);
    else
        return false;
    if (*rc == 0 && strcmp(verb, "relay-list") != 0)
        ctl_reply(c, "ok");
    return true;
}
