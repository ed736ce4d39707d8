/* The floor under any TCP relay on this machine (bench_relay.c): what one
 * more loopback TCP hop through the smallest possible forwarder costs, with
 * no veil in it.  Plain bytes go from a sender process to a sink process
 * directly, then through a forwarder process that only recv()s into one
 * buffer and send()s it on (no framing, no routing, no crypto); the CPU all
 * processes of each path used (wait4's rusage) per byte, and the
 * difference.
 *
 * What a hop costs depends on the segments it carries, so the floor moves
 * bytes the way veil's tcp transport does for the message size measured:
 * TCP_NODELAY on every socket, the sender writing `write` bytes a call (a
 * 16 KiB frame goes out with its own sendmsg; 1 KiB frames are batched into
 * writes of about 64 KiB), the forwarder sending what it read in pieces of
 * at most `write` bytes.  A relay of veil's traffic costs at least that
 * difference on top of the direct path, so veil's CPU per byte direct /
 * (that + the difference) is the best relay / direct ratio a TCP relay can
 * reach at equal CPU with the segments veil sends. */
#include "config.h"
#include "bench.h"
#include "bench_relay_floor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#define FLOOR_WRITE_MAX (64u << 10) /* the largest write a run may ask for */
#define FLOOR_BUF (256u << 10)      /* the forwarder's reads, as the relay's read budget */

static void no_delay(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

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
    if (fd >= 0)
        no_delay(fd);
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
    if (fd >= 0)
        no_delay(fd);
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

static int forwarder(int lfd, unsigned short to, size_t write)
{
    static unsigned char buf[FLOOR_BUF];
    int in = accept(lfd, NULL, NULL), out = dial(to);
    ssize_t r;
    if (in < 0 || out < 0)
        return 1;
    no_delay(in);
    while ((r = recv(in, buf, sizeof buf, 0)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return 1;
        for (size_t off = 0, n; off < (size_t)r; off += n) {
            n = (size_t)r - off < write ? (size_t)r - off : write;
            if (send_all(out, buf + off, n) < 0)
                return 1;
        }
    }
    return shutdown(out, SHUT_WR) == 0 ? 0 : 1;
}

static int sender(unsigned short to, long long bytes, size_t write)
{
    static unsigned char buf[FLOOR_WRITE_MAX];
    int fd = dial(to);
    if (fd < 0)
        return 1;
    memset(buf, 0x5a, sizeof buf);
    for (long long left = bytes; left > 0; left -= (long long)write)
        if (send_all(fd, buf, left < (long long)write ? (size_t)left : write) < 0)
            return 1;
    return shutdown(fd, SHUT_WR) == 0 ? 0 : 1;
}

typedef struct {
    int kind; /* 0 sink, 1 forwarder, 2 sender */
    int lfd;
    unsigned short to;
    long long bytes;
    size_t write;
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
           : r->kind == 1 ? forwarder(r->lfd, r->to, r->write)
                          : sender(r->to, r->bytes, r->write);
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
 * CPU of all its processes per byte (ns/B) into *nspb.  0 or -1.  When the
 * sender fails (it could not connect, say), the others would wait for it
 * for ever: they are killed. */
static int one_run(bool forward, long long bytes, size_t write, double *nspb)
{
    unsigned short sport, fport = 0;
    int sfd = listen_any(&sport), ffd = forward ? listen_any(&fport) : -1;
    if (sfd < 0 || (forward && ffd < 0)) {
        if (sfd >= 0)
            close(sfd);
        return -1;
    }
    role rsink = { 0, sfd, 0, bytes, write }, rfwd = { 1, ffd, sport, 0, write };
    role rsend = { 2, -1, forward ? fport : sport, bytes, write };
    pid_t ps = start(&rsink, ffd, -1), pf = forward ? start(&rfwd, sfd, -1) : 0;
    pid_t pc = ps > 0 && pf >= 0 ? start(&rsend, sfd, ffd) : -1;
    close(sfd);
    if (ffd >= 0)
        close(ffd);
    double cpu = 0;
    int rc = finish(pc, &cpu);
    if (rc < 0) {
        if (pf > 0)
            kill(pf, SIGKILL);
        if (ps > 0)
            kill(ps, SIGKILL);
    }
    if (pf > 0 && finish(pf, &cpu) < 0)
        rc = -1;
    if (ps > 0 && finish(ps, &cpu) < 0)
        rc = -1;
    *nspb = cpu * 1e9 / (double)bytes;
    return rc;
}

int bench_relay_floor(bench_run *b, size_t write, double *hop_nspb)
{
    int runs = bench_smoke(b) ? 1 : FLOOR_RUNS;
    long long bytes = bench_smoke(b) ? (1LL << 20) : (256LL << 20);
    double d[FLOOR_RUNS], f[FLOOR_RUNS], hop[FLOOR_RUNS];
    if (write == 0 || write > FLOOR_WRITE_MAX)
        return -1;
    for (int r = 0; r < runs; r++) {
        if (one_run(false, bytes, write, &d[r]) < 0 || one_run(true, bytes, write, &f[r]) < 0) {
            fprintf(stderr, "relay: the plain TCP forwarder run failed\n");
            return -1;
        }
        hop[r] = f[r] - d[r];
    }
    char variant[64];
    snprintf(variant, sizeof variant, "plain TCP, no veil, writes of %zu B", write);
    *hop_nspb = bench_median(hop, (size_t)runs);
    bench_emit(b, variant, "direct (all processes)", bench_median(d, (size_t)runs), "ns/B");
    bench_emit(b, variant, "through a minimal forwarder (all processes)",
               bench_median(f, (size_t)runs), "ns/B");
    bench_emit(b, variant, "one more hop costs", *hop_nspb, "ns/B");
    return 0;
}
