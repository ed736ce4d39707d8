/* Listening sockets: bind (IPv4 or IPv6; port 0 picks a free port, which
 * getsockname reports back), accept every pending connection on READ. */
#include "tcp.h"

#include <veil/error.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ACCEPT_BATCH 64

static void resume(veil_node *node, void *arg)
{
    tcp_listener *l = arg;
    (void)node;
    l->pause = NULL;
    if (veil_node_watch_modify(l->watch, VEIL_WATCH_READ) < 0)
        veil_log(VEIL_LOG_ERROR, "tcp", "tcp: listener %s: %s", l->bound.bytes,
                veil_last_error());
}

/* Out of file descriptors (or kernel memory): the pending connection stays
 * in the backlog and the level-triggered watch would fire at once, again
 * and again.  Stop watching for PAUSE_MS instead. */
#define PAUSE_MS 100

static void pause_accepting(tcp_listener *l, int err)
{
    veil_log(VEIL_LOG_WARN, "tcp", "tcp: accept on %s: %s; not accepting for %d ms",
            l->bound.bytes, strerror(err), PAUSE_MS);
    if (l->pause != NULL || veil_node_watch_modify(l->watch, 0) < 0)
        return;
    if (veil_node_timer_add(l->inst->node, PAUSE_MS, resume, l, &l->pause) < 0)
        resume(l->inst->node, l); /* no timer: keep accepting rather than stop */
}

static void listener_event(veil_node *node, int fd, uint32_t events, void *arg)
{
    tcp_listener *l = arg;
    (void)node;
    (void)events;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int cfd = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            int e = errno;
            if (e == EINTR || e == ECONNABORTED)
                continue;
            if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
                pause_accepting(l, e);
            else if (e != EAGAIN && e != EWOULDBLOCK)
                veil_log(VEIL_LOG_WARN, "tcp", "tcp: accept on %s: %s", l->bound.bytes,
                        strerror(e));
            break;
        }
        (void)tcp_conn_adopt(l->inst, cfd, (struct sockaddr *)&ss); /* logs its refusals */
    }
    tcp_conn_reap(l->inst);
}

static int bind_one(const struct sockaddr *sa, socklen_t salen, int backlog, int *out)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sa->sa_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, sa, salen) < 0 || listen(fd, backlog) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    *out = fd;
    return 0;
}

int tcp_listener_open(tcp_inst *inst, const char *where, veil_address *bound)
{
    tcp_endpoint ep;
    struct sockaddr_storage cand[TCP_MAX_CANDIDATES];
    socklen_t lens[TCP_MAX_CANDIDATES];
    size_t n;
    int rc = tcp_endpoint_parse(where, strlen(where), &ep);
    if (rc == 0)
        rc = tcp_resolve(&ep, true, cand, lens, TCP_MAX_CANDIDATES, &n);
    if (rc < 0)
        return rc;
    /* A name may resolve to several addresses: the first that binds wins. */
    int fd = -1, err = 0;
    for (size_t i = 0; i < n && fd < 0; i++)
        err = bind_one((struct sockaddr *)&cand[i], lens[i], inst->cfg.listen_backlog, &fd);
    if (fd < 0)
        return veil_error_set(err == -EADDRINUSE ? VEIL_EEXIST : VEIL_EIO,
                              "tcp: cannot listen on '%s': %s", where, strerror(-err));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char text[80];
    tcp_listener *l = calloc(1, sizeof *l);
    if (l == NULL) {
        close(fd);
        return veil_error_set(VEIL_ENOMEM, "tcp: out of memory for a listener");
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        rc = veil_error_set(VEIL_EIO, "tcp: getsockname on '%s': %s", where, strerror(errno));
    } else {
        tcp_sockaddr_format((struct sockaddr *)&ss, text, sizeof text);
        rc = veil_address_set(&l->bound, VEIL_ADDRESS_TYPE_TCP, text, strlen(text));
    }
    if (rc == 0)
        rc = veil_node_watch_add(inst->node, fd, VEIL_WATCH_READ, listener_event, l, &l->watch);
    if (rc < 0) {
        close(fd);
        free(l);
        return rc;
    }
    l->inst = inst;
    l->fd = fd;
    l->next = inst->listeners;
    inst->listeners = l;
    *bound = l->bound;
    veil_log(VEIL_LOG_INFO, "tcp", "tcp: listening on %s", l->bound.bytes);
    return 0;
}

void tcp_listener_close_all(tcp_inst *inst)
{
    while (inst->listeners != NULL) {
        tcp_listener *l = inst->listeners;
        inst->listeners = l->next;
        if (l->pause != NULL)
            veil_node_timer_cancel(l->pause);
        veil_node_watch_remove(l->watch);
        close(l->fd);
        free(l);
    }
}
