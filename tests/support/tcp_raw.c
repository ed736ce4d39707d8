/* Raw TCP clients for the tcp tests (tcp_raw.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tcp_raw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int raw_listen(int extra, int backlog, struct sockaddr_in *sin)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | extra, 0);
    socklen_t sl = sizeof *sin;
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(ls >= 0);
    assert_int_equal(bind(ls, (struct sockaddr *)sin, sizeof *sin), 0);
    assert_int_equal(listen(ls, backlog), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)sin, &sl), 0);
    return ls;
}

int raw_try_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0)
        return fd;
    close(fd);
    return -1;
}

const uint8_t raw_preamble[8] = {0x89, 'V', 'E', 'I', 'L', '\n', 0, 1};

int raw_connect_plain(int port)
{
    int fd = raw_try_connect(port);
    assert_true(fd >= 0);
    return fd;
}

int raw_connect(int port)
{
    int fd = raw_connect_plain(port);
    raw_send(fd, raw_preamble, sizeof raw_preamble);
    return fd;
}

void raw_send(int fd, const void *p, size_t n)
{
    assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Frame lengths are network byte order. */
void put32(uint8_t *p, uint32_t v)
{
    v = htonl(v);
    memcpy(p, &v, sizeof v);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return ntohl(v);
}

size_t raw_echo_frame(uint8_t *out, size_t cap, size_t plen, uint8_t fill)
{
    veil_route onward, ret;
    size_t n;
    uint8_t *payload = malloc(plen ? plen : 1);
    assert_non_null(payload);
    memset(payload, fill, plen);
    assert_int_equal(veil_route_parse(&onward, "echoer"), 0);
    assert_int_equal(veil_route_parse(&ret, "client"), 0);
    assert_true(cap > 4);
    assert_int_equal(veil_codec_encode(&onward, &ret, payload, plen, out + 4, cap - 4, &n), 0);
    put32(out, (uint32_t)n);
    free(payload);
    return n + 4;
}

bool raw_wait_closed(veil_node *node, int fd, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 5) {
        char buf[256];
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return true;
        assert_int_equal(veil_node_run_once(node, 5), 0);
    }
    return false;
}

/* The node's preamble came in place of a frame header (a frame's first
 * byte is 0: max_frame < 16 MiB): check the rest of it; the next header
 * follows. */
static bool preamble_read(uint8_t hdr[8], size_t *got, size_t *want)
{
    if (*got < 4 || hdr[0] != raw_preamble[0])
        return false;
    if (*want == 4) {
        *want = 8;
        return true;
    }
    if (*got < 8)
        return true;
    assert_memory_equal(hdr, raw_preamble, sizeof raw_preamble);
    *got = 0;
    *want = 4;
    hdr[0] = 0;
    return true;
}

/* One whole frame from fd into a malloc'd buffer (header stripped); the
 * node's preamble, if it comes first, is checked and skipped. */
static uint8_t *read_frame(veil_node *node, int fd, size_t *len)
{
    uint8_t hdr[8];
    uint8_t *body = NULL;
    size_t got = 0, want = 4;
    for (int waited = 0; waited < 5000; waited += 5) {
        uint8_t *dst = body == NULL ? hdr + got : body + got - 4;
        ssize_t r = recv(fd, dst, want - got, MSG_DONTWAIT);
        if (r > 0)
            got += (size_t)r;
        assert_true(r != 0);
        if (body == NULL && preamble_read(hdr, &got, &want))
            continue;
        if (got == 4 && body == NULL) {
            want = 4 + get32(hdr);
            body = malloc(want - 4);
            assert_non_null(body);
        }
        if (body != NULL && got == want) {
            *len = want - 4;
            return body;
        }
        if (r > 0)
            continue;
        if (node != NULL)
            assert_int_equal(veil_node_run_once(node, 5), 0);
        else
            (void)poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 5);
    }
    fail_msg("no whole frame within 5 s (%zu of %zu bytes)", got, want);
    return NULL;
}

static void expect_echo(veil_node *node, int fd, const uint8_t *want, size_t plen)
{
    size_t len = 0;
    uint8_t *body = read_frame(node, fd, &len);
    veil_route onward, ret;
    const uint8_t *payload;
    size_t got;
    char text_on[128], text_ret[128];
    assert_int_equal(veil_codec_decode(body, len, 0, &onward, &ret, &payload, &got), 0);
    veil_route_format(&onward, text_on, sizeof text_on);
    veil_route_format(&ret, text_ret, sizeof text_ret);
    assert_string_equal(text_on, "client");
    assert_string_equal(text_ret, "echoer");
    assert_int_equal(got, plen);
    assert_memory_equal(payload, want, plen);
    free(body);
}

void raw_echo_ok(veil_node *node, int fd, const char *text)
{
    veil_route onward, ret;
    uint8_t frame[512];
    size_t n;
    assert_int_equal(veil_route_parse(&onward, "echoer"), 0);
    assert_int_equal(veil_route_parse(&ret, "client"), 0);
    assert_int_equal(veil_codec_encode(&onward, &ret, (const uint8_t *)text, strlen(text),
                                       frame + 4, sizeof frame - 4, &n), 0);
    put32(frame, (uint32_t)n);
    raw_send(fd, frame, n + 4);
    expect_echo(node, fd, (const uint8_t *)text, strlen(text));
}

void raw_expect_echo(veil_node *node, int fd, size_t plen, uint8_t fill)
{
    uint8_t *want = malloc(plen ? plen : 1);
    assert_non_null(want);
    memset(want, fill, plen);
    expect_echo(node, fd, want, plen);
    free(want);
}

int raw_dialed_by(veil_node *node, veil_context *app, int ls, int port)
{
    char text[128];
    snprintf(text, sizeof text, "1#127.0.0.1:%d => echoer", port);
    veil_route r;
    assert_int_equal(veil_route_parse(&r, text), 0);
    assert_int_equal(veil_ctx_send(app, &r, "hello", 5), 0);
    int c = -1;
    for (int i = 0; i < 300 && c < 0; i++) {
        assert_int_equal(veil_node_run_once(node, 10), 0);
        c = accept(ls, NULL, NULL);
    }
    assert_true(c >= 0);
    uint8_t first[8];
    assert_int_equal(recv(c, first, sizeof first, MSG_WAITALL), 8);
    assert_memory_equal(first, raw_preamble, sizeof first);
    return c;
}

size_t raw_available(veil_node *node, int fd, int ms)
{
    int avail = 0;
    for (int waited = 0; waited <= ms; waited += 5) {
        assert_int_equal(veil_node_run_once(node, 5), 0);
        assert_int_equal(ioctl(fd, FIONREAD, &avail), 0);
    }
    return (size_t)avail;
}

void raw_take_preamble(veil_node *node, int fd)
{
    uint8_t got[8];
    for (int waited = 0; raw_available(node, fd, 0) < sizeof got; waited += 5)
        assert_true(waited < 5000);
    assert_int_equal(recv(fd, got, sizeof got, 0), 8);
    assert_memory_equal(got, raw_preamble, sizeof got);
}

void raw_send_message(int fd, const char *onward, const char *ret, const void *payload,
                      size_t plen)
{
    veil_route on, rt;
    uint8_t frame[1024];
    size_t n;
    assert_int_equal(veil_route_parse(&on, onward), 0);
    assert_int_equal(veil_route_parse(&rt, ret), 0);
    assert_int_equal(veil_codec_encode(&on, &rt, payload, plen, frame + 4, sizeof frame - 4, &n),
                     0);
    put32(frame, (uint32_t)n);
    raw_send(fd, frame, n + 4);
}

size_t raw_recv_message(veil_node *node, int fd, char *onward, char *ret, size_t tcap,
                        uint8_t *payload, size_t cap)
{
    size_t len = 0, plen;
    uint8_t *body = read_frame(node, fd, &len);
    veil_route on, rt;
    const uint8_t *p;
    assert_int_equal(veil_codec_decode(body, len, 0, &on, &rt, &p, &plen), 0);
    veil_route_format(&on, onward, tcap);
    veil_route_format(&rt, ret, tcap);
    assert_true(plen <= cap);
    memcpy(payload, p, plen);
    free(body);
    return plen;
}
