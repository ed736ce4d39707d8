/* veil node run [-c FILE] — the daemon (docs/CLI.md, "The daemon").
 *
 * A foreground process: logs through libveil's [log] (ISO-8601 UTC
 * timestamps on stderr, or syslog), tells systemd READY=1 through
 * $NOTIFY_SOCKET, stops on SIGTERM/SIGINT through veil_node_interrupt and
 * re-reads its file on SIGHUP ([log], listeners' trust and allowed
 * workers, portals added, removed or changed; the rest is logged as not
 * applied). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"
#include "portal.h"

static veil_node *volatile signal_node;
static volatile sig_atomic_t got_stop, got_hup;

static void on_signal(int sig)
{
    veil_node *node = signal_node;
    if (sig == SIGHUP)
        got_hup = 1;
    else
        got_stop = 1;
    if (node != NULL)
        veil_node_interrupt(node);
}

/* ---- logging ---------------------------------------------------------- */

static const char *const level_names[] = { "debug", "info", "warn", "error", "none" };

/* The library's [log] (docs/CONFIG.md, "[log]"): one line format for the
 * daemon and libveil.  The daemon's defaults where [log] is silent, level
 * info and facility daemon, are written into cfg itself: veil_node_new
 * applies cfg's [log] again and must see the same values. */
static int apply_log(veil_config *cfg)
{
    int rc = 0;
    if (veil_config_get(cfg, "log", "level") == NULL)
        rc = veil_config_set(cfg, "log", "level", "info");
    if (rc == 0 && veil_config_get(cfg, "log", "facility") == NULL)
        rc = veil_config_set(cfg, "log", "facility", "daemon");
    return rc == 0 ? veil_log_configure(cfg) : rc;
}

/* ---- systemd: sd_notify's protocol, without libsystemd ------------------ */

static void notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    if (path == NULL || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof sa.sun_path)
        return;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));
    if (path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract namespace */
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
        dlog(VEIL_LOG_WARN, "NOTIFY_SOCKET %s: %s", path, strerror(errno));
    close(fd);
}

/* ---- setup ------------------------------------------------------------- */

static int open_identity(veil_daemon *d)
{
    const char *name = veil_config_get(d->cfg, "daemon", "identity");
    int rc = veil_vault_open(d->node, NULL, &d->vault);
    if (rc != 0)
        return rc;
    rc = veil_entity_open(d->node, d->vault, name != NULL ? name : "default", 0, &d->entity);
    if (rc == VEIL_ENOTFOUND)
        veil_error_set(rc, "no identity named '%s' in [vault] (make one with 'veil identity "
                           "create')", name != NULL ? name : "default");
    return rc;
}

/* A file vault that does not exist is an error, never a new empty one. */
static int vault_no_create(veil_config *cfg)
{
    const char *plugin = veil_config_get(cfg, "vault", "plugin");
    if (plugin != NULL && strcmp(plugin, "file") == 0 &&
        veil_config_get(cfg, "vault", "create") == NULL)
        return veil_config_set(cfg, "vault", "create", "no");
    return 0;
}

static int setup(veil_daemon *d)
{
    veil_node_options opts = { sizeof opts, d->cfg, NULL };
    const char *ka = veil_config_get(d->cfg, "key_agreement", "protocol");
    int rc = daemon_config_check(NULL, d->cfg);
    if (rc == 0)
        rc = apply_log(d->cfg);
    const char *name = veil_config_get(d->cfg, "daemon", "name");
    snprintf(d->name, sizeof d->name, "%s", name != NULL ? name : "veil");
    snprintf(d->key_agreement, sizeof d->key_agreement, "%s",
             ka != NULL ? ka : "Noise_XX_25519_AESGCM_SHA256");
    if (rc == 0)
        rc = vault_no_create(d->cfg);
    if (rc == 0)
        rc = ctl_open(d); /* first: a second daemon stops here, before binding ports */
    if (rc == 0)
        rc = veil_node_new(&d->node, &d->app, &opts);
    if (rc == 0)
        rc = ctl_start(d);
    if (rc == 0)
        rc = open_identity(d);
    if (rc == 0) {
        snprintf(d->crypto, sizeof d->crypto, "%s", veil_vault_backend(d->vault));
        rc = veil_node_transport_start(d->node, "tcp");
    }
    if (rc == 0)
        rc = daemon_echo_start(d);
    if (rc == 0)
        rc = daemon_portals_start(d); /* outlets before listeners: these allow them */
    if (rc == 0)
        rc = daemon_listeners_start(d);
    if (rc == 0)
        rc = daemon_relay_start(d);
    return rc;
}

/* ---- SIGHUP ------------------------------------------------------------ */

bool daemon_section_equal(const veil_config *a, const veil_config *b, const char *sec)
{
    const char *k, *v;
    size_t n = veil_config_key_count(a, sec);
    if (n != veil_config_key_count(b, sec))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (veil_config_key_at(a, sec, i, &k, &v) != 0)
            return false;
        const char *w = veil_config_get(b, sec, k);
        if (w == NULL || strcmp(v, w) != 0)
            return false;
    }
    return true;
}

static bool key_equal(const veil_config *a, const veil_config *b, const char *sec,
                      const char *key)
{
    const char *x = veil_config_get(a, sec, key), *y = veil_config_get(b, sec, key);
    return (x == NULL && y == NULL) || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

/* What changed in listener sec: trust (the listener is reopened with the
 * new policy; its open channels keep running) or allowed_workers. */
static void reload_listener(veil_daemon *d, const veil_config *old, const char *sec)
{
    const char *addr = veil_config_get(d->cfg, sec, "address");
    char where[VEIL_ADDRESS_TEXT_MAX + 1];
    snprintf(where, sizeof where, "%s", addr != NULL ? addr : sec + 9);
    if (!key_equal(old, d->cfg, sec, "address")) {
        dlog(VEIL_LOG_WARN, "reload: [%s] address changed: not applied (restart)", sec);
        return;
    }
    int rc = 0;
    const char *trust = veil_config_get(d->cfg, sec, "trust");
    veil_trust_policy *probe = NULL;
    if (!key_equal(old, d->cfg, sec, "trust") &&
        (trust == NULL || daemon_trust_policy(d->node, trust, &probe) != 0)) {
        /* A bad new trust leaves the listener as it was. */
        dlog(VEIL_LOG_ERROR, "reload: [%s] trust: %s: not applied, the listener keeps its "
             "trust", sec, trust == NULL ? "missing" : veil_last_error());
        return;
    }
    veil_trust_policy_free(probe);
    if (!key_equal(old, d->cfg, sec, "trust")) {
        rc = veil_secure_channel_listener_close(d->node, where);
        if (rc == 0 || rc == VEIL_ENOTFOUND)
            rc = daemon_listener_start(d, sec);
        if (rc == 0)
            dlog(VEIL_LOG_INFO, "reload: [%s] trust applied", sec);
    } else if (!key_equal(old, d->cfg, sec, "allowed_workers")) {
        rc = daemon_listener_allow(d, sec);
        if (rc == 0)
            dlog(VEIL_LOG_INFO, "reload: [%s] allowed_workers applied", sec);
    }
    if (rc != 0)
        dlog(VEIL_LOG_ERROR, "reload: [%s]: %s", sec, veil_last_error());
}

static void reload_sections(veil_daemon *d, const veil_config *old)
{
    const veil_config *both[2] = { old, d->cfg };
    for (int w = 0; w < 2; w++) {
        size_t n = veil_config_section_count(both[w]);
        for (size_t i = 0; i < n; i++) {
            const char *sec = veil_config_section_name(both[w], i);
            bool in_old = veil_config_has_section(old, sec), in_new = veil_config_has_section(d->cfg, sec);
            if ((w == 1 && in_old) || strcmp(sec, "daemon") == 0 || strcmp(sec, "log") == 0 ||
                strncmp(sec, "inlet.", 6) == 0 || strncmp(sec, "outlet.", 7) == 0)
                continue; /* each section once; [daemon] below, [log] applied, portals: */
            if (strncmp(sec, "listener.", 9) == 0 && in_old && in_new)
                reload_listener(d, old, sec);
            else if (strncmp(sec, "listener.", 9) == 0 && !in_old &&
                     daemon_listener_start(d, sec) != 0)
                dlog(VEIL_LOG_ERROR, "reload: [%s]: %s", sec, veil_last_error());
            else if (!in_new || !daemon_section_equal(old, d->cfg, sec))
                dlog(VEIL_LOG_WARN, "reload: [%s] changed: not applied (restart the daemon)",
                     sec);
        }
    }
}

/* Re-read the file; on any parse error keep the running configuration. */
static void reload(veil_daemon *d)
{
    veil_config *fresh = NULL, *old = d->cfg;
    dlog(VEIL_LOG_INFO, "SIGHUP: re-reading %s", d->conf_path);
    if (veil_config_new_from_file(&fresh, d->conf_path) != 0) {
        dlog(VEIL_LOG_ERROR, "reload: %s: nothing applied", veil_last_error());
        return;
    }
    if (vault_no_create(fresh) != 0 || daemon_config_check(NULL, fresh) != 0 ||
        portal_reload_check(d, fresh) != 0 || apply_log(fresh) != 0) {
        dlog(VEIL_LOG_ERROR, "reload: %s: nothing applied", veil_last_error());
        veil_config_free(fresh);
        return;
    }
    static const char *const fixed[] = { "name", "identity", "echo", NULL };
    for (size_t i = 0; fixed[i] != NULL; i++)
        if (!key_equal(old, fresh, "daemon", fixed[i]))
            dlog(VEIL_LOG_WARN, "reload: [daemon] %s changed: not applied (restart the daemon)",
                 fixed[i]);
    /* Listeners read d->cfg; the node keeps its own copy for the rest. */
    d->cfg = fresh;
    portal_reload(d, old); /* before listeners: they allow the outlets */
    reload_sections(d, old);
    veil_config_free(old);
    dlog(VEIL_LOG_INFO, "reload: done (log level %s)", level_names[veil_log_get_level()]);
}

/* ---- the command ------------------------------------------------------- */

static int serve(veil_daemon *d)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    signal_node = d->node;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    dlog(VEIL_LOG_INFO, "node %s (%s) ready, control socket %s", d->name,
         veil_entity_identifier(d->entity), d->socket_path);
    notify("READY=1\nSTATUS=serving");
    int rc = 0;
    while (rc == 0 && !got_stop) {
        rc = veil_node_run(d->node, -1);
        if (got_hup && !got_stop) {
            got_hup = 0;
            reload(d);
            notify("READY=1");
        }
    }
    notify("STOPPING=1");
    dlog(VEIL_LOG_INFO, "stopping");
    signal_node = NULL;
    return rc;
}

static const char node_run_help[] =
    "Usage: veil node run [-c FILE]\n"
    "Run the daemon in the foreground: the vault and identity of FILE ([vault],\n"
    "[daemon] identity), its transports ([transport.tcp] listen), its secure-channel\n"
    "listeners ([listener.NAME] address, trust, allowed_workers), the echo worker\n"
    "([daemon] echo = yes) and the control socket ([control] socket).  FILE\n"
    "defaults to $VEIL_CONF.  SIGTERM/SIGINT stop it, SIGHUP re-reads FILE.\n"
    "See docs/CLI.md, \"The daemon\", and docs/CONTROL.md.\n\n"
    "  -c, --config FILE        the configuration\n"
    "  -h, --help               this text\n";

static int node_run(const cli_cmd *cmd, int argc, char **argv)
{
    static veil_daemon d; /* large tables: not on the stack */
    cli_opts o;
    int rc = cli_parse(cmd, argc, argv, CLI_OPT_VAULT, 0, 0, &o);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (o.vault != NULL || o.pass_env != NULL || o.pass_fd >= 0)
        return cli_usage(cmd, "only -c FILE: the vault and its passphrase come from FILE");
    memset(&d, 0, sizeof d);
    d.lock_fd = d.listen_fd = -1;
    d.conf_path = o.config != NULL ? o.config : getenv("VEIL_CONF");
    if (d.conf_path == NULL)
        return cli_usage(cmd, "no configuration: give -c FILE (or set VEIL_CONF)");
    d.started = (uint64_t)time(NULL);
    int err = veil_config_new_from_file(&d.cfg, d.conf_path);
    if (err == 0)
        err = setup(&d);
    if (err == 0)
        err = serve(&d);
    else
        fprintf(stderr, "veil: node run: %s\n", veil_last_error()[0] != '\0'
                                                     ? veil_last_error() : veil_strerror(err));
    ctl_close(&d);
    veil_entity_close(d.entity);
    veil_vault_close(d.vault);
    if (d.node != NULL && veil_node_free(d.node) != 0 && err == 0)
        err = VEIL_ESTATE;
    veil_config_free(d.cfg);
    if (err == 0)
        dlog(VEIL_LOG_INFO, "stopped");
    veil_log_set_handler(NULL, NULL);
    return err == 0 ? CLI_OK : CLI_ERROR;
}

const cli_cmd cli_node_cmds[] = {
    { "node", "run", node_run, "run the daemon (foreground)", node_run_help, NULL },
    { NULL, NULL, NULL, NULL, NULL, NULL },
};
