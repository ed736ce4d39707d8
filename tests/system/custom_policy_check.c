/* Drives the out-of-tree allowfile plugin (examples/custom-policy/) built
 * by tests/system/custom-policy.sh against an installed veil:
 *
 *   custom_policy_check /abs/path/allowfile.so WORKDIR
 *
 * Loads it through a configuration file ([policy] plugin = <abs path>,
 * file = WORKDIR/allowed), shows one peer allowed and another denied, then
 * replaces the file and shows the change picked up, then a bad line denying
 * everyone (fail closed).  Prints TAP lines (the script prints the plan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/entity.h>
#include <veil/error.h>
#include <veil/node.h>
#include <veil/trust_policy.h>

static int failures;

static void tap(int ok, const char *what)
{
    printf("%sok - %s\n", ok ? "" : "not ", what);
    if (!ok) {
        printf("# detail: %s\n", veil_last_error());
        failures++;
    }
}

/* Write text to WORKDIR/allowed through a rename, as an editor would. */
static int write_list(const char *dir, const char *text)
{
    char tmp[4096], dst[4096];
    snprintf(tmp, sizeof tmp, "%s/allowed.new", dir);
    snprintf(dst, sizeof dst, "%s/allowed", dir);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        return -1;
    return rename(tmp, dst);
}

typedef struct peer {
    veil_entity *e;
    veil_history_info hi;
    veil_trust_info info;
} peer;

static int make_peer(veil_node *node, peer *p)
{
    size_t len;
    if (veil_entity_open(node, NULL, NULL, VEIL_ENTITY_CREATE, &p->e) < 0)
        return -1;
    const uint8_t *h = veil_entity_history(p->e, &len);
    if (veil_history_verify(veil_entity_vault(p->e), h, len, &p->hi) < 0)
        return -1;
    memset(&p->info, 0, sizeof p->info);
    p->info.size = sizeof p->info;
    p->info.peer_identifier = p->hi.identifier;
    p->info.peer_history = h;
    p->info.peer_history_len = len;
    p->info.peer_public_key = p->hi.current_key;
    p->info.peer_public_key_len = sizeof p->hi.current_key;
    return 0;
}

static int denied_as(veil_trust_policy *pol, const peer *p, const char *extra)
{
    char want[512];
    snprintf(want, sizeof want, "peer %s refused by policy 'allowfile' ([policy])%s",
             p->hi.identifier, extra);
    return veil_trust_policy_check(pol, &p->info) == VEIL_EDENIED &&
           strncmp(veil_last_error(), want, strlen(want)) == 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 || argv[1][0] != '/') {
        fprintf(stderr, "usage: %s /abs/path/allowfile.so WORKDIR\n", argv[0]);
        return 2;
    }
    const char *so = argv[1], *dir = argv[2];
    char conf_path[4096], text[8192];
    veil_node *node;
    veil_context *app;
    peer alice, bob;
    veil_trust_policy *pol;

    snprintf(conf_path, sizeof conf_path, "%s/policy.conf", dir);
    snprintf(text, sizeof text, "[policy]\nplugin = %s\nfile = %s/allowed\n", so, dir);
    FILE *f = fopen(conf_path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || write_list(dir, "# nobody\n") < 0)
        return 2;
    veil_node_options o = { sizeof o, NULL, conf_path };
    if (veil_node_new(&node, &app, &o) < 0 || make_peer(node, &alice) < 0 ||
        make_peer(node, &bob) < 0) {
        fprintf(stderr, "setup: %s\n", veil_last_error());
        return 2;
    }
    snprintf(text, sizeof text, "# allowed peers\n\n%s\n", alice.hi.identifier);
    int rc = write_list(dir, text);
    rc = rc == 0 ? veil_trust_policy_new_from_config(node, "policy", &pol) : -1;
    tap(rc == 0, "the plugin loads through the configuration file by absolute path");
    if (rc < 0)
        return 1;
    tap(veil_trust_policy_check(pol, &alice.info) == 0, "alice (listed) is allowed");
    tap(denied_as(pol, &bob, ""), "bob (not listed) is denied, naming bob and the policy");

    snprintf(text, sizeof text, "%s\n", bob.hi.identifier);
    rc = write_list(dir, text);
    tap(rc == 0 && veil_trust_policy_check(pol, &bob.info) == 0,
        "after the file is replaced, bob is allowed");
    tap(denied_as(pol, &alice, ""), "after the file is replaced, alice is denied");

    rc = write_list(dir, "P-not-an-identifier\n");
    tap(rc == 0 && denied_as(pol, &bob, ": the policy failed") &&
            strstr(veil_last_error(), "allowed:1: not an identifier") != NULL,
        "a bad line denies everyone (fail closed) and names file:line");

    veil_trust_policy_free(pol);
    veil_entity_close(alice.e);
    veil_entity_close(bob.e);
    if (veil_node_free(node) != 0)
        failures++;
    return failures == 0 ? 0 : 1;
}
