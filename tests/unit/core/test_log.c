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
#include <regex.h>
#include <time.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <veil/error.h>
#include <veil/config.h>
#include <veil/log.h>
#include "scratch.h"

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
    char path[160];
    assert_int_equal(scratch_template(path, sizeof path, "test-log"), 0);
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

/* Apply [log] from text (asserted). */
static void configure(const char *text)
{
    veil_config *cfg;
    assert_int_equal(veil_config_new_from_text(&cfg, text, "<test>"), 0);
    assert_int_equal(veil_log_configure(cfg), 0);
    veil_config_free(cfg);
}

static void log_two(void)
{
    veil_log(VEIL_LOG_WARN, "tcp", "peer %s closed", "127.0.0.1:4000");
    veil_log(VEIL_LOG_INFO, "tcp", "filtered out");
}

/* The default line: UTC ISO-8601 time with milliseconds, ident and pid,
 * level, component; the time is now. */
static void test_default_stderr_format(void **state)
{
    (void)state;
    char out[512], want[256];
    regex_t re;
    regmatch_t m[2];
    veil_log_set_handler(NULL, NULL);
    configure("[log]\n");
    veil_log_set_level(VEIL_LOG_WARN);
    time_t before = time(NULL);
    with_stderr(log_two, out, sizeof out);
    snprintf(want, sizeof want,
             "^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\\.[0-9]{3}Z veil\\[%ld\\]: "
             "warn: tcp: peer 127\\.0\\.0\\.1:4000 closed\n$", (long)getpid());
    assert_int_equal(regcomp(&re, want, REG_EXTENDED), 0);
    int rc = regexec(&re, out, 2, m, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("line '%s' does not match %s", out, want);
    struct tm tm = {0};
    out[m[1].rm_eo] = '\0';
    assert_non_null(strptime(out + m[1].rm_so, "%Y-%m-%dT%H:%M:%S", &tm));
    time_t when = timegm(&tm);
    assert_true(when >= before && when <= time(NULL));

    configure("[log]\ntimestamps = no\npid = no\n");
    with_stderr(log_two, out, sizeof out);
    assert_string_equal(out, "veil: warn: tcp: peer 127.0.0.1:4000 closed\n");
    configure("[log]\ntimestamps = no\nident = myapp\n");
    with_stderr(log_two, out, sizeof out);
    snprintf(want, sizeof want, "myapp[%ld]: warn: tcp: peer 127.0.0.1:4000 closed\n",
             (long)getpid());
    assert_string_equal(out, want);
    configure("[log]\ntimestamps = no\npid = no\n");
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
    assert_string_equal(out, "veil: error: inner: nested\n");
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
    configure("[log]\nrepeat_window = 0\n"); /* the threads repeat each other's lines */
    veil_log_set_level(VEIL_LOG_WARN);
    veil_log_set_handler(counting_fn, NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, log_thread, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    veil_log_set_handler(NULL, NULL);
    configure("[log]\ntimestamps = no\npid = no\n");
    assert_false(atomic_load(&overlapped));
    assert_int_equal(unsafe_count, 8000);
}

/* VEIL_LOG is read once per process, so each case runs in a fresh child
 * (this program re-executed with "child") with stderr in a file. */
static void run_child(const char *env_value, const char *mode, char *out, size_t cap,
                      int *level)
{
    char path[160];
    char self[4096];
    assert_int_equal(scratch_template(path, sizeof path, "test-log"), 0);
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
        execl(self, "test_log", mode, (char *)NULL);
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

/* "child": [log] without a level; "child-config": [log] level = error. */
static int child_main(const char *mode)
{
    veil_config *cfg;
    if (veil_config_new_from_text(&cfg, strcmp(mode, "child") == 0
                                            ? "[log]\ntimestamps = no\npid = no\n"
                                            : "[log]\ntimestamps = no\npid = no\nlevel = error\n",
                                  "<child>") != 0 ||
        veil_log_configure(cfg) != 0)
        return 100;
    veil_config_free(cfg);
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
    run_child(NULL, "child", out, sizeof out, &level);
    assert_int_equal(level, VEIL_LOG_WARN);
    assert_string_equal(out, "veil: warn: c: warn line\n");

    run_child("debug", "child", out, sizeof out, &level);
    assert_int_equal(level, VEIL_LOG_DEBUG);
    assert_string_equal(out, "veil: debug: c: debug line\nveil: warn: c: warn line\n");

    run_child("error", "child", out, sizeof out, &level);
    assert_int_equal(level, VEIL_LOG_ERROR);
    assert_string_equal(out, "");

    run_child("loud", "child", out, sizeof out, &level);
    assert_int_equal(level, VEIL_LOG_WARN);
    assert_int_equal(count(out, "invalid VEIL_LOG value 'loud'"), 1);
    assert_int_equal(count(out, "veil: warn: c: warn line"), 1);
    assert_int_equal(count(out, "debug line"), 0);

    /* [log] level sets the level; VEIL_LOG overrides it (docs/CONFIG.md). */
    run_child(NULL, "child-config", out, sizeof out, &level);
    assert_int_equal(level, VEIL_LOG_ERROR);
    assert_string_equal(out, "");
    run_child("debug", "child-config", out, sizeof out, &level);
    assert_int_equal(level, VEIL_LOG_DEBUG);
    assert_string_equal(out, "veil: debug: c: debug line\nveil: warn: c: warn line\n");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strncmp(argv[1], "child", 5) == 0)
        return child_main(argv[1]);
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
