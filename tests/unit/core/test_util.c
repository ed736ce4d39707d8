/* Core-internal helpers: randomness, wipe, constant-time compare, hex, strlcpy.
 * Known answers for hex come from RFC 4648 section 10 (base16 vectors). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <string.h>

#include <veil/error.h>
#include "util.h"

static void test_random_fills_and_differs(void **state)
{
    (void)state;
    uint8_t a[64], b[64], zero[64] = {0};
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    assert_int_equal(veil__random(a, sizeof a), 0);
    assert_int_equal(veil__random(b, sizeof b), 0);
    /* 2^-512 chance of a false failure. */
    assert_memory_not_equal(a, b, sizeof a);
    assert_memory_not_equal(a, zero, sizeof a);
    assert_int_equal(veil__random(a, 0), 0);
}

static void test_random_large_request(void **state)
{
    (void)state;
    /* Above 256 bytes getrandom may return short counts; the loop must
     * still fill every byte.  Check the tail is not left untouched. */
    static uint8_t big[300000];
    memset(big, 0, sizeof big);
    assert_int_equal(veil__random(big, sizeof big), 0);
    size_t zeros = 0;
    for (size_t i = sizeof big - 4096; i < sizeof big; i++)
        zeros += big[i] == 0;
    assert_true(zeros < 100); /* expected about 16 */
}

static void test_memzero(void **state)
{
    (void)state;
    uint8_t buf[33];
    memset(buf, 0xa5, sizeof buf);
    veil__memzero(buf, 32);
    for (size_t i = 0; i < 32; i++)
        assert_int_equal(buf[i], 0);
    assert_int_equal(buf[32], 0xa5);
    veil__memzero(NULL, 0);
}

static void test_memcmp_ct(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    memset(a, 7, sizeof a);
    memcpy(b, a, sizeof b);
    assert_int_equal(veil__memcmp_ct(a, b, sizeof a), 0);
    for (size_t i = 0; i < sizeof a; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            assert_int_not_equal(veil__memcmp_ct(a, b, sizeof a), 0);
            b[i] ^= (uint8_t)(1u << bit);
        }
    }
    assert_int_equal(veil__memcmp_ct(a, b, 0), 0);
}

/* RFC 4648 section 10: BASE16("foobar") = "666F6F626172". */
static void test_hex_rfc4648(void **state)
{
    (void)state;
    static const struct { const char *in, *hex; } v[] = {
        {"", ""}, {"f", "66"}, {"fo", "666f"}, {"foo", "666f6f"},
        {"foob", "666f6f62"}, {"fooba", "666f6f6261"}, {"foobar", "666f6f626172"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[32];
        uint8_t back[16];
        size_t n = 99;
        veil__hex_encode((const uint8_t *)v[i].in, strlen(v[i].in), out);
        assert_string_equal(out, v[i].hex);
        assert_int_equal(veil__hex_decode(v[i].hex, back, sizeof back, &n), 0);
        assert_int_equal(n, strlen(v[i].in));
        assert_memory_equal(back, v[i].in, n);
    }
    uint8_t up[6];
    size_t n = 0;
    assert_int_equal(veil__hex_decode("666F6F626172", up, sizeof up, &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(up, "foobar", 6);
    uint8_t all[2];
    assert_int_equal(veil__hex_decode("00fF", all, sizeof all, &n), 0);
    assert_int_equal(all[0], 0x00);
    assert_int_equal(all[1], 0xff);
}

static void test_hex_errors(void **state)
{
    (void)state;
    uint8_t out[8];
    size_t n = 0;
    assert_error_contains(veil__hex_decode("abc", out, sizeof out, &n), VEIL_EFORMAT,
                          "odd length 3");
    assert_error_contains(veil__hex_decode("abzd", out, sizeof out, &n), VEIL_EFORMAT,
                          "'z' at offset 2");
    assert_error_contains(veil__hex_decode("g0", out, sizeof out, &n), VEIL_EFORMAT,
                          "'g' at offset 0");
    assert_error_contains(veil__hex_decode("0\n", out, sizeof out, &n), VEIL_EFORMAT,
                          "0x0a at offset 1");
    assert_error_contains(veil__hex_decode("000102", out, 2, &n), VEIL_ELIMIT,
                          "3 bytes, room for 2");
}

static void test_strlcpy(void **state)
{
    (void)state;
    char buf[6];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(veil__strlcpy(buf, "hello", sizeof buf), 5);
    assert_string_equal(buf, "hello");
    assert_int_equal(veil__strlcpy(buf, "hello world", sizeof buf), 11);
    assert_string_equal(buf, "hello");
    assert_int_equal(veil__strlcpy(buf, "", sizeof buf), 0);
    assert_string_equal(buf, "");
    buf[0] = 'q';
    assert_int_equal(veil__strlcpy(buf, "abc", 0), 3);
    assert_int_equal(buf[0], 'q');
    assert_int_equal(veil__strlcpy(buf, "abc", 1), 3);
    assert_string_equal(buf, "");
}

/* Every code from VEIL_EINVAL to the newest has its own description. */
static void test_strerror_every_code(void **state)
{
    (void)state;
    for (int code = VEIL_EINVAL; code >= VEIL_EBUSY; code--) {
        assert_string_not_equal(veil_strerror(code), "unknown error");
        for (int other = code - 1; other >= VEIL_EBUSY; other--)
            assert_string_not_equal(veil_strerror(code), veil_strerror(other));
    }
    assert_string_equal(veil_strerror(VEIL_EBUSY - 1), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_fills_and_differs),
        cmocka_unit_test(test_random_large_request),
        cmocka_unit_test(test_memzero),
        cmocka_unit_test(test_memcmp_ct),
        cmocka_unit_test(test_hex_rfc4648),
        cmocka_unit_test(test_hex_errors),
        cmocka_unit_test(test_strlcpy),
        cmocka_unit_test(test_strerror_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
