/* Two directory nodes on one PostgreSQL database (issue #15): a publisher
 * puts 1200 OPKs into the shared directory, then two directory node
 * processes, started together, answer 500 FETCHes each at the same time —
 * 1000 concurrent fetches spread over both.  Every fetch gets an OPK, no
 * OPK is handed out twice across both nodes, and exactly the 200 not
 * fetched remain in the database.  The server is real
 * (tests/support/pg-server.sh); the test is skipped, saying why, only
 * where the server package is missing. */
#include "test_prekeys.h"
#include "assert_error.h"
#include "store_fixture.h"

#include <veil/store.h>

#include <limits.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define NODES 2
#define PER_NODE 500
#define FIRST_ID 1000u
#define PUBLISHED 1200u
#define BATCH 80u

static const uint8_t FETCH_CAROL[] = { 2, 0x01, 5, 'c', 'a', 'r', 'o', 'l' };

static char config[4096];

static void make_config(const char *conninfo, const char *password_file)
{
    snprintf(config, sizeof config, "[store]\nplugin = postgresql\nconninfo = %s\n"
             "password_file = %s\n[key_agreement]\nplugin = x3dh\n[prekeys]\n"
             "request_rate = 1000000\nrequest_burst = 1000000\ndirectory_opk_max = 2000\n",
             conninfo, password_file);
}

/* In a child: no cmocka (a failed assertion would go back into the
 * runner); exit status 0 ok, 2 a veil error (on stderr). */
static int child_fail(const char *what)
{
    fprintf(stderr, "directory child %d: %s: %s\n", (int)getpid(), what, veil_last_error());
    _exit(2);
}

static void child(int go, const char *out_path)
{
    veil_node *node;
    veil_context *app, *c;
    veil_vault *v;
    veil_config *cfg = NULL;
    veil_route r;
    char byte;
    FILE *out = fopen(out_path, "w");
    if (out == NULL || veil_config_new_from_text(&cfg, config, "<dir>") < 0)
        child_fail("config");
    veil_node_options o = { .size = sizeof o, .config = cfg };
    if (veil_node_new(&node, &app, &o) < 0 || veil_vault_open(node, NULL, &v) < 0 ||
        veil_key_agreement_directory_start(node, v) < 0 ||
        veil_ctx_new_detached(node, NULL, &c) < 0 || veil_route_parse(&r, "prekeys") < 0)
        child_fail("directory node");
    if (read(go, &byte, 1) != 1) /* start together */
        _exit(3);
    for (int i = 0; i < PER_NODE; i++) {
        veil_message *m = NULL;
        size_t n;
        if (veil_ctx_send(c, &r, FETCH_CAROL, sizeof FETCH_CAROL) < 0 ||
            veil_ctx_receive(c, &m, 10000) < 0)
            child_fail("fetch");
        const uint8_t *p = veil_message_payload(m, &n);
        /* version, op|reply, status, then the 173-byte bundle with OPK */
        fprintf(out, "%d %zu %u\n", n >= 3 ? -(int)p[2] : 99, n,
                n == 3 + 173 ? be32(p + 3 + 136) : 0u);
        veil_message_free(m);
    }
    fclose(out);
    veil_ctx_free(c);
    veil_vault_close(v);
    veil_config_free(cfg);
    _exit(veil_node_free(node) == 0 ? 0 : 2);
}

static void publish(void)
{
    veil_node *node;
    veil_context *app;
    veil_vault *v;
    signer s;
    uint8_t pub[PUB_MAX];
    node_from(config, &node, &app);
    assert_int_equal(veil_vault_open(node, NULL, &v), 0);
    assert_int_equal(veil_key_agreement_directory_start(node, v), 0);
    signer_new(node, v, &s);
    for (unsigned k = 0; k < PUBLISHED / BATCH; k++) { /* a publication holds < 100 */
        size_t n = sign_pub(&s, "carol", 1 + k, 0, BATCH, FIRST_ID + k * BATCH, false, pub);
        publish_ok(node, pub, n, (k + 1) * BATCH, FIRST_ID);
    }
    signer_free(&s);
    veil_vault_close(v);
    assert_int_equal(veil_node_free(node), 0);
}

static void test_two_directory_nodes_never_hand_out_one_opk_twice(void **state)
{
    const char *pw, *why = NULL;
    char dir[] = "/tmp/veil-dir-pg.XXXXXX", path[NODES][PATH_MAX];
    int go[2];
    pid_t pid[NODES];
    static bool seen[PUBLISHED];
    (void)state;
    const char *ci = store_pg_server(&pw, &why);
    if (ci == NULL) {
        print_message("skipped: %s\n", why);
        skip();
    }
    store_pg_reset();
    make_config(ci, pw);
    publish();
    assert_non_null(mkdtemp(dir));
    assert_int_equal(pipe(go), 0);
    for (int i = 0; i < NODES; i++) {
        snprintf(path[i], sizeof path[i], "%s/ids.%d", dir, i);
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if (pid[i] == 0) {
            close(go[1]);
            child(go[0], path[i]);
        }
    }
    close(go[0]);
    sleep(1); /* both nodes up and connected */
    assert_int_equal(write(go[1], "gg", NODES), NODES);
    close(go[1]);
    int fetched = 0;
    for (int i = 0; i < NODES; i++) {
        int st;
        assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        FILE *f = fopen(path[i], "r");
        assert_non_null(f);
        int status;
        size_t n;
        unsigned id;
        while (fscanf(f, "%d %zu %u", &status, &n, &id) == 3) {
            assert_int_equal(status, 0);
            assert_int_equal(n, 3 + 173); /* a bundle with an OPK */
            assert_true(id >= FIRST_ID && id < FIRST_ID + PUBLISHED);
            if (seen[id - FIRST_ID])
                fail_msg("OPK %u handed out twice", id);
            seen[id - FIRST_ID] = true;
            fetched++;
        }
        fclose(f);
    }
    assert_int_equal(fetched, NODES * PER_NODE);
    /* what is left in the database: exactly the OPKs nobody fetched */
    veil_store *s;
    size_t left = 0;
    assert_int_equal(veil_store_new("postgresql", (const char *[]){ "conninfo", ci,
                                        "password_file", pw, NULL }, &s), 0);
    char key[VEIL_STORE_KEY_MAX + 1];
    uint8_t v[64];
    size_t len;
    while (veil_store_take(s, "x3dh.dir.opk", "", VEIL_STORE_PREFIX, key, v, sizeof v, &len) ==
           0) {
        unsigned id = be32(v);
        assert_false(seen[id - FIRST_ID]);
        left++;
    }
    veil_store_close(s);
    assert_int_equal(left, PUBLISHED - NODES * PER_NODE);
    char cmd[PATH_MAX];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_directory_nodes_never_hand_out_one_opk_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
