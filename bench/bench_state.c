/* veil-bench state: the node state store (issue #15).
 *
 *  1. contact lookups/s (veil_store_get of a 600-byte contact record among
 *     1000) and OPK consumptions/s (veil_store_take of the oldest of a
 *     name's one-time prekeys) on the memory store and the sqlite store
 *     (a file in $TMPDIR; WAL, synchronous=FULL, so each take is an
 *     fsync);
 *  2. Noise channel set-ups/s between two entities of one node whose
 *     [store] is memory vs sqlite ([node] state_dir): the contact is known
 *     after the first set-up, so a set-up reads the node's contact table
 *     and writes nothing — the ratio says what a state directory costs the
 *     set-up path;
 *  3. X3DH channel set-ups/s between two entities of one node (bundle
 *     fetch from the node's prekey service, the 3-message handshake) with
 *     the responder's prekeys in memory (software vault, memory store)
 *     vs kept (file vault, sqlite store: docs/X3DH.md, "Prekeys across
 *     restarts"): every set-up hands out an OPK (a durable record write),
 *     consumes it (record DEAD by compare-and-set before message 2) and
 *     replaces it (a vault key and its record), so the ratio is what
 *     keeping prekeys costs the responder;
 *  4. puts/s of 100-byte records one at a time (each its own transaction,
 *     a disk sync) vs in batches of BATCH (veil_store_batch_begin/commit:
 *     one transaction), on sqlite, and on postgresql when
 *     VEIL_BENCH_PG_CONNINFO names a database the bench may write (its
 *     table veil_records, namespace bench.batch; VEIL_BENCH_PG_PASSWORD_FILE
 *     the password file), else those rows are skipped with a note.
 * Medians of RUNS runs. */
#include "bench.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <veil/veil.h>
#include "scratch.h"

#define RUNS 5
#define CONTACTS 1000
#define BATCH 100

static int store_ops(bench_run *b, const char *plugin, const char *path, int n_get, int n_take,
                     double *gets, double *takes)
{
    veil_store *s;
    const char *kv[] = { "path", path, NULL };
    uint8_t v[600];
    char key[VEIL_STORE_KEY_MAX + 1];
    size_t len;
    int rc = veil_store_new(plugin, path != NULL ? kv : NULL, &s);
    memset(v, 0xab, sizeof v);
    for (int i = 0; rc == 0 && i < CONTACTS; i++) {
        snprintf(key, sizeof key, "P%064d", i);
        rc = veil_store_put(s, "veil.contacts", key, v, sizeof v, VEIL_STORE_ANY, NULL);
    }
    double t0 = bench_now_s();
    for (int i = 0; rc == 0 && i < n_get; i++) {
        snprintf(key, sizeof key, "P%064d", (i * 7919) % CONTACTS);
        rc = veil_store_get(s, "veil.contacts", key, v, sizeof v, &len, NULL);
    }
    *gets = n_get / (bench_now_s() - t0);
    for (int i = 0; rc == 0 && i < n_take; i++) {
        snprintf(key, sizeof key, "carol/%08d", i);
        rc = veil_store_put(s, "x3dh.dir.opk", key, v, 37, VEIL_STORE_ABSENT, NULL);
    }
    t0 = bench_now_s();
    for (int i = 0; rc == 0 && i < n_take; i++)
        rc = veil_store_take(s, "x3dh.dir.opk", "carol/", VEIL_STORE_PREFIX, key, v, sizeof v,
                             &len);
    *takes = n_take / (bench_now_s() - t0);
    veil_store_close(s);
    (void)b;
    return rc;
}

/* n puts (fresh keys of this round), one at a time or in batches of
 * BATCH: puts/s. */
static int puts_per_s(veil_store *s, int n, bool batched, int round, double *per_s)
{
    uint8_t v[100];
    char key[64];
    bool open = false;
    int rc = 0;
    memset(v, 0xcd, sizeof v);
    double t0 = bench_now_s();
    for (int i = 0; rc == 0 && i < n; i++) {
        if (batched && !open)
            open = (rc = veil_store_batch_begin(s)) == 0;
        snprintf(key, sizeof key, "%c%d/%08d", batched ? 'b' : 'o', round, i);
        if (rc == 0)
            rc = veil_store_put(s, "bench.batch", key, v, sizeof v, VEIL_STORE_ANY, NULL);
        if (open && (rc < 0 || i % BATCH == BATCH - 1 || i == n - 1)) {
            open = false;
            int crc = veil_store_batch_commit(s);
            rc = rc < 0 ? rc : crc;
        }
    }
    *per_s = n / (bench_now_s() - t0);
    return rc;
}

/* Part 4: for each store, puts/s one at a time, in batches, and the ratio. */
static int batch_rows(bench_run *b, const char *dir, int runs, int n)
{
    const char *ci = getenv("VEIL_BENCH_PG_CONNINFO");
    const char *pw = getenv("VEIL_BENCH_PG_PASSWORD_FILE");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/batch.db", dir);
    const char *sq[] = { "path", path, NULL };
    const char *pg[] = { "conninfo", ci, pw != NULL ? "password_file" : NULL, pw, NULL };
    const char *const *kv[2] = { sq, pg };
    const char *name[2] = { "sqlite", "postgresql" };
    int rc = 0;
    if (ci == NULL)
        fprintf(stderr, "state: postgresql batch rows skipped: VEIL_BENCH_PG_CONNINFO is not "
                "set\n");
    for (int p = 0; rc == 0 && p < (ci != NULL ? 2 : 1); p++) {
        double one[RUNS], many[RUNS], ratio[RUNS];
        veil_store *s;
        if ((rc = veil_store_new(name[p], kv[p], &s)) < 0)
            break;
        for (int r = 0; rc == 0 && r < runs; r++) {
            rc = puts_per_s(s, n, false, r, &one[r]);
            if (rc == 0)
                rc = puts_per_s(s, n, true, r, &many[r]);
            ratio[r] = rc == 0 ? many[r] / one[r] : 0;
        }
        veil_store_close(s);
        if (rc < 0)
            break;
        bench_emit(b, name[p], "puts/s one at a time", bench_median(one, (size_t)runs), "1/s");
        bench_emit(b, name[p], "puts/s in batches of 100", bench_median(many, (size_t)runs),
                   "1/s");
        bench_emit(b, name[p], "puts batched / one at a time", bench_median(ratio, (size_t)runs),
                   "x");
    }
    return rc;
}

typedef struct pair {
    veil_node *node;
    veil_context *app;
    veil_vault *vault;
    veil_entity *alice, *bob;
} pair;

static int pair_up(pair *p, const char *config)
{
    veil_config *cfg;
    veil_trust_policy *to_alice;
    const char *id;
    int rc = veil_config_new_from_text(&cfg, config, "<bench>");
    veil_node_options o = { .size = sizeof o, .config = cfg };
    if (rc == 0)
        rc = veil_node_new(&p->node, &p->app, &o);
    veil_config_free(cfg);
    if (rc < 0 || (rc = veil_vault_open(p->node, NULL, &p->vault)) < 0 ||
        (rc = veil_entity_open(p->node, p->vault, NULL, VEIL_ENTITY_CREATE, &p->alice)) < 0 ||
        (rc = veil_entity_open(p->node, p->vault, NULL, VEIL_ENTITY_CREATE, &p->bob)) < 0)
        return rc;
    id = veil_entity_identifier(p->alice);
    if ((rc = veil_trust_policy_new_identifier(p->node, &id, 1, &to_alice)) < 0 ||
        (rc = veil_secure_channel_listener_open(p->bob, "bob", to_alice)) < 0)
        return rc;
    return 0;
}

static void pair_down(pair *p)
{
    veil_entity_close(p->alice);
    veil_entity_close(p->bob);
    veil_vault_close(p->vault);
    (void)veil_node_free(p->node);
}

static int setups(pair *p, int n, double *per_s)
{
    veil_route r;
    veil_address ch;
    veil_trust_policy *to_bob;
    const char *id = veil_entity_identifier(p->bob);
    int rc = veil_route_parse(&r, "bob");
    double t0 = bench_now_s();
    for (int i = 0; rc == 0 && i < n; i++) /* the channel takes the policy */
        if ((rc = veil_trust_policy_new_identifier(p->node, &id, 1, &to_bob)) == 0 &&
            (rc = veil_secure_channel_open(p->alice, &r, to_bob, &ch)) == 0)
            rc = veil_secure_channel_close(p->node, &ch);
    *per_s = n / (bench_now_s() - t0);
    return rc;
}

/* The X3DH pairs: memory and kept (file vault + sqlite in dir/x3dh). */
static int x3dh_pairs(pair *xm, pair *xk, const char *dir)
{
    char conf[3 * PATH_MAX];
    snprintf(conf, sizeof conf, "[key_agreement]\nplugin = x3dh\n[vault]\nplugin = file\n"
             "path = %s/x3dh.vault\npassphrase_env = VEIL_BENCH_STATE_PASS\nkdf_n = 1024\n"
             "kdf_r = 1\n[node]\nstate_dir = %s\n", dir, dir);
    setenv("VEIL_BENCH_STATE_PASS", "bench", 1); /* the KDF only runs at open */
    int rc = pair_up(xm, "[key_agreement]\nplugin = x3dh\n[store]\nplugin = memory\n");
    return rc == 0 ? pair_up(xk, conf) : rc;
}

static int run(bench_run *b)
{
    bool smoke = bench_smoke(b);
    int n_get = smoke ? 200 : 200000, n_take = smoke ? 20 : 2000, n_set = smoke ? 5 : 400;
    int n_x = smoke ? 5 : 300;
    double g[2][RUNS], t[2][RUNS], su[2][RUNS], ratio[RUNS], xs[2][RUNS], xratio[RUNS];
    char dir[PATH_MAX - 64], path[PATH_MAX], conf[PATH_MAX + 64], cmd[PATH_MAX + 16];
    char xdir[PATH_MAX];
    if (scratch_template(dir, sizeof dir, "bench-state") != 0 || mkdtemp(dir) == NULL)
        return VEIL_EIO;
    int rc = 0, runs = smoke ? 1 : RUNS;
    pair pm = { 0 }, ps = { 0 }, xm = { 0 }, xk = { 0 };
    snprintf(conf, sizeof conf, "[node]\nstate_dir = %s\n", dir);
    snprintf(xdir, sizeof xdir, "%s/x3dh", dir);
    if (mkdir(xdir, 0700) != 0)
        rc = VEIL_EIO;
    if (rc == 0 && (rc = pair_up(&pm, "[store]\nplugin = memory\n")) == 0 &&
        (rc = pair_up(&ps, conf)) == 0)
        rc = x3dh_pairs(&xm, &xk, xdir);
    for (int r = 0; rc == 0 && r < runs; r++) {
        snprintf(path, sizeof path, "%s/bench%d.db", dir, r);
        rc = store_ops(b, "memory", NULL, n_get, n_take, &g[0][r], &t[0][r]);
        if (rc == 0)
            rc = store_ops(b, "sqlite", path, n_get, n_take, &g[1][r], &t[1][r]);
        if (rc == 0)
            rc = setups(&pm, n_set, &su[0][r]);
        if (rc == 0)
            rc = setups(&ps, n_set, &su[1][r]);
        ratio[r] = rc == 0 ? 100.0 * su[1][r] / su[0][r] : 0;
        if (rc == 0)
            rc = setups(&xm, n_x, &xs[0][r]);
        if (rc == 0)
            rc = setups(&xk, n_x, &xs[1][r]);
        xratio[r] = rc == 0 ? 100.0 * xs[1][r] / xs[0][r] : 0;
    }
    if (rc == 0) {
        bench_emit(b, "memory", "contact lookups/s", bench_median(g[0], (size_t)runs), "1/s");
        bench_emit(b, "sqlite", "contact lookups/s", bench_median(g[1], (size_t)runs), "1/s");
        bench_emit(b, "memory", "OPK consumptions/s", bench_median(t[0], (size_t)runs), "1/s");
        bench_emit(b, "sqlite", "OPK consumptions/s", bench_median(t[1], (size_t)runs), "1/s");
        bench_emit(b, "memory", "channel set-ups/s", bench_median(su[0], (size_t)runs), "1/s");
        bench_emit(b, "sqlite", "channel set-ups/s", bench_median(su[1], (size_t)runs), "1/s");
        bench_emit(b, "sqlite", "set-ups sqlite / memory", bench_median(ratio, (size_t)runs),
                   "%");
        bench_emit(b, "memory", "X3DH set-ups/s", bench_median(xs[0], (size_t)runs), "1/s");
        bench_emit(b, "kept", "X3DH set-ups/s", bench_median(xs[1], (size_t)runs), "1/s");
        bench_emit(b, "kept", "X3DH set-ups kept / memory", bench_median(xratio, (size_t)runs),
                   "%");
        rc = batch_rows(b, dir, runs, smoke ? 20 : 1000);
    }
    if (rc < 0) {
        fprintf(stderr, "state: %s (%s)\n", veil_strerror(rc), veil_last_error());
    }
    if (pm.node != NULL)
        pair_down(&pm);
    if (ps.node != NULL)
        pair_down(&ps);
    if (xm.node != NULL)
        pair_down(&xm);
    if (xk.node != NULL)
        pair_down(&xk);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0 && rc == 0)
        rc = VEIL_EIO;
    return rc;
}

const bench_case bench_case_state = {
    "state",
    "node state store: contact lookups/s and OPK consumptions/s on memory vs sqlite; channel "
    "set-ups/s with a memory vs a sqlite store; X3DH set-ups/s with prekeys in memory vs kept "
    "(file vault + sqlite); puts/s one at a time vs in batches on sqlite (and postgresql: "
    "VEIL_BENCH_PG_CONNINFO)",
    run,
};
