/* A relay between a postgresql store and the test server, on unix
 * sockets, that can lose the answer to a COMMIT: armed, it forwards the
 * client's COMMIT, waits for the server's answer (the commit is done),
 * drops it and closes both sides; with `refuse`, it then closes every new
 * connection at once (the server cannot be asked again).  Loops poll with
 * a 100 ms timeout and end at pg_proxy_stop. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "store_fixture.h"

#define RELAYS 16

struct pg_proxy {
    int listener;
    char server[sizeof(((struct sockaddr_un *)0)->sun_path)];
    pthread_t acceptor, relay[RELAYS];
    int nrelay;
    int stop, armed, refuse_after, refusing; /* __atomic */
};

typedef struct pair {
    pg_proxy *p;
    int client, server;
    char buf[2][65536];
} pair;

static int unix_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a->sun_path)
        return -1;
    memcpy(a->sun_path, path, strlen(path) + 1);
    return 0;
}

static bool write_all(int fd, const char *b, ssize_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, b, (size_t)n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        b += w;
        n -= w;
    }
    return true;
}

static void *relay(void *arg)
{
    pair *c = arg;
    pg_proxy *p = c->p;
    struct pollfd fds[2] = { { c->client, POLLIN, 0 }, { c->server, POLLIN, 0 } };
    bool committing = false;
    while (!__atomic_load_n(&p->stop, __ATOMIC_SEQ_CST)) {
        if (poll(fds, 2, 100) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].revents == 0)
                continue;
            ssize_t n = read(fds[i].fd, c->buf[i], sizeof c->buf[i]);
            if (n <= 0 || (i == 1 && committing))
                goto done; /* closed, or the COMMIT's answer: dropped */
            if (i == 0 && memmem(c->buf[0], (size_t)n, "COMMIT", 6) != NULL &&
                __atomic_exchange_n(&p->armed, 0, __ATOMIC_SEQ_CST)) {
                committing = true;
                if (__atomic_load_n(&p->refuse_after, __ATOMIC_SEQ_CST))
                    __atomic_store_n(&p->refusing, 1, __ATOMIC_SEQ_CST);
            }
            if (!write_all(fds[1 - i].fd, c->buf[i], n))
                goto done;
        }
    }
done:
    close(c->client);
    close(c->server);
    free(c);
    return NULL;
}

static void serve(pg_proxy *p, int client)
{
    struct sockaddr_un a;
    pair *c = calloc(1, sizeof *c);
    int server = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c == NULL || server < 0 || __atomic_load_n(&p->refusing, __ATOMIC_SEQ_CST) ||
        p->nrelay == RELAYS || unix_addr(&a, p->server) < 0 ||
        connect(server, (struct sockaddr *)&a, sizeof a) < 0) {
        close(client);
        if (server >= 0)
            close(server);
        free(c);
        return;
    }
    c->p = p;
    c->client = client;
    c->server = server;
    if (pthread_create(&p->relay[p->nrelay], NULL, relay, c) == 0)
        p->nrelay++;
}

static void *acceptor(void *arg)
{
    pg_proxy *p = arg;
    struct pollfd fd = { p->listener, POLLIN, 0 };
    while (!__atomic_load_n(&p->stop, __ATOMIC_SEQ_CST))
        if (poll(&fd, 1, 100) > 0) {
            int client = accept4(p->listener, NULL, NULL, SOCK_CLOEXEC);
            if (client >= 0)
                serve(p, client);
        }
    return NULL;
}

pg_proxy *pg_proxy_start(const char *server_dir, const char *dir)
{
    struct sockaddr_un a;
    char path[sizeof a.sun_path + 32];
    pg_proxy *p = calloc(1, sizeof *p);
    assert_non_null(p);
    snprintf(path, sizeof path, "%s/.s.PGSQL.5432", server_dir);
    assert_true(strlen(path) < sizeof p->server);
    memcpy(p->server, path, strlen(path) + 1);
    snprintf(path, sizeof path, "%s/.s.PGSQL.5433", dir);
    assert_int_equal(unix_addr(&a, path), 0);
    p->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(p->listener >= 0);
    assert_int_equal(bind(p->listener, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(p->listener, 16), 0);
    assert_int_equal(pthread_create(&p->acceptor, NULL, acceptor, p), 0);
    return p;
}

void pg_proxy_lose_commit_answer(pg_proxy *p, bool refuse_after)
{
    __atomic_store_n(&p->refuse_after, refuse_after, __ATOMIC_SEQ_CST);
    __atomic_store_n(&p->armed, 1, __ATOMIC_SEQ_CST);
}

void pg_proxy_stop(pg_proxy *p)
{
    __atomic_store_n(&p->stop, 1, __ATOMIC_SEQ_CST);
    assert_int_equal(pthread_join(p->acceptor, NULL), 0);
    for (int i = 0; i < p->nrelay; i++)
        assert_int_equal(pthread_join(p->relay[i], NULL), 0);
    close(p->listener);
    free(p);
}
