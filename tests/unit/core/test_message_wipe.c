/* Which payload buffers are wiped when a message is freed (message.c,
 * pool.c; docs/ARCHITECTURE.md, "Wiping payloads"): every byte a payload
 * held is wiped before its buffer goes back to the pool (it may be
 * decrypted plaintext), except a payload a secure channel marked sealed
 * (ciphertext, tag and trailer only: what the wire carries), and a mark is
 * lost by any later change of the payload.  A read that filled less than
 * it was offered is cut without wiping bytes never written.  message.c
 * and pool.c are compiled in (their helpers are hidden in libveil) and
 * run on a bare node with only a pool: a freed buffer is handed out again
 * by the next request of its size class (the pool is LIFO), so its bytes
 * show what was wiped.  The first 8 bytes carry the pool's freelist link. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "runtime.h"
#include "upper.h"

#include <string.h>

#define N 4096u
#define LINK 8u

static veil_node node;

static int setup(void **state)
{
    (void)state;
    memset(&node, 0, sizeof node);
    node.limits.max_payload = VEIL_PAYLOAD_MAX;
    veil__pool_init(&node.pool, 16, 1u << 22);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    veil__pool_fini(&node.pool);
    return 0;
}

static veil_message *with_payload(uint8_t fill, uint8_t **p)
{
    static uint8_t data[N];
    veil_message *m;
    memset(data, fill, sizeof data);
    assert_int_equal(veil_message_new(&node, &m), 0);
    assert_int_equal(veil_message_set_payload(m, data, sizeof data), 0);
    *p = veil_message_payload_mut(m, NULL);
    return m;
}

/* A message given the next payload buffer of N bytes: the one freed last,
 * expect_at (its bytes show what was wiped). */
static veil_message *take_again(const uint8_t *expect_at)
{
    veil_message *m;
    uint8_t *p;
    assert_int_equal(veil_message_new(&node, &m), 0);
    assert_int_equal(veil_message_resize_payload(m, N, &p), 0);
    assert_ptr_equal(p, expect_at);
    return m;
}

static void all_bytes(const uint8_t *p, size_t from, size_t to, uint8_t v)
{
    for (size_t i = from; i < to; i++)
        if (p[i] != v)
            fail_msg("byte %zu is 0x%02x, expected 0x%02x", i, p[i], v);
}

static void test_plaintext_is_wiped(void **state)
{
    (void)state;
    uint8_t *p;
    veil_message *m = with_payload(0xaa, &p);
    veil_message_free(m);
    veil_message *m2 = take_again(p);
    all_bytes(p, LINK, N, 0);
    veil_message_free(m2);
}

static void test_sealed_is_not_wiped(void **state)
{
    (void)state;
    uint8_t *p;
    veil_message *m = with_payload(0x5c, &p);
    (void)veil_message_payload(m, NULL); /* reading keeps the mark */
    veil__message_sealed(m);
    veil_message_free(m);
    veil_message *m2 = take_again(p);
    all_bytes(p, LINK, N, 0x5c); /* the sealed bytes, as the wire saw them */
    /* the next user's bytes are wiped as usual: the mark did not stay */
    memset(p, 0x33, N);
    veil_message_free(m2);
    m2 = take_again(p);
    all_bytes(p, LINK, N, 0);
    veil_message_free(m2);
}

/* Every way of changing a sealed payload drops the mark. */
static void test_mark_lost_on_change(void **state)
{
    (void)state;
    for (int how = 0; how < 3; how++) {
        uint8_t *p, *q;
        veil_message *m = with_payload(0x77, &p);
        veil__message_sealed(m);
        if (how == 0)
            (void)veil_message_payload_mut(m, NULL);
        else if (how == 1)
            assert_int_equal(veil_message_resize_payload(m, N - 1, &q), 0);
        else
            assert_int_equal(veil_message_set_payload(m, p, N), 0);
        veil_message_free(m);
        veil_message *m2 = take_again(p);
        all_bytes(p, LINK, N, 0);
        veil_message_free(m2);
    }
}

/* A read offered N bytes and wrote 100: the payload ends there, its bytes
 * kept; freeing it wipes those 100 and leaves the never-written rest as it
 * came from the pool (here fresh malloc memory: ASan fills it with 0xbe). */
static void test_shrink_unwritten(void **state)
{
    (void)state;
    static uint8_t before[N];
    veil_message *m;
    uint8_t *p;
    size_t len;
    assert_int_equal(veil_message_new(&node, &m), 0);
    assert_int_equal(veil_message_resize_payload(m, N, &p), 0);
    memcpy(before, p, N);
    memset(p, 0xbb, 100);
    veil__message_shrink_unwritten(m, 100);
    assert_ptr_equal(veil_message_payload(m, &len), p);
    assert_int_equal(len, 100);
    all_bytes(p, 0, 100, 0xbb);
    veil__message_shrink_unwritten(m, 200); /* never grows */
    (void)veil_message_payload(m, &len);
    assert_int_equal(len, 100);
    veil_message_free(m);
    all_bytes(p, LINK, 100, 0); /* the pool keeps the buffer: readable */
    assert_memory_equal(p + 100, before + 100, N - 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plaintext_is_wiped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sealed_is_not_wiped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mark_lost_on_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shrink_unwritten, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
