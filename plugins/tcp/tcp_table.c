/* The instance's connections by name: a chained hash table (FNV-1a),
 * doubled as connections outnumber buckets.  Every send looks its next hop
 * up here, so the lookup is O(1), not a scan of the connection list. */
#include "tcp.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS_INITIAL 64u

static uint32_t name_hash(const uint8_t *b, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

tcp_conn *tcp_conn_find(tcp_inst *inst, const uint8_t *name, size_t len)
{
    if (inst->nbuckets == 0)
        return NULL;
    uint32_t h = name_hash(name, len);
    for (tcp_conn *c = inst->buckets[h & (inst->nbuckets - 1)]; c != NULL; c = c->hnext)
        if (c->hash == h && c->addr.len == len && memcmp(c->addr.bytes, name, len) == 0)
            return c;
    return NULL;
}

/* Double the table when connections outnumber buckets.  Out of memory
 * keeps the old table: chains get longer, lookups stay correct. */
static void table_grow(tcp_inst *inst)
{
    size_t n = inst->nbuckets ? inst->nbuckets * 2 : BUCKETS_INITIAL;
    tcp_conn **b = calloc(n, sizeof *b);
    if (b == NULL)
        return;
    for (tcp_conn *c = inst->conns; c != NULL; c = c->next) {
        c->hnext = b[c->hash & (n - 1)];
        b[c->hash & (n - 1)] = c;
    }
    free(inst->buckets);
    inst->buckets = b;
    inst->nbuckets = n;
}

void tcp_table_add(tcp_inst *inst, tcp_conn *c)
{
    c->hash = name_hash((const uint8_t *)c->addr.bytes, c->addr.len);
    if (inst->nconns > inst->nbuckets)
        table_grow(inst); /* c is linked into conns already: placed by the rehash */
    else
        c->hnext = NULL;
    if (inst->nbuckets == 0)
        return;
    tcp_conn **slot = &inst->buckets[c->hash & (inst->nbuckets - 1)];
    for (tcp_conn *x = *slot; x != NULL; x = x->hnext)
        if (x == c)
            return;
    c->hnext = *slot;
    *slot = c;
}

void tcp_table_remove(tcp_inst *inst, tcp_conn *c)
{
    if (inst->nbuckets == 0)
        return;
    for (tcp_conn **pp = &inst->buckets[c->hash & (inst->nbuckets - 1)]; *pp != NULL;
         pp = &(*pp)->hnext) {
        if (*pp == c) {
            *pp = c->hnext;
            break;
        }
    }
    c->hnext = NULL;
}

void tcp_conn_table_free(tcp_inst *inst)
{
    free(inst->buckets);
    inst->buckets = NULL;
    inst->nbuckets = 0;
}
