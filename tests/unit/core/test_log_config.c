/* [log] (docs/CONFIG.md, "[log]"): its values checked when a node is made
 * (exact code, file:line, nothing applied); veil_node_new applying it; the
 * rate limiter for repeated lines (first line, count later, bounded table,
 * debug never held, window expiry); a file destination (0600, reopened
 * for log rotation, no symlink); and syslog through glibc's syslog(3)
 * to a real AF_UNIX datagram receiver bound at /dev/log inside a private
 * mount namespace (skipped unless root may unshare one). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"
#include "node_text.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <veil/veil.h>
#include "scratch.h"

typedef struct captured {
    unsigned calls;
    char text[65536];
    size_t len;
    char last[1200];
} captured;

static captured cap;

static void sink(veil_log_level level, const char *component, const char *message, void *arg)
{
    (void)arg;
    cap.calls++;
    snprintf(cap.last, sizeof cap.last, "%d %s: %s", (int)level, component, message);
    int n = snprintf(cap.text + cap.len, sizeof cap.text - cap.len, "%s\n", cap.last);
    if (n > 0 && cap.len + (size_t)n < sizeof cap.text)
        cap.len += (size_t)n;
}

static void start(void)
{
    memset(&cap, 0, sizeof cap);
    veil_log_set_handler(sink, NULL);
}

static int configure_text(const char *text)
{
    veil_config *cfg;
    assert_int_equal(veil_config_new_from_text(&cfg, text, "log.conf"), 0);
    int rc = veil_log_configure(cfg);
    veil_config_free(cfg);
    return rc;
}

static int node_with(const char *text)
{
    return node_from_text(text, "log.conf");
}

static void test_bad_values_fail_node_new(void **state)
{
    (void)state;
    veil_log_set_level(VEIL_LOG_WARN);
    assert_error(node_with("[log]\nlevel = loud\n"), VEIL_ECONFIG,
                 "log.conf:2: [log] level = 'loud': expected error, warn, info, debug or none "
                 "(docs/CONFIG.md, \"[log]\")");
    assert_error(node_with("[log]\ndestination = journal\n"), VEIL_ECONFIG,
                 "log.conf:2: [log] destination = 'journal': expected stderr, syslog or an "
                 "absolute file path (docs/CONFIG.md, \"[log]\")");
    assert_error_contains(node_with("[log]\ndestination = logs/veil.log\n"), VEIL_ECONFIG,
                          "'logs/veil.log': expected stderr, syslog or an absolute file path");
    /* A file that cannot be opened fails the node, naming it. */
    assert_error(node_with("[log]\ndestination = /nonexistent-veil-dir/veil.log\n"), VEIL_EIO,
                 "[log] destination '/nonexistent-veil-dir/veil.log': cannot open for appending: "
                 "No such file or directory (created 0600 if absent; a symlink is refused)");
    assert_error(node_with("[log]\nfacility = kern\n"), VEIL_ECONFIG,
                 "log.conf:2: [log] facility = 'kern': expected user, daemon, auth, authpriv or "
                 "local0..local7 (docs/CONFIG.md, \"[log]\")");
    assert_error(node_with("[log]\nident = my app\n"), VEIL_ECONFIG,
                 "log.conf:2: [log] ident = 'my app': expected 1..32 printable characters, no "
                 "blank, '%', ':' or '[' (docs/CONFIG.md, \"[log]\")");
    assert_error_contains(node_with("[log]\nrepeat_window = 2h\n"), VEIL_ECONFIG,
                          "log.conf:2: [log] repeat_window");
    assert_error_contains(node_with("[log]\ntimestamps = maybe\n"), VEIL_ECONFIG,
                          "log.conf:2: [log] timestamps");
    assert_error_contains(node_with("[log]\nlevl = debug\n"), VEIL_ECONFIG,
                          "unknown key 'levl' in [log]");
    assert_error_contains(node_with("[logs]\nlevel = debug\n"), VEIL_ECONFIG,
                          "unknown section [logs]; did you mean [log]?");
    /* A refused configuration changed nothing. */
    assert_int_equal(veil_log_get_level(), VEIL_LOG_WARN);
    assert_error_contains(veil_log_configure(NULL), VEIL_EINVAL, "NULL config");
}

static void test_node_new_applies_it(void **state)
{
    (void)state;
    veil_log_set_level(VEIL_LOG_WARN);
    assert_int_equal(node_with("[node]\nrelay = no\n"), 0);
    assert_int_equal(veil_log_get_level(), VEIL_LOG_WARN); /* no [log]: untouched */
    assert_int_equal(node_with("[log]\nlevel = debug\n"), 0);
    assert_int_equal(veil_log_get_level(), VEIL_LOG_DEBUG);
    assert_int_equal(configure_text("[log]\nlevel = warn\n"), 0);
    assert_int_equal(veil_log_get_level(), VEIL_LOG_WARN);
}

static void test_repeats_counted(void **state)
{
    (void)state;
    assert_int_equal(configure_text("[log]\nlevel = debug\nrepeat_window = 60\n"), 0);
    start();
    for (int i = 0; i < 100; i++)
        veil_log(VEIL_LOG_WARN, "node", "dropped a message for '%s'", "ghost");
    veil_log(VEIL_LOG_WARN, "node", "dropped a message for '%s'", "other"); /* other text */
    veil_log(VEIL_LOG_ERROR, "node", "dropped a message for '%s'", "ghost"); /* other level */
    for (int i = 0; i < 3; i++)
        veil_log(VEIL_LOG_DEBUG, "node", "debug lines are never held");
    assert_int_equal(cap.calls, 6);
    veil_log_flush();
    assert_int_equal(cap.calls, 7);
    assert_non_null(strstr(cap.last, "2 node: dropped a message for 'ghost' (repeated 99 more "
                                     "times in 0."));
    veil_log_flush();
    assert_int_equal(cap.calls, 7);
    /* After the report the same line is printed again. */
    veil_log(VEIL_LOG_WARN, "node", "dropped a message for '%s'", "ghost");
    assert_int_equal(cap.calls, 8);
    veil_log_flush();
    assert_int_equal(cap.calls, 8); /* nothing held: no report */
    veil_log_set_handler(NULL, NULL);
}

/* The table is fixed: 1,000 different lines are all printed (the oldest
 * slot is reused, its count reported first), none is lost or merged. */
static void test_table_bounded(void **state)
{
    (void)state;
    assert_int_equal(configure_text("[log]\nrepeat_window = 60\n"), 0);
    start();
    veil_log(VEIL_LOG_WARN, "node", "first %d", 0);
    veil_log(VEIL_LOG_WARN, "node", "first %d", 0);
    for (int i = 0; i < 1000; i++)
        veil_log(VEIL_LOG_WARN, "node", "line %d", i);
    /* 1,001 lines, and the first one's count when its slot was reused. */
    assert_int_equal(cap.calls, 1002);
    assert_non_null(strstr(cap.text, "first 0 (repeated 1 more times in "));
    veil_log_flush();
    assert_int_equal(cap.calls, 1002);
    veil_log_set_handler(NULL, NULL);
}

/* The window ends: the count comes with the next line logged. */
static void test_window_expires(void **state)
{
    (void)state;
    assert_int_equal(configure_text("[log]\nrepeat_window = 1\n"), 0);
    start();
    for (int i = 0; i < 5; i++)
        veil_log(VEIL_LOG_WARN, "tcp", "peer %s closed", "127.0.0.1:9");
    assert_int_equal(cap.calls, 1);
    struct timespec ts = {1, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    veil_log(VEIL_LOG_INFO, "node", "something else");
    assert_int_equal(cap.calls, 3);
    assert_non_null(strstr(cap.text, "2 tcp: peer 127.0.0.1:9 closed (repeated 4 more times in "
                                     "0."));
    assert_string_equal(cap.last, "1 node: something else");
    veil_log_set_handler(NULL, NULL);
    assert_int_equal(configure_text("[log]\n"), 0);
}

/* ---- a file ------------------------------------------------------------ */

static void slurp(const char *path, char *out, size_t room)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, room - 1, f);
    out[n] = '\0';
    fclose(f);
}

/* Lines appended to a file made 0600; configuring again reopens it (a
 * rotated log is followed); a symlink is refused and changes nothing. */
static void test_file_destination(void **state)
{
    (void)state;
    char dir[128], path[192], old[192], link[192], cfg[256];
    char got[1024], want[256];
    struct stat st;
    assert_int_equal(scratch_template(dir, sizeof dir, "test-logfile"), 0);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/veil.log", dir);
    snprintf(old, sizeof old, "%s/veil.log.1", dir);
    snprintf(link, sizeof link, "%s/link.log", dir);
    snprintf(cfg, sizeof cfg, "[log]\ndestination = %s\ntimestamps = no\n", path);
    veil_log_set_handler(NULL, NULL);
    veil_log_set_level(VEIL_LOG_WARN);
    assert_int_equal(configure_text(cfg), 0);
    veil_log(VEIL_LOG_WARN, "node", "one");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(rename(path, old), 0); /* logrotate */
    assert_int_equal(configure_text(cfg), 0); /* the daemon's SIGHUP */
    veil_log(VEIL_LOG_WARN, "node", "two");
    slurp(old, got, sizeof got);
    snprintf(want, sizeof want, "veil[%ld]: warn: node: one\n", (long)getpid());
    assert_string_equal(got, want);
    slurp(path, got, sizeof got);
    snprintf(want, sizeof want, "veil[%ld]: warn: node: two\n", (long)getpid());
    assert_string_equal(got, want);
    assert_int_equal(symlink(old, link), 0);
    snprintf(cfg, sizeof cfg, "[log]\ndestination = %s\n", link);
    assert_error_contains(configure_text(cfg), VEIL_EIO, "a symlink is refused");
    veil_log(VEIL_LOG_WARN, "node", "three"); /* still to veil.log */
    slurp(path, got, sizeof got);
    assert_non_null(strstr(got, ": warn: node: three\n"));
    assert_int_equal(configure_text("[log]\n"), 0);
    unlink(path);
    unlink(old);
    unlink(link);
    rmdir(dir);
}

/* ---- syslog ---------------------------------------------------------- */

/* In a child: a private mount namespace with a tmpfs on /dev, a datagram
 * socket bound at /dev/log (what glibc's syslog(3) writes to), [log]
 * destination = syslog, one warning; the datagram goes to the parent
 * through a pipe.  Exit 77: no namespace here (not root). */
static int syslog_child(int out)
{
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/dev", "tmpfs", 0, "size=64k,mode=755") != 0)
        return 77;
    struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "/dev/log"};
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return 2;
    veil_log_set_handler(NULL, NULL);
    if (configure_text("[log]\ndestination = syslog\nident = veil-test\nfacility = local3\n"
                       "level = info\n") != 0)
        return 3;
    veil_log(VEIL_LOG_WARN, "node", "dropped a message for '%s'", "ghost");
    veil_log(VEIL_LOG_WARN, "node", "dropped a message for '%s'", "ghost"); /* held */
    veil_log(VEIL_LOG_INFO, "channel", "second");
    veil_log_flush();
    char buf[3][512];
    for (int i = 0; i < 3; i++) {
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n = recv(fd, buf[i], sizeof buf[i] - 1, 0);
        if (n <= 0)
            return 4;
        buf[i][n] = '\0';
    }
    dprintf(out, "%s\n%s\n%s\n", buf[0], buf[1], buf[2]);
    return 0;
}

static void test_syslog(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        _exit(syslog_child(p[1]));
    }
    close(p[1]);
    char got[2048];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof got - 1 && (n = read(p[0], got + len, sizeof got - 1 - len)) > 0)
        len += (size_t)n;
    got[len] = '\0';
    close(p[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77)
        skip();
    assert_int_equal(WEXITSTATUS(st), 0);
    /* <local3.warning = 19*8+4>Mmm dd hh:mm:ss veil-test[PID]: node: ... */
    char want[128];
    snprintf(want, sizeof want, " veil-test[%ld]: node: dropped a message for 'ghost'\n",
             (long)pid);
    assert_true(strncmp(got, "<156>", 5) == 0);
    assert_non_null(strstr(got, want));
    assert_non_null(strstr(got, "<158>")); /* local3.info */
    assert_non_null(strstr(got, ": channel: second\n"));
    assert_non_null(strstr(got, "node: dropped a message for 'ghost' (repeated 1 more times in "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_values_fail_node_new),
        cmocka_unit_test(test_node_new_applies_it),
        cmocka_unit_test(test_repeats_counted),
        cmocka_unit_test(test_table_bounded),
        cmocka_unit_test(test_window_expires),
        cmocka_unit_test(test_file_destination),
        cmocka_unit_test(test_syslog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
