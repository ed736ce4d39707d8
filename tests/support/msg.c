/* Route and message helpers (msg.h). */
#include "msg.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

veil_route route_of(const char *text)
{
    veil_route r;
    veil_route_init(&r);
    int rc = veil_route_parse(&r, text);
    if (rc != 0)
        fail_msg("route '%s': %s (%s)", text, veil_strerror(rc), veil_last_error());
    return r;
}

void route_is(const veil_route *r, const char *text)
{
    veil_route want = route_of(text);
    char got[1024], wanted[1024];
    veil_route_format(r, got, sizeof got);
    veil_route_format(&want, wanted, sizeof wanted);
    if (!veil_route_equal(&want, r) || strcmp(got, wanted) != 0)
        fail_msg("route is '%s', expected '%s'", got, text);
}

void payload_is(const veil_message *m, const char *text)
{
    size_t len;
    const uint8_t *p = veil_message_payload(m, &len);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(p, text, len);
}

veil_message *receive_ok(veil_context *ctx, int timeout_ms)
{
    veil_message *m = NULL;
    int rc = veil_ctx_receive(ctx, &m, timeout_ms);
    if (rc != 0)
        fail_msg("receive: %s (%s)", veil_strerror(rc), veil_last_error());
    return m;
}

void send_text(veil_context *ctx, const char *route, const char *text)
{
    veil_route r = route_of(route);
    int rc = veil_ctx_send(ctx, &r, text, strlen(text));
    if (rc != 0)
        fail_msg("send to %s: %s (%s)", route, veil_strerror(rc), veil_last_error());
}

void send_tcp_frame(int fd, const char *onward, const char *ret, const char *text)
{
    veil_route on = route_of(onward), back = route_of(ret);
    uint8_t buf[2048];
    size_t n = 0;
    assert_int_equal(veil_codec_encode(&on, &back, (const uint8_t *)text, strlen(text), buf + 4,
                                       sizeof buf - 4, &n), 0);
    buf[0] = (uint8_t)(n >> 24);
    buf[1] = (uint8_t)(n >> 16);
    buf[2] = (uint8_t)(n >> 8);
    buf[3] = (uint8_t)n;
    assert_int_equal(write(fd, buf, 4 + n), (ssize_t)(4 + n));
}
