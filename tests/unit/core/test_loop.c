/* Event loop: fd watches, timer ordering, cancel/remove from callbacks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <veil/veil.h>

#include <string.h>
#include <unistd.h>

static veil_node *new_node(void)
{
    veil_node *node = NULL;
    assert_int_equal(veil_node_new(&node, NULL, NULL), 0);
    return node;
}

/* ---- watches ---------------------------------------------------------- */

struct watch_rec {
    int calls;
    int fd;
    uint32_t events;
    char data[16];
};

static void read_cb(veil_node *node, int fd, uint32_t events, void *arg)
{
    struct watch_rec *r = arg;
    (void)node;
    r->calls++;
    r->fd = fd;
    r->events = events;
    if (events & VEIL_WATCH_READ) {
        ssize_t n = read(fd, r->data, sizeof r->data - 1);
        if (n > 0)
            r->data[n] = '\0';
    }
}

static void test_watch_pipe_read(void **state)
{
    (void)state;
    veil_node *node = new_node();
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct watch_rec r = {0};
    veil_watch *w;
    assert_int_equal(veil_node_watch_add(node, p[0], VEIL_WATCH_READ, read_cb, &r, &w), 0);
    /* nothing written: no event within 10 ms */
    assert_int_equal(veil_node_run_once(node, 10), 0);
    assert_int_equal(r.calls, 0);
    assert_int_equal(write(p[1], "ping", 4), 4);
    assert_int_equal(veil_node_run_once(node, 1000), 0);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.fd, p[0]);
    assert_true(r.events & VEIL_WATCH_READ);
    assert_string_equal(r.data, "ping");
    /* write end closed: HUP is reported without being asked for */
    close(p[1]);
    assert_int_equal(veil_node_run_once(node, 1000), 0);
    assert_int_equal(r.calls, 2);
    assert_true(r.events & VEIL_WATCH_HUP);
    veil_node_watch_remove(w);
    close(p[0]);
    assert_int_equal(veil_node_free(node), 0);
}

static void test_watch_write_and_modify(void **state)
{
    (void)state;
    veil_node *node = new_node();
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct watch_rec r = {0};
    veil_watch *w;
    /* an empty pipe's write end is writable at once */
    assert_int_equal(veil_node_watch_add(node, p[1], VEIL_WATCH_WRITE, read_cb, &r, &w), 0);
    assert_int_equal(veil_node_run_once(node, 1000), 0);
    assert_int_equal(r.calls, 1);
    assert_true(r.events & VEIL_WATCH_WRITE);
    /* interest dropped: no more events */
    assert_int_equal(veil_node_watch_modify(w, 0), 0);
    assert_int_equal(veil_node_run_once(node, 10), 0);
    assert_int_equal(r.calls, 1);
    /* unknown event bits are refused, naming the fd */
    assert_error_contains(veil_node_watch_modify(w, VEIL_WATCH_HUP), VEIL_EINVAL,
                          "only READ and WRITE");
    veil_watch *w2;
    assert_error_contains(veil_node_watch_add(node, p[0], 0x80, read_cb, &r, &w2), VEIL_EINVAL,
                          "fd");
    /* a bad fd is an I/O error naming it */
    assert_error_contains(veil_node_watch_add(node, 987654, VEIL_WATCH_READ, read_cb, &r, &w2),
                          VEIL_EIO, "fd 987654");
    veil_node_watch_remove(w);
    close(p[0]);
    close(p[1]);
    assert_int_equal(veil_node_free(node), 0);
}

/* Each callback removes both watches; whichever runs first, the other must
 * not run although its event is in the same epoll batch. */
struct pair {
    veil_watch *w[2];
    int calls;
};

static void remove_both_cb(veil_node *node, int fd, uint32_t events, void *arg)
{
    struct pair *p = arg;
    (void)node;
    (void)fd;
    (void)events;
    p->calls++;
    veil_node_watch_remove(p->w[0]);
    veil_node_watch_remove(p->w[1]);
}

static void test_watch_remove_in_callback(void **state)
{
    (void)state;
    veil_node *node = new_node();
    int a[2], b[2];
    assert_int_equal(pipe(a), 0);
    assert_int_equal(pipe(b), 0);
    struct pair p = {0};
    assert_int_equal(veil_node_watch_add(node, a[0], VEIL_WATCH_READ, remove_both_cb, &p, &p.w[0]), 0);
    assert_int_equal(veil_node_watch_add(node, b[0], VEIL_WATCH_READ, remove_both_cb, &p, &p.w[1]), 0);
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "y", 1), 1);
    assert_int_equal(veil_node_run_once(node, 1000), 0);
    assert_int_equal(p.calls, 1);
    assert_int_equal(veil_node_run_once(node, 10), 0);
    assert_int_equal(p.calls, 1);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
    assert_int_equal(veil_node_free(node), 0);
}

/* A watch left registered at stop is freed by the node (ASan/valgrind). */
static void test_watch_left_at_stop(void **state)
{
    (void)state;
    veil_node *node = new_node();
    int p[2];
    struct watch_rec r = {0};
    assert_int_equal(pipe(p), 0);
    assert_int_equal(veil_node_watch_add(node, p[0], VEIL_WATCH_READ, read_cb, &r, NULL), 0);
    assert_int_equal(veil_node_free(node), 0);
    close(p[0]);
    close(p[1]);
}

/* ---- timers ----------------------------------------------------------- */

struct order {
    int seen[8];
    int n;
    veil_timer *victim;
    veil_timer *self;
    veil_node *node;
    int rc_nested;
};

struct tag {
    struct order *o;
    int id;
};

static void record_cb(veil_node *node, void *arg)
{
    struct tag *t = arg;
    (void)node;
    t->o->seen[t->o->n++] = t->id;
}

static void run_until(veil_node *node, struct order *o, int n, int max_ms)
{
    uint64_t end = veil_node_now_ms(node) + (uint64_t)max_ms;
    while (o->n < n && veil_node_now_ms(node) < end)
        assert_int_equal(veil_node_run_once(node, 50), 0);
}

static void test_timer_order(void **state)
{
    (void)state;
    veil_node *node = new_node();
    struct order o = {0};
    /* ids are expected firing positions: by delay, FIFO among equal delays */
    static const uint64_t delays[] = {30, 10, 20, 0, 10};
    static const int expect_pos[] = {4, 1, 3, 0, 2};
    struct tag tags[5];
    uint64_t start = veil_node_now_ms(node);
    for (int i = 0; i < 5; i++) {
        tags[i] = (struct tag){&o, expect_pos[i]};
        assert_int_equal(veil_node_timer_add(node, delays[i], record_cb, &tags[i], NULL), 0);
    }
    run_until(node, &o, 5, 2000);
    assert_int_equal(o.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(o.seen[i], i);
    /* the 30 ms timer cannot have fired early */
    assert_true(veil_node_now_ms(node) - start >= 30);
    assert_int_equal(veil_node_free(node), 0);
}

static void cancel_other_cb(veil_node *node, void *arg)
{
    struct order *o = arg;
    (void)node;
    o->seen[o->n++] = 1;
    veil_node_timer_cancel(o->victim);
    veil_node_timer_cancel(o->self); /* cancelling itself while firing is a no-op */
}

static void victim_cb(veil_node *node, void *arg)
{
    struct order *o = arg;
    (void)node;
    o->seen[o->n++] = 99;
}

static void test_timer_cancel_in_callback(void **state)
{
    (void)state;
    veil_node *node = new_node();
    struct order o = {0};
    /* both due in the same round; the first cancels the second */
    assert_int_equal(veil_node_timer_add(node, 5, cancel_other_cb, &o, &o.self), 0);
    assert_int_equal(veil_node_timer_add(node, 5, victim_cb, &o, &o.victim), 0);
    run_until(node, &o, 2, 100);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.seen[0], 1);
    /* cancel before firing; a pending timer at stop is freed by the node */
    veil_timer *t;
    assert_int_equal(veil_node_timer_add(node, 1, victim_cb, &o, &t), 0);
    veil_node_timer_cancel(t);
    assert_int_equal(veil_node_timer_add(node, 60000, victim_cb, &o, NULL), 0);
    run_until(node, &o, 2, 30);
    assert_int_equal(o.n, 1);
    assert_int_equal(veil_node_free(node), 0);
}

static void nested_cb(veil_node *node, void *arg)
{
    struct order *o = arg;
    o->rc_nested = veil_node_run_once(node, 0);
    o->seen[o->n++] = 1;
}

static void test_no_loop_reentry(void **state)
{
    (void)state;
    veil_node *node = new_node();
    struct order o = {0};
    assert_int_equal(veil_node_timer_add(node, 0, nested_cb, &o, NULL), 0);
    run_until(node, &o, 1, 1000);
    assert_int_equal(o.rc_nested, VEIL_ESTATE);
    assert_int_equal(veil_node_free(node), 0);
}

static void interrupt_cb(veil_node *node, void *arg)
{
    int *fired = arg;
    (*fired)++;
    veil_node_interrupt(node);
}

static void test_run_and_interrupt(void **state)
{
    (void)state;
    veil_node *node = new_node();
    int fired = 0;
    uint64_t t0 = veil_node_now_ms(node);
    /* run(timeout) returns after the timeout */
    assert_int_equal(veil_node_run(node, 20), 0);
    assert_true(veil_node_now_ms(node) - t0 >= 20);
    /* run(-1) returns when a callback interrupts it */
    assert_int_equal(veil_node_timer_add(node, 5, interrupt_cb, &fired, NULL), 0);
    assert_int_equal(veil_node_run(node, -1), 0);
    assert_int_equal(fired, 1);
    assert_int_equal(veil_node_free(node), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_pipe_read),
        cmocka_unit_test(test_watch_write_and_modify),
        cmocka_unit_test(test_watch_remove_in_callback),
        cmocka_unit_test(test_watch_left_at_stop),
        cmocka_unit_test(test_timer_order),
        cmocka_unit_test(test_timer_cancel_in_callback),
        cmocka_unit_test(test_no_loop_reentry),
        cmocka_unit_test(test_run_and_interrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
