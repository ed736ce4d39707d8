/* Per-source request limits of the prekey service (docs/X3DH.md, "Limits
 * and what an attacker can do"): a token bucket per source, where the
 * source of a request is the first address of its return route — the
 * transport connection it arrived on, or the local worker (or hop) that
 * sent it.  Each request takes one token; a source gets request_burst at
 * once and request_rate per second after that.
 *
 * The table is fixed (request_sources slots, allocated once): a source
 * hashes to a window of PROBE slots; a slot whose bucket has refilled to
 * the burst is idle and may be taken over (its source would start with a
 * full bucket anyway).  A new source that finds no free or idle slot in
 * its window shares one overflow bucket with every other such source, so
 * memory and time per request are bounded whatever the number of sources,
 * and a flood of new sources cannot get more than one bucket's worth. */
#include "x3dh_service.h"

#include <stdlib.h>

#define PROBE 8u
#define MILLI 1000u                  /* tokens are counted in thousandths */

int prekey_limit_init(prekey_limit *l, unsigned sources, unsigned rate, unsigned burst, uint32_t seed)
{
    memset(l, 0, sizeof *l);
    l->slots = calloc(sources, sizeof *l->slots);
    if (l->slots == NULL)
        return veil_error_set(VEIL_ENOMEM, "prekey service: out of memory for %u request "
                              "sources", sources);
    l->n = sources;
    l->rate = rate;
    l->burst = (uint64_t)burst * MILLI;
    l->seed = seed;
    l->overflow.used = true;
    l->overflow.tokens = l->burst;
    return 0;
}

void prekey_limit_free(prekey_limit *l)
{
    free(l->slots);
    l->slots = NULL;
}

/* FNV-1a over type and bytes, started from a per-service random seed: an
 * index into the table, not a security function (a source that collides
 * on purpose only lands in the overflow bucket sooner). */
static uint32_t slot_hash(uint32_t seed, uint8_t type, const uint8_t *b, size_t n)
{
    uint32_t h = 2166136261u ^ seed;
    h = (h ^ type) * 16777619u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static void refill(const prekey_limit *l, prekey_source *s, uint64_t now)
{
    if (now > s->last_ms) {
        uint64_t add = (now - s->last_ms) * l->rate;
        s->tokens = add >= l->burst - s->tokens ? l->burst : s->tokens + add;
    }
    s->last_ms = now;
}

static bool same(const prekey_source *s, uint8_t type, const uint8_t *b, size_t n)
{
    return s->used && s->type == type && s->len == n && memcmp(s->bytes, b, n) == 0;
}

/* The bucket of the source (type, b, n): its slot, a new one, or the
 * shared overflow bucket. */
static prekey_source *bucket(prekey_limit *l, uint8_t type, const uint8_t *b, size_t n, uint64_t now)
{
    uint32_t h = slot_hash(l->seed, type, b, n);
    prekey_source *spare = NULL;
    for (unsigned i = 0; i < PROBE && i < l->n; i++) {
        prekey_source *s = &l->slots[(h + i) % l->n];
        if (same(s, type, b, n))
            return s;
        if (spare == NULL && s->used)
            refill(l, s, now);
        if (spare == NULL && (!s->used || s->tokens == l->burst))
            spare = s;
    }
    if (spare == NULL)
        return &l->overflow;
    spare->used = true;
    spare->type = type;
    spare->len = (uint8_t)n;
    memcpy(spare->bytes, b, n);
    spare->tokens = l->burst;
    spare->last_ms = now;
    return spare;
}

bool prekey_limit_take(prekey_limit *l, const veil_route *ret, uint64_t now)
{
    uint8_t type = 0;
    const uint8_t *b = NULL;
    size_t n = 0;
    if (!veil_route_front(ret, &type, &b, &n) || n > VEIL_ADDRESS_MAX)
        n = 0; /* no return route: nobody gets the answer; one shared bucket */
    prekey_source *s = n > 0 ? bucket(l, type, b, n, now) : &l->overflow;
    refill(l, s, now);
    if (s->tokens < MILLI)
        return false;
    s->tokens -= MILLI;
    return true;
}
