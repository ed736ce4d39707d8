/* Crash safety of the file vault: a child process adds one persistent
 * secret after another (one file rewrite each) and is killed with SIGKILL
 * at a random moment, 100 times.  After every kill the vault must open and
 * hold exactly the state after the child's last completed write, or after
 * the write it had begun: secrets c0..cj with the values the child stored,
 * nothing half written.  Tiny KDF parameters keep the run short. */
#define FVT_NO_FIXTURE /* own directory, no fault hook */
#include "test_vault_file_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define ROUNDS 100

static char dir[64];
static char path[128];

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/veil-fvc-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/vault", dir);
    setenv(FVT_PASS_ENV, "crash test passphrase", 1);
    veil_log_set_level(VEIL_LOG_ERROR); /* the tiny-KDF warning, hundreds of times */
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void label_of(char *out, size_t cap, uint32_t i)
{
    snprintf(out, cap, "c%u", i);
}

static void value_of(uint8_t out[8], uint32_t i)
{
    for (int k = 0; k < 8; k++)
        out[k] = (uint8_t)((i * 2654435761u) >> (k * 4)) ^ (uint8_t)k;
}

/* Number of consecutive secrets c0, c1, ... in the vault, each checked. */
static uint32_t count_checked(veil_vault *v)
{
    uint32_t n = 0;
    for (;; n++) {
        char label[16];
        veil_secret h;
        uint8_t got[64], want[8];
        size_t len;
        label_of(label, sizeof label, n);
        if (veil_vault_find_by_label(v, label, &h) != 0)
            return n;
        assert_int_equal(veil_vault_export(v, h, got, sizeof got, &len), 0);
        assert_int_equal(len, 8);
        value_of(want, n);
        assert_memory_equal(got, want, 8);
    }
}

/* Progress messages to the parent: 'B' i before a write, 'D' i after. */
static void report(int fd, char what, uint32_t i)
{
    uint8_t m[5] = { (uint8_t)what, (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8),
                     (uint8_t)i };
    if (write(fd, m, sizeof m) != (ssize_t)sizeof m)
        _exit(5);
}

static void child(int fd, const char *backend)
{
    fvt t;
    if (fvt_open(&t, backend, path, NULL) != 0)
        _exit(2);
    uint32_t i = count_checked(t.v);
    report(fd, 'R', i);
    for (;; i++) {
        char label[16];
        uint8_t val[8];
        veil_secret h;
        veil_secret_attrs a;
        memset(&a, 0, sizeof a);
        a.type = VEIL_SECRET_BUFFER;
        a.length = 8;
        a.persistence = VEIL_PERSISTENT;
        a.exportable = true;
        label_of(label, sizeof label, i);
        snprintf(a.label, sizeof a.label, "%s", label);
        value_of(val, i);
        report(fd, 'B', i);
        if (veil_vault_import(t.v, &a, val, 8, &h) != 0)
            _exit(3);
        report(fd, 'D', i);
    }
}

static void test_sigkill_rewrites(void **state)
{
    (void)state;
    const char *backends[] = {
#ifdef VEIL_HAVE_SODIUM
        "sodium",
#endif
#ifdef VEIL_HAVE_OPENSSL
        "openssl",
#endif
    };
    size_t nb = sizeof backends / sizeof backends[0];
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    fprintf(stderr, "# seed %u\n", seed);
    srand(seed);
    fvt t;
    assert_int_equal(fvt_open(&t, backends[0], path, NULL), 0); /* an empty vault */
    fvt_close(&t);
    uint32_t lost = 0, landed = 0, max_n = 0;
    char tp[160];
    snprintf(tp, sizeof tp, "%s.tmp", path);
    for (int round = 0; round < ROUNDS; round++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            child(p[1], backends[round % nb]);
        }
        close(p[1]);
        uint8_t m[5];
        assert_int_equal(read(p[0], m, 5), 5); /* 'R': the child has the vault open */
        assert_int_equal(m[0], 'R');
        uint32_t start = (uint32_t)m[1] << 24 | (uint32_t)m[2] << 16 | m[3] << 8 | m[4];
        struct timespec d = { 0, (long)(rand() % 20000) * 1000 };
        nanosleep(&d, NULL);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status))
            fail_msg("round %d: the child exited with %d before the kill", round,
                     WEXITSTATUS(status));
        /* What the child had completed and what it had begun. */
        int64_t done = (int64_t)start - 1, begun = (int64_t)start - 1;
        while (read(p[0], m, 5) == 5) {
            uint32_t i = (uint32_t)m[1] << 24 | (uint32_t)m[2] << 16 | m[3] << 8 | m[4];
            if (m[0] == 'D')
                done = i;
            else
                begun = i;
        }
        close(p[0]);
        assert_int_equal(fvt_open(&t, backends[(round + 1) % nb], path, NULL), 0);
        uint32_t n = count_checked(t.v);
        if ((int64_t)n != done + 1 && (int64_t)n != begun + 1)
            fail_msg("round %d: vault holds c0..c%d; the child had completed c%lld and begun "
                     "c%lld", round, (int)n - 1, (long long)done, (long long)begun);
        if (begun > done && (int64_t)n == begun + 1)
            landed++;
        else if (begun > done)
            lost++;
        max_n = n;
        /* The open removed the temp file a killed writer may have left. */
        assert_int_equal(access(tp, F_OK), -1);
        fvt_close(&t);
    }
    fprintf(stderr, "# %d kills; during a write: %u kept the old contents, %u had the new; "
                    "%u secrets at the end\n",
            ROUNDS, lost, landed, max_n);
    assert_true(max_n > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_rewrites),
    };
    return cmocka_run_group_tests_name("file vault crash", tests, group_setup, group_teardown);
}
