/* Name resolution off the loop: a dial to a host name starts one helper
 * thread running getaddrinfo; the thread stores the addresses in its job
 * and writes the job's eventfd, which the loop watches; the loop then
 * dials the candidates (tcp_conn.c).  Meanwhile the connection exists in
 * state RESOLVING: frames queue, connect_timeout runs, and the loop keeps
 * serving everything else.
 *
 * A connection that goes away first (timeout, node stop) detaches from its
 * job; the job still finishes and is reaped.  At instance free every thread
 * is joined: getaddrinfo cannot be interrupted, and the thread's code lives
 * in this plugin, which is unloaded right after — so a node stop waits for
 * lookups in flight (docs/PLUGINS.md). */
#include "tcp.h"

#include <veil/error.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct tcp_resolve_job {
    tcp_inst *inst;
    tcp_conn *conn;               /* NULL once detached */
    tcp_endpoint ep;
    pthread_t thread;
    bool joined;
    int efd;
    veil_watch *watch;
    /* written by the thread before it signals */
    int rc;
    char detail[300];
    struct sockaddr_storage cand[TCP_MAX_CANDIDATES];
    socklen_t lens[TCP_MAX_CANDIDATES];
    size_t n;
    tcp_resolve_job *next;        /* instance's jobs */
};

static void *job_thread(void *arg)
{
    tcp_resolve_job *j = arg;
    uint64_t one = 1;
    j->rc = tcp_resolve(&j->ep, false, j->cand, j->lens, TCP_MAX_CANDIDATES, &j->n);
    if (j->rc < 0)
        snprintf(j->detail, sizeof j->detail, "%s", veil_last_error()); /* thread-local */
    /* Wake the loop; it joins this thread before reading the job. */
    while (write(j->efd, &one, sizeof one) < 0 && errno == EINTR)
        ;
    return NULL;
}

static void unlink_job(tcp_inst *inst, tcp_resolve_job *j)
{
    for (tcp_resolve_job **pp = &inst->jobs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == j) {
            *pp = j->next;
            return;
        }
    }
}

static void job_free(tcp_resolve_job *j)
{
    if (!j->joined)
        pthread_join(j->thread, NULL);
    if (j->watch != NULL)
        veil_node_watch_remove(j->watch);
    close(j->efd);
    free(j);
}

/* The loop side: the thread has signalled. */
static void job_done(veil_node *node, int fd, uint32_t events, void *arg)
{
    tcp_resolve_job *j = arg;
    tcp_inst *inst = j->inst;
    tcp_conn *c = j->conn;
    (void)node;
    (void)fd;
    (void)events;
    /* The thread has signalled, so it is about to return: joining first
     * makes its writes to the job visible here by the rules, not by luck. */
    pthread_join(j->thread, NULL);
    j->joined = true;
    unlink_job(inst, j);
    if (c != NULL) {
        c->job = NULL;
        if (j->rc < 0) {
            const char *d = j->detail;
            if (strncmp(d, "tcp: ", 5) == 0)
                d += 5; /* tcp_conn_fail names the connection itself */
            tcp_conn_fail(c, j->rc, VEIL_LOG_WARN, "%s", d);
        } else {
            memcpy(c->cand, j->cand, sizeof c->cand);
            memcpy(c->cand_len, j->lens, sizeof c->cand_len);
            c->ncand = j->n;
            c->cur_cand = 0;
            if (tcp_conn_dial_next(c) < 0)
                tcp_conn_fail(c, VEIL_EIO, VEIL_LOG_WARN, "%s", veil_last_error());
        }
    }
    job_free(j);
    tcp_conn_reap(inst);
}

int tcp_resolver_start(tcp_conn *c, const tcp_endpoint *ep)
{
    tcp_inst *inst = c->inst;
    tcp_resolve_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return veil_error_set(VEIL_ENOMEM, "tcp: out of memory for a name lookup");
    j->inst = inst;
    j->conn = c;
    j->ep = *ep;
    j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (j->efd < 0) {
        int e = errno;
        free(j);
        return veil_error_set(VEIL_EIO, "tcp: eventfd for a name lookup: %s", strerror(e));
    }
    int rc = veil_node_watch_add(inst->node, j->efd, VEIL_WATCH_READ, job_done, j, &j->watch);
    if (rc < 0) {
        close(j->efd);
        free(j);
        return rc;
    }
    int e = pthread_create(&j->thread, NULL, job_thread, j);
    if (e != 0) {
        veil_node_watch_remove(j->watch);
        close(j->efd);
        free(j);
        return veil_error_set(VEIL_EIO, "tcp: cannot start a name lookup for '%s': %s",
                              ep->host, strerror(e));
    }
    j->next = inst->jobs;
    inst->jobs = j;
    c->job = j;
    c->state = TCP_RESOLVING;
    return 0;
}

void tcp_resolver_detach(tcp_conn *c)
{
    c->job->conn = NULL;
    c->job = NULL;
}

void tcp_resolver_join_all(tcp_inst *inst)
{
    while (inst->jobs != NULL) {
        tcp_resolve_job *j = inst->jobs;
        inst->jobs = j->next;
        if (j->conn != NULL)
            j->conn->job = NULL;
        job_free(j);
    }
}
