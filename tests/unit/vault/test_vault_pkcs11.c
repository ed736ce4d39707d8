/* The pkcs11 vault against a real token implementation, SoftHSM2: the
 * identity key (Ed25519 or P-256) made in the token and never leaving it, the software half
 * for everything else, where each key lives, records kept in the token
 * across opens, and every error of docs/VAULTS.md "pkcs11" with its exact
 * code and message.  Skipped (77) only when SoftHSM2 is not installed. */
#include "config.h"

#include <poll.h>
#include <pty.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "assert_error.h"
#include "backends.h"
#include "test_vault_pkcs11.h"

static veil_secret_attrs attrs(int type, const char *label, int persistence)
{
    veil_secret_attrs a;
    memset(&a, 0, sizeof a);
    a.type = type;
    a.persistence = persistence;
    snprintf(a.label, sizeof a.label, "%s", label);
    return a;
}

static const uint8_t msg[] = "attest this static key";

/* sig over msg by pub verifies on a software vault of each backend, and a
 * changed message does not. */
static void verify_everywhere(const uint8_t pub[32], const uint8_t sig[64])
{
    static const char *const be[] = { "openssl", "sodium" };
    for (size_t i = 0; i < 2; i++) {
        pkt s;
        uint8_t other[sizeof msg];
        assert_int_equal(pkt_open_plugin(&s, "software", be[i], ""), 0);
        assert_int_equal(veil_vault_verify(s.v, VEIL_SECRET_ED25519, pub, 32, msg, sizeof msg,
                                           sig), 0);
        memcpy(other, msg, sizeof msg);
        other[0] ^= 1;
        assert_error(veil_vault_verify(s.v, VEIL_SECRET_ED25519, pub, 32, other, sizeof other,
                                       sig), VEIL_EAUTH, "Ed25519 signature does not verify");
        pkt_close(&s);
    }
}

static void test_key_in_token(void **state)
{
    const char *backend = *state;
    pkt t;
    veil_secret id, ka, s;
    uint8_t pub[32], pub2[32], sig[64], out[64];
    size_t n;
    int loc;
    char where[256];
    assert_int_equal(pkt_open(&t, backend, NULL), 0);
    veil_secret_attrs a = attrs(VEIL_SECRET_ED25519, "id", VEIL_PERSISTENT);
    assert_int_equal(veil_vault_generate(t.v, &a, &id), 0);
    /* In the token: located there, never exportable, not even on request. */
    assert_int_equal(veil_vault_key_location(t.v, id, &loc, where, sizeof where), 0);
    assert_int_equal(loc, VEIL_KEY_IN_TOKEN);
    assert_non_null(strstr(where, "pkcs11 token '" P11T_LABEL "' (serial "));
    assert_error_contains(veil_vault_export(t.v, id, out, sizeof out, &n), VEIL_EPERM,
                          "secret id is not exportable: it lives in pkcs11 token '" P11T_LABEL
                          "' (serial ");
    assert_last_error_contains(") and never leaves it");
    a.exportable = true;
    snprintf(a.label, sizeof a.label, "id-exp");
    assert_error(veil_vault_generate(t.v, &a, &s), VEIL_EPERM,
                 "pkcs11 vault: a persistent Ed25519 key is made in the token and can never "
                 "be exportable");
    assert_error(veil_vault_import(t.v, &a, out, 32, &s), VEIL_EPERM,
                 "pkcs11 vault: persistent Ed25519 keys are generated in the token, never "
                 "imported (a key that existed outside it could exist elsewhere too)");
    /* Signs in the token; verifies in software on both backends. */
    assert_int_equal(veil_vault_public_key(t.v, id, pub, sizeof pub, &n), 0);
    assert_int_equal(n, 32);
    assert_int_equal(veil_vault_sign(t.v, id, msg, sizeof msg, sig), 0);
    verify_everywhere(pub, sig);
    /* The static key is in software; a DH with the token key is refused. */
    a = attrs(VEIL_SECRET_X25519, "ka", VEIL_PERSISTENT);
    assert_int_equal(veil_vault_generate(t.v, &a, &ka), 0);
    assert_int_equal(veil_vault_key_location(t.v, ka, &loc, where, sizeof where), 0);
    assert_int_equal(loc, VEIL_KEY_IN_SOFTWARE);
    assert_int_equal(veil_vault_public_key(t.v, ka, out, sizeof out, &n), 0);
    assert_error_contains(veil_vault_dh(t.v, id, out, 32, NULL, &s), VEIL_ETYPE,
                          "secret id is an ed25519 signing key in pkcs11 token");
    /* Labels are unique across both halves. */
    a = attrs(VEIL_SECRET_X25519, "id", VEIL_EPHEMERAL);
    assert_error(veil_vault_generate(t.v, &a, &s), VEIL_EEXIST,
                 "a secret labelled 'id' already exists");
    a = attrs(VEIL_SECRET_ED25519, "ka", VEIL_PERSISTENT);
    assert_error(veil_vault_generate(t.v, &a, &s), VEIL_EEXIST,
                 "a secret labelled 'ka' already exists");
    assert_int_equal(veil_vault_record_put(t.v, "veil.test.rec", msg, sizeof msg), 0);
    pkt_close(&t);
    /* Reopened: the token still holds the key (and the records); the
     * software half's secrets lived with the instance. */
    assert_int_equal(pkt_open(&t, backend, NULL), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "id", &id), 0);
    assert_int_equal(veil_vault_public_key(t.v, id, pub2, sizeof pub2, &n), 0);
    assert_memory_equal(pub, pub2, 32);
    char kid[VEIL_KEY_ID_TEXT_BYTES];
    assert_int_equal(veil_vault_key_id(t.v, id, kid), 0);
    assert_int_equal(veil_vault_find_by_key_id(t.v, kid, &s), 0);
    assert_true(s == id);
    assert_error(veil_vault_find_by_label(t.v, "ka", &s), VEIL_ENOTFOUND,
                 "no secret labelled 'ka'");
    assert_int_equal(veil_vault_record_get(t.v, "veil.test.rec", out, sizeof out, &n), 0);
    assert_int_equal(n, sizeof msg);
    assert_memory_equal(out, msg, sizeof msg);
    /* Destroyed in the token: gone for this instance and the next. */
    assert_int_equal(veil_vault_secret_destroy(t.v, id), 0);
    assert_error_contains(veil_vault_sign(t.v, id, msg, sizeof msg, sig), VEIL_EBADHANDLE,
                          "is unknown or destroyed");
    pkt_close(&t);
    assert_int_equal(pkt_open(&t, backend, NULL), 0);
    assert_error(veil_vault_find_by_label(t.v, "id", &s), VEIL_ENOTFOUND,
                 "no secret labelled 'id'");
    pkt_close(&t);
}

/* sig over msg by a P-256 pub verifies on a software vault of each
 * backend (with low S), a changed message or the high-S twin does not. */
static void p256_verify_everywhere(const uint8_t pub[33], const uint8_t sig[64])
{
    static const char *const be[] = { "openssl", "sodium" };
    static const uint8_t order[32] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51 };
    uint8_t high[64];
    int borrow = 0;
    memcpy(high, sig, 32);
    for (int i = 31; i >= 0; i--) {             /* high s = n - s */
        int d = order[i] - sig[32 + i] - borrow;
        borrow = d < 0;
        high[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    assert_true(sig[32] < 0x80);                /* the token's s was normalised */
    for (size_t i = 0; i < 2; i++) {
        pkt s;
        uint8_t other[sizeof msg];
        assert_int_equal(pkt_open_plugin(&s, "software", be[i], ""), 0);
        assert_int_equal(veil_vault_verify(s.v, VEIL_SECRET_P256, pub, 33, msg, sizeof msg, sig),
                         0);
        memcpy(other, msg, sizeof msg);
        other[0] ^= 1;
        assert_error(veil_vault_verify(s.v, VEIL_SECRET_P256, pub, 33, other, sizeof other, sig),
                     VEIL_EAUTH, "verify: not a valid P-256 signature by this key");
        assert_error_contains(veil_vault_verify(s.v, VEIL_SECRET_P256, pub, 33, msg, sizeof msg,
                                                high), VEIL_EAUTH, "low S only");
        pkt_close(&s);
    }
}

/* A P-256 identity key made in the token (CKM_EC_KEY_PAIR_GEN), signing
 * with CKM_ECDSA over the vault's SHA-256, back after a reopen. */
static void test_p256_in_token(void **state)
{
    const char *backend = *state;
    pkt t;
    veil_secret id, s;
    uint8_t pub[33], pub2[33], sig[64], out[64];
    size_t n;
    int loc;
    char where[256];
    assert_int_equal(pkt_open(&t, backend, NULL), 0);
    veil_secret_attrs a = attrs(VEIL_SECRET_P256, "pid", VEIL_PERSISTENT);
    assert_int_equal(veil_vault_generate(t.v, &a, &id), 0);
    assert_int_equal(veil_vault_key_location(t.v, id, &loc, where, sizeof where), 0);
    assert_int_equal(loc, VEIL_KEY_IN_TOKEN);
    assert_non_null(strstr(where, "pkcs11 token '" P11T_LABEL "' (serial "));
    assert_non_null(strstr(where, "key 'pid' (CKA_ID "));
    assert_error_contains(veil_vault_export(t.v, id, out, sizeof out, &n), VEIL_EPERM,
                          "secret pid is not exportable: it lives in pkcs11 token");
    a.exportable = true;
    snprintf(a.label, sizeof a.label, "pid-exp");
    assert_error(veil_vault_generate(t.v, &a, &s), VEIL_EPERM,
                 "pkcs11 vault: a persistent P-256 key is made in the token and can never "
                 "be exportable");
    assert_error(veil_vault_import(t.v, &a, out, 32, &s), VEIL_EPERM,
                 "pkcs11 vault: persistent P-256 keys are generated in the token, never "
                 "imported (a key that existed outside it could exist elsewhere too)");
    assert_int_equal(veil_vault_public_key(t.v, id, pub, sizeof pub, &n), 0);
    assert_int_equal(n, 33);
    assert_true(pub[0] == 2 || pub[0] == 3);
    for (int i = 0; i < 8; i++) {               /* about half the token's s are high */
        assert_int_equal(veil_vault_sign(t.v, id, msg, sizeof msg, sig), 0);
        p256_verify_everywhere(pub, sig);
    }
    veil_secret_attrs got;
    assert_int_equal(veil_vault_attributes(t.v, id, &got), 0);
    assert_int_equal(got.type, VEIL_SECRET_P256);
    assert_error_contains(veil_vault_dh(t.v, id, pub, 32, NULL, &s), VEIL_ETYPE,
                          "secret pid is a p256 signing key in pkcs11 token");
    pkt_close(&t);
    assert_int_equal(pkt_open(&t, backend, NULL), 0);
    assert_int_equal(veil_vault_find_by_label(t.v, "pid", &id), 0);
    assert_int_equal(veil_vault_attributes(t.v, id, &got), 0);
    assert_int_equal(got.type, VEIL_SECRET_P256);
    assert_int_equal(veil_vault_public_key(t.v, id, pub2, sizeof pub2, &n), 0);
    assert_int_equal(n, 33);
    assert_memory_equal(pub, pub2, 33);
    assert_int_equal(veil_vault_sign(t.v, id, msg, sizeof msg, sig), 0);
    p256_verify_everywhere(pub, sig);
    assert_int_equal(veil_vault_secret_destroy(t.v, id), 0);
    pkt_close(&t);
}

/* Two instances on one token: closing one leaves the other logged in (the
 * login is the process's: a C_Logout at close logged both out); key_label
 * and key_id (either hex case) find a key the token holds. */
static void test_two_instances(void **state)
{
    (void)state;
    pkt a, b;
    veil_secret k;
    uint8_t sig[64], id[16];
    char lines[512], hex[33];
    assert_int_equal(pkt_open(&a, "openssl", NULL), 0);
    veil_secret_attrs at = attrs(VEIL_SECRET_ED25519, "shared", VEIL_PERSISTENT);
    assert_int_equal(veil_vault_generate(a.v, &at, &k), 0);
    assert_int_equal(pkt_open(&b, "sodium", PKT_TOKEN "key_label = shared\n"), 0);
    pkt_close(&a);
    assert_int_equal(veil_vault_find_by_label(b.v, "shared", &k), 0);
    assert_int_equal(veil_vault_sign(b.v, k, msg, sizeof msg, sig), 0);
    pkt_close(&b);
    /* The key's CKA_ID, as pkcs11-tool would show it, upper case. */
    FILE *p = popen("pkcs11-tool --module " P11T_MODULE " --login --pin " P11T_PIN
                    " --list-objects --type privkey 2>/dev/null | sed -n 's/^ *ID: *//p'", "r");
    assert_non_null(p);
    assert_non_null(fgets(hex, sizeof hex, p));
    pclose(p);
    hex[strcspn(hex, "\n")] = '\0';
    assert_int_equal(strlen(hex), 2 * sizeof id);
    for (char *c = hex; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'f' ? *c - 32 : *c);
    snprintf(lines, sizeof lines, PKT_TOKEN "key_id = %s\n", hex);
    assert_int_equal(pkt_open(&b, "openssl", lines), 0);
    assert_int_equal(veil_vault_find_by_label(b.v, "shared", &k), 0);
    pkt_close(&b);
}

/* More key pairs than one C_FindObjects chunk (64): all are found again. */
static void test_many_keys(void **state)
{
    (void)state;
    pkt t;
    veil_secret k;
    char label[16];
    assert_int_equal(pkt_open(&t, "openssl", NULL), 0);
    for (int i = 0; i < 70; i++) {
        snprintf(label, sizeof label, "many.%d", i);
        veil_secret_attrs a = attrs(VEIL_SECRET_ED25519, label, VEIL_PERSISTENT);
        assert_int_equal(veil_vault_generate(t.v, &a, &k), 0);
    }
    pkt_close(&t);
    assert_int_equal(pkt_open(&t, "openssl", PKT_TOKEN "key_label = many.69\n"), 0);
    for (int i = 0; i < 70; i++) {
        snprintf(label, sizeof label, "many.%d", i);
        assert_int_equal(veil_vault_find_by_label(t.v, label, &k), 0);
    }
    pkt_close(&t);
}

/* pkt_open with the fixture's token lines but one replaced or added. */
static int open_with(pkt *t, const char *lines)
{
    return pkt_open(t, "openssl", lines);
}

static void test_pkcs11_config_errors(void **state)
{
    (void)state;
    pkt t;
    assert_error(open_with(&t, PKT_TOKEN "pin = 264813\n"), VEIL_ECONFIG,
                 "opening vault 'pkcs11': p11.conf:7: 'pin' is not accepted: a token PIN never "
                 "sits in the configuration file; use pin_env = VAR, pin_fd = N or pin_prompt = "
                 "yes");
    assert_error(open_with(&t, "module = " P11T_MODULE "\ntoken_label = " P11T_LABEL "\n"),
                 VEIL_ECONFIG, "opening vault 'pkcs11': [vault]: the pkcs11 vault needs one of "
                 "pin_env = VAR, pin_fd = N, pin_prompt = yes");
    assert_error(open_with(&t, PKT_TOKEN "pin_prompt = yes\n"), VEIL_ECONFIG,
                 "opening vault 'pkcs11': [vault]: the pkcs11 vault needs only one of pin_env = "
                 "VAR, pin_fd = N, pin_prompt = yes");
    assert_error(open_with(&t, "token_label = x\npin_env = " P11T_PIN_ENV "\n"), VEIL_ECONFIG,
                 "opening vault 'pkcs11': [vault]: the pkcs11 vault needs 'module = "
                 "/path/to/module.so'");
    assert_error(open_with(&t, PKT_TOKEN "token_serial = 1\n"), VEIL_ECONFIG,
                 "opening vault 'pkcs11': [vault]: give token_label or token_serial, not both");
    assert_error(open_with(&t, "module = " P11T_MODULE "\ntoken_label = " P11T_LABEL
                           "\npin_env = VEIL_TEST_UNSET_PIN\n"), VEIL_ECONFIG,
                 "opening vault 'pkcs11': p11.conf:6: pin_env names VEIL_TEST_UNSET_PIN, which "
                 "is not set in the environment");
}

static void test_module_errors(void **state)
{
    (void)state;
    pkt t;
    assert_error_contains(open_with(&t, "module = /nonexistent/libnope.so\ntoken_label = x\n"
                                    "pin_env = " P11T_PIN_ENV "\n"), VEIL_ENOTFOUND,
                          "pkcs11 module '/nonexistent/libnope.so' not found: tried "
                          "/nonexistent/libnope.so (/nonexistent/libnope.so: cannot open");
    /* A bare name is tried as given and in the module directories. */
    assert_error_contains(open_with(&t, "module = libnope-p11.so\ntoken_label = x\n"
                                    "pin_env = " P11T_PIN_ENV "\n"), VEIL_ENOTFOUND,
                          "pkcs11 module 'libnope-p11.so' not found: tried libnope-p11.so (");
    assert_last_error_contains("; /usr/lib/x86_64-linux-gnu/pkcs11/libnope-p11.so (");
    assert_last_error_contains("; /usr/lib/pkcs11/libnope-p11.so (");
    /* A shared library that is not a module (libveil itself). */
    assert_error(open_with(&t, "module = " VEIL_TEST_LIBVEIL "\ntoken_label = x\n"
                           "pin_env = " P11T_PIN_ENV "\n"), VEIL_EFORMAT,
                 "opening vault 'pkcs11': " VEIL_TEST_LIBVEIL " is not a PKCS#11 module: it has "
                 "no C_GetFunctionList");
}

static void test_token_errors(void **state)
{
    (void)state;
    pkt t;
    char lines[512];
    assert_error_contains(open_with(&t, "module = " P11T_MODULE "\ntoken_label = absent\n"
                                    "pin_env = " P11T_PIN_ENV "\n"), VEIL_ENOTFOUND,
                          "pkcs11: no token with label 'absent' in module " P11T_MODULE
                          " (tokens present: '" P11T_LABEL "' (serial ");
    assert_error_contains(open_with(&t, "module = " P11T_MODULE "\ntoken_serial = 0000\n"
                                    "pin_env = " P11T_PIN_ENV "\n"), VEIL_ENOTFOUND,
                          "pkcs11: no token with serial '0000' in module " P11T_MODULE);
    /* By serial: opens. */
    snprintf(lines, sizeof lines, "module = %s\ntoken_serial = %s\npin_env = %s\n", P11T_MODULE,
             tok.serial, P11T_PIN_ENV);
    assert_int_equal(open_with(&t, lines), 0);
    pkt_close(&t);
    /* Wrong PIN: SoftHSM2 then reports "count low" (it keeps no count). */
    setenv("VEIL_TEST_P11_BADPIN", "000000", 1);
    assert_error_contains(open_with(&t, "module = " P11T_MODULE "\ntoken_label = " P11T_LABEL
                                    "\npin_env = VEIL_TEST_P11_BADPIN\n"), VEIL_EPASSPHRASE,
                          "opening vault 'pkcs11': pkcs11 token '" P11T_LABEL "' (serial ");
    assert_last_error_contains("): wrong PIN (CKR_PIN_INCORRECT): the token reports few tries "
                               "left (CKF_USER_PIN_COUNT_LOW; it does not say how many)");
    /* The PIN from a file descriptor, newline cut. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], P11T_PIN "\n", sizeof P11T_PIN), (ssize_t)sizeof P11T_PIN);
    close(fds[1]);
    snprintf(lines, sizeof lines, "module = %s\ntoken_label = %s\npin_fd = %d\n", P11T_MODULE,
             P11T_LABEL, fds[0]);
    assert_int_equal(open_with(&t, lines), 0);
    close(fds[0]);
    pkt_close(&t);
    /* Key not found. */
    assert_error_contains(open_with(&t, PKT_TOKEN "key_label = nokey\n"), VEIL_ENOTFOUND,
                          "): key not found: no Ed25519 or P-256 key pair with label 'nokey'");
    assert_error_contains(open_with(&t, PKT_TOKEN "key_id = 0102\n"), VEIL_ENOTFOUND,
                          "): key not found: no Ed25519 or P-256 key pair with id (CKA_ID, hex) '0102'");
}

/* In a child (no cmocka there): open the vault with lines, exit 0 when it
 * opened, else print the detail and exit 1. */
static void child_open(const char *lines)
{
    char text[1024];
    veil_config *cfg;
    veil_plugin *pl;
    veil_vault *v;
    snprintf(text, sizeof text, "[vault]\nplugin = pkcs11\ncrypto = openssl\n%s", lines);
    int rc = veil_config_new_from_text(&cfg, text, "p11.conf");
    if (rc == 0)
        rc = veil_plugin_open_named("pkcs11", cfg, "vault", VEIL_PLUGIN_VAULT, NULL, &pl);
    veil_config_scope scope = { cfg, "vault" };
    if (rc == 0 && (rc = veil_vault_open_plugin(pl, &scope, &v)) == 0)
        veil_vault_close(v);
    if (rc != 0)
        printf("ERROR %s\n", veil_last_error());
    fflush(stdout);
    _exit(rc == 0 ? 0 : 1);
}

/* Read from fd until want appears (or 5 s pass); what was read in buf. */
static bool read_until(int fd, char *buf, size_t cap, const char *want)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int tries = 0; tries < 500 && strstr(buf, want) == NULL; tries++) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 10) == 1) {
            ssize_t k = read(fd, buf + n, cap - 1 - n);
            if (k <= 0)
                break;
            n += (size_t)k;
            buf[n] = '\0';
        }
    }
    return strstr(buf, want) != NULL;
}

#define PROMPT_LINES "module = " P11T_MODULE "\ntoken_label = " P11T_LABEL "\npin_prompt = yes\n"

/* pin_prompt: asked on the terminal (a pty here), not echoed; a wrong PIN
 * typed there is refused; without a terminal, a clear error. */
static void test_pin_prompt(void **state)
{
    (void)state;
    static const char *const typed[] = { P11T_PIN "\n", "000000\n" };
    for (int i = 0; i < 2; i++) {
        int master, status;
        char out[2048];
        pid_t pid = forkpty(&master, NULL, NULL, NULL);
        assert_true(pid >= 0);
        if (pid == 0)
            child_open(PROMPT_LINES);
        assert_true(read_until(master, out, sizeof out, "): "));
        assert_non_null(strstr(out, "PIN for pkcs11 token '" P11T_LABEL "' (serial "));
        assert_int_equal(write(master, typed[i], strlen(typed[i])), (ssize_t)strlen(typed[i]));
        read_until(master, out, sizeof out, "\n\n"); /* the child's output to its exit */
        assert_int_equal(waitpid(pid, &status, 0), pid);
        close(master);
        assert_null(strstr(out, "264813"));           /* never echoed */
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), i);
    }
    /* No controlling terminal (a new session): the error, not a hang. */
    int fds[2], status;
    char out[1024] = "";
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setsid();
        dup2(fds[1], 1);
        child_open(PROMPT_LINES);
    }
    close(fds[1]);
    assert_true(read_until(fds[0], out, sizeof out, "\n"));
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_non_null(strstr(out, "ERROR opening vault 'pkcs11': pin_prompt = yes but there is no "
                                "terminal to ask on (/dev/tty: "));
}

/* Token states SoftHSM2 never reaches, through the shim in front of it. */
static void test_pin_states(void **state)
{
    (void)state;
    pkt t;
    const char *lines = "module = " VEIL_TEST_P11SHIM "\ntoken_label = " P11T_LABEL
                        "\npin_env = VEIL_TEST_P11_BADPIN\n";
    setenv("VEIL_TEST_P11_BADPIN", "000000", 1);
    setenv("P11SHIM_TOKEN_FLAGS", "0x20000", 1); /* CKF_USER_PIN_FINAL_TRY */
    assert_error_contains(open_with(&t, lines), VEIL_EPASSPHRASE,
                          "): wrong PIN (CKR_PIN_INCORRECT): one try left before the token "
                          "locks the PIN (CKF_USER_PIN_FINAL_TRY)");
    setenv("P11SHIM_TOKEN_FLAGS", "0x40000", 1); /* CKF_USER_PIN_LOCKED */
    assert_error_contains(open_with(&t, lines), VEIL_ELOCKED,
                          "): the user PIN is locked (CKF_USER_PIN_LOCKED); unlock it with the "
                          "SO PIN");
    unsetenv("P11SHIM_TOKEN_FLAGS");
    setenv("P11SHIM_LOGIN_RV", "0xa4", 1);        /* CKR_PIN_LOCKED */
    assert_error_contains(open_with(&t, lines), VEIL_ELOCKED,
                          "): the user PIN is locked (CKR_PIN_LOCKED); unlock it with the SO "
                          "PIN");
    unsetenv("P11SHIM_LOGIN_RV");
}

/* A token without CKM_EDDSA, then one without the key generation
 * (SoftHSM2's slots.mechanisms: the mechanisms it offers; its "-" form
 * for the ones it withholds has no effect in 2.6.1). */
static void test_mechanism_missing(void **state)
{
    (void)state;
    p11t other;
    pkt t;
    p11t_token_free(&tok);
    p11t_token_new(&other, "slots.mechanisms = CKM_EC_EDWARDS_KEY_PAIR_GEN,CKM_ECDSA\n");
    assert_error_contains(open_with(&t, NULL), VEIL_EUNSUPPORTED,
                          "does not support mechanism CKM_EDDSA (0x1057) for signing");
    assert_last_error_contains("does not support mechanism CKM_EC_KEY_PAIR_GEN (0x1040) for "
                               "key pair generation (for P-256 keys): it can hold no identity "
                               "key");
    p11t_token_free(&other);
    p11t_token_new(&other, "slots.mechanisms = CKM_EDDSA,CKM_ECDSA\n");
    assert_error_contains(open_with(&t, NULL), VEIL_EUNSUPPORTED,
                          "does not support mechanism CKM_EC_EDWARDS_KEY_PAIR_GEN (0x1055) "
                          "for key pair generation");
    p11t_token_free(&other);
    /* A token with ECDSA and no EdDSA (PIV cards, TPM 2.0): it opens and
     * makes P-256 keys; an Ed25519 key is refused, naming the mechanism
     * and what would work. */
    p11t_token_new(&other, "slots.mechanisms = CKM_EC_KEY_PAIR_GEN,CKM_ECDSA\n");
    assert_int_equal(pkt_open(&t, "openssl", NULL), 0);
    veil_secret k;
    veil_secret_attrs a = attrs(VEIL_SECRET_ED25519, "ed", VEIL_PERSISTENT);
    assert_error_contains(veil_vault_generate(t.v, &a, &k), VEIL_EUNSUPPORTED,
                          "pkcs11 vault: no Ed25519 keys in this token (it can hold P-256 ones: "
                          "[identity] key_type = p256): pkcs11 token '" P11T_LABEL);
    assert_last_error_contains("does not support mechanism CKM_EC_EDWARDS_KEY_PAIR_GEN (0x1055) "
                               "for key pair generation");
    a = attrs(VEIL_SECRET_P256, "p", VEIL_PERSISTENT);
    assert_int_equal(veil_vault_generate(t.v, &a, &k), 0);
    uint8_t sig[64], pub[33];
    size_t n;
    assert_int_equal(veil_vault_sign(t.v, k, msg, sizeof msg, sig), 0);
    assert_int_equal(veil_vault_public_key(t.v, k, pub, sizeof pub, &n), 0);
    p256_verify_everywhere(pub, sig);
    pkt_close(&t);
    p11t_token_free(&other);
    p11t_token_new(&tok, NULL);
}

#define KEY_TESTS(b) cmocka_unit_test_prestate_setup_teardown(test_key_in_token, pkt_up, pkt_down, b), \
    cmocka_unit_test_prestate_setup_teardown(test_p256_in_token, pkt_up, pkt_down, b)

int main(void)
{
    p11t_require_module();
    const struct CMUnitTest tests[] = {
        FOR_EACH_BACKEND(KEY_TESTS)
        cmocka_unit_test_setup_teardown(test_two_instances, pkt_up, pkt_down),
        cmocka_unit_test_setup_teardown(test_many_keys, pkt_up, pkt_down),
        cmocka_unit_test_setup_teardown(test_pkcs11_config_errors, pkt_up, pkt_down),
        cmocka_unit_test_setup_teardown(test_module_errors, pkt_up, pkt_down),
        cmocka_unit_test_setup_teardown(test_token_errors, pkt_up, pkt_down),
        cmocka_unit_test_setup_teardown(test_pin_states, pkt_up, pkt_down),
        cmocka_unit_test_setup_teardown(test_pin_prompt, pkt_up, pkt_down),
        cmocka_unit_test_setup_teardown(test_mechanism_missing, pkt_up, pkt_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
