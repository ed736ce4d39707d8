/* "host:port" text, name resolution and address formatting.
 *
 * Literals (IPv4 dotted quads, IPv6 in brackets) are converted with
 * inet_pton and never reach the resolver.  Names go through getaddrinfo:
 * on a helper thread when dialing (tcp_resolver.c), on the caller's thread
 * for listen.  See docs/PLUGINS.md, "The tcp transport". */
#include "tcp.h"

#include <veil/error.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(const char *text, size_t len, const char *why)
{
    return veil_error_set(VEIL_EINVAL, "tcp: address '%.*s' %s (expected host:port, "
                          "[ipv6]:port or *:port)", (int)(len > 300 ? 300 : len), text, why);
}

static int parse_port(const char *text, size_t len, const char *p, size_t n, uint16_t *out)
{
    unsigned v = 0;
    if (n == 0)
        return bad(text, len, "has no port");
    if (n > 5)
        return bad(text, len, "has a port over 65535");
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return bad(text, len, "has a port that is not a decimal number");
        v = v * 10u + (unsigned)(p[i] - '0');
    }
    if (v > 65535u)
        return bad(text, len, "has a port over 65535");
    *out = (uint16_t)v;
    return 0;
}

int tcp_endpoint_parse(const char *text, size_t len, tcp_endpoint *out)
{
    const char *host;
    size_t hlen;
    const char *colon;
    memset(out, 0, sizeof *out);
    if (text == NULL || len == 0)
        return veil_error_set(VEIL_EINVAL, "tcp: empty address (expected host:port)");
    if (memchr(text, '\0', len) != NULL)
        return bad(text, len, "contains a NUL byte");
    if (text[0] == '[') {
        const char *close = memchr(text, ']', len);
        if (close == NULL)
            return bad(text, len, "has '[' without ']'");
        host = text + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
        if ((size_t)(colon - text) >= len || *colon != ':')
            return bad(text, len, "needs ':port' after ']'");
    } else {
        colon = memrchr(text, ':', len);
        if (colon == NULL)
            return bad(text, len, "has no port");
        host = text;
        hlen = (size_t)(colon - text);
        if (memchr(host, ':', hlen) != NULL)
            return bad(text, len, "is an IPv6 address without brackets");
    }
    if (hlen == 0)
        return bad(text, len, "has no host");
    if (hlen > VEIL_ADDRESS_MAX)
        return bad(text, len, "has a host name that is too long");
    int rc = parse_port(text, len, colon + 1, len - (size_t)(colon + 1 - text), &out->port);
    if (rc < 0)
        return rc;
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    uint8_t tmp[sizeof(struct in6_addr)];
    if (text[0] == '[') {
        if (inet_pton(AF_INET6, out->host, tmp) != 1)
            return bad(text, len, "has an invalid IPv6 address in brackets");
        out->numeric = true;
    } else {
        out->numeric = inet_pton(AF_INET, out->host, tmp) == 1;
    }
    return 0;
}

static void put(struct sockaddr_storage *out, socklen_t *lens, size_t i, const void *sa,
                socklen_t len)
{
    memset(&out[i], 0, sizeof out[i]);
    memcpy(&out[i], sa, len);
    lens[i] = len;
}

static int literal(const tcp_endpoint *ep, bool passive, struct sockaddr_storage *out,
                   socklen_t *lens, size_t *n)
{
    if (passive && strcmp(ep->host, "*") == 0) {
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(ep->port)};
        sin.sin_addr.s_addr = htonl(INADDR_ANY);
        put(out, lens, 0, &sin, sizeof sin);
        *n = 1;
        return 1;
    }
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(ep->port)};
    if (inet_pton(AF_INET, ep->host, &sin.sin_addr) == 1) {
        put(out, lens, 0, &sin, sizeof sin);
        *n = 1;
        return 1;
    }
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(ep->port)};
    if (inet_pton(AF_INET6, ep->host, &sin6.sin6_addr) == 1) {
        put(out, lens, 0, &sin6, sizeof sin6);
        *n = 1;
        return 1;
    }
    return 0;
}

int tcp_resolve(const tcp_endpoint *ep, bool passive, struct sockaddr_storage *out,
                socklen_t *lens, size_t cap, size_t *n)
{
    *n = 0;
    if (cap == 0)
        return veil_error_set(VEIL_EINVAL, "tcp_resolve: no room for addresses");
    if (literal(ep, passive, out, lens, n))
        return 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_protocol = IPPROTO_TCP};
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)ep->port);
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(ep->host, port, &hints, &res);
    if (gai != 0)
        return veil_error_set(VEIL_ENOTFOUND, "tcp: cannot resolve '%s': %s", ep->host,
                              gai_strerror(gai));
    for (struct addrinfo *a = res; a != NULL && *n < cap; a = a->ai_next) {
        if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
            a->ai_addrlen > sizeof out[0])
            continue;
        put(out, lens, (*n)++, a->ai_addr, a->ai_addrlen);
    }
    freeaddrinfo(res);
    if (*n == 0)
        return veil_error_set(VEIL_ENOTFOUND, "tcp: '%s' has no IPv4 or IPv6 address",
                              ep->host);
    return 0;
}

void tcp_sockaddr_format(const struct sockaddr *sa, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
        snprintf(out, cap, "[%s]:%u", ip, (unsigned)ntohs(s6->sin6_port));
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        snprintf(out, cap, "%s:%u", ip, (unsigned)ntohs(s4->sin_port));
    } else {
        snprintf(out, cap, "?family%d", sa->sa_family);
    }
}
