/* veil node run: TCP portals (docs/CLI.md, "Portals"): the outlets of
 * [outlet.NAME] and inlets of [inlet.NAME], and the control requests
 * tcp-outlet-* / tcp-inlet-* (docs/CONTROL.md) that add, list and delete
 * them while the daemon runs.  An outlet is reachable through every
 * secure-channel listener of the daemon (added to their allowed workers);
 * its `allow` decides which channel peers may open streams. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "daemon.h"
#include "portal.h"

#define PORTALS_MAX 64u

typedef struct portal_ent {
    bool used, inlet;
    bool from_config;           /* an [inlet.NAME] / [outlet.NAME] (SIGHUP manages it) */
    char name[64];
    char where[128];            /* outlet: to; inlet: from */
    char route[CTL_LINE_MAX];   /* inlet: to (the route ending at the outlet) */
    char trust[1024];           /* outlet: allow; inlet: trust */
    bool resilient;             /* inlet: its channel heals */
} portal_ent;

/* What a section may set beyond the addresses (0: the library's default). */
typedef struct portal_limits {
    uint32_t max_streams, max_window, window_budget;
    bool resilient;             /* inlet only */
} portal_limits;

static portal_ent ents[PORTALS_MAX];

static const char *const outlet_keys[] = { "to", "allow", "max_streams", "max_window",
                                           "window_budget", NULL };
static const char *const inlet_keys[] = { "from", "to", "trust", "max_streams", "resilient",
                                          "max_window", "window_budget", NULL };

static portal_ent *ent_find(const char *name, bool inlet)
{
    for (size_t i = 0; i < PORTALS_MAX; i++)
        if (ents[i].used && ents[i].inlet == inlet && strcmp(ents[i].name, name) == 0)
            return &ents[i];
    return NULL;
}

size_t portal_outlet_names(const char **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < PORTALS_MAX && n < cap; i++)
        if (ents[i].used && !ents[i].inlet)
            out[n++] = ents[i].name;
    return n;
}

static int inlet_policy(veil_node *node, void *user, veil_trust_policy **out)
{
    portal_ent *e = user;
    return daemon_trust_policy(node, e->trust, out);
}

/* Split "ROUTE => OUTLET": route gets all hops but the last. */
static int split_route(const char *text, veil_route *route, char *outlet, size_t cap)
{
    veil_route full;
    veil_address last;
    int rc = veil_route_parse(&full, text);
    size_t n = rc == 0 ? veil_route_count(&full) : 0;
    if (rc == 0 && n < 2)
        rc = veil_error_set(VEIL_EINVAL, "to '%s': a route to a secure-channel listener, then "
                                         "the outlet (e.g. '1#HOST:PORT => LISTENER => OUTLET')",
                            text);
    veil_route_init(route);
    for (size_t i = 0; rc == 0 && i + 1 < n; i++)
        if ((rc = veil_route_get(&full, i, &last)) == 0)
            rc = veil_route_append(route, &last);
    if (rc == 0)
        rc = veil_route_get(&full, n - 1, &last);
    if (rc == 0 && last.type != VEIL_ADDRESS_TYPE_LOCAL)
        rc = veil_error_set(VEIL_EINVAL, "to '%s': the last hop (the outlet) is no local "
                                         "address", text);
    if (rc == 0)
        veil_address_format(&last, outlet, cap);
    return rc;
}

static int ent_start(veil_daemon *d, portal_ent *e, const portal_limits *l)
{
    if (!e->inlet) {
        veil_trust_policy *p = NULL;
        int rc = daemon_trust_policy(d->node, e->trust, &p);
        veil_portal_outlet_options o = { sizeof o, e->name, e->where, p, l->max_streams, 0, "tcp",
                                         l->max_window, l->window_budget };
        return rc != 0 ? rc : veil_portal_outlet_open(d->node, &o);
    }
    veil_route r;
    char outlet[VEIL_ADDRESS_TEXT_MAX + 1];
    int rc = split_route(e->route, &r, outlet, sizeof outlet);
    veil_portal_inlet_options o = { sizeof o, e->name, e->where, &r, outlet, d->entity,
                                    inlet_policy, e, l->max_streams, "tcp", e->resilient,
                                    l->max_window, l->window_budget };
    return rc != 0 ? rc : veil_portal_inlet_open(d->node, &o);
}

/* Every listener's allowed workers again, with the outlets. */
static int allow_all(veil_daemon *d)
{
    int rc = 0;
    size_t n = veil_config_section_count(d->cfg);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *sec = veil_config_section_name(d->cfg, i);
        if (strncmp(sec, "listener.", 9) == 0 && sec[9] != '\0')
            rc = daemon_listener_allow(d, sec);
        if (rc == VEIL_ENOTFOUND) /* at start: listeners come after the outlets */
            rc = 0;
    }
    return rc;
}

/* Add and start; on failure nothing is left. */
static int portal_add(veil_daemon *d, bool inlet, const char *name, const char *where,
                      const char *route, const char *trust, const portal_limits *l)
{
    portal_ent *e = NULL;
    if (ent_find(name, inlet) != NULL)
        return veil_error_set(VEIL_EEXIST, "a tcp-%s named '%s' exists", inlet ? "inlet" : "outlet",
                              name);
    for (size_t i = 0; i < PORTALS_MAX && e == NULL; i++)
        if (!ents[i].used)
            e = &ents[i];
    if (e == NULL)
        return veil_error_set(VEIL_ELIMIT, "%u portals at most", PORTALS_MAX);
    if (strlen(name) >= sizeof e->name || strlen(where) >= sizeof e->where ||
        strlen(trust) >= sizeof e->trust || strlen(route) >= sizeof e->route)
        return veil_error_set(VEIL_ELIMIT, "portal '%s': a value is too long", name);
    memset(e, 0, sizeof *e);
    e->inlet = inlet;
    strcpy(e->name, name);
    strcpy(e->where, where);
    strcpy(e->route, route);
    strcpy(e->trust, trust);
    e->resilient = l->resilient;
    int rc = ent_start(d, e, l);
    if (rc == 0) {
        e->used = true;
        if (!inlet)
            rc = allow_all(d);
    }
    if (rc == 0)
        dlog(VEIL_LOG_INFO, "tcp-%s %s: %s %s%s%s, %s %s", inlet ? "inlet" : "outlet", name,
             inlet ? "from" : "to", where, inlet ? " to " : "", route,
             inlet ? "trust" : "allow", trust);
    return rc;
}

static int portal_delete(veil_daemon *d, bool inlet, const char *name)
{
    portal_ent *e = ent_find(name, inlet);
    if (e == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no tcp-%s named '%s'", inlet ? "inlet" : "outlet",
                              name);
    int rc = inlet ? veil_portal_inlet_close(d->node, name)
                   : veil_portal_outlet_close(d->node, name);
    e->used = false;
    daemon_keep_delete(d, inlet ? "inlet" : "outlet", name);
    if (!inlet && rc == 0)
        rc = allow_all(d);
    dlog(VEIL_LOG_INFO, "tcp-%s %s deleted", inlet ? "inlet" : "outlet", name);
    return rc;
}

/* ---- configuration ------------------------------------------------------ */

static int get_limits(const veil_config *cfg, const char *sec, portal_limits *l)
{
    long long v[3] = { 0 };
    memset(l, 0, sizeof *l);
    int rc = veil_config_get_int(cfg, sec, "max_streams", 0, 1, 65536, &v[0]);
    if (rc == 0)
        rc = veil_config_get_int(cfg, sec, "max_window", VEIL_PORTAL_WINDOW_MAX,
                                 VEIL_PORTAL_WINDOW, VEIL_PORTAL_WINDOW_MAX, &v[1]);
    if (rc == 0)
        rc = veil_config_get_int(cfg, sec, "window_budget", VEIL_PORTAL_GROWTH_BUDGET, 1,
                                 UINT32_MAX, &v[2]);
    if (rc == 0)
        rc = veil_config_get_bool(cfg, sec, "resilient", false, &l->resilient);
    l->max_streams = (uint32_t)v[0];
    l->max_window = (uint32_t)v[1];
    l->window_budget = (uint32_t)v[2];
    return rc;
}

int portal_config_check(veil_node *node, const veil_config *cfg, const char *sec)
{
    bool inlet = strncmp(sec, "inlet.", 6) == 0;
    const char *const need[2][3] = { { "to", "allow", NULL }, { "from", "to", "trust" } };
    portal_limits lim;
    int rc = veil_config_check_keys(cfg, sec, inlet ? inlet_keys : outlet_keys);
    for (size_t i = 0; rc == 0 && i < 3 && need[inlet][i] != NULL; i++)
        if (veil_config_get(cfg, sec, need[inlet][i]) == NULL)
            rc = veil_error_set(VEIL_ECONFIG, "[%s]: needs '%s'", sec, need[inlet][i]);
    if (rc == 0)
        rc = get_limits(cfg, sec, &lim);
    if (rc == 0 && inlet) {
        veil_route r;
        char outlet[VEIL_ADDRESS_TEXT_MAX + 1];
        rc = split_route(veil_config_get(cfg, sec, "to"), &r, outlet, sizeof outlet);
    }
    if (rc == 0 && node != NULL) {
        veil_trust_policy *p = NULL;
        const char *key = inlet ? "trust" : "allow", *where = veil_config_origin(cfg, sec, key);
        rc = daemon_trust_policy(node, veil_config_get(cfg, sec, key), &p);
        veil_trust_policy_free(p);
        if (rc != 0) /* say which line */
            rc = veil_error_wrap(rc, "%s%s[%s] %s", where != NULL ? where : "",
                                 where != NULL ? ": " : "", sec, key);
    }
    return rc;
}

static bool is_portal(const char *sec, bool *inlet)
{
    *inlet = strncmp(sec, "inlet.", 6) == 0 && sec[6] != '\0';
    return *inlet || (strncmp(sec, "outlet.", 7) == 0 && sec[7] != '\0');
}

/* Start the portal of section sec of cfg. */
static int section_start(veil_daemon *d, const veil_config *cfg, const char *sec)
{
    bool inlet;
    portal_limits lim;
    (void)is_portal(sec, &inlet);
    const char *name = strchr(sec, '.') + 1;
    int rc = get_limits(cfg, sec, &lim);
    if (rc == 0)
        rc = portal_add(d, inlet, name, veil_config_get(cfg, sec, inlet ? "from" : "to"),
                        inlet ? veil_config_get(cfg, sec, "to") : "",
                        veil_config_get(cfg, sec, inlet ? "trust" : "allow"), &lim);
    if (rc == 0)
        ent_find(name, inlet)->from_config = true;
    return rc != 0 ? veil_error_wrap(rc, "[%s]", sec) : 0;
}
static void restore_outlet(veil_daemon *d, const char *name, const char *const *f);
static void restore_inlet(veil_daemon *d, const char *name, const char *const *f);

int daemon_portals_start(veil_daemon *d)
{
    int rc = 0;
    size_t n = veil_config_section_count(d->cfg);
    bool inlet;
    for (int pass = 0; pass < 2; pass++) /* outlets first: listeners allow them */
        for (size_t i = 0; rc == 0 && i < n; i++) {
            const char *sec = veil_config_section_name(d->cfg, i);
            if (is_portal(sec, &inlet) && inlet == (pass == 1))
                rc = section_start(d, d->cfg, sec);
        }
    if (rc == 0) /* then the ones created at run time before a restart */
        rc = daemon_keep_restore(d, "outlet", 2, restore_outlet);
    if (rc == 0)
        rc = daemon_keep_restore_min(d, "inlet", 3, 4, restore_inlet);
    return rc;
}

/* ---- SIGHUP ---------------------------------------------------------------- */

int portal_reload_check(veil_daemon *d, const veil_config *fresh)
{
    int rc = 0;
    bool inlet;
    size_t n = veil_config_section_count(fresh);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *sec = veil_config_section_name(fresh, i);
        if (is_portal(sec, &inlet))
            rc = portal_config_check(d->node, fresh, sec);
    }
    return rc;
}

/* The portal of sec as old configured it, if the configuration made it. */
static portal_ent *configured(const char *sec)
{
    bool inlet;
    portal_ent *e = is_portal(sec, &inlet) ? ent_find(strchr(sec, '.') + 1, inlet) : NULL;
    return e != NULL && e->from_config ? e : NULL;
}

/* Start the new version of sec; if it fails, the old one again (when
 * there was one), so a portal whose new values cannot start keeps running. */
static void restart(veil_daemon *d, const veil_config *old, const char *sec, bool had)
{
    if (section_start(d, d->cfg, sec) == 0) {
        dlog(VEIL_LOG_INFO, "reload: [%s] %s", sec, had ? "changed: restarted" : "added");
        return;
    }
    dlog(VEIL_LOG_ERROR, "reload: %s: not started", veil_last_error());
    if (had && section_start(d, old, sec) == 0)
        dlog(VEIL_LOG_WARN, "reload: [%s] kept as it was", sec);
    else if (had)
        dlog(VEIL_LOG_ERROR, "reload: [%s] could not be restarted as it was: %s", sec,
             veil_last_error());
}

void portal_reload(veil_daemon *d, const veil_config *old)
{
    bool inlet;
    size_t n = veil_config_section_count(old);
    /* gone or changed: stop (a changed one restarts below) */
    for (size_t i = 0; i < n; i++) {
        const char *sec = veil_config_section_name(old, i);
        portal_ent *e = configured(sec);
        bool keep = veil_config_has_section(d->cfg, sec) &&
                    daemon_section_equal(old, d->cfg, sec);
        if (e == NULL || keep)
            continue;
        if (portal_delete(d, e->inlet, e->name) != 0)
            dlog(VEIL_LOG_ERROR, "reload: [%s]: %s", sec, veil_last_error());
        if (!veil_config_has_section(d->cfg, sec))
            dlog(VEIL_LOG_INFO, "reload: [%s] removed", sec);
    }
    n = veil_config_section_count(d->cfg);
    for (int pass = 0; pass < 2; pass++) /* outlets first */
        for (size_t i = 0; i < n; i++) {
            const char *sec = veil_config_section_name(d->cfg, i);
            if (!is_portal(sec, &inlet) || inlet != (pass == 1) || configured(sec) != NULL)
                continue; /* not a portal, or unchanged (still running) */
            restart(d, old, sec, veil_config_has_section(old, sec));
        }
}

/* ---- control requests ---------------------------------------------------- */

static void list(struct ctl_client *c, veil_daemon *d, bool inlet)
{
    for (size_t i = 0; i < PORTALS_MAX; i++) {
        portal_ent *e = &ents[i];
        veil_portal_stats s;
        if (!e->used || e->inlet != inlet)
            continue;
        int rc = inlet ? veil_portal_inlet_stats(d->node, e->name, &s)
                       : veil_portal_outlet_stats(d->node, e->name, &s);
        if (rc != 0)
            memset(&s, 0, sizeof s);
        if (inlet)
            ctl_reply(c, "= %s from %s port %u to %s trust %s%s streams %u opened %llu refused "
                      "%llu resets %llu bytes_out %llu bytes_in %llu", e->name, e->where,
                      s.port, e->route, e->trust, e->resilient ? " resilient" : "", s.streams, (unsigned long long)s.opened,
                      (unsigned long long)s.refused, (unsigned long long)s.resets,
                      (unsigned long long)s.bytes_out, (unsigned long long)s.bytes_in);
        else
            ctl_reply(c, "= %s to %s allow %s streams %u opened %llu refused %llu resets %llu "
                      "bytes_out %llu bytes_in %llu", e->name, e->where, e->trust, s.streams,
                      (unsigned long long)s.opened, (unsigned long long)s.refused,
                      (unsigned long long)s.resets, (unsigned long long)s.bytes_out,
                      (unsigned long long)s.bytes_in);
    }
    ctl_reply(c, "ok");
}

/* tcp-outlet-create NAME TO ALLOW | tcp-inlet-create [--resilient] NAME FROM TRUST ROUTE */
static int create(veil_daemon *d, bool inlet, char *args)
{
    char *f[4] = { NULL }, *save = NULL;
    size_t want = inlet ? 4 : 3, n = 0;
    bool resilient = inlet && strncmp(args, "--resilient ", 12) == 0;
    if (resilient)
        args += 12;
    for (char *t = strtok_r(args, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save))
        if (n < 4)
            f[n++] = t;
        else
            n++;
    if (n != want)
        return veil_error_set(VEIL_EINVAL, "usage: %s", inlet ? "tcp-inlet-create [--resilient] "
                                                                "NAME FROM TRUST ROUTE"
                                                              : "tcp-outlet-create NAME TO ALLOW");
    portal_limits lim = { .resilient = resilient };
    int rc = portal_add(d, inlet, f[0], f[1], inlet ? f[3] : "", f[2], &lim);
    const char *keep[4] = { f[1], f[2], f[3], "resilient" };
    if (rc == 0)
        daemon_keep_put(d, inlet ? "inlet" : "outlet", f[0], keep, inlet ? 3u + resilient : 2u);
    return rc;
}

/* A portal created at run time before a restart ("inlet"/"outlet" records,
 * daemon_keep.c): started again unless a configured one has its name (the
 * configuration wins; the record stays until deleted). */
static void restore_one(veil_daemon *d, const char *name, const char *const *f, bool inlet)
{
    const char *kind = inlet ? "inlet" : "outlet";
    if (ent_find(name, inlet) != NULL) {
        dlog(VEIL_LOG_WARN, "tcp-%s %s created at run time is not started: [%s.%s] in the "
             "configuration has its name (the configuration wins)", kind, name, kind, name);
        return;
    }
    portal_limits lim = { .resilient = inlet && strcmp(f[3], "resilient") == 0 };
    if (portal_add(d, inlet, name, f[0], inlet ? f[2] : "", f[1], &lim) < 0)
        dlog(VEIL_LOG_WARN, "tcp-%s %s created at run time did not start again: %s", kind,
             name, veil_last_error());
}

static void restore_outlet(veil_daemon *d, const char *name, const char *const *f)
{
    restore_one(d, name, f, false);
}

static void restore_inlet(veil_daemon *d, const char *name, const char *const *f)
{
    restore_one(d, name, f, true);
}

bool portal_dispatch(struct ctl_client *c, veil_daemon *d, const char *verb, char *args)
{
    bool inlet = strncmp(verb, "tcp-inlet-", 10) == 0;
    const char *op = verb + (inlet ? 10 : 11);
    int rc;
    if (!inlet && strncmp(verb, "tcp-outlet-", 11) != 0)
        rc = veil_error_set(VEIL_EINVAL, "unknown request '%.64s'", verb);
    else if (strcmp(op, "list") == 0 && args == NULL)
        return list(c, d, inlet), false;
    else if (strcmp(op, "create") == 0 && args != NULL)
        rc = create(d, inlet, args);
    else if (strcmp(op, "delete") == 0 && args != NULL)
        rc = portal_delete(d, inlet, args);
    else
        rc = veil_error_set(VEIL_EINVAL, "unknown request '%.64s' or wrong arguments", verb);
    if (rc == 0)
        ctl_reply(c, "ok");
    else
        ctl_reply_error(c, rc);
    return false;
}
