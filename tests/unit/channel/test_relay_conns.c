/* The relay registry's names by connection (relay_conns.c): random adds
 * and removes, many of them colliding in a small table, checked against a
 * plain list after every step; removal must keep every other address
 * findable (the backward shift). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <veil/veil.h>

#include "relay_internal.h"

#define MAX 8u
#define KINDS 40u

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned next(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void check(const veil_relay_conns *t, const veil_address *kinds, const bool *in)
{
    for (unsigned k = 0; k < KINDS; k++)
        assert_int_equal(veil__relay_conns_has(t, &kinds[k]), in[k]);
}

static void test_against_a_list(void **state)
{
    (void)state;
    veil_address kinds[KINDS], held[MAX];
    bool in[KINDS] = { false };
    int which[MAX];
    unsigned n = 0;
    for (unsigned k = 0; k < KINDS; k++) {
        char text[32];
        snprintf(text, sizeof text, "127.0.0.1:%u", 40000 + k);
        assert_int_equal(veil_address_set(&kinds[k], VEIL_ADDRESS_TYPE_TCP, text, strlen(text)), 0);
    }
    veil_relay_conns t;
    assert_int_equal(veil__relay_conns_init(&t, MAX), 0);
    assert_int_equal(t.cap, 2 * MAX);
    for (int step = 0; step < 20000; step++) {
        if (n < MAX && (n == 0 || next(2) == 0)) {
            unsigned k = next(KINDS);
            if (in[k])
                continue;
            held[n] = kinds[k]; /* the table holds the pointer: its own copy */
            which[n] = (int)k;
            in[k] = true;
            veil__relay_conns_add(&t, &held[n++]);
        } else {
            unsigned i = next(n);
            veil__relay_conns_remove(&t, &held[i]);
            in[which[i]] = false;
            if (i != --n) { /* keep held[] dense: re-add the moved one at its new place */
                veil__relay_conns_remove(&t, &held[n]);
                held[i] = held[n];
                which[i] = which[n];
                veil__relay_conns_add(&t, &held[i]);
            }
        }
        check(&t, kinds, in);
    }
    veil_address empty = { 0 };
    veil__relay_conns_add(&t, &empty); /* never held */
    assert_false(veil__relay_conns_has(&t, &empty));
    veil__relay_conns_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_a_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
