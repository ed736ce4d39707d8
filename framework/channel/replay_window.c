/* Sliding anti-replay window over 64-bit explicit nonces (RFC 6479 style).
 *
 * Why a window and not "strictly increasing": a channel may run over
 * routes that reorder messages (several paths, nested channels), and a
 * reordered message must not kill the channel nor be refused.  The window
 * remembers the last VEIL_CH_WINDOW_BITS nonces below the highest one
 * accepted: a nonce seen before is a replay, one older than the window
 * cannot be told apart from a replay and is refused too.
 *
 * Bit n % BITS stands for nonce n; bits of nonces that slide out of the
 * window are cleared as the top advances.  Only nonces that authenticated
 * are recorded (veil__rw_update runs after a successful decrypt), so a
 * forged message never moves the window. */
#include "channel_internal.h"

#include <string.h>

void veil__rw_init(veil_replay_window *w)
{
    memset(w, 0, sizeof *w);
}

static bool bit_get(const veil_replay_window *w, uint64_t n)
{
    uint64_t i = n % VEIL_CH_WINDOW_BITS;
    return (w->bits[i / 64u] >> (i % 64u)) & 1u;
}

static void bit_set(veil_replay_window *w, uint64_t n, bool on)
{
    uint64_t i = n % VEIL_CH_WINDOW_BITS;
    uint64_t mask = (uint64_t)1 << (i % 64u);
    if (on)
        w->bits[i / 64u] |= mask;
    else
        w->bits[i / 64u] &= ~mask;
}

int veil__rw_check(const veil_replay_window *w, uint64_t n)
{
    if (n >= w->top)
        return VEIL_RW_OK;
    if (w->top - 1u - n >= VEIL_CH_WINDOW_BITS)
        return VEIL_RW_TOO_OLD;
    return bit_get(w, n) ? VEIL_RW_DUPLICATE : VEIL_RW_OK;
}

void veil__rw_update(veil_replay_window *w, uint64_t n)
{
    if (n >= w->top) {
        /* Nonces top..n-1 were skipped: their slots now stand for new
         * nonces not yet seen, so clear them (all of them past a full
         * window's jump). */
        if (n - w->top >= VEIL_CH_WINDOW_BITS) {
            memset(w->bits, 0, sizeof w->bits);
        } else {
            for (uint64_t k = w->top; k < n; k++)
                bit_set(w, k, false);
        }
        w->top = n + 1u;
    }
    bit_set(w, n, true);
}
