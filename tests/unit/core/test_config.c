/* Configuration: syntax, error messages (code, "file:line" and the offending
 * token), programmatic overrides, typed getters, key checks, VEIL_CONF. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <veil/config.h>
#include <veil/error.h>
#include "scratch.h"

static char g_path[512];

/* Write text to a fresh temp file (path in g_path). */
static const char *temp_file(const char *text)
{
    assert_int_equal(scratch_template(g_path, sizeof g_path, "test-config"), 0);
    int fd = mkstemp(g_path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return g_path;
}

/* Load text from a file, expect VEIL_ECONFIG at `line` mentioning `token`. */
static void expect_file_error(const char *text, int line, const char *token)
{
    veil_config *cfg = (veil_config *)1;
    char where[600];
    const char *path = temp_file(text);
    assert_int_equal(veil_config_new_from_file(&cfg, path), VEIL_ECONFIG);
    assert_null(cfg);
    snprintf(where, sizeof where, "%s:%d: ", path, line);
    assert_last_error_contains(where);
    assert_last_error_contains(token);
    unlink(path);
}

static const char sample[] =
    "# leading comment\n"
    "; another comment\n"
    "\n"
    "[vault]\n"
    "plugin = software\n"
    "  crypto=openssl  \n"
    "\t[policy.allow-list]\t# comment\n"
    "note = a#b;c # a trailing comment\n"
    "quoted = \"  keeps \\\"spaces\\\" and \\\\ # \"  ; a comment\n"
    "semi = x ;comment\n"
    "hashed = #only a comment\n"
    "empty =\n"
    "[node]\n"
    "queue_size = 64k\r\n"
    "[vault]\n"
    "path = /var/lib/veil\n";

static void test_parse_valid(void **state)
{
    (void)state;
    veil_config *cfg;
    const char *path = temp_file(sample);
    char origin[600];

    assert_int_equal(veil_config_new_from_file(&cfg, path), 0);
    assert_string_equal(veil_config_get(cfg, "vault", "plugin"), "software");
    assert_string_equal(veil_config_get(cfg, "vault", "crypto"), "openssl");
    assert_string_equal(veil_config_get(cfg, "policy.allow-list", "note"), "a#b;c");
    assert_string_equal(veil_config_get(cfg, "policy.allow-list", "semi"), "x");
    assert_string_equal(veil_config_get(cfg, "policy.allow-list", "hashed"), "");
    assert_string_equal(veil_config_get(cfg, "policy.allow-list", "quoted"),
                        "  keeps \"spaces\" and \\ # ");
    assert_string_equal(veil_config_get(cfg, "policy.allow-list", "empty"), "");
    assert_string_equal(veil_config_get(cfg, "node", "queue_size"), "64k");
    assert_string_equal(veil_config_get(cfg, "vault", "path"), "/var/lib/veil");
    assert_null(veil_config_get(cfg, "vault", "missing"));
    assert_null(veil_config_get(cfg, "nosuch", "plugin"));
    assert_null(veil_config_get(NULL, "vault", "plugin"));

    snprintf(origin, sizeof origin, "%s:5", path);
    assert_string_equal(veil_config_origin(cfg, "vault", "plugin"), origin);
    snprintf(origin, sizeof origin, "%s:16", path);
    assert_string_equal(veil_config_origin(cfg, "vault", "path"), origin);
    assert_null(veil_config_origin(cfg, "vault", "missing"));

    /* File order, with the repeated [vault] merged into the first. */
    assert_int_equal(veil_config_section_count(cfg), 3);
    assert_string_equal(veil_config_section_name(cfg, 0), "vault");
    assert_string_equal(veil_config_section_name(cfg, 1), "policy.allow-list");
    assert_string_equal(veil_config_section_name(cfg, 2), "node");
    assert_null(veil_config_section_name(cfg, 3));
    assert_int_equal(veil_config_key_count(cfg, "vault"), 3);
    const char *k, *v;
    static const char *const order[] = {"plugin", "crypto", "path"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(veil_config_key_at(cfg, "vault", i, &k, &v), 0);
        assert_string_equal(k, order[i]);
    }
    assert_error_contains(veil_config_key_at(cfg, "vault", 3, &k, &v), VEIL_ENOTFOUND,
                          "no key number 3 in [vault]");
    assert_int_equal(veil_config_key_count(cfg, "nosuch"), 0);
    assert_true(veil_config_has_section(cfg, "node"));
    assert_false(veil_config_has_section(cfg, "Node"));
    veil_config_free(cfg);
    unlink(path);
}

static void test_parse_string_origin(void **state)
{
    (void)state;
    veil_config *cfg;
    assert_int_equal(veil_config_new_from_text(&cfg, "[a]\nk = v", "<string>"), 0);
    assert_string_equal(veil_config_get(cfg, "a", "k"), "v");
    assert_string_equal(veil_config_origin(cfg, "a", "k"), "<string>:2");
    veil_config_free(cfg);
    assert_error_contains(veil_config_new_from_text(&cfg, "[a]\nk v\n", "inline"), VEIL_ECONFIG,
                          "inline:2: missing '=' in 'k v'");
    assert_int_equal(veil_config_new_from_text(&cfg, "", "empty"), 0);
    assert_int_equal(veil_config_section_count(cfg), 0);
    veil_config_free(cfg);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_file_error("[vault]\n[policy\n", 2, "unterminated section header '[policy'");
    expect_file_error("[vault]# note\n", 1, "unexpected text '# note' after section header");
    expect_file_error("[vault] note\n", 1, "unexpected text 'note' after section header");
    expect_file_error("\nplugin = x\n[vault]\n", 2, "key 'plugin' outside any section");
    expect_file_error("[vault]\nplugin software\n", 2, "missing '=' in 'plugin software'");
    expect_file_error("[vault]\n  = software\n", 2, "empty key in '= software'");
    expect_file_error("[ ]\n", 1, "empty section name in '[ ]'");
    expect_file_error("[Vault]\n", 1, "bad character 'V' in section name 'Vault'");
    expect_file_error("[vault]\nplu gin = x\n", 2, "bad character ' ' in key 'plu gin'");
    expect_file_error("[vault]\nPlugin = x\n", 2, "bad character 'P' in key 'Plugin'");
    expect_file_error("[vault]\n$x = 1\n", 2, "bad character '$' in key '$x'");
    expect_file_error("[va\x01ult]\n", 1, "bad character 0x01 in section name");
    expect_file_error("[vault]\nplugin = a\n\ncrypto = b\nplugin = c\n", 5,
                      "duplicate key 'plugin' in [vault]");
    {
        /* The message names the line of the first definition. */
        veil_config *cfg;
        char first[600];
        const char *path = temp_file("[vault]\nplugin = a\n\ncrypto = b\nplugin = c\n");
        snprintf(first, sizeof first, "(first defined at %s:2)", path);
        assert_error_contains(veil_config_new_from_file(&cfg, path), VEIL_ECONFIG, first);
        unlink(path);
    }
    expect_file_error("[vault]\nk = \"abc\n", 2, "unterminated quote in value of 'k'");
    expect_file_error("[vault]\nk = \"abc\\\"\n", 2, "unterminated quote in value of 'k'");
    expect_file_error("[vault]\nk = \"a\\nb\"\n", 2, "unknown escape '\\' followed by 'n'");
    expect_file_error("[vault]\nk = \"ab\" c\n", 2, "unexpected text 'c' after the closing quote");
    expect_file_error("[vault]\nk = \"ab\"# c\n", 2, "unexpected text '# c' after the closing quote");

    /* Value and name limits. */
    size_t n = 16 + VEIL_CONFIG_VALUE_MAX + 1;
    char *big = malloc(n + 16);
    assert_non_null(big);
    strcpy(big, "[s]\nk = ");
    memset(big + 8, 'v', VEIL_CONFIG_VALUE_MAX + 1);
    strcpy(big + 8 + VEIL_CONFIG_VALUE_MAX + 1, "\n");
    expect_file_error(big, 2, "value of 'k' is 4097 bytes (limit 4096)");
    big[8 + VEIL_CONFIG_VALUE_MAX] = '\n'; /* exactly at the limit: fine */
    veil_config *cfg;
    assert_int_equal(veil_config_new_from_text(&cfg, big, "x"), 0);
    assert_int_equal(strlen(veil_config_get(cfg, "s", "k")), VEIL_CONFIG_VALUE_MAX);
    veil_config_free(cfg);
    free(big);

    char name[VEIL_CONFIG_NAME_MAX + 8];
    memset(name, 'n', sizeof name);
    name[0] = '[';
    name[VEIL_CONFIG_NAME_MAX + 2] = ']';
    name[VEIL_CONFIG_NAME_MAX + 3] = '\0';
    expect_file_error(name, 1, "section name 'nnnn");
    assert_last_error_contains("65 characters (limit 64)");
}

static void test_load_errors(void **state)
{
    (void)state;
    veil_config *cfg;
    assert_error_contains(veil_config_new_from_file(&cfg, "/nonexistent/veil.conf"), VEIL_EIO,
                          "cannot open config file '/nonexistent/veil.conf'");
    assert_last_error_contains("No such file");

    /* A NUL byte inside a file is refused with its line. */
    const char *path = temp_file("");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("[a]\nk = x\0y\n", 1, 12, f);
    fclose(f);
    assert_int_equal(veil_config_new_from_file(&cfg, path), VEIL_ECONFIG);
    char where[600];
    snprintf(where, sizeof where, "%s:2: NUL byte", path);
    assert_last_error_contains(where);
    unlink(path);
}

static void test_set_unset_copy(void **state)
{
    (void)state;
    veil_config *cfg, *copy;
    assert_int_equal(veil_config_new_from_text(&cfg, "[vault]\nplugin = software\n", "f"), 0);
    assert_int_equal(veil_config_set(cfg, "vault", "plugin", "file"), 0);
    assert_string_equal(veil_config_get(cfg, "vault", "plugin"), "file");
    assert_string_equal(veil_config_origin(cfg, "vault", "plugin"), "set by program");
    assert_int_equal(veil_config_set(cfg, "node", "workers", "4"), 0);
    assert_int_equal(veil_config_section_count(cfg), 2);
    assert_string_equal(veil_config_section_name(cfg, 1), "node");

    assert_error_contains(veil_config_set(cfg, "Node", "k", "v"), VEIL_ECONFIG,
                          "bad character 'N' in section name 'Node'");
    assert_error_contains(veil_config_set(cfg, "node", "", "v"), VEIL_ECONFIG, "empty key");

    assert_int_equal(veil_config_new_copy(&copy, cfg), 0);
    assert_int_equal(veil_config_unset(cfg, "vault", "plugin"), 0);
    assert_null(veil_config_get(cfg, "vault", "plugin"));
    assert_error_contains(veil_config_unset(cfg, "vault", "plugin"), VEIL_ENOTFOUND,
                          "no key 'plugin' in [vault]");
    assert_string_equal(veil_config_get(copy, "vault", "plugin"), "file");
    assert_string_equal(veil_config_get(copy, "node", "workers"), "4");
    assert_string_equal(veil_config_origin(copy, "vault", "plugin"), "set by program");
    veil_config_free(copy);
    veil_config_free(cfg);

    /* a removed section is gone whole; the ones after it move down */
    assert_int_equal(veil_config_new_from_text(&cfg, "[a]\nk = 1\n[b]\nk = 2\nj = 3\n[c]\n"
                                               "k = 4\n", "f"), 0);
    assert_int_equal(veil_config_remove_section(cfg, "b"), 0);
    assert_int_equal(veil_config_section_count(cfg), 2);
    assert_false(veil_config_has_section(cfg, "b"));
    assert_null(veil_config_get(cfg, "b", "k"));
    assert_string_equal(veil_config_section_name(cfg, 1), "c");
    assert_string_equal(veil_config_origin(cfg, "c", "k"), "f:7");
    assert_error_contains(veil_config_remove_section(cfg, "b"), VEIL_ENOTFOUND, "no section [b]");
    assert_int_equal(veil_config_remove_section(cfg, "c"), 0);
    assert_int_equal(veil_config_remove_section(cfg, "a"), 0);
    assert_int_equal(veil_config_section_count(cfg), 0);
    veil_config_free(cfg);

    assert_int_equal(veil_config_new(&cfg), 0);
    assert_int_equal(veil_config_section_count(cfg), 0);
    assert_int_equal(veil_config_set(cfg, "a", "b", "c"), 0);
    assert_string_equal(veil_config_get(cfg, "a", "b"), "c");
    veil_config_free(cfg);
    veil_config_free(NULL);
}

static void test_get_int(void **state)
{
    (void)state;
    veil_config *cfg;
    long long v;
    assert_int_equal(veil_config_new_from_text(&cfg,
        "[n]\na = 42\nb = -7\nc = 64k\nd = 3M\ne = 2g\nf = 12x\ng = \nh = 9223372036854775807\n"
        "i = 9223372036854775808\nj = -9223372036854775808\nk = 8589934592g\nl = 0x10\n",
        "conf"), 0);
    assert_int_equal(veil_config_get_int(cfg, "n", "a", 0, 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(veil_config_get_int(cfg, "n", "b", 0, -10, 10, &v), 0);
    assert_int_equal(v, -7);
    assert_int_equal(veil_config_get_int(cfg, "n", "c", 0, 0, 1LL << 40, &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(veil_config_get_int(cfg, "n", "d", 0, 0, 1LL << 40, &v), 0);
    assert_int_equal(v, 3 * 1048576);
    assert_int_equal(veil_config_get_int(cfg, "n", "e", 0, 0, 1LL << 40, &v), 0);
    assert_int_equal(v, 2LL * 1073741824);
    assert_int_equal(veil_config_get_int(cfg, "n", "absent", 17, 0, 1, &v), 0);
    assert_int_equal(v, 17);
    assert_int_equal(veil_config_get_int(cfg, "n", "h", 0, 0, INT64_MAX, &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(veil_config_get_int(cfg, "n", "j", 0, INT64_MIN, 0, &v), 0);
    assert_true(v == INT64_MIN);

    assert_error_contains(veil_config_get_int(cfg, "n", "a", 0, 0, 10, &v), VEIL_ECONFIG,
                          "conf:2: [n] a = '42': expected an integer from 0 to 10");
    assert_error_contains(veil_config_get_int(cfg, "n", "f", 0, 0, 100, &v), VEIL_ECONFIG,
                          "conf:7: [n] f = '12x': expected an integer with optional suffix k, m "
                          "or g");
    assert_error_contains(veil_config_get_int(cfg, "n", "g", 0, 0, 100, &v), VEIL_ECONFIG,
                          "conf:8: [n] g = ''");
    assert_error_contains(veil_config_get_int(cfg, "n", "i", 0, INT64_MIN, INT64_MAX, &v),
                          VEIL_ECONFIG, "[n] i = '9223372036854775808'");
    assert_error_contains(veil_config_get_int(cfg, "n", "k", 0, INT64_MIN, INT64_MAX, &v),
                          VEIL_ECONFIG, "[n] k = '8589934592g'");
    assert_error_contains(veil_config_get_int(cfg, "n", "l", 0, INT64_MIN, INT64_MAX, &v),
                          VEIL_ECONFIG, "conf:13: [n] l = '0x10'");

    assert_int_equal(veil_config_set(cfg, "n", "a", "5000"), 0);
    assert_error_contains(veil_config_get_int(cfg, "n", "a", 0, 0, 4096, &v), VEIL_ECONFIG,
                          "set by program: [n] a = '5000': expected an integer from 0 to 4096");
    veil_config_free(cfg);
}

static void test_get_bool(void **state)
{
    (void)state;
    veil_config *cfg;
    bool b;
    static const char *const yes[] = {"true", "yes", "on", "1", "TRUE", "Yes"};
    static const char *const no[] = {"false", "no", "off", "0", "Off"};
    assert_int_equal(veil_config_new(&cfg), 0);
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        assert_int_equal(veil_config_set(cfg, "s", "k", yes[i]), 0);
        b = false;
        assert_int_equal(veil_config_get_bool(cfg, "s", "k", false, &b), 0);
        assert_true(b);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        assert_int_equal(veil_config_set(cfg, "s", "k", no[i]), 0);
        b = true;
        assert_int_equal(veil_config_get_bool(cfg, "s", "k", true, &b), 0);
        assert_false(b);
    }
    assert_int_equal(veil_config_get_bool(cfg, "s", "absent", true, &b), 0);
    assert_true(b);
    assert_int_equal(veil_config_set(cfg, "s", "k", "maybe"), 0);
    assert_error_contains(veil_config_get_bool(cfg, "s", "k", true, &b), VEIL_ECONFIG,
                          "set by program: [s] k = 'maybe': expected a boolean (true/false, "
                          "yes/no, on/off, 1/0)");
    veil_config_free(cfg);
}

static void test_check_keys_and_scope(void **state)
{
    (void)state;
    veil_config *cfg;
    static const char *const allowed[] = {"plugin", "crypto", NULL};
    static const char *const none[] = {NULL};
    assert_int_equal(veil_config_new_from_text(&cfg, "[vault]\nplugin = file\ncrypto = sodium\n"
                                             "[x]\nplgin = 1\nqueue = 2k\nflag = on\n", "c.conf"), 0);
    assert_int_equal(veil_config_check_keys(cfg, "vault", allowed), 0);
    assert_int_equal(veil_config_check_keys(cfg, "absent", allowed), 0);
    assert_error_contains(veil_config_check_keys(cfg, "x", allowed), VEIL_ECONFIG,
                          "c.conf:5: unknown key 'plgin' in [x] (accepted: plugin, crypto)");
    assert_error_contains(veil_config_check_keys(cfg, "x", none), VEIL_ECONFIG, "(accepted: none)");

    veil_config_scope sc = {cfg, "x"};
    long long v;
    bool b;
    assert_string_equal(veil_config_scope_get(&sc, "plgin"), "1");
    assert_null(veil_config_scope_get(&sc, "plugin"));
    assert_null(veil_config_scope_get(NULL, "plugin"));
    assert_int_equal(veil_config_scope_get_int(&sc, "queue", 0, 0, 1 << 20, &v), 0);
    assert_int_equal(v, 2048);
    assert_error_contains(veil_config_scope_get_int(&sc, "queue", 0, 0, 100, &v), VEIL_ECONFIG,
                          "c.conf:6: [x] queue = '2k': expected an integer from 0 to 100");
    assert_int_equal(veil_config_scope_get_bool(&sc, "flag", false, &b), 0);
    assert_true(b);
    assert_int_equal(veil_config_scope_get_bool(&sc, "nope", true, &b), 0);
    assert_true(b);
    veil_config_free(cfg);
}

static void test_load_env(void **state)
{
    (void)state;
    veil_config *cfg = (veil_config *)1;
    unsetenv("VEIL_CONF");
    assert_error_contains(veil_config_new_from_env(&cfg), VEIL_ENOTFOUND, "VEIL_CONF is not set");
    assert_null(cfg);

    const char *path = temp_file("[node]\nname = env\n");
    setenv("VEIL_CONF", path, 1);
    assert_int_equal(veil_config_new_from_env(&cfg), 0);
    assert_string_equal(veil_config_get(cfg, "node", "name"), "env");
    veil_config_free(cfg);
    unlink(path);
    assert_error_contains(veil_config_new_from_env(&cfg), VEIL_EIO, path);
    unsetenv("VEIL_CONF");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_string_origin),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_set_unset_copy),
        cmocka_unit_test(test_get_int),
        cmocka_unit_test(test_get_bool),
        cmocka_unit_test(test_check_keys_and_scope),
        cmocka_unit_test(test_load_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
