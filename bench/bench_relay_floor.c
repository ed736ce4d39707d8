/* The floor under any TCP relay on this machine (bench_relay.c): what one
 * more loopback TCP hop through the smallest possible forwarder costs, with
 * no veil in it.  Plain bytes go from a sender process to a sink process
 * directly, then through a forwarder process that only recv()s into one
 * buffer and send()s it on (no framing, no routing, no crypto); the CPU all
 * processes of each path used (wait4's rusage) per byte, and the
 * difference.  Any relay of veil's traffic costs at least that difference
 * on top of the direct path, so veil's CPU per byte direct / (that + the
 * difference) is the best relay / direct ratio any TCP relay can reach when
 * the paths get equal CPU. */
#include "config.h"
#include "bench.h"
#include "bench_relay_floor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define FLOOR_RUNS 5
#define FLOOR_CHUNK (64u << 10)   /* the sender's writes */
#define FLOOR_BUF (256u << 10)    /* the forwarder's reads, as the relay's read budget */

/* A listening socket on 127.0.0.1, its port into *port; -1 on failure. */
static int listen_any(unsigned short *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static int dial(unsigned short port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The child processes' bodies: exit status 0 when every byte went. */
static int sink(int lfd, long long bytes)
{
    static unsigned char buf[FLOOR_BUF];
    int fd = accept(lfd, NULL, NULL);
    long long got = 0;
    ssize_t r;
    while (fd >= 0 && (r = recv(fd, buf, sizeof buf, 0)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return 1;
        got += r;
    }
    return got == bytes ? 0 : 1;
}

static int forwarder(int lfd, unsigned short to)
{
    static unsigned char buf[FLOOR_BUF];
    int in = accept(lfd, NULL, NULL), out = dial(to);
    ssize_t r;
    if (in < 0 || out < 0)
        return 1;
    while ((r = recv(in, buf, sizeof buf, 0)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || send_all(out, buf, (size_t)r) < 0)
            return 1;
    }
    return shutdown(out, SHUT_WR) == 0 ? 0 : 1;
}

static int sender(unsigned short to, long long bytes)
{
    static unsigned char buf[FLOOR_CHUNK];
    int fd = dial(to);
    if (fd < 0)
        return 1;
    memset(buf, 0x5a, sizeof buf);
    for (long long left = bytes; left > 0; left -= FLOOR_CHUNK)
        if (send_all(fd, buf, left < FLOOR_CHUNK ? (size_t)left : FLOOR_CHUNK) < 0)
            return 1;
    return shutdown(fd, SHUT_WR) == 0 ? 0 : 1;
}

typedef struct {
    int kind; /* 0 sink, 1 forwarder, 2 sender */
    int lfd;
    unsigned short to;
    long long bytes;
} role;

static pid_t start(const role *r, int close1, int close2)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (close1 >= 0)
        close(close1);
    if (close2 >= 0)
        close(close2);
    int rc = r->kind == 0 ? sink(r->lfd, r->bytes)
           : r->kind == 1 ? forwarder(r->lfd, r->to)
                          : sender(r->to, r->bytes);
    _exit(rc);
}

/* Wait for pid; its CPU time (user + system, s) into *cpu; 0 when it exited 0. */
static int finish(pid_t pid, double *cpu)
{
    int status;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
        return -1;
    *cpu += (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* One run: bytes from a sender to a sink, through a forwarder or not; the
 * CPU of all its processes per byte (ns/B) into *nspb.  0 or -1. */
static int one_run(bool forward, long long bytes, double *nspb)
{
    unsigned short sport, fport = 0;
    int sfd = listen_any(&sport), ffd = forward ? listen_any(&fport) : -1;
    if (sfd < 0 || (forward && ffd < 0)) {
        if (sfd >= 0)
            close(sfd);
        return -1;
    }
    role rs = { 0, sfd, 0, bytes }, rf = { 1, ffd, sport, 0 };
    role rc = { 2, -1, forward ? fport : sport, bytes };
    pid_t ps = start(&rs, ffd, -1), pf = forward ? start(&rf, sfd, -1) : 0;
    pid_t pc = start(&rc, sfd, ffd);
    close(sfd);
    if (ffd >= 0)
        close(ffd);
    double cpu = 0;
    int rcode = finish(pc, &cpu);
    if (forward && finish(pf, &cpu) < 0)
        rcode = -1;
    if (finish(ps, &cpu) < 0)
        rcode = -1;
    *nspb = cpu * 1e9 / (double)bytes;
    return rcode;
}

int bench_relay_floor(bench_run *b, double *hop_nspb)
{
    int runs = bench_smoke(b) ? 1 : FLOOR_RUNS;
    long long bytes = bench_smoke(b) ? (1LL << 20) : (256LL << 20);
    double d[FLOOR_RUNS], f[FLOOR_RUNS], hop[FLOOR_RUNS];
    for (int r = 0; r < runs; r++) {
        if (one_run(false, bytes, &d[r]) < 0 || one_run(true, bytes, &f[r]) < 0) {
            fprintf(stderr, "relay: the plain TCP forwarder run failed\n");
            return -1;
        }
        hop[r] = f[r] - d[r];
    }
    *hop_nspb = bench_median(hop, (size_t)runs);
    bench_emit(b, "plain TCP, no veil", "direct (all processes)", bench_median(d, (size_t)runs),
               "ns/B");
    bench_emit(b, "plain TCP, no veil", "through a minimal forwarder (all processes)",
               bench_median(f, (size_t)runs), "ns/B");
    bench_emit(b, "plain TCP, no veil", "one more hop costs", *hop_nspb, "ns/B");
    return 0;
}
