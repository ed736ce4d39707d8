/* The node's event loop: epoll for fd watches, a binary min-heap of one-shot
 * timers keyed by monotonic milliseconds, and an eventfd that other threads
 * write to wake the loop (veil_node_post).
 *
 * Callbacks may remove watches and cancel timers, their own included: a
 * watch removed while the loop is dispatching is unregistered at once but
 * freed only after the dispatch round, so later events of the same epoll
 * batch never touch freed memory. */
#include "runtime.h"

#include <veil/error.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define EPOLL_BATCH 64

static uint64_t clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t veil__loop_refresh_now(veil_node *node)
{
    node->loop.now_ms = clock_ms();
    return node->loop.now_ms;
}

uint64_t veil_node_now_ms(const veil_node *node)
{
    return node->loop.now_ms;
}

static void wake_cb(veil_node *node, int fd, uint32_t events, void *arg)
{
    uint64_t v;
    (void)events;
    (void)arg;
    while (read(fd, &v, sizeof v) < 0 && errno == EINTR)
        ;
    veil__post_drain(node);
}

int veil__loop_init(veil_node *node)
{
    veil_loop *l = &node->loop;
    memset(l, 0, sizeof *l);
    l->wakefd = -1;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0)
        return veil_error_set(VEIL_EIO, "epoll_create1: %s", strerror(errno));
    l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->wakefd < 0) {
        int e = errno;
        close(l->epfd);
        l->epfd = -1;
        return veil_error_set(VEIL_EIO, "eventfd: %s", strerror(e));
    }
    veil__loop_refresh_now(node);
    int rc = veil_node_watch_add(node, l->wakefd, VEIL_WATCH_READ, wake_cb, NULL,
                                 &l->wake_watch);
    if (rc < 0) {
        close(l->wakefd);
        close(l->epfd);
        l->wakefd = l->epfd = -1;
    }
    return rc;
}

void veil__loop_wake(veil_node *node)
{
    uint64_t one = 1;
    int fd = node->loop.wakefd;
    /* EAGAIN means the counter is already non-zero: the loop will wake.
     * Only write(2): this runs in signal handlers (veil_node_interrupt). */
    while (fd >= 0 && write(fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

/* ---- watches ---------------------------------------------------------- */

static uint32_t to_epoll(uint32_t ev)
{
    uint32_t e = 0;
    if (ev & VEIL_WATCH_READ)
        e |= EPOLLIN;
    if (ev & VEIL_WATCH_WRITE)
        e |= EPOLLOUT;
    return e;
}

static uint32_t from_epoll(uint32_t e)
{
    uint32_t ev = 0;
    if (e & (EPOLLIN | EPOLLPRI))
        ev |= VEIL_WATCH_READ;
    if (e & EPOLLOUT)
        ev |= VEIL_WATCH_WRITE;
    if (e & EPOLLERR)
        ev |= VEIL_WATCH_ERROR;
    if (e & (EPOLLHUP | EPOLLRDHUP))
        ev |= VEIL_WATCH_HUP;
    return ev;
}

int veil_node_watch_add(veil_node *node, int fd, uint32_t events,
                        veil_watch_fn fn, void *arg, veil_watch **out)
{
    if (node == NULL || fn == NULL || fd < 0)
        return veil_error_set(VEIL_EINVAL, "veil_node_watch_add: %s",
                              fd < 0 ? "negative fd" : "node and fn must not be NULL");
    if (events & ~(VEIL_WATCH_READ | VEIL_WATCH_WRITE))
        return veil_error_set(VEIL_EINVAL, "watch on fd %d: only READ and WRITE can be "
                              "requested (got 0x%x)", fd, events);
    veil_watch *w = calloc(1, sizeof *w);
    if (w == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory adding a watch on fd %d", fd);
    w->node = node;
    w->fd = fd;
    w->events = events;
    w->fn = fn;
    w->arg = arg;
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};
    if (epoll_ctl(node->loop.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = errno;
        free(w);
        return veil_error_set(VEIL_EIO, "epoll_ctl(ADD, fd %d): %s", fd, strerror(e));
    }
    w->next = node->loop.watches;
    if (w->next != NULL)
        w->next->prev = w;
    node->loop.watches = w;
    node->loop.nwatches++;
    if (out != NULL)
        *out = w;
    return 0;
}

int veil_node_watch_modify(veil_watch *w, uint32_t events)
{
    if (w == NULL || w->removed)
        return veil_error_set(VEIL_EINVAL, "veil_node_watch_modify: watch is NULL or removed");
    if (events & ~(VEIL_WATCH_READ | VEIL_WATCH_WRITE))
        return veil_error_set(VEIL_EINVAL, "watch on fd %d: only READ and WRITE can be "
                              "requested (got 0x%x)", w->fd, events);
    struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};
    if (epoll_ctl(w->node->loop.epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
        return veil_error_set(VEIL_EIO, "epoll_ctl(MOD, fd %d): %s", w->fd, strerror(errno));
    w->events = events;
    return 0;
}

void veil_node_watch_remove(veil_watch *w)
{
    if (w == NULL || w->removed)
        return;
    veil_node *node = w->node;
    w->removed = true;
    /* The fd may already be closed by the caller: ignore errors. */
    (void)epoll_ctl(node->loop.epfd, EPOLL_CTL_DEL, w->fd, NULL);
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        node->loop.watches = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    node->loop.nwatches--;
    if (node->dispatch_depth > 0) {
        w->next_dead = node->loop.dead_watches;
        node->loop.dead_watches = w;
    } else {
        free(w);
    }
}

/* ---- timers: binary min-heap on (due_ms, seq) -------------------------- */

static bool timer_before(const veil_timer *a, const veil_timer *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void heap_set(veil_loop *l, size_t i, veil_timer *t)
{
    l->heap[i] = t;
    t->heap_idx = i;
}

static void heap_up(veil_loop *l, size_t i)
{
    veil_timer *t = l->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, l->heap[parent]))
            break;
        heap_set(l, i, l->heap[parent]);
        i = parent;
    }
    heap_set(l, i, t);
}

static void heap_down(veil_loop *l, size_t i)
{
    veil_timer *t = l->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->heap_len)
            break;
        if (c + 1 < l->heap_len && timer_before(l->heap[c + 1], l->heap[c]))
            c++;
        if (!timer_before(l->heap[c], t))
            break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}

static void heap_remove(veil_loop *l, veil_timer *t)
{
    size_t i = t->heap_idx;
    veil_timer *last = l->heap[--l->heap_len];
    if (i == l->heap_len)
        return;
    heap_set(l, i, last);
    heap_up(l, i);
    heap_down(l, last->heap_idx);
}

int veil_node_timer_add(veil_node *node, uint64_t delay_ms, veil_timer_fn fn,
                        void *arg, veil_timer **out)
{
    if (node == NULL || fn == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_node_timer_add: node and fn must not be NULL");
    veil_loop *l = &node->loop;
    if (l->heap_len == l->heap_cap) {
        size_t ncap = l->heap_cap ? 2 * l->heap_cap : 16;
        veil_timer **nh = realloc(l->heap, ncap * sizeof *nh);
        if (nh == NULL)
            return veil_error_set(VEIL_ENOMEM, "out of memory growing the timer heap");
        l->heap = nh;
        l->heap_cap = ncap;
    }
    veil_timer *t = calloc(1, sizeof *t);
    if (t == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory adding a timer");
    uint64_t now = veil__loop_refresh_now(node);
    t->node = node;
    t->due_ms = delay_ms > UINT64_MAX - now ? UINT64_MAX : now + delay_ms;
    t->seq = l->timer_seq++;
    t->fn = fn;
    t->arg = arg;
    heap_set(l, l->heap_len++, t);
    heap_up(l, t->heap_idx);
    if (out != NULL)
        *out = t;
    return 0;
}

void veil_node_timer_cancel(veil_timer *t)
{
    if (t == NULL || t->cancelled)
        return;
    t->cancelled = true;
    if (t->firing)
        return; /* its own callback: freed when the callback returns */
    heap_remove(&t->node->loop, t);
    free(t);
}

static void run_timers(veil_node *node)
{
    veil_loop *l = &node->loop;
    uint64_t now = veil__loop_refresh_now(node);
    /* Only timers due now: one added by a callback with delay 0 waits for
     * the next round, so a rearming timer cannot starve the loop. */
    uint64_t limit_seq = l->timer_seq;
    while (l->heap_len > 0) {
        veil_timer *t = l->heap[0];
        if (t->due_ms > now || t->seq >= limit_seq)
            break;
        heap_remove(l, t);
        t->firing = true;
        t->fn(node, t->arg);
        free(t);
    }
}

static int poll_timeout(const veil_node *node, int timeout_ms)
{
    const veil_loop *l = &node->loop;
    if (l->heap_len == 0)
        return timeout_ms;
    uint64_t due = l->heap[0]->due_ms;
    uint64_t wait = due > l->now_ms ? due - l->now_ms : 0;
    if (timeout_ms >= 0 && (uint64_t)timeout_ms < wait)
        return timeout_ms;
    return wait > (uint64_t)INT32_MAX ? INT32_MAX : (int)wait;
}

int veil__loop_next_timeout(veil_node *node)
{
    if (node->router.q_len > 0)
        return 0;
    veil__loop_refresh_now(node);
    return poll_timeout(node, -1);
}

int veil__loop_poll(veil_node *node, int timeout_ms)
{
    struct epoll_event evs[EPOLL_BATCH];
    if (node->transports != NULL) {
        veil__transports_prepoll(node); /* flush what this round queued */
        /* A hook may have delivered messages (a transport's next share of
         * frames): handle them next round without waiting. */
        if (node->router.q_len > 0)
            timeout_ms = 0;
    }
    veil__loop_refresh_now(node);
    int n = epoll_wait(node->loop.epfd, evs, EPOLL_BATCH, poll_timeout(node, timeout_ms));
    if (n < 0) {
        if (errno != EINTR)
            return veil_error_set(VEIL_EIO, "epoll_wait: %s", strerror(errno));
        n = 0;
    }
    for (int i = 0; i < n; i++) {
        veil_watch *w = evs[i].data.ptr;
        if (w->removed)
            continue;
        uint32_t ev = from_epoll(evs[i].events);
        w->fn(node, w->fd, ev, w->arg);
    }
    run_timers(node);
    return 0;
}

void veil__loop_reap(veil_node *node)
{
    while (node->loop.dead_watches != NULL) {
        veil_watch *w = node->loop.dead_watches;
        node->loop.dead_watches = w->next_dead;
        free(w);
    }
}

void veil__loop_fini(veil_node *node)
{
    veil_loop *l = &node->loop;
    veil_node_watch_remove(l->wake_watch);
    l->wake_watch = NULL;
    /* Watches their owners forgot: unregister and free. */
    while (l->watches != NULL)
        veil_node_watch_remove(l->watches);
    veil__loop_reap(node);
    for (size_t i = 0; i < l->heap_len; i++)
        free(l->heap[i]);
    free(l->heap);
    l->heap = NULL;
    l->heap_len = l->heap_cap = 0;
    if (l->wakefd >= 0)
        close(l->wakefd);
    if (l->epfd >= 0)
        close(l->epfd);
    l->wakefd = l->epfd = -1;
}
