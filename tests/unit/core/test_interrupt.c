/* veil_node_interrupt from a real signal handler (node.h: async-signal-
 * safe): veil_node_run(-1) returns whether the handler runs on the node's
 * thread (the poll is interrupted) or on another thread (only the eventfd
 * write can wake the poll), and an interrupt that came before the run is
 * not lost.  A watchdog (SIGALRM, default action) kills a run that hangs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <veil/veil.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static veil_node *volatile target;
static volatile sig_atomic_t handled;
static volatile sig_atomic_t errno_kept;

static void on_signal(int sig)
{
    (void)sig;
    errno = EINPROGRESS;
    veil_node_interrupt(target);
    errno_kept = errno == EINPROGRESS;
    handled++;
}

static void install(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    assert_int_equal(sigaction(sig, &sa, NULL), 0);
}

static void block(int sig, int how)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    assert_int_equal(pthread_sigmask(how, &set, NULL), 0);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static veil_node *new_node(void)
{
    veil_node *node = NULL;
    assert_int_equal(veil_node_new(&node, NULL, NULL), 0);
    target = node;
    handled = 0;
    errno_kept = 0;
    alarm(10); /* watchdog: a hung run dies of SIGALRM */
    return node;
}

static void done(veil_node *node)
{
    alarm(0);
    target = NULL;
    assert_int_equal(veil_node_free(node), 0);
}

static void *signal_main_later(void *arg)
{
    usleep(50000);
    pthread_kill(*(pthread_t *)arg, SIGUSR1);
    return NULL;
}

/* The handler runs on the node's thread, interrupting its poll. */
static void test_signal_on_node_thread(void **state)
{
    (void)state;
    install(SIGUSR1);
    veil_node *node = new_node();
    pthread_t self = pthread_self(), t;
    assert_int_equal(pthread_create(&t, NULL, signal_main_later, &self), 0);
    uint64_t t0 = mono_ms();
    assert_int_equal(veil_node_run(node, -1), 0);
    assert_true(mono_ms() - t0 >= 40);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(handled, 1);
    assert_true(errno_kept);
    done(node);
}

static void *signal_process_later(void *arg)
{
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL); /* this thread takes it */
    usleep(50000);
    kill(getpid(), SIGUSR2);
    return NULL;
}

/* The handler runs on another thread: nothing interrupts the node's poll
 * but the eventfd the handler writes. */
static void test_signal_on_other_thread(void **state)
{
    (void)state;
    install(SIGUSR2);
    veil_node *node = new_node();
    block(SIGUSR2, SIG_BLOCK); /* the node's thread never takes it */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, signal_process_later, NULL), 0);
    assert_int_equal(veil_node_run(node, -1), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(handled, 1);
    assert_true(errno_kept);
    block(SIGUSR2, SIG_UNBLOCK);
    done(node);
}

/* A signal that arrives before the run makes it return at once; the run
 * after that one waits again. */
static void test_interrupt_before_run(void **state)
{
    (void)state;
    install(SIGUSR1);
    veil_node *node = new_node();
    assert_int_equal(raise(SIGUSR1), 0);
    assert_int_equal(handled, 1);
    uint64_t t0 = mono_ms();
    assert_int_equal(veil_node_run(node, 5000), 0);
    assert_true(mono_ms() - t0 < 1000);
    t0 = mono_ms();
    assert_int_equal(veil_node_run(node, 30), 0);
    assert_true(mono_ms() - t0 >= 30);
    done(node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signal_on_node_thread),
        cmocka_unit_test(test_signal_on_other_thread),
        cmocka_unit_test(test_interrupt_before_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
