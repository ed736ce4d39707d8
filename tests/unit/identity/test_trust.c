/* Trust policies (framework/identity/trust.c and policies/), loaded through
 * the real plugin loader (VEIL_PLUGIN_PATH), from code and from
 * configuration.  Every denial is checked for its exact detail: the peer's
 * full identifier, the policy and where it was defined. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/entity.h>
#include <veil/error.h>
#include <veil/log.h>
#include <veil/node.h>
#include <veil/trust_policy.h>
#include <veil/vault.h>

enum { ALICE, BOB, CAROL, NPEERS };

typedef struct peer {
    veil_entity *e;
    veil_history_info hi;
    veil_trust_info info;
} peer;

typedef struct world {
    veil_node *node;
    veil_context *app;
    veil_vault *v;
    peer p[NPEERS];
} world;

static world W;

static void refresh(peer *p)
{
    size_t len;
    const uint8_t *h = veil_entity_history(p->e, &len);
    assert_int_equal(veil_history_verify(W.v, h, len, &p->hi), 0);
    memset(&p->info, 0, sizeof p->info);
    p->info.size = sizeof p->info;
    p->info.peer_identifier = p->hi.identifier;
    p->info.peer_history = h;
    p->info.peer_history_len = len;
    p->info.peer_public_key = p->hi.current_key;
    p->info.peer_public_key_len = p->hi.key_len;
    p->info.peer_key_type = p->hi.key_type;
}

static int setup(void **state)
{
    if (veil_node_new(&W.node, &W.app, NULL) < 0 || veil_vault_open(W.node, NULL, &W.v) < 0)
        return -1;
    for (int i = 0; i < NPEERS; i++) {
        if (veil_entity_open(W.node, W.v, NULL, VEIL_ENTITY_CREATE, &W.p[i].e) < 0)
            return -1;
        refresh(&W.p[i]);
    }
    *state = &W;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NPEERS; i++)
        veil_entity_close(W.p[i].e);
    veil_vault_close(W.v);
    return veil_node_free(W.node) == 0 ? 0 : -1;
}

static const char *id(int who)
{
    return W.p[who].hi.identifier;
}

static void expect_denied(veil_trust_policy *p, int who, const char *detail)
{
    assert_error(veil_trust_policy_check(p, &W.p[who].info), VEIL_EDENIED, detail);
}


/* A node whose configuration is text (origin "trust.conf"). */
static int node_with(const char *text, veil_node **node)
{
    veil_config *cfg;
    veil_context *app;
    int rc = veil_config_new_from_text(&cfg, text, "trust.conf");
    if (rc < 0)
        return rc;
    veil_node_options o = { sizeof o, cfg, NULL };
    rc = veil_node_new(node, &app, &o);
    veil_config_free(cfg);
    return rc;
}

/* ---- plugins from code ------------------------------------------------- */

static void test_identifier_from_code(void **state)
{
    (void)state;
    veil_trust_policy *p;
    const char *ids[] = { id(ALICE) };
    assert_int_equal(veil_trust_policy_new_identifier(W.node, ids, 1, &p), 0);
    assert_string_equal(veil_trust_policy_name(p), "identifier");
    assert_int_equal(veil_trust_policy_check(p, &W.p[ALICE].info), 0);
    char want[256];
    snprintf(want, sizeof want, "peer %s refused by policy 'identifier' (created by program)",
             id(BOB));
    expect_denied(p, BOB, want);
    veil_trust_policy_free(p);

    /* Several identifiers; a rotated peer keeps its identifier. */
    const char *two[] = { id(ALICE), id(BOB) };
    assert_int_equal(veil_trust_policy_new_identifier(W.node, two, 2, &p), 0);
    assert_int_equal(veil_trust_policy_check(p, &W.p[ALICE].info), 0);
    assert_int_equal(veil_trust_policy_check(p, &W.p[BOB].info), 0);
    snprintf(want, sizeof want, "peer %s refused by policy 'identifier' (created by program)",
             id(CAROL));
    expect_denied(p, CAROL, want);
    veil_trust_policy_free(p);

    const char *bad[] = { "Pxyz" };
    assert_error_contains(veil_trust_policy_new_identifier(W.node, bad, 1, &p), VEIL_ECONFIG,
                          "identifiers: entry 1 is not an identifier: identifier 'Pxyz'");
    const char *kv[] = { "identifers", id(ALICE), NULL };
    assert_error_contains(veil_trust_policy_new(W.node, "identifier", kv, &p), VEIL_ECONFIG,
                          "unknown key 'identifers'");
    assert_error_contains(veil_trust_policy_new(W.node, "identifier", NULL, &p), VEIL_ECONFIG,
                          "needs the key 'identifiers'");
    assert_error_contains(veil_trust_policy_new(W.node, "no-such-policy", NULL, &p),
                          VEIL_EPLUGIN_NOTFOUND, "no-such-policy");
}

static char logged[1024];

static void capture(veil_log_level level, const char *component, const char *message, void *arg)
{
    (void)arg;
    if (level == VEIL_LOG_INFO)
        snprintf(logged, sizeof logged, "%s: %s", component, message);
}

static void test_everyone(void **state)
{
    (void)state;
    veil_trust_policy *p;
    veil_log_level old = veil_log_get_level();
    logged[0] = '\0';
    veil_log_set_handler(capture, NULL);
    veil_log_set_level(VEIL_LOG_INFO);
    int rc = veil_trust_policy_new(W.node, "everyone", NULL, &p);
    veil_log_set_handler(NULL, NULL);
    veil_log_set_level(old);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(logged, "policy 'everyone'"));
    assert_non_null(strstr(logged, "every authenticated peer is trusted"));
    for (int i = 0; i < NPEERS; i++)
        assert_int_equal(veil_trust_policy_check(p, &W.p[i].info), 0);
    veil_trust_policy_free(p);
    const char *kv[] = { "x", "1", NULL };
    assert_error_contains(veil_trust_policy_new(W.node, "everyone", kv, &p), VEIL_ECONFIG,
                          "unknown key 'x'");
}

static void key_hex(int who, char out[65])
{
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", W.p[who].hi.current_key[i]);
}

static void test_public_key(void **state)
{
    (void)state;
    veil_trust_policy *p;
    char hex[65], want[256];
    key_hex(CAROL, hex);
    const char *kv[] = { "public_key", hex, NULL };
    assert_int_equal(veil_trust_policy_new(W.node, "public-key", kv, &p), 0);
    assert_int_equal(veil_trust_policy_check(p, &W.p[CAROL].info), 0);
    snprintf(want, sizeof want, "peer %s refused by policy 'public-key' (created by program)",
             id(ALICE));
    expect_denied(p, ALICE, want);
    /* Carol rotates: the pinned key is no longer her current key. */
    assert_int_equal(veil_entity_rotate(W.p[CAROL].e), 0);
    refresh(&W.p[CAROL]);
    snprintf(want, sizeof want, "peer %s refused by policy 'public-key' (created by program)",
             id(CAROL));
    expect_denied(p, CAROL, want);
    /* No key in the trust info: the plugin fails, which denies. */
    veil_trust_info info = W.p[ALICE].info;
    info.peer_public_key = NULL;
    assert_error_contains(veil_trust_policy_check(p, &info), VEIL_EDENIED,
                          "refused by policy 'public-key' (created by program): the policy failed");
    assert_last_error_contains("carries no peer public key");
    veil_trust_policy_free(p);

    const char *shortkv[] = { "public_key", "abcd", NULL };
    assert_error_contains(veil_trust_policy_new(W.node, "public-key", shortkv, &p), VEIL_ECONFIG,
                          "public_key: 4 characters (expected 64 hex digits of an Ed25519 key, or 66 of a "
                          "compressed P-256 point starting 02 or 03)");
    hex[10] = 'g';
    assert_error_contains(veil_trust_policy_new(W.node, "public-key", kv, &p), VEIL_ECONFIG,
                          "public_key: bad hex character 'g' at offset 10");
}

/* ---- combinators from code --------------------------------------------- */

static void test_combinators_from_code(void **state)
{
    (void)state;
    veil_trust_policy *m[2], *all, *any;
    const char *ab[] = { id(ALICE), id(BOB) }, *a[] = { id(ALICE) }, *b[] = { id(BOB) };
    char hex[65], want[768];
    key_hex(ALICE, hex);
    const char *kv[] = { "public_key", hex, NULL };
    assert_int_equal(veil_trust_policy_new_identifier(W.node, ab, 2, &m[0]), 0);
    assert_int_equal(veil_trust_policy_new(W.node, "public-key", kv, &m[1]), 0);
    assert_int_equal(veil_trust_policy_new_all(m, 2, &all), 0);
    assert_string_equal(veil_trust_policy_name(all), "all");
    assert_int_equal(veil_trust_policy_check(all, &W.p[ALICE].info), 0);
    snprintf(want, sizeof want, "peer %s refused by policy 'all' (created by program) because "
             "member 2 of 2 refused: peer %s refused by policy 'public-key' (created by "
             "program)", id(BOB), id(BOB));
    expect_denied(all, BOB, want);
    veil_trust_policy_free(all);

    assert_int_equal(veil_trust_policy_new_identifier(W.node, a, 1, &m[0]), 0);
    assert_int_equal(veil_trust_policy_new_identifier(W.node, b, 1, &m[1]), 0);
    assert_int_equal(veil_trust_policy_new_any(m, 2, &any), 0);
    assert_int_equal(veil_trust_policy_check(any, &W.p[ALICE].info), 0);
    assert_int_equal(veil_trust_policy_check(any, &W.p[BOB].info), 0);
    snprintf(want, sizeof want, "peer %s refused by policy 'any' (created by program): all 2 "
             "members refused: (1) peer %s refused by policy 'identifier' (created by "
             "program); (2) peer %s refused by policy 'identifier' (created by program)",
             id(CAROL), id(CAROL), id(CAROL));
    expect_denied(any, CAROL, want);
    veil_trust_policy_free(any);

    assert_error(veil_trust_policy_new_all(m, 0, &all), VEIL_EINVAL,
                 "trust policy 'all': no members (an empty combinator is refused)");
    veil_trust_policy *with_null[1] = { NULL };
    assert_error_contains(veil_trust_policy_new_any(with_null, 1, &any), VEIL_EINVAL,
                          "member 0 is NULL");
}

/* An erring member: in 'all' it denies; in 'any' another member may allow. */
static void test_error_is_deny(void **state)
{
    (void)state;
    veil_trust_policy *m[2], *all, *any;
    const char *a[] = { id(ALICE) };
    veil_trust_info info = W.p[ALICE].info;
    info.peer_public_key = NULL;          /* makes public-key fail */
    char hex[65];
    key_hex(ALICE, hex);
    const char *kv[] = { "public_key", hex, NULL };

    assert_int_equal(veil_trust_policy_new_identifier(W.node, a, 1, &m[0]), 0);
    assert_int_equal(veil_trust_policy_new(W.node, "public-key", kv, &m[1]), 0);
    assert_int_equal(veil_trust_policy_new_all(m, 2, &all), 0);
    assert_error_contains(veil_trust_policy_check(all, &info), VEIL_EDENIED,
                          "member 2 of 2 refused");
    assert_last_error_contains("the policy failed");
    veil_trust_policy_free(all);

    assert_int_equal(veil_trust_policy_new(W.node, "public-key", kv, &m[0]), 0);
    assert_int_equal(veil_trust_policy_new_identifier(W.node, a, 1, &m[1]), 0);
    assert_int_equal(veil_trust_policy_new_any(m, 2, &any), 0);
    assert_int_equal(veil_trust_policy_check(any, &info), 0);
    /* A malformed peer identifier makes identifier fail too: denied. */
    info.peer_identifier = "Pnot-an-identifier";
    assert_error_contains(veil_trust_policy_check(any, &info), VEIL_EDENIED,
                          "the peer identifier is malformed");
    veil_trust_policy_free(any);

    /* Malformed calls deny too. */
    assert_int_equal(veil_trust_policy_check(NULL, &info), VEIL_EDENIED);
    info = W.p[ALICE].info;
    info.size = 8;
    assert_int_equal(veil_trust_policy_new_identifier(W.node, a, 1, &m[0]), 0);
    assert_error(veil_trust_policy_check(m[0], &info), VEIL_EDENIED,
                 "trust policy check: info->size 8 is smaller than veil_trust_info (64) (denied: "
                 "fail closed)");
    assert_error(veil_trust_policy_check(m[0], NULL), VEIL_EDENIED,
                 "trust policy check: info is NULL (denied: fail closed)");
    veil_trust_policy_free(m[0]);
}

/* ---- from configuration ------------------------------------------------ */

static void test_from_config(void **state)
{
    (void)state;
    char conf[2048], hex[65], want[768];
    key_hex(BOB, hex);
    snprintf(conf, sizeof conf,
             "[policy.bob]\n"                       /* 1 */
             "plugin = identifier\n"                /* 2 */
             "identifiers = %s %s\n"                /* 3 */
             "[policy.pin]\n"                       /* 4 */
             "plugin = public-key\n"                /* 5 */
             "public_key = %s\n"                    /* 6 */
             "[policy.both]\n"                      /* 7 */
             "all = policy.bob, policy.pin\n"       /* 8 */
             "[policy.either]\n"                    /* 9 */
             "any = policy.pin policy.open\n"       /* 10 */
             "[policy.open]\n"                      /* 11 */
             "plugin = everyone\n",                 /* 12 */
             id(ALICE), id(BOB), hex);
    veil_node *node;
    veil_trust_policy *p;
    assert_int_equal(node_with(conf, &node), 0);

    assert_int_equal(veil_trust_policy_new_from_config(node, "policy.bob", &p), 0);
    assert_int_equal(veil_trust_policy_check(p, &W.p[ALICE].info), 0);
    assert_int_equal(veil_trust_policy_check(p, &W.p[BOB].info), 0);
    snprintf(want, sizeof want, "peer %s refused by policy 'identifier' ([policy.bob])",
             id(CAROL));
    expect_denied(p, CAROL, want);
    veil_trust_policy_free(p);

    assert_int_equal(veil_trust_policy_new_from_config(node, "policy.both", &p), 0);
    assert_int_equal(veil_trust_policy_check(p, &W.p[BOB].info), 0);
    snprintf(want, sizeof want, "peer %s refused by policy 'all' ([policy.both]) because "
             "member 2 of 2 refused: peer %s refused by policy 'public-key' ([policy.pin])",
             id(ALICE), id(ALICE));
    expect_denied(p, ALICE, want);
    veil_trust_policy_free(p);

    assert_int_equal(veil_trust_policy_new_from_config(node, "policy.either", &p), 0);
    for (int i = 0; i < NPEERS; i++)
        assert_int_equal(veil_trust_policy_check(p, &W.p[i].info), 0);
    veil_trust_policy_free(p);
    assert_int_equal(veil_node_free(node), 0);
}

static void test_config_errors(void **state)
{
    (void)state;
    veil_node *node;
    veil_trust_policy *p;
    char bad[256];
    snprintf(bad, sizeof bad, "[policy.bad]\nplugin = identifier\nidentifiers = %s, P1234\n",
             id(ALICE));
    /* Every policy section is built when the node is made (issue #16):
     * each mistake fails veil_node_new, naming its line. */
    static const struct { const char *conf, *detail; } cases[] = {
        { NULL, "policy 'identifier' ([policy.bad]) refused its configuration: trust.conf:3: "
                "[policy.bad] identifiers: entry 2 is not an identifier: identifier 'P1234'" },
        { "[policy.a]\nall = policy.b\n[policy.b]\nany = policy.open, policy.a\n"
          "[policy.open]\nplugin = everyone\n",
          "trust.conf:4: [policy.b] any: cycle among policy sections: policy.a -> policy.b -> "
          "policy.a" },
        { "[policy.empty]\nall = ,\n", "trust.conf:2: [policy.empty] all is empty" },
        { "[policy.open]\nplugin = everyone\n[policy.twice]\nall = policy.open\n"
          "any = policy.open\n", "trust.conf:5: [policy.twice] has both 'all' and 'any'" },
        { "[policy.vault]\nall = vault\n",
          "trust.conf:2: [policy.vault] all names 'vault', which is not a policy section" },
        { "[policy.open]\nplugin = everyone\n[policy.extra]\nall = policy.open\nnote = x\n",
          "trust.conf:5: unknown key 'note' in [policy.extra] (accepted: all)" },
        { "[policy.nothing]\nnote = x\n",
          "[policy.nothing] has none of 'plugin', 'all', 'any'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        node = (veil_node *)1;
        assert_error_contains(node_with(cases[i].conf ? cases[i].conf : bad, &node),
                              VEIL_ECONFIG, cases[i].detail);
        assert_null(node);
    }
    assert_int_equal(node_with("[policy.open]\nplugin = everyone\n", &node), 0);
    assert_error_contains(veil_trust_policy_new_from_config(node, "policy.absent", &p), VEIL_ECONFIG,
                          "no section [policy.absent]");
    assert_error_contains(veil_trust_policy_new_from_config(node, "vault", &p), VEIL_EINVAL,
                          "'vault' is not a policy section");
    assert_int_equal(veil_node_free(node), 0);

    /* A plugin section's keys are the loader's to check, at node creation:
     * a misspelt key, or a combinator key next to 'plugin', fails the node. */
    assert_error_contains(node_with("[policy.x]\nplugin = everyone\nall = policy.y\n", &node),
                          VEIL_ECONFIG, "trust.conf:3: unknown key 'all' in [policy.x]");
    assert_error_contains(node_with("[policy]\nplugin = identifier\nidentifers = x\n", &node),
                          VEIL_ECONFIG, "trust.conf:3: unknown key 'identifers' in [policy]");
}

/* ---- the node's shared policy plugins ----------------------------------- */

/* Policies made by program on one node share one load of their plugin:
 * once loaded, a second policy needs no search of the plugin path (the
 * path is emptied to show it), while another node searches and fails;
 * the keys of a policy made from the cached plugin are still checked; a
 * policy outlives its node (the plugin stays loaded until the last policy
 * is freed: valgrind/ASan would see code or state used after unload). */
static void test_plugin_shared_per_node(void **state)
{
    (void)state;
    veil_node *n1 = NULL, *n2 = NULL;
    veil_context *app = NULL;
    veil_trust_policy *p1 = NULL, *p2 = NULL, *p3 = NULL, *bad = NULL;
    assert_int_equal(veil_node_new(&n1, &app, NULL), 0);
    assert_int_equal(veil_node_new(&n2, &app, NULL), 0);
    assert_int_equal(veil_trust_policy_new(n1, "everyone", NULL, &p1), 0);

    const char *saved = getenv("VEIL_PLUGIN_PATH");
    char *keep = saved != NULL ? strdup(saved) : NULL;
    assert_true(saved == NULL || keep != NULL);
    assert_int_equal(setenv("VEIL_PLUGIN_PATH", "/nonexistent-veil-plugin-dir", 1), 0);
    int rc2 = veil_trust_policy_new(n1, "everyone", NULL, &p2);
    const char *kv[] = { "bogus", "1", NULL };
    int rcb = veil_trust_policy_new(n1, "everyone", kv, &bad);
    char bad_detail[512];
    snprintf(bad_detail, sizeof bad_detail, "%s", veil_last_error());
    int rcn = veil_trust_policy_new(n2, "everyone", NULL, &p3);
    char other_detail[1024];
    snprintf(other_detail, sizeof other_detail, "%s", veil_last_error());
    if (keep != NULL)
        assert_int_equal(setenv("VEIL_PLUGIN_PATH", keep, 1), 0);
    else
        assert_int_equal(unsetenv("VEIL_PLUGIN_PATH"), 0);
    free(keep);

    assert_int_equal(rc2, 0);
    assert_int_equal(rcb, VEIL_ECONFIG);
    assert_non_null(strstr(bad_detail, "unknown key 'bogus' in [policy.program."));
    assert_null(bad);
    assert_int_equal(rcn, VEIL_EPLUGIN_NOTFOUND);
    assert_non_null(strstr(other_detail, "plugin 'everyone' not found"));
    assert_non_null(strstr(other_detail, "/nonexistent-veil-plugin-dir/everyone.so"));
    assert_null(p3);

    /* Both nodes go first; the policies still work, then unload it. */
    assert_int_equal(veil_node_free(n2), 0);
    assert_int_equal(veil_node_free(n1), 0);
    assert_int_equal(veil_trust_policy_check(p1, &W.p[BOB].info), 0);
    veil_trust_policy_free(p1);
    assert_int_equal(veil_trust_policy_check(p2, &W.p[CAROL].info), 0);
    veil_trust_policy_free(p2);
    /* Without a node: a load of its own, freed with the policy. */
    assert_int_equal(veil_trust_policy_new(NULL, "everyone", NULL, &p3), 0);
    assert_int_equal(veil_trust_policy_check(p3, &W.p[ALICE].info), 0);
    veil_trust_policy_free(p3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identifier_from_code),
        cmocka_unit_test(test_everyone),
        cmocka_unit_test(test_public_key),
        cmocka_unit_test(test_combinators_from_code),
        cmocka_unit_test(test_error_is_deny),
        cmocka_unit_test(test_from_config),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_plugin_shared_per_node),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
