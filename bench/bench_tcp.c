/* tcp: a secure channel between two processes over loopback TCP, against
 * OpenSSL TLS 1.3 between two processes over loopback TCP, in the same run
 * (bench_tcp.h).  Both use AES-256-GCM (the channel's default Noise
 * protocol Noise_XX_25519_AESGCM_SHA256; TLS_AES_256_GCM_SHA384) and mutual
 * authentication (entities with identifier policies; Ed25519 certificates).
 *
 *  1. one direction: messages of 1 KiB and 16 KiB from the client process
 *     to a sink in the server process until all are acknowledged; MB/s of
 *     payload.
 *  2. request/response: the client sends a message of that size, the
 *     server echoes it back; round-trip time per exchange, median and p99.
 *
 * veil and TLS alternate run by run, so machine load hits both; each
 * figure is the median over RUNS runs (per-run median and p99 for 2). */
#include "config.h"
#include "bench.h"
#include "bench_tcp.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNS 5
#define RTT_COUNT 3000

/* ---- server processes --------------------------------------------------- */

int tcpb_write_line(int fd, const char *line)
{
    size_t len = strlen(line), off = 0;
    while (off < len) {
        ssize_t w = write(fd, line + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

/* The child's line, up to its newline (20 s at most). */
static int read_line(int fd, char *line, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 20000) <= 0)
            return -1;
        ssize_t r = read(fd, line + n, 1);
        if (r <= 0)
            return -1;
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    return n > 0 ? 0 : -1;
}

int tcpb_spawn(int (*serve)(int wfd, void *arg), void *arg, pid_t *pid, char *line, size_t cap)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    fflush(NULL); /* the child must not write the parent's buffered output */
    pid_t child = fork();
    if (child < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (child == 0) {
        close(fds[0]);
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        int rc = serve(fds[1], arg);
        close(fds[1]);
        fflush(NULL);
        _exit(rc);
    }
    close(fds[1]);
    int rc = read_line(fds[0], line, cap);
    close(fds[0]);
    *pid = child;
    if (rc < 0) {
        fprintf(stderr, "tcp: the server process did not start\n");
        (void)tcpb_reap(child);
    }
    return rc;
}

int tcpb_reap(pid_t pid)
{
    int status;
    for (int i = 0; i < 500; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
        if (r < 0)
            return -1;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    (void)waitpid(pid, &status, 0);
    return -1;
}

/* ---- the case ------------------------------------------------------------- */

typedef tcpb_side side;

/* Messages per one-direction run: about 64 MiB (smoke: 128 KiB), a whole
 * number of acknowledgements. */
static long oneway_count(size_t size, bool smoke)
{
    long per_ack = (long)(TCPB_ACK_BYTES / size);
    long bytes = smoke ? 128L * 1024 : 64L * 1024 * 1024;
    return bytes / (long)size / per_ack * per_ack;
}

/* One thread's time on a CPU so far (the first field of its schedstat). */
static double task_cpu_ns(const char *dir, const char *task)
{
    char path[64 + 256 + 16];
    snprintf(path, sizeof path, "%s/%s/schedstat", dir, task);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    unsigned long long ns;
    int n = fscanf(f, "%llu", &ns);
    fclose(f);
    return n == 1 ? (double)ns : -1;
}

double tcpb_pid_cpu_ns(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%ld/task", (long)pid);
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    double sum = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        double t = task_cpu_ns(dir, e->d_name);
        /* A thread that ended between readdir and fopen took its time with it. */
        if (t >= 0)
            sum += t;
    }
    closedir(d);
    return sum;
}

/* What each process of s's path has used so far (ns); false when unknown. */
static bool path_cpu_ns(const tcpb_side *s, double ns[TCPB_PROCESSES])
{
    ns[TCPB_CLIENT] = tcpb_pid_cpu_ns(getpid());
    for (int k = TCPB_SERVER; k < TCPB_PROCESSES; k++)
        ns[k] = s->ops->cpu_ns != NULL ? s->ops->cpu_ns(s->peer, k) : -1;
    for (int k = 0; k < TCPB_PROCESSES; k++)
        if (ns[k] < 0)
            return false;
    return true;
}

int tcpb_oneway_cpu_medians(bench_run *b, tcpb_side s[2], size_t size, double out[2],
                            double cpu[2][TCPB_PROCESSES])
{
    bool smoke = bench_smoke(b);
    int runs = smoke ? 1 : RUNS;
    long count = oneway_count(size, smoke);
    double mbs[2][RUNS], nspb[2][TCPB_PROCESSES][RUNS];
    bool have_cpu[2] = { true, true };
    for (int r = 0; r < runs; r++)
        for (int i = 0; i < 2; i++) {
            if (s[i].peer == NULL)
                continue;
            double c0[TCPB_PROCESSES], c1[TCPB_PROCESSES];
            have_cpu[i] = path_cpu_ns(&s[i], c0) && have_cpu[i];
            double t0 = bench_now_s();
            if (s[i].ops->oneway(s[i].peer, size, count) < 0) {
                fprintf(stderr, "tcp: %s one-direction run failed\n", s[i].ops->name);
                return -1;
            }
            double bytes = (double)count * (double)size;
            mbs[i][r] = bytes / (bench_now_s() - t0) / 1e6;
            have_cpu[i] = path_cpu_ns(&s[i], c1) && have_cpu[i];
            for (int k = 0; k < TCPB_PROCESSES; k++)
                nspb[i][k][r] = have_cpu[i] ? (c1[k] - c0[k]) / bytes : 0;
        }
    for (int i = 0; i < 2; i++) {
        out[i] = s[i].peer != NULL ? bench_median(mbs[i], (size_t)runs) : 0;
        for (int k = 0; cpu != NULL && k < TCPB_PROCESSES; k++)
            cpu[i][k] = s[i].peer != NULL && have_cpu[i] ? bench_median(nspb[i][k], (size_t)runs)
                                                         : 0;
    }
    return 0;
}

int tcpb_oneway_medians(bench_run *b, tcpb_side s[2], size_t size, double out[2])
{
    return tcpb_oneway_cpu_medians(b, s, size, out, NULL);
}

static int oneway_case(bench_run *b, side s[2], size_t size)
{
    double m[2];
    if (tcpb_oneway_medians(b, s, size, m) < 0)
        return -1;
    char variant[48];
    snprintf(variant, sizeof variant, "one direction %zu B", size);
    double v = m[0], t = m[1];
    bench_emit(b, variant, "veil channel over TCP", v, "MB/s");
    bench_emit(b, variant, "TLS 1.3 over TCP", t, "MB/s");
    bench_emit(b, variant, "veil / TLS (target >= 1)", t > 0 ? v / t : 0, "x");
    return 0;
}

static int rtt_case(bench_run *b, side s[2], size_t size, double *samples)
{
    bool smoke = bench_smoke(b);
    int runs = smoke ? 1 : RUNS;
    long count = smoke ? 50 : RTT_COUNT;
    double med[2][RUNS], p99[2][RUNS];
    for (int r = 0; r < runs; r++)
        for (int i = 0; i < 2; i++) {
            if (s[i].peer == NULL)
                continue;
            if (s[i].ops->rtt(s[i].peer, size, count, samples) < 0) {
                fprintf(stderr, "tcp: %s request/response run failed\n", s[i].ops->name);
                return -1;
            }
            med[i][r] = bench_median(samples, (size_t)count) * 1e6; /* sorts */
            p99[i][r] = samples[(size_t)count * 99 / 100] * 1e6;
        }
    char variant[48];
    snprintf(variant, sizeof variant, "request/response %zu B", size);
    double vm = bench_median(med[0], (size_t)runs), vp = bench_median(p99[0], (size_t)runs);
    double tm = s[1].peer ? bench_median(med[1], (size_t)runs) : 0;
    double tp = s[1].peer ? bench_median(p99[1], (size_t)runs) : 0;
    bench_emit(b, variant, "veil RTT median", vm, "us");
    bench_emit(b, variant, "veil RTT p99", vp, "us");
    bench_emit(b, variant, "TLS 1.3 RTT median", tm, "us");
    bench_emit(b, variant, "TLS 1.3 RTT p99", tp, "us");
    bench_emit(b, variant, "veil / TLS median (target <= 1.2)", tm > 0 ? vm / tm : 0, "x");
    return 0;
}

static int run(bench_run *b)
{
    static double samples[RTT_COUNT];
    side s[2] = { { &tcpb_veil_ops, NULL }, { &tcpb_tls_ops, NULL } };
    if (s[0].ops->open(&s[0].peer) < 0)
        return -1;
    if (s[1].ops->open(&s[1].peer) < 0)
        s[1].peer = NULL; /* reported; veil figures still measured */
    static const size_t sizes[2] = { 1024, 16384 };
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = oneway_case(b, s, sizes[i]);
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = rtt_case(b, s, sizes[i], samples);
    for (int i = 0; i < 2; i++)
        if (s[i].peer != NULL)
            s[i].ops->close(s[i].peer);
    return rc;
}

const bench_case bench_case_tcp = {
    "tcp",
    "secure channel between two processes over loopback TCP vs OpenSSL TLS 1.3 over loopback "
    "TCP: one-direction MB/s and request/response RTT (median, p99) at 1 KiB and 16 KiB",
    run,
};
