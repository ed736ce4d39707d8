/* The TLS 1.3 side of the tcp benchmark (bench_tcp.h): a forked server
 * process and this process as the client, over loopback TCP (TCP_NODELAY
 * both ends, as the veil transport does), with the certificates and
 * settings of the channel benchmark's baseline (bench_channel_tls.h:
 * mutual Ed25519 certificates, X25519, TLS_AES_256_GCM_SHA384, no
 * resumption).  One SSL_write per message, like one veil message. */
#include "config.h"
#include "bench.h"
#include "bench_channel_tls.h"
#include "bench_tcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef VEIL_HAVE_OPENSSL
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

struct tcpb_peer {
    bench_tls *tls;
    pid_t pid;
    int fd;
    SSL *ssl;
    unsigned char buf[TCPB_MAX_MESSAGE];
};

/* Commands, client → server: cmd(1) size(u32be) count(u32be). */
enum { CMD_ONEWAY = 'T', CMD_RTT = 'R', CMD_QUIT = 'Q' };

static int read_full(SSL *s, unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        int r = SSL_read(s, buf + got, (int)(len - got));
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int write_full(SSL *s, const unsigned char *buf, size_t len)
{
    int w = SSL_write(s, buf, (int)len); /* no partial writes (default mode) */
    return w == (int)len ? 0 : -1;
}

static void nodelay(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* One command from the client; 1 when told to quit, -1 on error. */
static int serve_one(SSL *s, unsigned char *buf)
{
    unsigned char h[9];
    if (read_full(s, h, sizeof h) < 0)
        return -1;
    uint32_t size = get32(h + 1), count = get32(h + 5);
    if (h[0] == CMD_QUIT)
        return 1;
    if (size == 0 || size > TCPB_MAX_MESSAGE)
        return -1;
    if (h[0] == CMD_ONEWAY) {
        for (uint32_t i = 0; i < count; i++)
            if (read_full(s, buf, size) < 0)
                return -1;
        memset(h, 0, 8);
        return write_full(s, h, 8);
    }
    for (uint32_t i = 0; i < count; i++)
        if (read_full(s, buf, size) < 0 || write_full(s, buf, size) < 0)
            return -1;
    return 0;
}

static int listen_loopback(int *fd, unsigned *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    *fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(*fd, 1) < 0 ||
        getsockname(*fd, (struct sockaddr *)&a, &alen) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return 0;
}

static int serve(int wfd, void *arg)
{
    bench_tls *t = arg;
    static unsigned char buf[TCPB_MAX_MESSAGE];
    char line[32];
    unsigned port;
    int lfd, fd, rc = -1;
    if (listen_loopback(&lfd, &port) < 0)
        return 1;
    snprintf(line, sizeof line, "%u\n", port);
    if (tcpb_write_line(wfd, line) < 0 || (fd = accept(lfd, NULL, NULL)) < 0)
        return 1;
    nodelay(fd);
    SSL *s = SSL_new(bench_tls_ssl_ctx(t, 1));
    if (s != NULL && SSL_set_fd(s, fd) == 1 && SSL_accept(s) == 1)
        while ((rc = serve_one(s, buf)) == 0)
            ;
    if (rc < 0)
        ERR_print_errors_fp(stderr);
    SSL_free(s);
    close(fd);
    close(lfd);
    return rc == 1 ? 0 : 1;
}

static int connect_loopback(unsigned port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    nodelay(fd);
    return fd;
}

static void tls_close(tcpb_peer *p)
{
    if (p == NULL)
        return;
    if (p->ssl != NULL) {
        unsigned char h[9] = { CMD_QUIT };
        (void)write_full(p->ssl, h, sizeof h);
        SSL_free(p->ssl);
    }
    if (p->fd >= 0)
        close(p->fd);
    if (p->pid > 0 && tcpb_reap(p->pid) < 0)
        fprintf(stderr, "tcp: the TLS server process failed\n");
    bench_tls_free(p->tls);
    free(p);
}

static int tls_open(tcpb_peer **out)
{
    tcpb_peer *p = calloc(1, sizeof *p);
    char line[32];
    if (p == NULL)
        return -1;
    p->fd = -1;
    if ((p->tls = bench_tls_new()) == NULL ||
        tcpb_spawn(serve, p->tls, &p->pid, line, sizeof line) < 0 ||
        (p->fd = connect_loopback((unsigned)strtoul(line, NULL, 10))) < 0 ||
        (p->ssl = SSL_new(bench_tls_ssl_ctx(p->tls, 0))) == NULL ||
        SSL_set_fd(p->ssl, p->fd) != 1 || SSL_connect(p->ssl) != 1 ||
        SSL_get_verify_result(p->ssl) != X509_V_OK) {
        fprintf(stderr, "tcp: TLS 1.3 baseline: could not connect\n");
        ERR_print_errors_fp(stderr);
        tls_close(p);
        return -1;
    }
    *out = p;
    return 0;
}

static int command(tcpb_peer *p, int cmd, size_t size, long count)
{
    unsigned char h[9] = { (unsigned char)cmd };
    put32(h + 1, (uint32_t)size);
    put32(h + 5, (uint32_t)count);
    return write_full(p->ssl, h, sizeof h);
}

static int tls_oneway(tcpb_peer *p, size_t size, long count)
{
    memset(p->buf, 0x5a, size);
    if (command(p, CMD_ONEWAY, size, count) < 0)
        return -1;
    for (long i = 0; i < count; i++)
        if (write_full(p->ssl, p->buf, size) < 0)
            return -1;
    return read_full(p->ssl, p->buf, 8);
}

static int tls_rtt(tcpb_peer *p, size_t size, long count, double *samples)
{
    memset(p->buf, 0x5a, size);
    if (command(p, CMD_RTT, size, count) < 0)
        return -1;
    for (long i = 0; i < count; i++) {
        double t0 = bench_now_s();
        if (write_full(p->ssl, p->buf, size) < 0 || read_full(p->ssl, p->buf, size) < 0)
            return -1;
        samples[i] = bench_now_s() - t0;
    }
    return 0;
}

const tcpb_ops tcpb_tls_ops = { "TLS 1.3", tls_open, tls_oneway, tls_rtt, tls_close,
                               NULL, NULL, NULL };

#else

static int tls_open(tcpb_peer **out)
{
    (void)out;
    fprintf(stderr, "tcp: no TLS 1.3 baseline (built without OpenSSL)\n");
    return -1;
}

const tcpb_ops tcpb_tls_ops = { "TLS 1.3", tls_open, NULL, NULL, NULL, NULL, NULL, NULL };
#endif
