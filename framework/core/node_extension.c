/* Node extensions: named per-node state that the layers above the runtime
 * (identities, secure channels) and plugins keep on a node, with a destroy
 * callback the node runs when it stops (docs/ARCHITECTURE.md, "Per-node
 * state of upper layers").  The runtime never interprets the data: this is
 * how it tears down what it does not know about.
 *
 * A handful of extensions per node, looked up when a layer needs its state
 * (a listener or a channel starting, an entity made), never per message:
 * a small array searched by name. */
#include "runtime.h"

#include <veil/error.h>

#include <stdlib.h>
#include <string.h>

struct veil_node_ext {
    char name[VEIL_NODE_EXTENSION_NAME_MAX + 1];
    void *data;
    veil_node_extension_fn destroy;
};

/* The index of name, or node->nexts when there is none. */
static size_t find(const veil_node *node, const char *name)
{
    size_t i = 0;
    while (i < node->nexts && strcmp(node->exts[i].name, name) != 0)
        i++;
    return i;
}

int veil_node_extension_add(veil_node *node, const char *name, void *data,
                            veil_node_extension_fn destroy)
{
    size_t len = name != NULL ? strlen(name) : 0;
    if (node == NULL || data == NULL || len == 0 || len > VEIL_NODE_EXTENSION_NAME_MAX)
        return veil_error_set(VEIL_EINVAL, "veil_node_extension_add: node, data and a name of "
                              "1..%u bytes must be given", VEIL_NODE_EXTENSION_NAME_MAX);
    int rc = veil__node_check_running(node);
    if (rc < 0)
        return veil_error_wrap(rc, "node extension '%s'", name);
    if (find(node, name) < node->nexts)
        return veil_error_set(VEIL_EEXIST, "node extension '%s' exists already", name);
    if (node->nexts == node->exts_cap) {
        size_t cap = node->exts_cap ? 2 * node->exts_cap : 4;
        struct veil_node_ext *e = realloc(node->exts, cap * sizeof *e);
        if (e == NULL)
            return veil_error_set(VEIL_ENOMEM, "out of memory for node extension '%s'", name);
        node->exts = e;
        node->exts_cap = cap;
    }
    struct veil_node_ext *e = &node->exts[node->nexts++];
    memcpy(e->name, name, len + 1);
    e->data = data;
    e->destroy = destroy;
    return 0;
}

void *veil_node_extension_get(const veil_node *node, const char *name)
{
    if (node == NULL || name == NULL)
        return NULL;
    size_t i = find(node, name);
    return i < node->nexts ? node->exts[i].data : NULL;
}

/* Unlink entry i (keeping the order of the others), then destroy it. */
static void drop(veil_node *node, size_t i)
{
    struct veil_node_ext e = node->exts[i];
    memmove(&node->exts[i], &node->exts[i + 1], (node->nexts - i - 1) * sizeof e);
    node->nexts--;
    if (e.destroy != NULL)
        e.destroy(node, e.data);
}

int veil_node_extension_remove(veil_node *node, const char *name)
{
    size_t i = node != NULL && name != NULL ? find(node, name) : 0;
    if (node == NULL || name == NULL || i == node->nexts)
        return veil_error_set(VEIL_ENOTFOUND, "no node extension '%s'",
                              name != NULL ? name : "(null)");
    drop(node, i);
    return 0;
}

void veil__node_extensions_fini(veil_node *node)
{
    /* Newest first: a later extension may rest on an earlier one.  A
     * destroy may remove others; the loop re-reads the count.  A destroy
     * may run application callbacks (a secure channel's owed completions):
     * they cannot stop or free the node from there. */
    node->dispatch_depth++;
    while (node->nexts > 0)
        drop(node, node->nexts - 1);
    node->dispatch_depth--;
    free(node->exts);
    node->exts = NULL;
    node->exts_cap = 0;
}
