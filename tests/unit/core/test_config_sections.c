/* Sections a configuration may hold (issue #16): an unknown section fails
 * veil_node_new naming file:line, the nearest registered section and the
 * accepted ones; applications and plugins register theirs (with a check
 * that runs at node creation); [secure_channel], [identity] and [node]
 * values are validated at veil_node_new, not at first use. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"
#include "node_text.h"

#include <string.h>

#include <veil/config.h>
#include <veil/error.h>
#include <veil/node.h>

static int node_from(const char *text)
{
    return node_from_text(text, "t.conf");
}

static void typo_in_section_name_fails_with_hint(void **state)
{
    (void)state;
    assert_error_contains(node_from("[node]\nrelay = false\n\n[valut]\ncrypto = openssl\n"),
                          VEIL_ECONFIG, "t.conf:4: unknown section [valut]; did you mean [vault]?");
    assert_last_error_contains("(accepted: [node], ");
    assert_last_error_contains("[vault.NAME]");
    assert_last_error_contains("[secure_channel]");
    assert_last_error_contains("[identity]");
    assert_error_contains(node_from("[secure_chanel]\nmax_message = 1k\n"), VEIL_ECONFIG,
                          "t.conf:1: unknown section [secure_chanel]; did you mean "
                          "[secure_channel]?");
}

static void typo_in_prefixed_section_keeps_its_name(void **state)
{
    (void)state;
    assert_error_contains(node_from("[valut.backup]\nplugin = software\n"), VEIL_ECONFIG,
                          "t.conf:1: unknown section [valut.backup]; did you mean "
                          "[vault.backup]?");
    /* [transport] alone is not a section (only [transport.NAME]). */
    assert_error_contains(node_from("[transport]\n"), VEIL_ECONFIG,
                          "t.conf:1: unknown section [transport]; did you mean "
                          "[transport.NAME]?");
}

static void far_off_name_gets_no_hint(void **state)
{
    (void)state;
    assert_error_contains(node_from("[zebra-crossing]\n"), VEIL_ECONFIG,
                          "t.conf:1: unknown section [zebra-crossing] (accepted: [node]");
    assert_last_error_lacks("did you mean");
}

static int listener_checks;

static int check_listener(veil_node *node, const veil_config *cfg, const char *section)
{
    assert_non_null(node);
    listener_checks++;
    if (veil_config_get(cfg, section, "bind") == NULL)
        return veil_error_set(VEIL_ECONFIG, "[%s] needs bind", section);
    return 0;
}

static void applications_register_their_sections(void **state)
{
    (void)state;
    const char *text = "[listener.echo]\nbind = 127.0.0.1:1\n[control]\n";
    assert_error_contains(node_from(text), VEIL_ECONFIG,
                          "t.conf:1: unknown section [listener.echo]");
    assert_int_equal(veil_config_register_section("listener.*", check_listener), 0);
    assert_int_equal(veil_config_register_section("control", NULL), 0);
    /* Again: a no-op, the check does not run twice per section. */
    assert_int_equal(veil_config_register_section("listener.*", check_listener), 0);
    listener_checks = 0;
    assert_int_equal(node_from(text), 0);
    assert_int_equal(listener_checks, 1);
    /* The registered check's error fails node creation. */
    assert_error(node_from("[listener.web]\n"), VEIL_ECONFIG, "[listener.web] needs bind");
    /* "listener.*" does not cover [listener] itself, and typos near a
     * registered prefix are hinted too. */
    assert_error_contains(node_from("[listner.x]\nbind = 1\n"), VEIL_ECONFIG,
                          "did you mean [listener.x]?");
    assert_error_contains(node_from("[listener]\n"), VEIL_ECONFIG,
                          "unknown section [listener]");
    /* Registrations are counted: two made, two undone. */
    veil_config_unregister_section("listener.*", check_listener);
    assert_int_equal(node_from(text), 0);
    veil_config_unregister_section("listener.*", check_listener);
    assert_error_contains(node_from(text), VEIL_ECONFIG,
                          "t.conf:1: unknown section [listener.echo]");
    veil_config_unregister_section("control", NULL);
    assert_error_contains(node_from("[control]\n"), VEIL_ECONFIG,
                          "t.conf:1: unknown section [control]");
}

static void bad_patterns_are_refused(void **state)
{
    (void)state;
    assert_error(veil_config_register_section(NULL, NULL), VEIL_EINVAL,
                 "veil_config_register_section: empty pattern");
    assert_error_contains(veil_config_register_section("Listener.*", NULL), VEIL_ECONFIG,
                          "bad character 'L' in section pattern");
    assert_error_contains(veil_config_register_section("a.*.*", NULL), VEIL_ECONFIG,
                          "bad character '*' in section pattern");
    assert_error(veil_config_check_sections(NULL, NULL), VEIL_EINVAL,
                 "veil_config_check_sections: NULL config");
}

static void values_are_checked_at_node_creation(void **state)
{
    (void)state;
    assert_error(node_from("[secure_channel]\nhandshake_timeout_ms = soon\n"), VEIL_ECONFIG,
                 "t.conf:2: [secure_channel] handshake_timeout_ms = 'soon': expected an integer "
                 "with optional suffix k, m or g (x1024, x1024^2, x1024^3)");
    assert_error_contains(node_from("[secure_channel]\nmax_mesage = 1k\n"), VEIL_ECONFIG,
                          "t.conf:2: unknown key 'max_mesage' in [secure_channel]");
    assert_error_contains(node_from("[identity]\nkey_lifetime = -1\n"), VEIL_ECONFIG,
                          "t.conf:2: ");
    assert_last_error_contains("key_lifetime");
    assert_error_contains(node_from("[identity]\nclock = 1\n"), VEIL_ECONFIG,
                          "t.conf:2: unknown key 'clock' in [identity]");
    /* The vault's plugin is loaded (the default one too) and checks its
     * values: no node on a vault that would fail at first use. */
    assert_error_contains(node_from("[vault]\ncrypto = libsodium\n"), VEIL_EPLUGIN_INIT,
                          "t.conf:2: unknown value 'libsodium' for key 'crypto' in [vault] "
                          "(accepted: sodium, openssl)");
    assert_error_contains(node_from("[vault.backup]\nplugin = software\ncrypto = nacl\n"),
                          VEIL_EPLUGIN_INIT, "t.conf:3: unknown value 'nacl' for key 'crypto'");
    assert_error_contains(node_from("[vault]\ncrypt = openssl\n"), VEIL_ECONFIG,
                          "t.conf:2: unknown key 'crypt' in [vault]");
    /* [key_agreement]: the instance a channel would make. */
    assert_error_contains(node_from("[key_agreement]\nprotocol = Noise_QQ_25519_AESGCM_SHA256\n"),
                          VEIL_EINVAL, "t.conf:2: [key_agreement] protocol: noise: unknown "
                          "handshake pattern 'QQ'");
    assert_int_equal(node_from("[secure_channel]\nmax_message = 1k\n[identity]\n"
                               "clock_skew = 60\n[node]\nrelay = true\n"), 0);
}

static void sections_set_by_program_are_named_so(void **state)
{
    (void)state;
    veil_config *cfg;
    assert_int_equal(veil_config_new(&cfg), 0);
    assert_int_equal(veil_config_set(cfg, "nod", "relay", "true"), 0);
    assert_error_contains(veil_config_check_sections(cfg, NULL), VEIL_ECONFIG,
                          "set by program: unknown section [nod]; did you mean [node]?");
    veil_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(typo_in_section_name_fails_with_hint),
        cmocka_unit_test(typo_in_prefixed_section_keeps_its_name),
        cmocka_unit_test(far_off_name_gets_no_hint),
        cmocka_unit_test(applications_register_their_sections),
        cmocka_unit_test(bad_patterns_are_refused),
        cmocka_unit_test(values_are_checked_at_node_creation),
        cmocka_unit_test(sections_set_by_program_are_named_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
