/* The relay registry's names by connection (relay_internal.h): an
 * open-addressing set of connection addresses, linear probing, deletion
 * by backward shift, never more than half full.  The check every
 * forwarded frame makes (is this a registrant's connection?) costs one
 * short probe instead of a walk over every name held. */
#include "relay_internal.h"

#include <veil/error.h>

#include <stdlib.h>

static size_t home(const veil_relay_conns *t, const veil_address *a)
{
    uint32_t h = (2166136261u ^ a->type) * 16777619u; /* FNV-1a */
    for (size_t i = 0; i < a->len; i++)
        h = (h ^ (uint8_t)a->bytes[i]) * 16777619u;
    return h & (t->cap - 1u);
}

int veil__relay_conns_init(veil_relay_conns *t, size_t max)
{
    for (t->cap = 2; t->cap < 2u * max; t->cap *= 2)
        ;
    t->slot = calloc(t->cap, sizeof *t->slot);
    return t->slot != NULL ? 0 : veil_error_set(VEIL_ENOMEM, "out of memory for the relay's "
                                                "table of %zu connections", t->cap);
}

void veil__relay_conns_free(veil_relay_conns *t)
{
    free(t->slot);
    t->slot = NULL;
}

void veil__relay_conns_add(veil_relay_conns *t, const veil_address *a)
{
    if (a->len == 0)
        return;
    size_t i = home(t, a);
    while (t->slot[i] != NULL)
        i = (i + 1u) & (t->cap - 1u);
    t->slot[i] = a;
}

void veil__relay_conns_remove(veil_relay_conns *t, const veil_address *a)
{
    if (a->len == 0)
        return;
    size_t mask = t->cap - 1u, i = home(t, a);
    for (; t->slot[i] != a; i = (i + 1u) & mask)
        if (t->slot[i] == NULL)
            return;
    /* Close the hole: a later address of the run moves into it when its
     * home is not after the hole (cyclically). */
    for (size_t j = (i + 1u) & mask; t->slot[j] != NULL; j = (j + 1u) & mask)
        if (((j - home(t, t->slot[j])) & mask) >= ((j - i) & mask)) {
            t->slot[i] = t->slot[j];
            i = j;
        }
    t->slot[i] = NULL;
}

bool veil__relay_conns_has(const veil_relay_conns *t, const veil_address *a)
{
    if (a->len == 0)
        return false;
    for (size_t i = home(t, a); t->slot[i] != NULL; i = (i + 1u) & (t->cap - 1u))
        if (veil_address_equal(t->slot[i], a))
            return true;
    return false;
}
