/* Addresses and routes: text forms, limits, and the headroom buffer checked
 * against a plain array model under long random operation sequences. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/address.h>
#include <veil/error.h>


static void test_address_parse_forms(void **state)
{
    (void)state;
    veil_address a;
    assert_int_equal(veil_address_parse(&a, "echoer"), 0);
    assert_int_equal(a.type, 0);
    assert_int_equal(a.len, 6);
    assert_string_equal(a.bytes, "echoer");

    assert_int_equal(veil_address_parse(&a, "0#echoer"), 0);
    assert_int_equal(a.type, 0);
    assert_string_equal(a.bytes, "echoer");

    assert_int_equal(veil_address_parse(&a, "1#127.0.0.1:4000"), 0);
    assert_int_equal(a.type, 1);
    assert_int_equal(a.len, strlen("127.0.0.1:4000"));
    assert_string_equal(a.bytes, "127.0.0.1:4000");

    assert_int_equal(veil_address_parse(&a, "1#[::1]:4000"), 0);
    assert_int_equal(a.type, 1);
    assert_string_equal(a.bytes, "[::1]:4000");

    assert_int_equal(veil_address_parse(&a, "255#x#y"), 0);
    assert_int_equal(a.type, 255);
    assert_string_equal(a.bytes, "x#y");
}

static void test_address_parse_errors(void **state)
{
    (void)state;
    veil_address a;
    char longname[VEIL_ADDRESS_MAX + 2];

    assert_error_contains(veil_address_parse(&a, ""), VEIL_EINVAL, "empty address");
    assert_error(veil_address_parse(&a, "1#"), VEIL_EINVAL, "empty address after type in '1#'");
    assert_error(veil_address_parse(&a, "256#x"), VEIL_EINVAL,
                 "address type 256 out of range in '256#x' (expected 0-255)");
    assert_error(veil_address_parse(&a, "#x"), VEIL_EINVAL,
                 "bad address type '' in '#x' (expected 0-255 before '#')");
    assert_error(veil_address_parse(&a, "tcp#x"), VEIL_EINVAL,
                 "bad address type 'tcp' in 'tcp#x' (expected 0-255 before '#')");
    assert_error(veil_address_parse(&a, "1000#x"), VEIL_EINVAL,
                 "bad address type '1000' in '1000#x' (expected 0-255 before '#')");

    memset(longname, 'a', sizeof longname);
    longname[VEIL_ADDRESS_MAX] = '\0';
    assert_int_equal(veil_address_parse(&a, longname), 0);
    assert_int_equal(a.len, VEIL_ADDRESS_MAX);
    longname[VEIL_ADDRESS_MAX] = 'a';
    longname[VEIL_ADDRESS_MAX + 1] = '\0';
    assert_error_contains(veil_address_parse(&a, longname), VEIL_ELIMIT, "256 bytes (limit 255)");

    assert_error(veil_address_set(&a, 1, "", 0), VEIL_EINVAL, "empty address (type 1)");
    assert_error(veil_address_set(&a, 1, longname, 256), VEIL_ELIMIT,
                 "address is 256 bytes (limit 255)");
}

static void test_address_format_equal(void **state)
{
    (void)state;
    veil_address a, b;
    char out[VEIL_ADDRESS_TEXT_MAX + 1];
    static const char *const forms[][2] = {
        {"echoer", "echoer"}, {"0#echoer", "echoer"},
        {"1#127.0.0.1:4000", "1#127.0.0.1:4000"}, {"1#[::1]:4000", "1#[::1]:4000"},
        {"42#x", "42#x"}, {"255#y", "255#y"}, {"0#a#b", "0#a#b"},
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        assert_int_equal(veil_address_parse(&a, forms[i][0]), 0);
        veil_address_format(&a, out, sizeof out);
        assert_string_equal(out, forms[i][1]);
        assert_int_equal(veil_address_parse(&b, out), 0);
        assert_true(veil_address_equal(&a, &b));
    }
    assert_int_equal(veil_address_parse(&a, "1#abc"), 0);
    assert_int_equal(veil_address_parse(&b, "abc"), 0);
    assert_false(veil_address_equal(&a, &b));
    assert_int_equal(veil_address_parse(&b, "1#abd"), 0);
    assert_false(veil_address_equal(&a, &b));

    char small[4];
    veil_address_format(&a, small, sizeof small);
    assert_string_equal(small, "1#a");
    small[0] = 'z';
    veil_address_format(&a, small, 0);
    assert_int_equal(small[0], 'z');
}

static void test_address_random(void **state)
{
    (void)state;
    veil_address a, b;
    assert_int_equal(veil_address_random(&a, "tmp_"), 0);
    assert_int_equal(veil_address_random(&b, "tmp_"), 0);
    assert_int_equal(a.type, 0);
    assert_int_equal(a.len, 4 + 16);
    assert_memory_equal(a.bytes, "tmp_", 4);
    for (size_t i = 4; i < a.len; i++)
        assert_non_null(strchr("0123456789abcdef", a.bytes[i]));
    assert_int_equal(a.bytes[a.len], '\0');
    assert_false(veil_address_equal(&a, &b));
    assert_int_equal(veil_address_random(&a, NULL), 0);
    assert_int_equal(a.len, 16);

    char big[VEIL_ADDRESS_MAX];
    memset(big, 'p', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_error(veil_address_random(&a, big), VEIL_ELIMIT,
                 "address prefix is 254 bytes (limit 239)");
}

static void test_route_parse_format(void **state)
{
    (void)state;
    veil_route r;
    veil_address a;
    char out[256];

    assert_int_equal(veil_route_parse(&r, "a => b => 1#h:p"), 0);
    assert_int_equal(veil_route_count(&r), 3);
    assert_int_equal(veil_route_get(&r, 2, &a), 0);
    assert_int_equal(a.type, 1);
    assert_string_equal(a.bytes, "h:p");
    veil_route_format(&r, out, sizeof out);
    assert_string_equal(out, "a => b => 1#h:p");

    assert_int_equal(veil_route_parse(&r, "  x,y ,  1#[::1]:4000=>0#z  "), 0);
    veil_route_format(&r, out, sizeof out);
    assert_string_equal(out, "x => y => 1#[::1]:4000 => z");

    assert_int_equal(veil_route_parse(&r, "   "), 0);
    assert_int_equal(veil_route_count(&r), 0);
    veil_route_format(&r, out, sizeof out);
    assert_string_equal(out, "");

    /* Errors leave the destination untouched. */
    assert_int_equal(veil_route_parse(&r, "keep"), 0);
    assert_error_contains(veil_route_parse(&r, "a => => b"), VEIL_EINVAL,
                          "empty address at position 2");
    assert_error(veil_route_parse(&r, "a =>"), VEIL_EINVAL,
                 "route 'a =>': empty address at position 2");
    assert_error(veil_route_parse(&r, "a, 300#x"), VEIL_EINVAL,
                 "route 'a, 300#x', address 2: address type 300 out of range in '300#x' "
                 "(expected 0-255)");
    assert_int_equal(veil_route_count(&r), 1);
    assert_int_equal(veil_route_get(&r, 0, &a), 0);
    assert_string_equal(a.bytes, "keep");

    /* Truncated formatting ends in "..." and stays terminated. */
    assert_int_equal(veil_route_parse(&r, "alpha => beta => gamma"), 0);
    char cut[12];
    veil_route_format(&r, cut, sizeof cut);
    assert_int_equal(strlen(cut), sizeof cut - 1);
    assert_string_equal(cut, "alpha =>...");
}

static void test_route_hop_limit(void **state)
{
    (void)state;
    veil_route r;
    veil_address a;
    veil_route_init(&r);
    assert_int_equal(veil_address_parse(&a, "h"), 0);
    for (unsigned i = 0; i < VEIL_ROUTE_MAX_HOPS; i++)
        assert_int_equal(i % 2 ? veil_route_append(&r, &a) : veil_route_prepend(&r, &a), 0);
    assert_error(veil_route_append(&r, &a), VEIL_ELIMIT,
                 "route would have 33 addresses (limit 32)");
    assert_error(veil_route_prepend(&r, &a), VEIL_ELIMIT,
                 "route would have 33 addresses (limit 32)");
    assert_int_equal(veil_route_count(&r), VEIL_ROUTE_MAX_HOPS);
}

/* 33 hops in text. */
static void test_route_hop_limit_in_text(void **state)
{
    (void)state;
    veil_route r;
    char text[2 * VEIL_ROUTE_MAX_HOPS + 80];
    size_t n = 0;
    for (unsigned i = 0; i <= VEIL_ROUTE_MAX_HOPS; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%sh", i ? "," : "");
    assert_error(veil_route_parse(&r, text), VEIL_ELIMIT,
                 "route 'h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h', "
                 "address 33: route would have 33 addresses (limit 32)");
}

/* Bytes: 3 addresses of 255 bytes use 3*257 = 771; a fourth would be 1028.
 * Then exactly at the limit: 1024 - 771 = 253 = 2 + 251 (a route of four
 * addresses using all 1024 bytes). */
static void fill_route_bytes(veil_route *r)
{
    veil_address big, fill;
    memset(big.bytes, 'b', VEIL_ADDRESS_MAX);
    big.type = 0;
    big.len = VEIL_ADDRESS_MAX;
    big.bytes[VEIL_ADDRESS_MAX] = '\0';
    veil_route_init(r);
    for (int i = 0; i < 3; i++)
        assert_int_equal(veil_route_prepend(r, &big), 0);
    assert_error(veil_route_prepend(r, &big), VEIL_ELIMIT,
                 "route would use 1028 bytes (limit 1024)");
    assert_error(veil_route_append(r, &big), VEIL_ELIMIT,
                 "route would use 1028 bytes (limit 1024)");
    memset(fill.bytes, 'f', 251);
    assert_int_equal(veil_address_set(&fill, 7, fill.bytes, 251), 0);
    assert_int_equal(veil_route_prepend(r, &fill), 0);
    assert_int_equal(veil_route_count(r), 4);
}

static void test_route_byte_limit(void **state)
{
    (void)state;
    veil_route r;
    veil_address one;
    fill_route_bytes(&r);
    assert_int_equal(veil_address_parse(&one, "x"), 0);
    assert_error(veil_route_append(&r, &one), VEIL_ELIMIT,
                 "route would use 1027 bytes (limit 1024)");
}

/* append_route checks up front and leaves r untouched on failure. */
static void test_route_append_route_all_or_nothing(void **state)
{
    (void)state;
    veil_route r, s, before;
    veil_address one;
    fill_route_bytes(&r);
    assert_int_equal(veil_address_parse(&one, "x"), 0);
    veil_route_init(&s);
    assert_int_equal(veil_route_append(&s, &one), 0);
    veil_route_copy(&before, &r);
    assert_error(veil_route_append_route(&r, &s), VEIL_ELIMIT,
                 "route would use 1027 bytes (limit 1024)");
    assert_true(veil_route_equal(&r, &before));
}

static void test_route_empty_address(void **state)
{
    (void)state;
    veil_route s;
    veil_address one, empty = {.type = 0, .len = 0};
    veil_route_init(&s);
    assert_int_equal(veil_address_parse(&one, "x"), 0);
    assert_int_equal(veil_route_append(&s, &one), 0);
    assert_error(veil_route_append(&s, &empty), VEIL_EINVAL, "empty address (type 0) in route");
    assert_error(veil_route_prepend(&s, &empty), VEIL_EINVAL, "empty address (type 0) in route");
}

static void test_route_pop_front_get(void **state)
{
    (void)state;
    veil_route r;
    veil_address a;
    uint8_t type;
    const uint8_t *bytes;
    size_t len;

    veil_route_init(&r);
    assert_false(veil_route_front(&r, &type, &bytes, &len));
    assert_error_contains(veil_route_pop_front(&r, &a), VEIL_ENOTFOUND, "route is empty");
    assert_error(veil_route_get(&r, 0, &a), VEIL_ENOTFOUND, "route has 0 addresses, no index 0");

    assert_int_equal(veil_route_parse(&r, "1#10.0.0.1:1 => app"), 0);
    assert_true(veil_route_front(&r, &type, &bytes, &len));
    assert_int_equal(type, 1);
    assert_int_equal(len, 10);
    assert_memory_equal(bytes, "10.0.0.1:1", 10);
    assert_int_equal(veil_route_pop_front(&r, &a), 0);
    assert_string_equal(a.bytes, "10.0.0.1:1");
    assert_int_equal(a.type, 1);
    assert_int_equal(veil_route_pop_front(&r, NULL), 0);
    assert_int_equal(veil_route_count(&r), 0);
    assert_error(veil_route_get(&r, 5, &a), VEIL_ENOTFOUND, "route has 0 addresses, no index 5");
}

/* Model: the same operations on a plain array of addresses. */
struct model {
    veil_address a[VEIL_ROUTE_MAX_HOPS];
    size_t n, bytes;
};

static void random_address(veil_address *a, unsigned *seed)
{
    /* Mostly short names (the common case) with some 255-byte ones so the
     * byte limit and the buffer moves are exercised. */
    size_t len = rand_r(seed) % 8 == 0 ? 1 + (size_t)rand_r(seed) % VEIL_ADDRESS_MAX
                                        : 1 + (size_t)rand_r(seed) % 12;
    char b[VEIL_ADDRESS_MAX];
    for (size_t i = 0; i < len; i++)
        b[i] = (char)('a' + rand_r(seed) % 26);
    assert_int_equal(veil_address_set(a, (uint8_t)(rand_r(seed) % 3), b, len), 0);
}

static void check_same(const veil_route *r, const struct model *m)
{
    veil_address got;
    assert_int_equal(veil_route_count(r), m->n);
    for (size_t i = 0; i < m->n; i++) {
        assert_int_equal(veil_route_get(r, i, &got), 0);
        assert_true(veil_address_equal(&got, &m->a[i]));
    }
}

static void test_route_against_model(void **state)
{
    (void)state;
    unsigned seed = 12345;
    veil_route r, c;
    struct model m = {.n = 0, .bytes = 0};

    veil_route_init(&r);
    for (int step = 0; step < 20000; step++) {
        veil_address a, got;
        int op = rand_r(&seed) % 3;
        random_address(&a, &seed);
        bool fits = m.n < VEIL_ROUTE_MAX_HOPS && m.bytes + 2 + a.len <= VEIL_ROUTE_BYTES_MAX;
        if (op == 0) {
            int rc = veil_route_prepend(&r, &a);
            assert_int_equal(rc, fits ? 0 : VEIL_ELIMIT);
            if (fits) {
                memmove(&m.a[1], &m.a[0], m.n * sizeof m.a[0]);
                m.a[0] = a;
                m.n++;
                m.bytes += 2 + a.len;
            }
        } else if (op == 1) {
            int rc = veil_route_append(&r, &a);
            assert_int_equal(rc, fits ? 0 : VEIL_ELIMIT);
            if (fits) {
                m.a[m.n++] = a;
                m.bytes += 2 + a.len;
            }
        } else {
            int rc = veil_route_pop_front(&r, &got);
            assert_int_equal(rc, m.n ? 0 : VEIL_ENOTFOUND);
            if (m.n) {
                assert_true(veil_address_equal(&got, &m.a[0]));
                m.bytes -= 2 + m.a[0].len;
                memmove(&m.a[0], &m.a[1], (m.n - 1) * sizeof m.a[0]);
                m.n--;
            }
        }
        if (step % 97 == 0) {
            check_same(&r, &m);
            veil_route_copy(&c, &r);
            assert_true(veil_route_equal(&c, &r));
            check_same(&c, &m);
        }
    }
    check_same(&r, &m);
}

/* A zero-filled route (e.g. from calloc) behaves as an empty route. */
static void test_route_zeroed(void **state)
{
    (void)state;
    veil_route r, expect;
    veil_address a;
    char out[64];
    memset(&r, 0, sizeof r);
    assert_int_equal(veil_route_count(&r), 0);
    assert_false(veil_route_front(&r, NULL, NULL, NULL));
    assert_int_equal(veil_address_parse(&a, "b"), 0);
    assert_int_equal(veil_route_prepend(&r, &a), 0);
    assert_int_equal(veil_address_parse(&a, "a"), 0);
    assert_int_equal(veil_route_prepend(&r, &a), 0);
    assert_int_equal(veil_route_append_str(&r, "c"), 0);
    veil_route_format(&r, out, sizeof out);
    assert_string_equal(out, "a => b => c");
    assert_int_equal(veil_route_parse(&expect, "a,b,c"), 0);
    assert_true(veil_route_equal(&r, &expect));
}

static void test_route_append_route_copy_equal(void **state)
{
    (void)state;
    veil_route a, b, c;
    char out[128];
    assert_int_equal(veil_route_parse(&a, "x => y"), 0);
    assert_int_equal(veil_route_parse(&b, "1#h:1 => z"), 0);
    assert_int_equal(veil_route_append_route(&a, &b), 0);
    veil_route_format(&a, out, sizeof out);
    assert_string_equal(out, "x => y => 1#h:1 => z");
    assert_int_equal(veil_route_parse(&c, "x,y,1#h:1,z"), 0);
    assert_true(veil_route_equal(&a, &c));
    /* Equal routes at different buffer offsets still compare equal. */
    veil_route d;
    veil_address t;
    veil_route_init(&d);
    assert_int_equal(veil_address_parse(&t, "z"), 0);
    assert_int_equal(veil_route_prepend(&d, &t), 0);
    assert_int_equal(veil_address_parse(&t, "1#h:1"), 0);
    assert_int_equal(veil_route_prepend(&d, &t), 0);
    assert_int_equal(veil_route_append_str(&d, "w"), 0);
    assert_int_equal(veil_route_pop_front(&d, NULL), 0);
    assert_int_equal(veil_route_parse(&c, "z => w"), 0);
    assert_true(veil_route_equal(&d, &c));
    assert_int_equal(veil_route_parse(&c, "z => v"), 0);
    assert_false(veil_route_equal(&d, &c));
    assert_error(veil_route_append_str(&d, "999#q"), VEIL_EINVAL,
                 "address type 999 out of range in '999#q' (expected 0-255)");
    veil_route e;
    veil_route_init(&e);
    assert_int_equal(veil_route_append_route(&a, &e), 0);
    assert_int_equal(veil_route_count(&a), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_parse_forms),
        cmocka_unit_test(test_address_parse_errors),
        cmocka_unit_test(test_address_format_equal),
        cmocka_unit_test(test_address_random),
        cmocka_unit_test(test_route_parse_format),
        cmocka_unit_test(test_route_hop_limit),
        cmocka_unit_test(test_route_hop_limit_in_text),
        cmocka_unit_test(test_route_byte_limit),
        cmocka_unit_test(test_route_append_route_all_or_nothing),
        cmocka_unit_test(test_route_empty_address),
        cmocka_unit_test(test_route_pop_front_get),
        cmocka_unit_test(test_route_against_model),
        cmocka_unit_test(test_route_append_route_copy_equal),
        cmocka_unit_test(test_route_zeroed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
