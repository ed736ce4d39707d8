/* Node lifecycle: configuration sources and [node] keys, plugins loaded at
 * creation (fail closed), veil_node_free freeing everything, and node
 * extensions (destroyed at stop after the workers, newest first). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"
#include "msg.h"

#include <veil/veil.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "scratch.h"

struct wstate {
    int stopped, handled;
};

static int w_count(veil_context *ctx, void *st, veil_message *msg)
{
    (void)ctx;
    (void)msg;
    ((struct wstate *)st)->handled++;
    return 0;
}

static void w_stop(veil_context *ctx, void *st)
{
    (void)ctx;
    ((struct wstate *)st)->stopped++;
}

static int w_echo(veil_context *ctx, void *st, veil_message *msg)
{
    (void)st;
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

static const veil_worker_ops count_ops = {
    .size = sizeof(veil_worker_ops), .handle_message = w_count, .stop = w_stop,
};
static const veil_worker_ops echo_ops = {.size = sizeof(veil_worker_ops), .handle_message = w_echo};

/* ---- whole-node lifecycle (own nodes) -------------------------------- */

static void test_stop_frees_everything(void **state)
{
    (void)state;
    veil_node *n;
    veil_context *a, *box;
    struct wstate s1 = {0}, s2 = {0};
    assert_int_equal(veil_node_new(&n, &a, NULL), 0);
    assert_int_equal(veil_ctx_start_worker(a, "one", &count_ops, &s1), 0);
    assert_int_equal(veil_ctx_start_worker(a, "two", &count_ops, &s2), 0);
    assert_int_equal(veil_ctx_start_worker(a, "echoer", &echo_ops, NULL), 0);
    assert_int_equal(veil_ctx_new_detached(n, "box", &box), 0);
    veil_route r = route_of("echoer");
    /* a message the app holds, one in a mailbox, some still queued */
    assert_int_equal(veil_ctx_send(a, &r, "held", 4), 0);
    veil_message *held;
    assert_int_equal(veil_ctx_receive(a, &held, 1000), 0);
    assert_int_equal(veil_ctx_send(box, &r, "in mailbox", 10), 0);
    assert_int_equal(veil_node_run_once(n, 0), 0);
    assert_int_equal(veil_node_run_once(n, 0), 0);
    r = route_of("one");
    assert_int_equal(veil_ctx_send(a, &r, "queued", 6), 0);
    veil_message *loose;
    assert_int_equal(veil_message_new(n, &loose), 0);
    assert_int_equal(veil_message_set_payload(loose, "never sent", 10), 0);
    /* stop runs every worker's stop op; ASan/valgrind check the rest */
    assert_int_equal(veil_node_free(n), 0);
    assert_int_equal(s1.stopped, 1);
    assert_int_equal(s2.stopped, 1);
    assert_int_equal(s1.handled, 0);
    assert_int_equal(veil_node_free(NULL), 0);
}

/* veil_node_stop stops (once) and leaves the node to veil_node_free. */
static void test_stop_then_free(void **state)
{
    (void)state;
    veil_node *n;
    veil_context *a;
    struct wstate s1 = {0};
    assert_int_equal(veil_node_new(&n, &a, NULL), 0);
    assert_int_equal(veil_ctx_start_worker(a, "one", &count_ops, &s1), 0);
    assert_int_equal(veil_ctx_start_worker(a, "echoer", &echo_ops, NULL), 0);
    veil_route r = route_of("echoer");
    assert_int_equal(veil_ctx_send(a, &r, "held", 4), 0);
    veil_message *held;
    assert_int_equal(veil_ctx_receive(a, &held, 1000), 0);
    r = route_of("one");
    assert_int_equal(veil_ctx_send(a, &r, "queued", 6), 0);

    assert_int_equal(veil_node_stop(n), 0);
    assert_int_equal(s1.stopped, 1);
    assert_int_equal(s1.handled, 0);                 /* the queued message was dropped */
    assert_int_equal(veil_node_pending(n), 0);
    assert_error(veil_node_run_once(n, 0), VEIL_ESTOPPED, "node is stopping");
    assert_error(veil_node_run(n, 10), VEIL_ESTOPPED, "node is stopping");
    assert_non_null(veil_node_config(n));            /* still readable */
    size_t len;
    const uint8_t *p = veil_message_payload(held, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(p, "held", 4);
    assert_int_equal(veil_node_stop(n), 0);          /* idempotent */
    assert_int_equal(s1.stopped, 1);
    assert_int_equal(veil_node_free(n), 0);
    assert_int_equal(s1.stopped, 1);
    assert_int_equal(veil_node_stop(NULL), 0);
}

static veil_config *parse(const char *text)
{
    veil_config *c = NULL;
    int rc = veil_config_new_from_text(&c, text, "<test>");
    if (rc != 0)
        fail_msg("config: %s", veil_last_error());
    return c;
}

static int create_with(const char *text, veil_node **n, veil_context **a)
{
    veil_config *c = parse(text);
    veil_node_options o = {.size = sizeof o, .config = c};
    int rc = veil_node_new(n, a, &o);
    veil_config_free(c);
    return rc;
}

static void test_node_config_keys(void **state)
{
    (void)state;
    veil_node *n;
    veil_context *a;
    assert_error_contains(create_with("[node]\nmax_payload = 16\nbogus = 1\n", &n, &a),
                          VEIL_ECONFIG, "<test>:3");
    assert_last_error_contains("bogus");
    assert_error_contains(create_with("[node]\nqueue_limit = 0\n", &n, &a), VEIL_ECONFIG,
                          "queue_limit");

    assert_int_equal(create_with("[node]\nmax_payload = 16\nqueue_limit = 2\n", &n, &a), 0);
    assert_int_equal(veil_ctx_start_worker(a, "sink", &count_ops, &(struct wstate){0}), VEIL_OK);
    veil_route r = route_of("sink");
    uint8_t buf[17] = {0};
    assert_error(veil_ctx_send(a, &r, buf, 17), VEIL_ELIMIT,
                 "payload of 17 bytes exceeds the limit of 16 bytes");
    assert_int_equal(veil_ctx_send(a, &r, buf, 16), 0);
    assert_int_equal(veil_ctx_send(a, &r, buf, 16), 0);
    assert_error(veil_ctx_send(a, &r, buf, 16), VEIL_EAGAIN,
                 "delivery queue full (2 messages; [node] queue_limit)");
    /* the config is the node's own copy */
    assert_string_equal(veil_config_get(veil_node_config(n), "node", "queue_limit"), "2");
    assert_int_equal(veil_node_free(n), 0);

    veil_node_options bad = {.size = 1};
    assert_error(veil_node_new(&n, &a, &bad), VEIL_EINVAL,
                 "veil_node_options.size is 1, expected at least 24 (set it to "
                 "sizeof(veil_node_options))");
}

static void test_missing_plugin_fails_closed(void **state)
{
    (void)state;
    veil_node *n = (veil_node *)&n;
    veil_context *a;
    assert_error_contains(create_with("[vault]\nplugin = no_such_plugin_xyz\n", &n, &a),
                          VEIL_EPLUGIN_NOTFOUND, "no_such_plugin_xyz");
    assert_null(n);
    assert_error_contains(create_with("[transport.tcp]\nplugin = no_such_transport\n", &n, &a),
                          VEIL_EPLUGIN_NOTFOUND, "no_such_transport");
}

static void test_config_sources(void **state)
{
    (void)state;
    char path[160];
    assert_int_equal(scratch_template(path, sizeof path, "test-node"), 0);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("# node limits\n[node]\nmax_payload = 8\n", f);
    fclose(f);
    veil_node *n;
    veil_context *a;
    /* config_path */
    veil_node_options o = {.size = sizeof o, .config_path = path};
    assert_int_equal(veil_node_new(&n, &a, &o), 0);
    assert_string_equal(veil_config_get(veil_node_config(n), "node", "max_payload"), "8");
    assert_int_equal(veil_node_free(n), 0);
    /* $VEIL_CONF when no options */
    setenv("VEIL_CONF", path, 1);
    assert_int_equal(veil_node_new(&n, &a, NULL), 0);
    veil_route r = route_of("app");
    assert_int_equal(veil_ctx_send(a, &r, "123456789", 9), VEIL_ELIMIT);
    assert_int_equal(veil_node_free(n), 0);
    /* an unknown [node] key names the file and line */
    f = fopen(path, "a");
    assert_non_null(f);
    fputs("colour = blue\n", f);
    fclose(f);
    assert_int_equal(veil_node_new(&n, &a, NULL), VEIL_ECONFIG);
    char where[192];
    snprintf(where, sizeof where, "%s:4", path);
    assert_last_error_contains(where);
    assert_last_error_contains("colour");
    unsetenv("VEIL_CONF");
    unlink(path);
    /* a missing file */
    o.config_path = "/nonexistent/veil.conf";
    assert_error_contains(veil_node_new(&n, &a, &o), VEIL_EIO, "/nonexistent/veil.conf");
}

/* Plugins named by the configuration are loaded at creation (the loader's
 * fixture plugins are on VEIL_PLUGIN_PATH in `make check`). */
static void test_configured_plugins_loaded(void **state)
{
    (void)state;
    veil_node *n;
    veil_context *a;
    if (getenv("VEIL_PLUGIN_PATH") == NULL || strstr(getenv("VEIL_PLUGIN_PATH"), "tests/unit/plugin/fixtures") == NULL)
        skip();
    assert_int_equal(create_with("[policy.greeter]\nplugin = fixture_good\ngreeting = hi\n", &n, &a), 0);
    assert_int_equal(veil_node_free(n), 0);
    /* a policy plugin in a vault slot: the loader's kind check fails creation */
    assert_error_contains(create_with("[vault.x]\nplugin = fixture_good\n", &n, &a),
                          VEIL_EPLUGIN_KIND, "fixture_good");
    /* a key the plugin does not accept: refused at load, naming file:line */
    assert_error_contains(create_with("[policy]\nplugin = fixture_good\nbogus = 1\n", &n, &a),
                          VEIL_ECONFIG, "<test>:3");
}

/* ---- node extensions ------------------------------------------------- */

struct ext_log {
    veil_node *node;
    char text[128];
    int add_rc;                  /* what an add from a worker's stop op got */
};

static struct ext_log ext_log;

static void log_word(const char *w)
{
    size_t n = strlen(ext_log.text);
    snprintf(ext_log.text + n, sizeof ext_log.text - n, "%s%s", n ? " " : "", w);
}

/* Each extension's data is its name; its destroy logs it, and finds
 * itself already gone from the node. */
static void ext_destroy(veil_node *node, void *data)
{
    assert_ptr_equal(node, ext_log.node);
    assert_null(veil_node_extension_get(node, data));
    log_word(data);
    /* "b" takes "a" with it: removing another extension from a destroy. */
    if (strcmp(data, "b") == 0)
        assert_int_equal(veil_node_extension_remove(node, "a"), 0);
}

static void ext_worker_stop(veil_context *ctx, void *st)
{
    (void)st;
    log_word("worker");
    static char late[] = "late";
    ext_log.add_rc = veil_node_extension_add(veil_ctx_node(ctx), "late", late, ext_destroy);
    /* the extensions are still there while workers stop */
    assert_non_null(veil_node_extension_get(veil_ctx_node(ctx), "c"));
}

static const veil_worker_ops ext_worker_ops = {
    .size = sizeof(veil_worker_ops), .handle_message = w_count, .stop = ext_worker_stop,
};

static void test_extensions(void **state)
{
    (void)state;
    static char a[] = "a", b[] = "b", c[] = "c", d[] = "d";
    veil_node *n;
    veil_context *app;
    memset(&ext_log, 0, sizeof ext_log);
    assert_int_equal(veil_node_new(&n, &app, NULL), 0);
    ext_log.node = n;
    assert_null(veil_node_extension_get(n, "a"));
    assert_int_equal(veil_node_extension_add(n, "a", a, ext_destroy), 0);
    assert_int_equal(veil_node_extension_add(n, "b", b, ext_destroy), 0);
    assert_int_equal(veil_node_extension_add(n, "c", c, ext_destroy), 0);
    assert_int_equal(veil_node_extension_add(n, "d", d, ext_destroy), 0);
    assert_ptr_equal(veil_node_extension_get(n, "b"), b);
    /* errors */
    assert_error(veil_node_extension_add(n, "b", c, ext_destroy), VEIL_EEXIST,
                 "node extension 'b' exists already");
    assert_ptr_equal(veil_node_extension_get(n, "b"), b);
    assert_int_equal(veil_node_extension_add(n, "", a, NULL), VEIL_EINVAL);
    assert_int_equal(veil_node_extension_add(n, "e", NULL, NULL), VEIL_EINVAL);
    char longname[VEIL_NODE_EXTENSION_NAME_MAX + 2];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_error(veil_node_extension_add(n, longname, a, NULL), VEIL_EINVAL,
                 "veil_node_extension_add: node, data and a name of 1..63 bytes must be given");
    longname[VEIL_NODE_EXTENSION_NAME_MAX] = '\0';
    assert_int_equal(veil_node_extension_add(n, longname, a, NULL), 0); /* 63: fits */
    assert_int_equal(veil_node_extension_remove(n, longname), 0); /* no destroy to run */
    assert_error(veil_node_extension_remove(n, "zz"), VEIL_ENOTFOUND, "no node extension 'zz'");
    /* remove runs destroy once, now; the stop does not run it again */
    assert_int_equal(veil_node_extension_remove(n, "d"), 0);
    assert_string_equal(ext_log.text, "d");
    assert_null(veil_node_extension_get(n, "d"));
    ext_log.text[0] = '\0';
    /* stop: the workers first (an add from there is refused), then the
     * extensions newest first */
    assert_int_equal(veil_ctx_start_worker(app, "w", &ext_worker_ops, NULL), 0);
    assert_int_equal(veil_node_free(n), 0);
    assert_string_equal(ext_log.text, "worker c b a");
    assert_int_equal(ext_log.add_rc, VEIL_ESTOPPED);
}

/* ---- what layers above the runtime use -------------------------------- */

struct two_addrs {
    veil_context *ctx;
    const veil_address *a;
    size_t n;
    int handled;
};

static int two_start(veil_context *ctx, void *st)
{
    struct two_addrs *t = st;
    t->ctx = ctx;
    t->a = veil_ctx_addresses(ctx, &t->n);
    return 0;
}

/* A message for a as a transport would hand it in. */
static void deliver_to(veil_node *n, const veil_address *a)
{
    veil_message *m;
    assert_int_equal(veil_message_new(n, &m), 0);
    assert_int_equal(veil_route_append(veil_message_onward(m), a), 0);
    assert_int_equal(veil_node_deliver(n, m), 0);
    assert_int_equal(veil_node_run_once(n, 0), 0);
}

static int two_count(veil_context *ctx, void *st, veil_message *msg)
{
    (void)ctx;
    (void)msg;
    ((struct two_addrs *)st)->handled++;
    return 0;
}

static const veil_worker_ops two_ops = {
    .size = sizeof(veil_worker_ops), .start = two_start, .handle_message = two_count,
};

/* Upper-layer services (one scenario per test): a node with a worker at two
 * addresses ("pub", "peer"; state t) and another kind of worker ("other"). */
typedef struct services {
    veil_node *n;
    veil_context *app;
    struct two_addrs t;
    struct wstate other;
    veil_address a[2], x, app_addr;
} services;

static int services_up(void **state)
{
    services *v = calloc(1, sizeof *v);
    assert_non_null(v);
    assert_int_equal(veil_node_new(&v->n, &v->app, NULL), 0);
    assert_ptr_equal(veil_node_context(v->n), v->app);
    assert_int_equal(veil_address_parse(&v->a[0], "pub"), 0);
    assert_int_equal(veil_address_parse(&v->a[1], "peer"), 0);
    assert_int_equal(veil_address_parse(&v->x, "other"), 0);
    assert_int_equal(veil_address_parse(&v->app_addr, "app"), 0);
    assert_int_equal(veil_ctx_start_worker_addrs(v->app, v->a, 2, &two_ops, &v->t), 0);
    assert_int_equal(veil_ctx_start_worker(v->app, "other", &count_ops, &v->other), 0);
    *state = v;
    return 0;
}

static int services_down(void **state)
{
    services *v = *state;
    assert_int_equal(veil_node_free(v->n), 0);
    free(v);
    return 0;
}

/* The worker's addresses, primary first; its state by either address, only
 * with its own handler. */
static void test_worker_addresses_and_state(void **state)
{
    services *v = *state;
    assert_int_equal(v->t.n, 2);
    assert_true(veil_address_equal(&v->t.a[0], &v->a[0]) &&
                veil_address_equal(&v->t.a[1], &v->a[1]));
    assert_ptr_equal(veil_node_worker_state(v->n, &v->a[0], &two_ops), &v->t);
    assert_ptr_equal(veil_node_worker_state(v->n, &v->a[1], &two_ops), &v->t);
    assert_null(veil_node_worker_state(v->n, &v->x, &two_ops));          /* another kind */
    assert_ptr_equal(veil_node_worker_state(v->n, &v->x, &count_ops), &v->other);
    assert_null(veil_node_worker_state(v->n, &v->app_addr, &two_ops));   /* a mailbox */
    veil_address nobody;
    assert_int_equal(veil_address_parse(&nobody, "nobody"), 0);
    assert_null(veil_node_worker_state(v->n, &nobody, &two_ops));
}

/* Messages queued for delivery. */
static void test_pending_messages(void **state)
{
    services *v = *state;
    assert_int_equal(veil_node_pending(v->n), 0);
    veil_route r = route_of("pub");
    assert_int_equal(veil_ctx_send(v->app, &r, "x", 1), 0);
    assert_int_equal(veil_ctx_send(v->app, &r, "y", 1), 0);
    assert_int_equal(veil_node_pending(v->n), 2);
    assert_int_equal(veil_node_run_once(v->n, 0), 0);
    assert_int_equal(veil_node_pending(v->n), 0);
    assert_int_equal(v->t.handled, 2);
}

/* What a transport delivers reaches only network-facing addresses; the
 * "local senders" control (veil_ctx_set_local_only) takes it back; only
 * for an address the context owns.  Refusals are dropped before the
 * handler and counted. */
static void test_local_only(void **state)
{
    services *v = *state;
    veil_context *box;
    veil_route r = route_of("pub");
    assert_int_equal(veil_ctx_new_detached(v->n, "box", &box), 0);
    assert_error(veil_ctx_set_local_only(box, &v->a[0]), VEIL_ENOTFOUND,
                 "address 'pub' is not one of this context's");
    assert_int_equal(veil_ctx_set_local_only(v->t.ctx, &v->x), VEIL_ENOTFOUND);
    assert_int_equal(veil_ctx_set_network_facing(v->t.ctx, &v->x), VEIL_ENOTFOUND);
    veil_node_stats s0, s1;
    veil_node_get_stats(v->n, &s0);
    deliver_to(v->n, &v->a[0]); /* local only by default: dropped, counted */
    assert_int_equal(v->t.handled, 0);
    assert_int_equal(veil_ctx_set_network_facing(v->t.ctx, NULL), 0); /* both addresses */
    deliver_to(v->n, &v->a[0]); /* handled */
    assert_int_equal(v->t.handled, 1);
    assert_int_equal(veil_ctx_set_local_only(v->t.ctx, &v->a[0]), 0);
    deliver_to(v->n, &v->a[0]); /* dropped again */
    deliver_to(v->n, &v->a[1]); /* the other address is still network-facing */
    assert_int_equal(veil_ctx_send(v->app, &r, "z", 1), 0); /* made on the node: handled */
    assert_int_equal(veil_node_run_once(v->n, 0), 0);
    veil_node_get_stats(v->n, &s1);
    assert_int_equal(v->t.handled, 3);
    assert_int_equal(s1.dropped_local_only - s0.dropped_local_only, 2);
    assert_int_equal(s1.dropped_access - s0.dropped_access, 2);
    veil_ctx_free(box);
}

/* A stopping or stopped worker is no one's state. */
static void test_stopped_worker_has_no_state(void **state)
{
    services *v = *state;
    assert_int_equal(veil_ctx_stop_worker(v->app, "pub"), 0);
    assert_null(veil_node_worker_state(v->n, &v->a[1], &two_ops));
}

#define SERVICES_TEST(f) cmocka_unit_test_setup_teardown(f, services_up, services_down)
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_frees_everything),
        cmocka_unit_test(test_stop_then_free),
        cmocka_unit_test(test_node_config_keys),
        cmocka_unit_test(test_missing_plugin_fails_closed),
        cmocka_unit_test(test_configured_plugins_loaded),
        cmocka_unit_test(test_config_sources),
        cmocka_unit_test(test_extensions),
        SERVICES_TEST(test_worker_addresses_and_state),
        SERVICES_TEST(test_pending_messages),
        SERVICES_TEST(test_local_only),
        SERVICES_TEST(test_stopped_worker_has_no_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
