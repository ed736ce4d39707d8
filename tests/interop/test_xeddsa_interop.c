/* XEdDSA against python3-xeddsa (libxeddsa) live: tests/interop/xeddsa_peer.py
 * signs what veil verifies and verifies what veil signs, on both backends'
 * hooks.  Without the package or $PYTHON3 the file reports a whole-file TAP
 * skip with the reason ("not ok # SKIP", which cmocka 1.1.5 prints for
 * skip(), would count as a failure). */
#include "xeddsa_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

static void hex_put(FILE *f, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", b[i]);
}

static int hex_get(const char *s, size_t slen, uint8_t *out, size_t cap)
{
    if (slen % 2 || slen / 2 > cap)
        return -1;
    for (size_t i = 0; i < slen / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return (int)(slen / 2);
}

/* Runs tests/interop/xeddsa_peer.py MODE with stdin from INPUT; returns its stdout
 * (malloc'd) and its exit status in *status. */
static char *peer_output(const char *mode, const char *input_path, int *status)
{
    const char *py = getenv("PYTHON3"), *top = getenv("VEIL_TOP_SRCDIR");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/interop/xeddsa_peer.py' %s < '%s'", py, top, mode,
             input_path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t cap = 1 << 16, used = 0, n;
    char *out = malloc(cap);
    while (out && (n = fread(out + used, 1, cap - used - 1, p)) > 0) {
        used += n;
        if (cap - used < 1024) {
            char *bigger = realloc(out, cap *= 2);
            if (!bigger)
                free(out);
            out = bigger;
        }
    }
    if (out)
        out[used] = 0;
    *status = pclose(p);
    return out;
}

static char *run_peer(const char *mode, const char *input_path)
{
    int st;
    char *out = peer_output(mode, input_path, &st);
    assert_non_null(out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("xeddsa_peer.py %s failed (status %d): %s", mode, st, out);
    return out;
}

/* NULL when the peer can run; otherwise why the interop tests are skipped
 * (PYTHON3 unset, or the peer's "SKIP: ..." line when the package is
 * missing).  Any other failure is left for the tests to report. */
static const char *peer_skip_reason(void)
{
    static char why[512];
    const char *py = getenv("PYTHON3");
    int st = 0;
    if (!py || !*py)
        return "PYTHON3 not set (run through make check)";
    if (!getenv("VEIL_TOP_SRCDIR"))
        return "VEIL_TOP_SRCDIR not set (run through make check)";
    char *out = peer_output("verify", "/dev/null", &st);
    if (!out)
        return "cannot run $PYTHON3";
    snprintf(why, sizeof why, "%s", out);
    free(out);
    why[strcspn(why, "\n")] = 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 77 ? why : NULL;
}

static FILE *temp_input(char *path)
{
    snprintf(path, 64, "/tmp/veil-xeddsa-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    return f;
}

#define PEER_SIGN_ONE 60  /* keys whose kB has sign bit 1: bytes must match */
#define PEER_SIGN_ZERO 40 /* sign bit 0: match the libxeddsa variant */

static void test_python_signs_we_verify(void **state)
{
    use_hooks(state);
    static case_t cs[PEER_SIGN_ONE + PEER_SIGN_ZERO];
    char path[64];
    int ones = 0, zeros = 0, n = 0, tries = 0;
    FILE *f = temp_input(path);
    while (n < PEER_SIGN_ONE + PEER_SIGN_ZERO) {
        case_t *c = &cs[n];
        assert_true(++tries < 10000); /* each bit value has probability 1/2 */
        randombytes_buf(c->priv, 32);
        int bit = ed_sign_bit(c->priv);
        if (bit ? ones == PEER_SIGN_ONE : zeros == PEER_SIGN_ZERO)
            continue;
        bit ? ones++ : zeros++;
        c->len = (size_t)n % sizeof c->msg;
        randombytes_buf(c->msg, c->len);
        randombytes_buf(c->z, 64);
        hex_put(f, c->priv, 32), fputc(':', f), hex_put(f, c->msg, c->len);
        fputc(':', f), hex_put(f, c->z, 64), fputc('\n', f);
        n++;
    }
    fclose(f);
    char *out = run_peer("sign", path);
    unlink(path);
    char *save = NULL, *line = strtok_r(out, "\n", &save);
    int equal = 0;
    for (int i = 0; i < n; i++, line = strtok_r(NULL, "\n", &save)) {
        uint8_t pub[32], ours[64], variant[64], theirs[64];
        assert_non_null(line);
        assert_int_equal(strlen(line), 64 + 1 + 1 + 1 + 128);
        assert_int_equal(hex_get(line, 64, pub, 32), 32);
        assert_int_equal(hex_get(line + 67, 128, theirs, 64), 64);
        our_x25519_public(cs[i].pub, cs[i].priv);
        assert_memory_equal(pub, cs[i].pub, 32);
        assert_int_equal(line[65] - '0', ed_sign_bit(cs[i].priv));
        assert_int_equal(verify(pub, cs[i].msg, cs[i].len, theirs), 0);
        assert_int_equal(veil_xeddsa_sign(cs[i].priv, cs[i].msg, cs[i].len, cs[i].z, hk,
                                          ours), 0);
        sign_libxeddsa_variant(cs[i].priv, cs[i].msg, cs[i].len, cs[i].z, variant);
        assert_memory_equal(variant, theirs, 64);
        if (line[65] == '1') {
            assert_memory_equal(ours, theirs, 64); /* the spec's exact bytes */
            equal++;
        } else {
            assert_memory_not_equal(ours, theirs, 32); /* other nonce r */
        }
    }
    assert_int_equal(equal, PEER_SIGN_ONE);
    free(out);
}

static void test_we_sign_python_verifies(void **state)
{
    use_hooks(state);
    static case_t cs[64];
    char path[64];
    FILE *f = temp_input(path);
    for (int i = 0; i < 128; i++) { /* second half: one byte of sig flipped */
        case_t *c = &cs[i % 64];
        uint8_t sig[64];
        if (i < 64)
            make_case(c, (size_t)i);
        memcpy(sig, c->sig, 64);
        if (i >= 64)
            sig[i % 64] ^= 0x10;
        hex_put(f, c->pub, 32), fputc(':', f), hex_put(f, c->msg, c->len);
        fputc(':', f), hex_put(f, sig, 64), fputc('\n', f);
    }
    fclose(f);
    char *out = run_peer("verify", path);
    unlink(path);
    char *save = NULL, *line = strtok_r(out, "\n", &save);
    for (int i = 0; i < 128; i++, line = strtok_r(NULL, "\n", &save)) {
        assert_non_null(line);
        if (strcmp(line, i < 64 ? "ok" : "bad") != 0)
            fail_msg("line %d: python says '%s'", i, line);
    }
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_python_signs_we_verify),
        BOTH(test_we_sign_python_verifies),
    };
    if (sodium_init() < 0)
        return 1;
    const char *why = peer_skip_reason();
    if (why) {
        printf("1..0 # SKIP %s\n", why);
        return 0;
    }
    return cmocka_run_group_tests_name("xeddsa_interop", tests, NULL, NULL);
}
