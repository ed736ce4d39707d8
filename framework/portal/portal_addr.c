/* Portal addresses: "HOST:PORT" with an IPv6 host in brackets
 * ("[::1]:7000"), as an inlet's `from` (numeric, to listen on) and an
 * outlet's `to` (resolved when the outlet opens). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "portal_internal.h"

int portal_split(const char *text, const char *what, char *host, size_t cap,
                 unsigned long *port)
{
    const char *h = text, *end, *colon;
    char *stop;
    if (text[0] == '[') { /* [IPv6]:port */
        h = text + 1;
        end = strchr(h, ']');
        colon = end != NULL && end[1] == ':' ? end + 1 : NULL;
    } else {
        colon = strrchr(text, ':');
        end = colon;
        if (colon != NULL && memchr(text, ':', (size_t)(colon - text)) != NULL)
            return veil_error_set(VEIL_EINVAL, "%s '%s': an IPv6 address goes in brackets "
                                  "([::1]:PORT)", what, text);
    }
    if (colon == NULL || end == h || (size_t)(end - h) >= cap)
        return veil_error_set(VEIL_EINVAL, "%s '%s': expected HOST:PORT or [IPv6]:PORT", what,
                              text);
    *port = strtoul(colon + 1, &stop, 10);
    if (colon[1] < '0' || colon[1] > '9' || *stop != '\0' || *port > 65535)
        return veil_error_set(VEIL_EINVAL, "%s '%s': the port is not 0..65535", what, text);
    memcpy(host, h, (size_t)(end - h));
    host[end - h] = '\0';
    return 0;
}

int portal_parse_numeric(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN];
    unsigned long port;
    int rc = portal_split(text, "from", host, sizeof host, &port);
    if (rc != 0)
        return rc;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (text[0] != '[' && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        *len = sizeof *s4;
        return 0;
    }
    if (text[0] == '[' && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        *len = sizeof *s6;
        return 0;
    }
    return veil_error_set(VEIL_EINVAL, "from '%s': expected IPv4:PORT or [IPv6]:PORT "
                          "(e.g. 127.0.0.1:7000, [::1]:7000)", text);
}
