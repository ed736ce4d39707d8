/* Node lifecycle: configuration, the [node] section, plugin loading (fail
 * closed), the loop driver (run / run_once / interrupt) and statistics.
 *
 * Threading: a node and everything it owns belong to the thread that
 * created it; only veil_node_post() may be called from other threads. */
#include "runtime.h"
#include "upper.h"
#include "config_internal.h"

#include <veil/error.h>
#include <veil/log.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* [node] keys (docs/CONFIG.md, docs/ARCHITECTURE.md). */
static const char *const node_keys[] = {
    "max_payload", "queue_limit", "pool_messages", "pool_cache_bytes", "relay",
    "answer_undeliverable", "state_dir", NULL,
};

#define DEFAULT_QUEUE_LIMIT (1u << 20)
#define DEFAULT_POOL_MESSAGES 1024u
#define DEFAULT_POOL_CACHE_BYTES (16u << 20)

int veil__node_check_running(const veil_node *node)
{
    if (node->stopping)
        return veil_error_set(VEIL_ESTOPPED, "node is stopping");
    return 0;
}

bool veil__node_stopping(const veil_node *node)
{
    return node->stopping;
}

static int load_config(veil_node *node, const veil_node_options *opts)
{
    if (opts != NULL && opts->config != NULL)
        return veil_config_new_copy(&node->config, opts->config);
    if (opts != NULL && opts->config_path != NULL)
        return veil_config_new_from_file(&node->config, opts->config_path);
    int rc = veil_config_new_from_env(&node->config);
    if (rc == VEIL_ENOTFOUND)
        rc = veil_config_new(&node->config);
    return rc;
}

static int node_settings(const veil_config *c, long long v[4], bool *relay, bool *answer)
{
    int rc = veil_config_check_keys(c, "node", node_keys);
    if (rc == 0)
        rc = veil_config_get_int(c, "node", "max_payload", VEIL_PAYLOAD_MAX, 0,
                                 VEIL_PAYLOAD_MAX, &v[0]);
    if (rc == 0)
        rc = veil_config_get_int(c, "node", "queue_limit", DEFAULT_QUEUE_LIMIT, 1,
                                 1ll << 30, &v[1]);
    if (rc == 0)
        rc = veil_config_get_int(c, "node", "pool_messages", DEFAULT_POOL_MESSAGES, 0,
                                 1ll << 24, &v[2]);
    if (rc == 0)
        rc = veil_config_get_int(c, "node", "pool_cache_bytes", DEFAULT_POOL_CACHE_BYTES, 0,
                                 1ll << 36, &v[3]);
    if (rc == 0)
        rc = veil_config_get_bool(c, "node", "relay", false, relay);
    if (rc == 0)
        rc = veil_config_get_bool(c, "node", "answer_undeliverable", true, answer);
    return rc;
}

int veil__config_check_node(veil_node *node, const veil_config *cfg, const char *section)
{
    long long v[4];
    bool relay, answer;
    (void)node;
    (void)section;
    return node_settings(cfg, v, &relay, &answer);
}

static int read_limits(veil_node *node)
{
    long long v[4];
    int rc = node_settings(node->config, v, &node->relay, &node->answer_undeliverable);
    if (rc < 0)
        return rc;
    node->limits.max_payload = (size_t)v[0];
    node->limits.queue_limit = (size_t)v[1];
    node->limits.pool_messages = (size_t)v[2];
    node->limits.pool_cache_bytes = (size_t)v[3];
    return 0;
}

/* ---- plugins ---------------------------------------------------------- */

static int keep_plugin(veil_node *node, const char *section, int kind, veil_plugin *p)
{
    veil_node_plugin_slot *t = realloc(node->plugins, (node->nplugins + 1) * sizeof *t);
    char *name = strdup(section);
    if (t != NULL)
        node->plugins = t;
    if (t == NULL || name == NULL) {
        free(name);
        veil_plugin_close(p);
        return veil_error_set(VEIL_ENOMEM, "out of memory keeping plugin of [%s]", section);
    }
    node->plugins[node->nplugins++] = (veil_node_plugin_slot){name, kind, p};
    return 0;
}

static int load_plugins(veil_node *node)
{
    const veil_config *c = node->config;
    size_t n = veil_config_section_count(c);
    for (size_t i = 0; i < n; i++) {
        const char *section = veil_config_section_name(c, i);
        const veil_plugin_kind_info *k =
            section != NULL ? veil__plugin_kind_of_section(section) : NULL;
        if (k == NULL || veil_config_get(c, section, "plugin") == NULL)
            continue;
        int kind = k->kind;
        veil_plugin *p;
        int rc = veil_plugin_open(c, section, kind, node, &p);
        if (rc == 0)
            rc = keep_plugin(node, section, kind, p);
        if (rc < 0)
            return rc; /* fail closed, with the loader's detail */
    }
    return 0;
}

int veil__node_plugin(veil_node *node, const char *section, int kind,
                      const char *default_name, veil_plugin **out)
{
    if (node == NULL || section == NULL || out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil__node_plugin: node, section and out must not be NULL");
    for (size_t i = 0; i < node->nplugins; i++) {
        veil_node_plugin_slot *s = &node->plugins[i];
        if (strcmp(s->section, section) != 0)
            continue;
        if (s->kind != kind)
            return veil_error_set(VEIL_EPLUGIN_KIND, "[%s] holds a %s plugin, not a %s plugin",
                                  section, veil_plugin_kind_name(s->kind),
                                  veil_plugin_kind_name(kind));
        *out = s->plugin;
        return 0;
    }
    if (default_name == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no plugin configured in [%s]", section);
    int rc = veil__node_check_running(node);
    if (rc < 0)
        return rc;
    veil_plugin *p;
    rc = veil_plugin_open_named(default_name, node->config, section, kind, node, &p);
    if (rc == 0)
        rc = keep_plugin(node, section, kind, p);
    if (rc < 0)
        return rc;
    *out = p;
    return 0;
}

static void unload_plugins(veil_node *node)
{
    while (node->nplugins > 0) {
        veil_node_plugin_slot *s = &node->plugins[--node->nplugins];
        veil_plugin_close(s->plugin);
        free(s->section);
    }
    free(node->plugins);
    node->plugins = NULL;
}

/* ---- lifecycle -------------------------------------------------------- */

/* Everything that runs: workers, upper layers, transports.  Idempotent. */
static void node_stop_all(veil_node *node)
{
    if (node->stopped)
        return;
    node->stopping = true;
    node->stopped = true;
    /* Stop ops run application callbacks (a listener's on_close): they
     * cannot stop or free the node from there (VEIL_ESTATE). */
    node->dispatch_depth++;
    veil__ctx_stop_all(node);
    node->dispatch_depth--;
    if (node->dispatch_depth == 0) {
        veil__ctx_reap(node);
        veil__loop_reap(node);
    }
    veil__router_drop_queue(node);
    /* The upper layers' and plugins' state: after the workers that use
     * it, before the transports and the plugins whose code it may run. */
    veil__node_extensions_fini(node);
    veil__transports_fini(node); /* instances before their plugins */
}

static void node_destroy(veil_node *node, bool post_ok)
{
    node_stop_all(node);
    unload_plugins(node);
    veil__router_drop_queue(node); /* anything plugin fini sent */
    veil__message_release_all(node);
    if (post_ok)
        veil__post_fini(node);
    veil__loop_fini(node);
    veil__router_fini(node);
    veil__ctx_reap(node);
    veil__pool_fini(&node->pool);
    veil_config_free(node->config);
    free(node);
}

static int node_init(veil_node *node, const veil_node_options *opts, bool *post_ok)
{
    int rc = load_config(node, opts);
    if (rc == 0)
        rc = read_limits(node);
    if (rc < 0)
        return rc;
    veil__pool_init(&node->pool, node->limits.pool_messages, node->limits.pool_cache_bytes);
    if ((rc = veil__router_init(node)) < 0 || (rc = veil__post_init(node)) < 0)
        return rc;
    *post_ok = true;
    if ((rc = veil__loop_init(node)) < 0)
        return rc;
    veil_address app;
    rc = veil_address_set(&app, VEIL_ADDRESS_TYPE_LOCAL, "app", 3);
    if (rc == 0)
        rc = veil__ctx_new(node, VEIL_CTX_MAILBOX, &app, 1, &node->app);
    if (rc < 0)
        return rc;
    node->app->is_app = true;
    rc = load_plugins(node);
    /* After the plugins: a plugin may register a section it reads. */
    if (rc == 0)
        rc = veil_config_check_sections(node->config, node);
    /* Process-wide: the last node made with a [log] section sets it. */
    if (rc == 0 && veil_config_has_section(node->config, "log"))
        rc = veil_log_configure(node->config);
    return rc == 0 ? veil__transports_init(node) : rc;
}

int veil_node_new(veil_node **out, veil_context **app, const veil_node_options *opts)
{
    if (out == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_node_new: node must not be NULL");
    *out = NULL;
    if (opts != NULL && !VEIL_ABI_HAS(opts, config_path))
        return veil_error_set(VEIL_EINVAL, "veil_node_options.size is %zu, expected at least %zu "
                              "(set it to sizeof(veil_node_options))", opts->size,
                              VEIL_ABI_SIZE(veil_node_options, config_path));
    veil_node *node = calloc(1, sizeof *node);
    if (node == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory creating a node");
    node->loop.epfd = node->loop.wakefd = -1;
    bool post_ok = false;
    int rc = node_init(node, opts, &post_ok);
    if (rc < 0) {
        char detail[1024];
        snprintf(detail, sizeof detail, "%s", veil_last_error());
        node_destroy(node, post_ok);
        return veil_error_set(rc, "%s", detail);
    }
    *out = node;
    if (app != NULL)
        *app = node->app;
    return 0;
}

int veil_node_stop(veil_node *node)
{
    if (node == NULL)
        return 0;
    if (node->dispatch_depth > 0)
        return veil_error_set(VEIL_ESTATE, "veil_node_stop called from inside a handler or "
                              "callback (use veil_node_interrupt there)");
    node_stop_all(node);
    return 0;
}

int veil_node_free(veil_node *node)
{
    if (node == NULL)
        return 0;
    if (node->dispatch_depth > 0)
        return veil_error_set(VEIL_ESTATE, "veil_node_free called from inside a handler or callback");
    node_destroy(node, true);
    veil_log_flush(); /* repeats counted until now are reported */
    return 0;
}

const veil_config *veil_node_config(const veil_node *node)
{
    return node->config;
}

veil_context *veil_node_context(veil_node *node)
{
    return node->app;
}

size_t veil_node_pending(const veil_node *node)
{
    return node->router.q_len;
}

void veil_node_get_stats(const veil_node *node, veil_node_stats *out)
{
    *out = node->stats;
    out->message_allocs = node->pool.message_allocs;
    out->buffer_allocs = node->pool.buffer_allocs;
}

/* ---- driving the loop ------------------------------------------------- */

int veil_node_run_once(veil_node *node, int timeout_ms)
{
    if (node == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_node_run_once: node must not be NULL");
    if (node->dispatch_depth > 0)
        return veil_error_set(VEIL_ESTATE, "the loop cannot be run from inside a handler or callback");
    int rc = veil__node_check_running(node);
    if (rc < 0)
        return rc;
    node->dispatch_depth++;
    veil__router_dispatch(node);
    rc = veil__loop_poll(node, node->router.q_len > 0 ? 0 : timeout_ms);
    node->dispatch_depth--;
    veil__loop_reap(node);
    veil__ctx_reap(node);
    return rc;
}

int veil_node_run(veil_node *node, int timeout_ms)
{
    if (node == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_node_run: node must not be NULL");
    uint64_t deadline = veil__loop_refresh_now(node) + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
    /* An interrupt made before this call (a signal that arrived just
     * before it) is not lost: it makes this call return at once. */
    while (!node->interrupted) {
        int wait = -1;
        if (timeout_ms >= 0) {
            uint64_t now = veil__loop_refresh_now(node);
            if (now >= deadline)
                break;
            wait = (int)(deadline - now);
        }
        int rc = veil_node_run_once(node, wait);
        if (rc < 0)
            return rc;
    }
    node->interrupted = 0;
    return 0;
}

/* Async-signal-safe: a store to a sig_atomic_t and one write(2) to the
 * loop's eventfd (which wakes a poll that is waiting), errno kept. */
void veil_node_interrupt(veil_node *node)
{
    if (node == NULL)
        return;
    int saved = errno;
    node->interrupted = 1;
    veil__loop_wake(node);
    errno = saved;
}

int veil_node_fd(const veil_node *node)
{
    return node != NULL && !node->stopped ? node->loop.epfd : -1;
}

int veil_node_next_timeout(veil_node *node)
{
    if (node == NULL || node->stopped)
        return -1;
    return veil__loop_next_timeout(node);
}
