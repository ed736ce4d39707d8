/* veil_node_post: the one node call that any thread may make.
 *
 * The posting thread copies route and payload into a post item, appends it
 * to a mutex-protected queue and, when the queue was idle, writes the node's
 * eventfd.  The loop thread drains the whole queue at once, turns each item
 * into a pooled message and routes it.  Drained items go back to a small
 * mutex-protected freelist (by size class), so steady-state posting does
 * not call malloc either. */
#include "runtime.h"

#include <veil/error.h>
#include <veil/log.h>

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define POST_FREE_MAX 256u /* idle items kept for reuse */

struct veil_post_item {
    veil_post_item *next;
    unsigned cls;                /* payload capacity class */
    bool has_from;
    veil_address from;
    veil_route route;
    size_t len;
    uint8_t data[];
};

int veil__post_init(veil_node *node)
{
    veil_post_queue *q = &node->post;
    memset(q, 0, sizeof *q);
    if (pthread_mutex_init(&q->mu, NULL) != 0)
        return veil_error_set(VEIL_ENOMEM, "pthread_mutex_init failed for the post queue");
    return 0;
}

static void free_items(veil_post_item *it)
{
    while (it != NULL) {
        veil_post_item *next = it->next;
        veil__memzero(it->data, it->len);
        free(it);
        it = next;
    }
}

void veil__post_fini(veil_node *node)
{
    veil_post_queue *q = &node->post;
    free_items(q->head);
    q->head = q->tail = NULL;
    for (unsigned c = 0; c < VEIL_POOL_CLASSES; c++) {
        free_items(q->free[c]);
        q->free[c] = NULL;
    }
    pthread_mutex_destroy(&q->mu);
}

static veil_post_item *item_get(veil_post_queue *q, size_t len)
{
    unsigned cls = veil__pool_class(len);
    pthread_mutex_lock(&q->mu);
    veil_post_item *it = q->free[cls];
    if (it != NULL) {
        q->free[cls] = it->next;
        q->nfree--;
    }
    pthread_mutex_unlock(&q->mu);
    if (it == NULL) {
        it = malloc(sizeof *it + veil__pool_class_size(cls));
        if (it == NULL)
            return NULL;
        it->cls = cls;
    }
    return it;
}

int veil_node_post(veil_node *node, const veil_address *from, const veil_route *route,
                   const void *data, size_t len)
{
    if (node == NULL || route == NULL || (data == NULL && len > 0))
        return veil_error_set(VEIL_EINVAL, "veil_node_post: node, route and data must not be NULL");
    if (veil_route_count(route) == 0)
        return veil_error_set(VEIL_EINVAL, "veil_node_post: route is empty");
    /* limits are written once at creation: safe to read from any thread */
    if (len > node->limits.max_payload)
        return veil_error_set(VEIL_ELIMIT, "payload of %zu bytes exceeds the limit of %zu bytes",
                              len, node->limits.max_payload);
    veil_post_queue *q = &node->post;
    veil_post_item *it = item_get(q, len);
    if (it == NULL)
        return veil_error_set(VEIL_ENOMEM, "out of memory posting %zu bytes", len);
    it->next = NULL;
    it->has_from = from != NULL;
    if (from != NULL)
        it->from = *from;
    veil_route_copy(&it->route, route);
    it->len = len;
    if (len > 0)
        memcpy(it->data, data, len);

    bool wake = false;
    pthread_mutex_lock(&q->mu);
    if (q->len >= node->limits.queue_limit) {
        it->next = q->free[it->cls];
        q->free[it->cls] = it;
        q->nfree++;
        size_t n = q->len;
        pthread_mutex_unlock(&q->mu);
        return veil_error_set(VEIL_EAGAIN, "post queue full (%zu messages; [node] queue_limit)", n);
    }
    if (q->tail != NULL)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->len++;
    if (!q->signalled) {
        q->signalled = true;
        wake = true;
    }
    pthread_mutex_unlock(&q->mu);
    if (wake)
        veil__loop_wake(node);
    return 0;
}

static int item_to_message(veil_node *node, veil_post_item *it, veil_message **out)
{
    veil_message *m;
    int rc = veil_message_new(node, &m);
    if (rc < 0)
        return rc;
    veil_route_copy(veil_message_onward(m), &it->route);
    if (it->has_from)
        rc = veil_route_append(veil_message_return(m), &it->from);
    if (rc == 0)
        rc = veil_message_set_payload(m, it->data, it->len);
    if (rc < 0) {
        veil_message_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* Loop thread: route everything posted so far. */
void veil__post_drain(veil_node *node)
{
    veil_post_queue *q = &node->post;
    pthread_mutex_lock(&q->mu);
    veil_post_item *it = q->head;
    q->head = q->tail = NULL;
    q->len = 0;
    q->signalled = false;
    pthread_mutex_unlock(&q->mu);

    veil_post_item *recycle = NULL;
    while (it != NULL) {
        veil_post_item *next = it->next;
        veil_message *m;
        int rc = item_to_message(node, it, &m);
        if (rc == 0)
            rc = veil__router_enqueue(node, m);
        if (rc < 0)
            veil_log(VEIL_LOG_WARN, "node", "dropped a posted message: %s (%s)",
                     veil_strerror(rc), veil_last_error());
        veil__memzero(it->data, it->len);
        it->next = recycle;
        recycle = it;
        it = next;
    }
    pthread_mutex_lock(&q->mu);
    while (recycle != NULL) {
        veil_post_item *next = recycle->next;
        if (q->nfree < POST_FREE_MAX) {
            recycle->next = q->free[recycle->cls];
            q->free[recycle->cls] = recycle;
            q->nfree++;
        } else {
            free(recycle);
        }
        recycle = next;
    }
    pthread_mutex_unlock(&q->mu);
}
