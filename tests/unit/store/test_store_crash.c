/* A process writing the sqlite store killed with SIGKILL at random points,
 * 100 times (issue #15).  The writer takes one-time-prekey records and
 * advances a counter record by compare-and-set, reporting each on a pipe
 * only after the call returned.  After every kill: `sqlite3 FILE 'PRAGMA
 * integrity_check'` says ok; no record reported taken is in the store (a
 * consumed OPK is never accepted again); the counter is at least the last
 * version reported (a write never goes back). */
#include <veil/error.h>
#include <veil/store.h>

#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "assert_error.h"

#define RUNS 100
#define SEED 4000

static char dir[PATH_MAX - 64], db[PATH_MAX];

static veil_store *open_db(void)
{
    veil_store *s = NULL;
    int rc = veil_store_new("sqlite", (const char *[]){ "path", db, NULL }, &s);
    return rc == 0 ? s : NULL;
}

/* The child: take and count until killed.  Reports "T key" and "C n". */
static void writer(int fd)
{
    veil_store *s = open_db();
    char key[VEIL_STORE_KEY_MAX + 1], line[VEIL_STORE_KEY_MAX + 32];
    uint8_t v[64], c[8];
    size_t len;
    uint64_t ver = 0;
    if (s == NULL)
        _exit(2);
    if (veil_store_get(s, "c", "counter", c, sizeof c, &len, &ver) < 0)
        ver = VEIL_STORE_ABSENT;
    for (;;) {
        int rc = veil_store_take(s, "opk", "", VEIL_STORE_PREFIX, key, v, sizeof v, &len);
        if (rc == 0) {
            int n = snprintf(line, sizeof line, "T %s\n", key);
            if (write(fd, line, (size_t)n) != n)
                _exit(3);
        } else if (rc != VEIL_ENOTFOUND) {
            _exit(4);
        }
        memcpy(c, &ver, sizeof c);
        if (veil_store_put(s, "c", "counter", c, sizeof c, ver, &ver) < 0)
            _exit(5);
        int n = snprintf(line, sizeof line, "C %llu\n", (unsigned long long)ver);
        if (write(fd, line, (size_t)n) != n)
            _exit(3);
    }
}

static void seed(veil_store *s, int *next)
{
    char key[32];
    for (int i = 0; i < SEED; i++, (*next)++) {
        snprintf(key, sizeof key, "%08d", *next);
        assert_int_equal(veil_store_put(s, "opk", key, (const uint8_t *)"pk", 2,
                                        VEIL_STORE_ABSENT, NULL), 0);
    }
}

static int count_one(void *arg, const char *key, const uint8_t *value, size_t len,
                     uint64_t version)
{
    (void)key, (void)value, (void)len, (void)version;
    ++*(int *)arg;
    return 0;
}

static void integrity_ok(void)
{
    char cmd[PATH_MAX + 64], out[256] = "";
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'PRAGMA integrity_check'", db);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (fgets(out, sizeof out, p) == NULL)
        out[0] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_string_equal(out, "ok\n");
}

static void test_kill_writer_100_times(void **state)
{
    int next = 0, taken_total = 0;
    uint64_t last_counter = 0;
    (void)state;
    if (system("command -v sqlite3 >/dev/null 2>&1") != 0) {
        print_message("skipped: the sqlite3 program is not installed (apt-get install sqlite3)\n");
        skip();
    }
    veil_store *s = open_db();
    assert_non_null(s);
    seed(s, &next);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (int run = 0; run < RUNS; run++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            writer(p[1]);
        }
        close(p[1]);
        struct timespec ts = { 0, (long)(rand() % 40 + 1) * 1000000L };
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFSIGNALED(st)); /* killed, not failed (exit 2..5) */
        FILE *f = fdopen(p[0], "r");
        char line[VEIL_STORE_KEY_MAX + 32];
        while (fgets(line, sizeof line, f) != NULL) {
            if (line[strlen(line) - 1] != '\n')
                break; /* cut by the kill */
            line[strlen(line) - 1] = '\0';
            if (line[0] == 'T') {
                uint8_t v[8];
                size_t len;
                char k[VEIL_STORE_KEY_MAX + 1];
                /* taken before the kill: never there again */
                assert_error_contains(veil_store_take(s, "opk", line + 2, 0, k, v, sizeof v,
                                                      &len), VEIL_ENOTFOUND, "no record opk/");
                taken_total++;
            } else {
                last_counter = strtoull(line + 2, NULL, 10);
            }
        }
        fclose(f);
        integrity_ok();
        uint8_t c[8];
        size_t len;
        uint64_t ver = 0;
        if (last_counter > 0) {
            assert_int_equal(veil_store_get(s, "c", "counter", c, sizeof c, &len, &ver), 0);
            assert_true(ver >= last_counter);
        }
        int left = 0;
        assert_int_equal(veil_store_list(s, "opk", "", count_one, &left), 0);
        if (left < SEED / 4)
            seed(s, &next);
    }
    print_message("%d runs: %d OPK records taken and reported, counter at %llu\n", RUNS,
                  taken_total, (unsigned long long)last_counter);
    assert_true(taken_total > 0);
    veil_store_close(s);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/veil-store-crash.XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(db, sizeof db, "%s/state.db", dir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_writer_100_times),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return rc | (system(cmd) != 0);
}
