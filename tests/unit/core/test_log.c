/* Logging: level parsing and filtering, the handler hook, the default
 * stderr format, VEIL_LOG (read once; bad values warn once), and that
 * concurrent loggers never run the sink at the same time. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <veil/error.h>
#include <veil/log.h>

struct capture {
    int calls;
    veil_log_level level;
    char component[32];
    char message[2048];
};

static void capture_fn(veil_log_level level, const char *component,
                       const char *message, void *arg)
{
    struct capture *c = arg;
    c->calls++;
    c->level = level;
    snprintf(c->component, sizeof c->component, "%s", component);
    snprintf(c->message, sizeof c->message, "%s", message);
}

static void test_level_parse(void **state)
{
    (void)state;
    static const struct { const char *t; veil_log_level l; } ok[] = {
        {"debug", VEIL_LOG_DEBUG}, {"info", VEIL_LOG_INFO}, {"warn", VEIL_LOG_WARN},
        {"error", VEIL_LOG_ERROR}, {"none", VEIL_LOG_NONE}, {"DEBUG", VEIL_LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        veil_log_level l = VEIL_LOG_NONE;
        assert_int_equal(veil_log_level_parse(ok[i].t, &l), 0);
        assert_int_equal(l, ok[i].l);
    }
    veil_log_level l = VEIL_LOG_INFO;
    assert_error_contains(veil_log_level_parse("verbose", &l), VEIL_EINVAL,
                          "invalid log level 'verbose'");
    assert_int_equal(l, VEIL_LOG_INFO);
    assert_int_equal(veil_log_level_parse("", &l), VEIL_EINVAL);
    assert_int_equal(veil_log_level_parse(NULL, &l), VEIL_EINVAL);
}

static void test_handler_and_filter(void **state)
{
    (void)state;
    struct capture c = {0};
    veil_log_set_handler(capture_fn, &c);
    veil_log_set_level(VEIL_LOG_INFO);
    assert_int_equal(veil_log_get_level(), VEIL_LOG_INFO);

    veil_log(VEIL_LOG_DEBUG, "node", "hidden %d", 1);
    assert_int_equal(c.calls, 0);
    veil_log(VEIL_LOG_INFO, "node", "started %s with %d workers", "n1", 4);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.level, VEIL_LOG_INFO);
    assert_string_equal(c.component, "node");
    assert_string_equal(c.message, "started n1 with 4 workers");
    veil_log(VEIL_LOG_ERROR, "loader", "boom");
    assert_int_equal(c.calls, 2);
    assert_int_equal(c.level, VEIL_LOG_ERROR);

    veil_log_set_level(VEIL_LOG_NONE);
    veil_log(VEIL_LOG_ERROR, "loader", "silenced");
    assert_int_equal(c.calls, 2);
    veil_log_set_level(VEIL_LOG_DEBUG);
    veil_log(VEIL_LOG_DEBUG, "x", "now shown");
    assert_int_equal(c.calls, 3);
    /* NONE is a threshold, not a message level. */
    veil_log(VEIL_LOG_NONE, "x", "never");
    assert_int_equal(c.calls, 3);

    /* Long messages are cut, not overflowed. */
    char big[3000];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    veil_log(VEIL_LOG_WARN, "x", "%s", big);
    assert_int_equal(c.calls, 4);
    assert_true(strlen(c.message) > 500 && strlen(c.message) < sizeof big - 1);

    veil_log_set_handler(NULL, NULL);
    veil_log_set_level(VEIL_LOG_WARN);
}

/* Run fn with stderr sent to a temp file; return what was written. */
static void with_stderr(void (*fn)(void), char *out, size_t cap)
{
    char path[] = "/tmp/veil-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, out, cap - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
}

static void log_two(void)
{
    veil_log(VEIL_LOG_WARN, "tcp", "peer %s closed", "127.0.0.1:4000");
    veil_log(VEIL_LOG_INFO, "tcp", "filtered out");
}

static void test_default_stderr_format(void **state)
{
    (void)state;
    char out[512];
    veil_log_set_handler(NULL, NULL);
    veil_log_set_level(VEIL_LOG_WARN);
    with_stderr(log_two, out, sizeof out);
    assert_string_equal(out, "veil[tcp] warn: peer 127.0.0.1:4000 closed\n");
}

static struct capture *g_reenter;

static void reentrant_fn(veil_log_level level, const char *component,
                         const char *message, void *arg)
{
    capture_fn(level, component, message, arg);
    /* Logging from inside the handler must not deadlock. */
    veil_log(VEIL_LOG_ERROR, "inner", "nested");
}

static void log_reentrant(void)
{
    veil_log(VEIL_LOG_ERROR, "outer", "first");
}

static void test_reentrant_handler(void **state)
{
    (void)state;
    struct capture c = {0};
    char out[256];
    g_reenter = &c;
    veil_log_set_handler(reentrant_fn, &c);
    with_stderr(log_reentrant, out, sizeof out);
    veil_log_set_handler(NULL, NULL);
    assert_int_equal(c.calls, 1);
    assert_string_equal(c.message, "first");
    assert_string_equal(out, "veil[inner] error: nested\n");
}

/* Threads: the sink must never run twice at once. */
static atomic_int inside;
static int unsafe_count;
static atomic_bool overlapped;

static void counting_fn(veil_log_level level, const char *component,
                        const char *message, void *arg)
{
    (void)level; (void)component; (void)message; (void)arg;
    if (atomic_fetch_add(&inside, 1) != 0)
        atomic_store(&overlapped, true);
    int v = unsafe_count; /* deliberately racy if not serialised */
    for (volatile int i = 0; i < 50; i++)
        ;
    unsafe_count = v + 1;
    atomic_fetch_sub(&inside, 1);
}

static void *log_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++)
        veil_log(VEIL_LOG_WARN, "t", "message %d", i);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t th[4];
    veil_log_set_level(VEIL_LOG_WARN);
    veil_log_set_handler(counting_fn, NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, log_thread, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    veil_log_set_handler(NULL, NULL);
    assert_false(atomic_load(&overlapped));
    assert_int_equal(unsafe_count, 8000);
}

/* VEIL_LOG is read once per process, so each case runs in a fresh child
 * (this program re-executed with "child") with stderr in a file. */
static void run_child(const char *env_value, char *out, size_t cap, int *level)
{
    char path[] = "/tmp/veil-test-log-XXXXXX";
    char self[4096];
    /* The real path (under valgrind /proc/self/exe is valgrind itself). */
    ssize_t sn = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(sn > 0);
    self[sn] = '\0';
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd, 2);
        dup2(fd, 1);
        if (env_value)
            setenv("VEIL_LOG", env_value, 1);
        else
            unsetenv("VEIL_LOG");
        execl(self, "test_log", "child", (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    *level = WEXITSTATUS(st);
    ssize_t n = pread(fd, out, cap - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
}

static int child_main(void)
{
    veil_log(VEIL_LOG_DEBUG, "c", "debug line");
    veil_log(VEIL_LOG_WARN, "c", "warn line");
    return (int)veil_log_get_level();
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_env_level(void **state)
{
    (void)state;
    char out[1024];
    int level;
    run_child(NULL, out, sizeof out, &level);
    assert_int_equal(level, VEIL_LOG_WARN);
    assert_string_equal(out, "veil[c] warn: warn line\n");

    run_child("debug", out, sizeof out, &level);
    assert_int_equal(level, VEIL_LOG_DEBUG);
    assert_string_equal(out, "veil[c] debug: debug line\nveil[c] warn: warn line\n");

    run_child("error", out, sizeof out, &level);
    assert_int_equal(level, VEIL_LOG_ERROR);
    assert_string_equal(out, "");

    run_child("loud", out, sizeof out, &level);
    assert_int_equal(level, VEIL_LOG_WARN);
    assert_int_equal(count(out, "invalid VEIL_LOG value 'loud'"), 1);
    assert_int_equal(count(out, "veil[c] warn: warn line"), 1);
    assert_int_equal(count(out, "debug line"), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child_main();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_handler_and_filter),
        cmocka_unit_test(test_default_stderr_format),
        cmocka_unit_test(test_reentrant_handler),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_env_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
