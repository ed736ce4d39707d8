/* A stranger flooding a listener with first handshake messages (HS1) over
 * a plain TCP socket, as the tcp transport frames them (docs/PROTOCOL.md,
 * "TCP framing"): used by tests/unit/channel/test_channel_flood.c.  No veil node: the
 * attacker needs none.  Each HS1 is 32 random bytes (a Noise XX message 1
 * is the initiator's ephemeral public key, and any 32 bytes are one)
 * followed by the type byte 0x01, sent to [listener] with the return route
 * ["flood"] (the receiving transport puts the connection in front; the
 * attacker's replies come back to it over that connection). */
#ifndef VEIL_TEST_FLOOD_H
#define VEIL_TEST_FLOOD_H

#include <veil/veil.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FLOOD_FRAME_MAX 512

typedef struct flood {
    int fd;
    uint8_t frame[FLOOD_FRAME_MAX];   /* length prefix, codec message */
    size_t frame_len;
    size_t key_at;                    /* offset of the 32 random bytes */
    uint8_t out[64 * FLOOD_FRAME_MAX];
    size_t out_len, out_pos;
    uint8_t in[65536];
    size_t in_len;
    bool preamble_seen;    /* the node's veil-tcp preamble was skipped */
    uint64_t sent, replies;
} flood;

static inline double flood_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An HS1 frame body for the default Noise key agreement (channel
 * handshake version 3, docs/PROTOCOL.md "Frames"): key(32) || protocol ||
 * protocol_len:u8, then the type (0x01); FLOOD_HS1_LEN bytes. */
#define FLOOD_NOISE "Noise_XX_25519_AESGCM_SHA256"
#define FLOOD_HS1_BODY (32u + sizeof FLOOD_NOISE - 1u + 1u)
#define FLOOD_HS1_LEN (FLOOD_HS1_BODY + 1u)
static inline void flood_hs1(uint8_t out[FLOOD_HS1_LEN], const uint8_t key[32])
{
    memcpy(out, key, 32);
    memcpy(out + 32, FLOOD_NOISE, sizeof FLOOD_NOISE - 1u);
    out[FLOOD_HS1_BODY - 1u] = (uint8_t)(sizeof FLOOD_NOISE - 1u);
    out[FLOOD_HS1_BODY] = 0x01; /* HS1 */
}

/* The frame template for listener; 0 or -1. */
static inline int flood_prepare(flood *f, const char *listener)
{
    veil_route on, ret;
    uint8_t hs1[FLOOD_HS1_LEN], key[32];
    size_t n = 0;
    memset(key, 0x42, 32);
    flood_hs1(hs1, key);
    if (veil_route_parse(&on, listener) < 0 || veil_route_parse(&ret, "flood") < 0 ||
        veil_codec_encode(&on, &ret, hs1, sizeof hs1, f->frame + 4, sizeof f->frame - 4, &n) < 0)
        return -1;
    f->frame[0] = (uint8_t)(n >> 24);
    f->frame[1] = (uint8_t)(n >> 16);
    f->frame[2] = (uint8_t)(n >> 8);
    f->frame[3] = (uint8_t)n;
    f->frame_len = 4 + n;
    f->key_at = f->frame_len - FLOOD_HS1_LEN; /* the payload is last */
    return 0;
}

static inline int flood_connect(flood *f, int port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* The veil-tcp v1 preamble (docs/PROTOCOL.md, "TCP framing") first. */
    static const uint8_t preamble[8] = {0x89, 'V', 'E', 'I', 'L', '\n', 0, 1};
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (f->fd < 0 || connect(f->fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        write(f->fd, preamble, sizeof preamble) != (ssize_t)sizeof preamble)
        return -1;
    return fcntl(f->fd, F_SETFL, O_NONBLOCK);
}

/* Count the reply frames read so far (each reply is one frame). */
static inline void flood_read(flood *f)
{
    for (;;) {
        ssize_t r = read(f->fd, f->in + f->in_len, sizeof f->in - f->in_len);
        if (r <= 0)
            return;
        f->in_len += (size_t)r;
        size_t pos = 0;
        if (!f->preamble_seen && f->in_len >= 8) { /* the node's preamble */
            f->preamble_seen = true;
            pos = 8;
        }
        while (f->in_len - pos >= 4) {
            const uint8_t *p = f->in + pos;
            size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
            if (f->in_len - pos < 4 + len)
                break;
            pos += 4 + len;
            f->replies++;
        }
        memmove(f->in, f->in + pos, f->in_len - pos);
        f->in_len -= pos;
    }
}

/* Queue up to n more HS1 frames (fresh random keys) and write what the
 * socket takes; read replies meanwhile. */
static inline void flood_step(flood *f, uint64_t n)
{
    if (f->out_pos == f->out_len) {
        f->out_pos = f->out_len = 0;
        while (n-- > 0 && f->out_len + f->frame_len <= sizeof f->out) {
            (void)getrandom(f->frame + f->key_at, 32, 0);
            memcpy(f->out + f->out_len, f->frame, f->frame_len);
            f->out_len += f->frame_len;
            f->sent++;
        }
    }
    if (f->out_pos < f->out_len) {
        ssize_t w = write(f->fd, f->out + f->out_pos, f->out_len - f->out_pos);
        if (w > 0)
            f->out_pos += (size_t)w;
    }
    flood_read(f);
}

/* Send `total` HS1 as fast as the listener takes them and wait for as many
 * replies (an HS2 or a COOKIE each), at most timeout_s.  0 or -1. */
static inline int flood_burst(flood *f, uint64_t total, double timeout_s)
{
    double end = flood_now() + timeout_s;
    while ((f->sent < total || f->out_pos < f->out_len || f->replies < total) &&
           flood_now() < end) {
        struct pollfd p = { .fd = f->fd, .events = POLLIN };
        if (f->sent < total || f->out_pos < f->out_len)
            p.events |= POLLOUT;
        (void)poll(&p, 1, 20);
        flood_step(f, total - f->sent);
    }
    return f->replies >= total ? 0 : -1;
}

/* Send `rate` HS1 per second until stop_fd becomes readable (or closes). */
static inline void flood_sustain(flood *f, double rate, int stop_fd)
{
    double start = flood_now();
    for (;;) {
        struct pollfd p[2] = { { .fd = f->fd, .events = POLLIN }, { .fd = stop_fd,
                                                                    .events = POLLIN } };
        (void)poll(p, 2, 1);
        if (p[1].revents != 0)
            return;
        double due = (flood_now() - start) * rate;
        flood_step(f, due > (double)f->sent ? (uint64_t)due - f->sent : 0);
    }
}

#endif
