/* The responder's prekeys across restarts (plugins/x3dh/x3dh_keep.c): a
 * file vault holds the secrets, a sqlite store the records; a restart is
 * closing everything (node, vault, store) and opening it again.
 *
 *  - a bundle fetched before the restart completes a whole handshake
 *    after it (its SPK and OPK are known), and the OPK it used is then
 *    consumed for good: a replay of its message 1, before and after
 *    another restart, is refused with VEIL_EREPLAY, and its vault secret
 *    is gone;
 *  - a crash after the OPK's record was marked consumed and before its
 *    secret was destroyed: after the restart the OPK is refused
 *    (VEIL_EREPLAY) and the secret is destroyed at start;
 *  - a process killed after an OPK was consumed (record DEAD) and before
 *    its secret's batched destruction: after the restart the OPK is
 *    refused (VEIL_EREPLAY) and its secret destroyed at start;
 *  - a crash after ids were reserved and a key made, before its record:
 *    the key is destroyed at start and its id is never accepted;
 *  - the ids continue where they were, PRAGMA integrity_check is ok. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <veil/veil.h>
#include <veil/store.h>

#include "x3dh_keep.h"
#include "x3dh_opk.h"
#include "x3dh_prekeys.h"

static char dir[PATH_MAX - 64];

typedef struct side {
    veil_node *node;
    veil_context *app;
    veil_vault *v;
    veil_store *st;
    veil_secret ik;
    uint8_t ik_pub[32];
    x3dh_store *ps;
} side;

static uint64_t rotate_ms = 3600000, grace_ms = 3600000; /* per test */

static x3dh_store_config cfg_of(void)
{
    x3dh_store_config c = { .spk_rotate_ms = rotate_ms, .spk_grace_ms = grace_ms,
                            .opk_count = 4, .opk_low_water = 2, .opk_hold_ms = 600000,
                            .opk_issued_max = 100 };
    return c;
}

static void node_of(const char *text, veil_node **n, veil_context **app)
{
    veil_config *cfg;
    assert_int_equal(veil_config_new_from_text(&cfg, text, "<test>"), 0);
    veil_node_options o = { .size = sizeof o, .config = cfg };
    assert_int_equal(veil_node_new(n, app, &o), 0);
    veil_config_free(cfg);
}

/* The responder: file vault and sqlite store in dir, its IK labelled. */
static void up(side *s)
{
    char text[PATH_MAX + 256], db[PATH_MAX];
    memset(s, 0, sizeof *s);
    snprintf(text, sizeof text, "[vault]\nplugin = file\npath = %s/vault\n"
             "passphrase_env = VEIL_TEST_PASSPHRASE\nkdf_n = 1024\nkdf_r = 1\n", dir);
    node_of(text, &s->node, &s->app);
    assert_int_equal(veil_vault_open(s->node, NULL, &s->v), 0);
    snprintf(db, sizeof db, "%s/state.db", dir);
    const char *kv[] = { "path", db, NULL };
    assert_int_equal(veil_store_new("sqlite", kv, &s->st), 0);
    if (veil_vault_find_by_label(s->v, "test.ik", &s->ik) < 0) {
        veil_secret_attrs a = { .type = VEIL_SECRET_X25519, .persistence = VEIL_PERSISTENT,
                                .label = "test.ik" };
        assert_int_equal(veil_vault_generate(s->v, &a, &s->ik), 0);
    }
    size_t n;
    assert_int_equal(veil_vault_public_key(s->v, s->ik, s->ik_pub, 32, &n), 0);
    x3dh_store_config c = cfg_of();
    assert_int_equal(x3dh_store_open_kept(s->v, s->ik, &c, s->st, &s->ps), 0);
}

static void down(side *s)
{
    x3dh_store_close(s->ps, true);
    veil_vault_close(s->v);
    veil_store_close(s->st);
    assert_int_equal(veil_node_free(s->node), 0);
}

static void opk_label(const side *s, uint32_t id, char *out)
{
    char hex[65];
    veil__hex_encode(s->ik_pub, 32, hex);
    snprintf(out, VEIL_LABEL_MAX + 1, "x3dh.%.32s.o%08x", hex, (unsigned)id);
}

static void opk_key(const side *s, uint32_t id, char *out)
{
    char hex[65];
    veil__hex_encode(s->ik_pub, 32, hex);
    snprintf(out, VEIL_STORE_KEY_MAX + 1, "%s/o/%08x", hex, (unsigned)id);
}

static bool has_label(side *s, const char *label)
{
    veil_secret k = 0;
    return veil_vault_find_by_label(s->v, label, &k) == 0;
}

/* The initiator: a software vault of its own. */
typedef struct init {
    veil_node *node;
    veil_context *app;
    veil_vault *v;
    veil_secret ik;
} init;

static void init_up(init *i)
{
    node_of("[vault]\nplugin = software\n", &i->node, &i->app);
    assert_int_equal(veil_vault_open(i->node, NULL, &i->v), 0);
    veil_secret_attrs a = { .type = VEIL_SECRET_X25519 };
    assert_int_equal(veil_vault_generate(i->v, &a, &i->ik), 0);
}

static void init_down(init *i)
{
    veil_vault_close(i->v);
    assert_int_equal(veil_node_free(i->node), 0);
}

static veil_ka_params params(veil_vault *v, veil_secret ik, int role, const uint8_t *b, size_t n)
{
    veil_ka_params p;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.role = role;
    p.vault = v;
    p.local_static = ik;
    p.peer_bundle = b;
    p.peer_bundle_len = n;
    return p;
}

/* Message 1 from bundle b: m1 (its length returned), the initiator's
 * session left in *is for the rest of the handshake. */
static size_t write_m1(init *i, const x3dh_bundle *b, x3dh_session **is, uint8_t m1[512])
{
    x3dh_config c;
    x3dh_config_default(&c);
    uint8_t enc[X3DH_BUNDLE_MAX];
    size_t n = 0, m = 0;
    assert_int_equal(x3dh_bundle_encode(b, enc, sizeof enc, &n), 0);
    veil_ka_params p = params(i->v, i->ik, VEIL_KA_INITIATOR, enc, n);
    assert_int_equal(x3dh_session_new(&c, &p, is), 0);
    assert_int_equal(x3dh_session_write(*is, NULL, 0, m1, 512, &m), 0);
    return m;
}

/* The responder reads m1 (its result returned); on success the handshake
 * is finished: messages 2 and 3, and both sides' handshake hashes agree. */
static int respond(side *s, init *i, x3dh_session *is, const uint8_t *m1, size_t len)
{
    x3dh_config c;
    x3dh_config_default(&c);
    veil_ka_params p = params(s->v, s->ik, VEIL_KA_RESPONDER, NULL, 0);
    x3dh_session *rs = NULL;
    uint8_t buf[512], m[512];
    size_t n = 0, k = 0;
    assert_int_equal(x3dh_session_new(&c, &p, &rs), 0);
    memcpy(buf, m1, len);
    int rc = x3dh_session_read(rs, buf, len, buf, sizeof buf, &n);
    if (rc == 0 && is != NULL) {
        veil_ka_result a, b;
        assert_int_equal(x3dh_session_write(rs, NULL, 0, m, sizeof m, &k), 0);
        assert_int_equal(x3dh_session_read(is, m, k, buf, sizeof buf, &n), 0);
        assert_int_equal(x3dh_session_write(is, NULL, 0, m, sizeof m, &k), 0);
        assert_int_equal(x3dh_session_read(rs, m, k, buf, sizeof buf, &n), 0);
        assert_int_equal(x3dh_session_split(is, &a), 0);
        assert_int_equal(x3dh_session_split(rs, &b), 0);
        assert_memory_equal(a.handshake_hash, b.handshake_hash, sizeof a.handshake_hash);
        assert_int_equal(veil_vault_secret_destroy(i->v, a.send_key), 0);
        assert_int_equal(veil_vault_secret_destroy(i->v, a.recv_key), 0);
        assert_int_equal(veil_vault_secret_destroy(s->v, b.send_key), 0);
        assert_int_equal(veil_vault_secret_destroy(s->v, b.recv_key), 0);
    }
    x3dh_session_free(rs);
    return rc;
}

static void nap(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void integrity_ok(void)
{
    char cmd[PATH_MAX + 128], out[64] = "";
    snprintf(cmd, sizeof cmd, "sqlite3 '%s/state.db' 'PRAGMA integrity_check' 2>&1", dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(out, sizeof out, f));
    assert_int_equal(pclose(f), 0);
    assert_string_equal(out, "ok\n");
}

static void fresh_dir(void)
{
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'/*", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_bundle_survives_restart(void **state)
{
    (void)state;
    side r;
    init i;
    x3dh_bundle b, b2;
    x3dh_session *is = NULL;
    uint8_t m1[512], pub[32];
    veil_secret k;
    char label[VEIL_LABEL_MAX + 1];
    fresh_dir();
    init_up(&i);
    up(&r);
    assert_int_equal(x3dh_store_bundle(r.ps, &b), 0);
    assert_true(b.has_opk);
    x3dh_store_stats st1;
    x3dh_store_get_stats(r.ps, &st1);
    down(&r);
    size_t n = write_m1(&i, &b, &is, m1);

    up(&r); /* a new process: the same SPK, the OPK still handed out */
    x3dh_store_stats st;
    x3dh_store_get_stats(r.ps, &st);
    assert_int_equal(st.spk_id, b.spk_id);
    assert_int_equal(st.opk_issued, 1);
    assert_int_equal(st1.opk_fresh, 3);
    assert_int_equal(st.opk_fresh, 4); /* the 3 kept and one made at start (opk_count) */
    assert_int_equal(x3dh_store_find_spk(r.ps, b.spk_id, &k, pub), 0);
    assert_memory_equal(pub, b.spk, 32);
    assert_int_equal(respond(&r, &i, is, m1, n), 0);
    x3dh_session_free(is);
    opk_label(&r, b.opk_id, label);
    /* consumed: refused at once; its secret waits for the flush, at most
     * X3DH_OPK_DOOM_MS (the first store call after it destroys it) */
    assert_error_contains(respond(&r, &i, NULL, m1, n), VEIL_EREPLAY, "already used");
    assert_true(has_label(&r, label));
    uint64_t next_ms = 0;
    assert_int_equal(x3dh_store_maintain(r.ps, &next_ms), 0);
    assert_true(next_ms <= X3DH_OPK_DOOM_MS);
    nap(X3DH_OPK_DOOM_MS + 50);
    assert_int_equal(x3dh_store_maintain(r.ps, &next_ms), 0);
    assert_false(has_label(&r, label));
    char key[VEIL_STORE_KEY_MAX + 1];
    uint8_t v[256];
    size_t vlen = 0;
    uint64_t ver = 0;
    opk_key(&r, b.opk_id, key);
    assert_error_contains(veil_store_get(r.st, X3DH_KEEP_NS, key, v, sizeof v, &vlen, &ver),
                          VEIL_ENOTFOUND, "");
    /* the next bundle continues the ids */
    assert_int_equal(x3dh_store_bundle(r.ps, &b2), 0);
    assert_int_equal(b2.spk_id, b.spk_id);
    assert_int_equal(b2.opk_id, b.opk_id + 1u); /* the oldest fresh, kept from before */
    down(&r);

    up(&r); /* consumed stays consumed */
    assert_error_contains(x3dh_store_find_opk(r.ps, b.opk_id, &k, pub), VEIL_EREPLAY, "already used");
    assert_error_contains(respond(&r, &i, NULL, m1, n), VEIL_EREPLAY, "already used");
    assert_int_equal(x3dh_store_find_opk(r.ps, b2.opk_id, &k, pub), 0);
    assert_memory_equal(pub, b2.opk, 32);
    down(&r);
    integrity_ok();
    init_down(&i);
}

/* A crash after the OPK's record was marked consumed, before its secret
 * was destroyed: as the record's state says, it is consumed. */
static void test_crash_after_mark(void **state)
{
    (void)state;
    side r;
    init i;
    x3dh_bundle b;
    x3dh_session *is = NULL;
    uint8_t m1[512], v[256], pub[32];
    veil_secret k;
    char key[VEIL_STORE_KEY_MAX + 1], label[VEIL_LABEL_MAX + 1];
    size_t len = 0;
    uint64_t ver = 0, nv;
    fresh_dir();
    init_up(&i);
    up(&r);
    assert_int_equal(x3dh_store_bundle(r.ps, &b), 0);
    size_t n = write_m1(&i, &b, &is, m1);
    x3dh_session_free(is);
    opk_key(&r, b.opk_id, key);
    assert_int_equal(veil_store_get(r.st, X3DH_KEEP_NS, key, v, sizeof v, &len, &ver), 0);
    assert_int_equal(v[1], 2); /* ISSUED */
    v[1] = X3DH_KEEP_DEAD;     /* what x3dh_keep_kill writes first */
    assert_int_equal(veil_store_put(r.st, X3DH_KEEP_NS, key, v, len, ver, &nv), 0);
    down(&r); /* the crash: the secret is still in the vault */

    up(&r);
    opk_label(&r, b.opk_id, label);
    assert_false(has_label(&r, label));
    assert_error_contains(veil_store_get(r.st, X3DH_KEEP_NS, key, v, sizeof v, &len, &ver),
                 VEIL_ENOTFOUND, "");
    assert_error_contains(x3dh_store_find_opk(r.ps, b.opk_id, &k, pub), VEIL_EREPLAY, "already used");
    assert_error_contains(respond(&r, &i, NULL, m1, n), VEIL_EREPLAY, "already used");
    down(&r);
    integrity_ok();
    init_down(&i);
}

/* A crash after ids were reserved and a key made, before its record was
 * written (made by hand here): the key goes at start, the id is refused. */
static void test_crash_before_record(void **state)
{
    (void)state;
    side r;
    uint8_t m[256], pub[32];
    char key[VEIL_STORE_KEY_MAX + 1], hex[65], label[VEIL_LABEL_MAX + 1];
    size_t len = 0;
    uint64_t ver = 0, nv;
    veil_secret k;
    fresh_dir();
    up(&r);
    veil__hex_encode(r.ik_pub, 32, hex);
    snprintf(key, sizeof key, "%s/m", hex);
    assert_int_equal(veil_store_get(r.st, X3DH_KEEP_NS, key, m, sizeof m, &len, &ver), 0);
    uint32_t next = veil__load_be32(m + 13);
    assert_int_equal(veil__load_be32(m + 17), next); /* made == next */
    veil__store_be32(m + 13, next + 1u);            /* reserved one more */
    assert_int_equal(veil_store_put(r.st, X3DH_KEEP_NS, key, m, len, ver, &nv), 0);
    opk_label(&r, next, label);
    veil_secret_attrs a = { .type = VEIL_SECRET_X25519, .persistence = VEIL_PERSISTENT };
    snprintf(a.label, sizeof a.label, "%s", label);
    assert_int_equal(veil_vault_generate(r.v, &a, &k), 0);
    down(&r);

    up(&r);
    assert_false(has_label(&r, label));
    assert_error_contains(x3dh_store_find_opk(r.ps, next, &k, pub), VEIL_EREPLAY, "already used");
    x3dh_bundle b;
    assert_int_equal(x3dh_store_bundle(r.ps, &b), 0);
    assert_true(b.opk_id < next); /* the oldest fresh one, made before */
    down(&r);
    integrity_ok();
}

/* A record that does not parse is refused at start, naming it. */
static void test_damaged_record(void **state)
{
    (void)state;
    side r;
    uint8_t m[256];
    char key[VEIL_STORE_KEY_MAX + 1], hex[65];
    size_t len = 0;
    uint64_t ver = 0, nv;
    fresh_dir();
    up(&r);
    veil__hex_encode(r.ik_pub, 32, hex);
    snprintf(key, sizeof key, "%s/m", hex);
    assert_int_equal(veil_store_get(r.st, X3DH_KEEP_NS, key, m, sizeof m, &len, &ver), 0);
    assert_int_equal(veil_store_put(r.st, X3DH_KEEP_NS, key, m, len - 1u, ver, &nv), 0);
    x3dh_store_close(r.ps, true);
    x3dh_store *ps = NULL;
    x3dh_store_config c = cfg_of();
    assert_error_contains(x3dh_store_open_kept(r.v, r.ik, &c, r.st, &ps), VEIL_EFORMAT,
                 "/m: not a version-1 record of the prekey ids");
    r.ps = NULL;
    down(&r);
}

/* SPK rotation across restarts: a replaced SPK inside its grace is still
 * usable after a restart; one whose grace ended while the node was down
 * is VEIL_ETIMEDOUT ("expired"), not unknown: the retired ids are kept. */
static void test_spk_grace_across_restart(void **state)
{
    (void)state;
    side r;
    x3dh_bundle b1, b2;
    veil_secret k;
    uint8_t pub[32];
    fresh_dir();
    rotate_ms = 300;
    grace_ms = 4000;
    up(&r);
    assert_int_equal(x3dh_store_bundle(r.ps, &b1), 0);
    nap(400);
    assert_int_equal(x3dh_store_bundle(r.ps, &b2), 0);
    assert_int_equal(b2.spk_id, b1.spk_id + 1u); /* rotated, b1's in its grace */
    down(&r);
    up(&r);
    assert_int_equal(x3dh_store_find_spk(r.ps, b1.spk_id, &k, pub), 0);
    assert_memory_equal(pub, b1.spk, 32);
    assert_int_equal(x3dh_store_find_spk(r.ps, b2.spk_id, &k, pub), 0);
    assert_memory_equal(pub, b2.spk, 32);
    down(&r);
    nap(4100); /* b1's grace ends while the node is down */
    rotate_ms = 3600000;
    up(&r);
    assert_error_contains(x3dh_store_find_spk(r.ps, b1.spk_id, &k, pub), VEIL_ETIMEDOUT,
                          "expired: replaced and past its grace period");
    assert_error_contains(x3dh_store_find_spk(r.ps, b1.spk_id - 1u, &k, pub), VEIL_ENOTFOUND,
                          "is unknown");
    down(&r);
    rotate_ms = grace_ms = 3600000;
    integrity_ok();
}

/* A process killed (SIGKILL) after an OPK was consumed — its record DEAD,
 * its secret still in the vault, waiting for the batched destruction —
 * and before that destruction: after the restart the OPK is refused
 * (VEIL_EREPLAY), its record is gone and its secret destroyed at start. */
static void test_killed_before_destroy(void **state)
{
    (void)state;
    char m1path[PATH_MAX], label[VEIL_LABEL_MAX + 1], key[VEIL_STORE_KEY_MAX + 1];
    uint8_t m1[512], v[256], pub[32];
    uint32_t opk_id = 0;
    size_t n = 0, len = 0;
    uint64_t ver = 0;
    veil_secret k;
    snprintf(m1path, sizeof m1path, "%s/m1", dir);
    fresh_dir();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* the responder process: consume, then die at once */
        side r;
        init i;
        x3dh_bundle b;
        x3dh_session *is = NULL;
        init_up(&i);
        up(&r);
        if (x3dh_store_bundle(r.ps, &b) != 0 || !b.has_opk)
            _exit(2);
        n = write_m1(&i, &b, &is, m1);
        if (respond(&r, &i, is, m1, n) != 0)
            _exit(3);
        opk_label(&r, b.opk_id, label);
        if (!has_label(&r, label)) /* not yet destroyed: the window tested */
            _exit(4);
        FILE *f = fopen(m1path, "wb");
        if (f == NULL || fwrite(&b.opk_id, sizeof b.opk_id, 1, f) != 1 ||
            fwrite(m1, 1, n, f) != n || fclose(f) != 0)
            _exit(5);
        raise(SIGKILL);
        _exit(6);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    FILE *f = fopen(m1path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(&opk_id, sizeof opk_id, 1, f), 1);
    n = fread(m1, 1, sizeof m1, f);
    fclose(f);
    assert_true(n > 76);

    side r;
    up(&r); /* the start destroys the secret of the DEAD record */
    opk_label(&r, opk_id, label);
    assert_false(has_label(&r, label));
    opk_key(&r, opk_id, key);
    assert_error_contains(veil_store_get(r.st, X3DH_KEEP_NS, key, v, sizeof v, &len, &ver),
                          VEIL_ENOTFOUND, "");
    assert_error_contains(x3dh_store_find_opk(r.ps, opk_id, &k, pub), VEIL_EREPLAY,
                          "already used");
    assert_error_contains(respond(&r, NULL, NULL, m1, n), VEIL_EREPLAY, "already used");
    down(&r);
    integrity_ok();
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/veil-x3dh-keep-%ld", (long)getpid());
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    setenv("VEIL_TEST_PASSPHRASE", "x3dh-keep", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundle_survives_restart),
        cmocka_unit_test(test_crash_after_mark),
        cmocka_unit_test(test_killed_before_destroy),
        cmocka_unit_test(test_crash_before_record),
        cmocka_unit_test(test_damaged_record),
        cmocka_unit_test(test_spk_grace_across_restart),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
