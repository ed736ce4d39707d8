/* vault, identity in a token: the same work with Alice's identity key in
 * a SoftHSM2 token (the pkcs11 vault) and in the software vault, for the
 * record (no target), in alternating chunks so machine load hits both:
 *
 *  - identity signatures/s (veil_vault_sign with the persistent identity
 *    key: C_Sign in the token vs the vault core);
 *  - entities created/s (key pair made in the token, history event
 *    signed, static key attested, history record written to the token);
 *  - secure channel set-ups/s (open + close, Bob in the software vault):
 *    the attestation is made when the entity opens, so a set-up signs
 *    nothing and the token should cost nothing here.
 *
 * The token is made in a temporary directory (softhsm2-util, SOFTHSM2_CONF)
 * and removed at the end; without SoftHSM2 or the pkcs11 plugin the part is
 * skipped (named on stderr).  Everything runs twice: with Ed25519 identity
 * keys (CKM_EDDSA) and with ECDSA P-256 ones (CKM_ECDSA over the vault's
 * SHA-256; OpenSSL's ECDSA in the software vault). */
#define _XOPEN_SOURCE 700
#include "config.h"
#include "bench.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <veil/veil.h>
#include "scratch.h"

#define P11B_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define RUNS 5

typedef struct p11b {
    bench_run *b;
    char dir[128];
    veil_node *node;
    veil_context *app;
    veil_vault *tv, *sv;              /* token vault, software vault */
    veil_entity *alice[2], *bob;      /* [0] in the token, [1] in software */
    veil_key_times times;             /* key_type: Alice's identity keys' */
} p11b;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A fresh token in a temporary directory; 1 when SoftHSM2 is missing. */
static int token_new(p11b *w)
{
    char path[256], cmd[512];
    if (access(P11B_MODULE, R_OK) != 0)
        return 1;
    if (scratch_template(w->dir, sizeof w->dir, "bench-p11") != 0 || mkdtemp(w->dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/softhsm2.conf", w->dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n",
            w->dir);
    if (fclose(f) != 0 || setenv("SOFTHSM2_CONF", path, 1) != 0 ||
        setenv("VEIL_BENCH_P11_PIN", "246810", 1) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "softhsm2-util --init-token --free --label veil-bench "
             "--pin 246810 --so-pin 13579111 >/dev/null 2>&1");
    return system(cmd) == 0 ? 0 : -1;
}

static int world_up(p11b *w)
{
    char text[512];
    snprintf(text, sizeof text, "[vault]\nplugin = software\n[vault.token]\nplugin = pkcs11\n"
             "module = %s\ntoken_label = veil-bench\npin_env = VEIL_BENCH_P11_PIN\n",
             P11B_MODULE);
    veil_config *cfg;
    int rc = veil_config_new_from_text(&cfg, text, "<bench>");
    veil_node_options o = { .size = sizeof o, .config = cfg };
    if (rc == 0)
        rc = veil_node_new(&w->node, &w->app, &o);
    veil_config_free(cfg);
    if (rc < 0 || (rc = veil_vault_open(w->node, "vault.token", &w->tv)) < 0 ||
        (rc = veil_vault_open(w->node, NULL, &w->sv)) < 0 ||
        (rc = veil_entity_open_with(w->node, w->tv, "alice", VEIL_ENTITY_CREATE, &w->times,
                                    &w->alice[0])) < 0 ||
        (rc = veil_entity_open_with(w->node, w->sv, "alice", VEIL_ENTITY_CREATE, &w->times,
                                    &w->alice[1])) < 0 ||
        (rc = veil_entity_open(w->node, w->sv, "bob", VEIL_ENTITY_CREATE, &w->bob)) < 0)
        return rc;
    const char *ids[2] = { veil_entity_identifier(w->alice[0]),
                           veil_entity_identifier(w->alice[1]) };
    veil_trust_policy *p;
    if ((rc = veil_trust_policy_new_identifier(w->node, ids, 2, &p)) < 0)
        return rc;
    return veil_secure_channel_listener_open(w->bob, "bob", p);
}

static void world_down(p11b *w)
{
    veil_entity_close(w->alice[0]);
    veil_entity_close(w->alice[1]);
    veil_entity_close(w->bob);
    veil_vault_close(w->tv);
    veil_vault_close(w->sv);
    if (w->node != NULL)
        (void)veil_node_free(w->node);
    if (w->dir[0] != '\0')
        nftw(w->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    unsetenv("SOFTHSM2_CONF");
}

/* One unit of work with Alice i (0: token, 1: software). */
typedef int (*work_fn)(p11b *w, int i, long n);

static int sign_work(p11b *w, int i, long n)
{
    veil_vault *v = i == 0 ? w->tv : w->sv;
    veil_secret k;
    uint8_t msg[64] = { 1 }, sig[64];
    int rc = veil_vault_find_by_label(v, "veil.entity.alice.key.0", &k);
    for (long j = 0; j < n && rc == 0; j++)
        rc = veil_vault_sign(v, k, msg, sizeof msg, sig);
    return rc;
}

static int create_work(p11b *w, int i, long n)
{
    int rc = 0;
    for (long j = 0; j < n && rc == 0; j++) {
        veil_entity *e;
        if ((rc = veil_entity_open_with(w->node, i == 0 ? w->tv : w->sv, NULL,
                                        VEIL_ENTITY_CREATE, &w->times, &e)) == 0)
            veil_entity_close(e);
    }
    return rc;
}

static int setup_work(p11b *w, int i, long n)
{
    const char *id = veil_entity_identifier(w->bob);
    int rc = 0;
    for (long j = 0; j < n && rc == 0; j++) {
        veil_trust_policy *p;
        veil_route r;
        veil_address ch;
        if ((rc = veil_trust_policy_new_identifier(w->node, &id, 1, &p)) == 0 &&
            (rc = veil_route_parse(&r, "bob")) == 0 &&
            (rc = veil_secure_channel_open(w->alice[i], &r, p, &ch)) == 0)
            rc = veil_secure_channel_close(w->node, &ch);
    }
    return rc;
}

/* Rates of f for the token and software, chunks alternating, medians of
 * the runs; emitted under variant with the token/software ratio. */
static int compare(p11b *w, const char *variant, work_fn f, long per_run, long chunk)
{
    int runs = bench_smoke(w->b) ? 1 : RUNS, rc = 0;
    if (bench_smoke(w->b))
        per_run = chunk = 2;
    double rate[2][RUNS], ratio[RUNS];
    for (int run = 0; run < runs && rc == 0; run++) {
        double t[2] = { 0, 0 };
        for (long done = 0; done < per_run && rc == 0; done += chunk)
            for (int i = 0; i < 2 && rc == 0; i++) {
                double t0 = bench_now_s();
                rc = f(w, i, chunk);
                t[i] += bench_now_s() - t0;
            }
        for (int i = 0; i < 2; i++)
            rate[i][run] = (double)per_run / t[i];
        ratio[run] = 100.0 * rate[0][run] / rate[1][run];
    }
    if (rc < 0)
        return rc;
    bench_emit(w->b, variant, "identity in SoftHSM2 token", bench_median(rate[0], (size_t)runs),
               "1/s");
    bench_emit(w->b, variant, "identity in software vault", bench_median(rate[1], (size_t)runs),
               "1/s");
    bench_emit(w->b, variant, "token / software", bench_median(ratio, (size_t)runs), "%");
    return 0;
}

/* The three comparisons with identity keys of type (a new token each). */
static int bench_type(bench_run *b, int type)
{
    const char *t = type == VEIL_SECRET_P256 ? "p256" : "ed25519";
    char v[3][64];
    p11b w;
    memset(&w, 0, sizeof w);
    w.b = b;
    w.times.key_type = type;
    snprintf(v[0], sizeof v[0], "pkcs11 identity sign (%s)", t);
    snprintf(v[1], sizeof v[1], "pkcs11 entity create (%s)", t);
    snprintf(v[2], sizeof v[2], "pkcs11 channel set-up (%s identity)", t);
    int rc = token_new(&w);
    if (rc == 1) {
        fprintf(stderr, "bench vault: no SoftHSM2 (%s): the token rows are skipped\n",
                P11B_MODULE);
        return 0;
    }
    if (rc == 0 && (rc = world_up(&w)) == VEIL_EPLUGIN_NOTFOUND) {
        fprintf(stderr, "bench vault: no pkcs11 vault (%s): the token rows are skipped\n",
                veil_last_error());
        world_down(&w);
        return 0;
    }
    if (rc == 0)
        rc = compare(&w, v[0], sign_work, 2000, 100);
    if (rc == 0)
        rc = compare(&w, v[1], create_work, 100, 10);
    if (rc == 0)
        rc = compare(&w, v[2], setup_work, 1000, 50);
    if (rc < 0)
        fprintf(stderr, "bench vault (pkcs11, %s): %s\n", t, veil_last_error());
    world_down(&w);
    return rc;
}

int bench_vault_pkcs11(bench_run *b)
{
    int rc = bench_type(b, VEIL_SECRET_ED25519);
    return rc == 0 ? bench_type(b, VEIL_SECRET_P256) : rc;
}
