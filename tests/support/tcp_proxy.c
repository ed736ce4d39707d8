/* The test TCP proxy (tcp_proxy.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcp_proxy.h"

uint64_t tcp_proxy_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct sockaddr_in loopback(uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return a;
}

void tcp_proxy_listen(tcp_proxy *p)
{
    struct sockaddr_in a = loopback(p->port);
    socklen_t sl = sizeof a;
    int one = 1;
    assert_true(p->lfd < 0);
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(p->lfd >= 0);
    assert_int_equal(setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sl), 0);
    assert_int_equal(listen(p->lfd, 64), 0);
    assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&a, &sl), 0);
    p->port = ntohs(a.sin_port);
}

void tcp_proxy_start(tcp_proxy *p, uint16_t backend)
{
    memset(p, 0, sizeof *p);
    p->lfd = -1;
    p->backend = backend;
    for (int i = 0; i < TCP_PROXY_CONNS; i++)
        p->c[i] = p->s[i] = -1;
    tcp_proxy_listen(p);
}

static void drop(tcp_proxy *p, int i)
{
    if (p->c[i] >= 0)
        close(p->c[i]);
    if (p->s[i] >= 0)
        close(p->s[i]);
    p->c[i] = p->s[i] = -1;
    p->stuck[i] = false;
}

void tcp_proxy_freeze_open(tcp_proxy *p)
{
    for (int i = 0; i < TCP_PROXY_CONNS; i++)
        p->stuck[i] = p->c[i] >= 0;
}

void tcp_proxy_cut(tcp_proxy *p)
{
    for (int i = 0; i < TCP_PROXY_CONNS; i++)
        drop(p, i);
}

void tcp_proxy_refuse(tcp_proxy *p)
{
    if (p->lfd >= 0)
        close(p->lfd);
    p->lfd = -1;
}

void tcp_proxy_stop(tcp_proxy *p)
{
    tcp_proxy_cut(p);
    tcp_proxy_refuse(p);
}

static void take(tcp_proxy *p, int c)
{
    if (p->accepted < TCP_PROXY_ACCEPTS)
        p->accepted_ms[p->accepted] = tcp_proxy_now_ms();
    p->accepted++;
    if (p->slam) {
        close(c);
        return;
    }
    struct sockaddr_in a = loopback(p->backend);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { /* backend down: refuse */
        close(s);
        close(c);
        return;
    }
    for (int i = 0; i < TCP_PROXY_CONNS; i++)
        if (p->c[i] < 0) {
            p->c[i] = c;
            p->s[i] = s;
            p->skip[i] = 8; /* the veil-tcp preamble */
            p->dropping[i] = false;
            p->hdr_len[i] = 0;
            return;
        }
    fail_msg("tcp_proxy: more than %d connections", TCP_PROXY_CONNS);
}

/* The n bytes connection i sends to the backend, less a dropped frame,
 * into out (as many bytes or fewer); their frame lengths noted.  Returns
 * how many bytes to forward. */
static size_t see_frames(tcp_proxy *p, int i, const uint8_t *b, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t k = 0; k < n;) {
        if (p->skip[i] > 0) {
            size_t s = n - k < p->skip[i] ? n - k : p->skip[i];
            if (!p->dropping[i]) {
                memcpy(out + o, b + k, s);
                o += s;
            }
            p->skip[i] -= (uint32_t)s;
            k += s;
            continue;
        }
        p->hdr[i][p->hdr_len[i]++] = b[k++];
        if (p->hdr_len[i] < 4)
            continue;
        uint32_t len = (uint32_t)p->hdr[i][0] << 24 | (uint32_t)p->hdr[i][1] << 16 |
                       (uint32_t)p->hdr[i][2] << 8 | p->hdr[i][3];
        if (len > p->max_frame)
            p->max_frame = len;
        p->dropping[i] = len > 32768u && ++p->big_seen == p->drop_big;
        p->dropped += p->dropping[i];
        if (!p->dropping[i]) {
            memcpy(out + o, p->hdr[i], 4);
            o += 4;
        }
        p->skip[i] = len;
        p->hdr_len[i] = 0;
    }
    return o;
}

/* Move what from has now to to; false when either end is gone.  seen:
 * the connection whose frames to note (-1: none). */
static bool move(tcp_proxy *p, int seen, int from, int to)
{
    /* out: in, less a dropped frame (a header read across two recvs is
     * written whole, so out needs its 4 bytes more than in) */
    uint8_t in[65536], out[65536 + 4], *buf = in;
    ssize_t n = recv(from, in, sizeof in, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
        return false;
    if (n > 0 && seen >= 0) {
        n = (ssize_t)see_frames(p, seen, in, (size_t)n, out);
        buf = out;
    }
    for (ssize_t off = 0; n > 0 && off < n;) { /* loopback: blocking sends finish */
        ssize_t w = send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        off += w;
    }
    return true;
}

void tcp_proxy_pump(tcp_proxy *p)
{
    int c;
    while (p->lfd >= 0 && (c = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
        take(p, c);
    if (p->frozen)
        return;
    for (int i = 0; i < TCP_PROXY_CONNS; i++)
        if (p->c[i] >= 0 && !p->stuck[i] &&
            (!move(p, i, p->c[i], p->s[i]) || !move(p, -1, p->s[i], p->c[i])))
            drop(p, i);
}
