/* The rate limiter for repeated log lines (issue #16: 10,000 frames to a
 * missing worker gave 10,000 identical warnings).
 *
 * A line's key is its call site (the format string's address), its
 * component and a hash of its text (what names the source: an address, a
 * peer).  The first line of a key is printed; the same key again within
 * the window is counted, not printed; when the window has passed the
 * count is reported in one line, "TEXT (repeated N more times in T s)".
 * A steady flood of one key thus gives two lines per window.
 *
 * Bounds: REPEAT_SLOTS keys at once, in a static table (no allocation per
 * call, whatever is logged).  When every slot holds a live key, the
 * oldest is reported and reused: a flood of lines whose text varies each
 * time (an attacker choosing addresses) is then not suppressed, only
 * bounded in memory (docs/CONFIG.md, "[log]").  Debug lines are never
 * suppressed. */
#include "log_internal.h"

#include <stdio.h>
#include <string.h>

#define REPEAT_SLOTS 64u
#define REPEAT_TEXT 192u

typedef struct repeat_slot {
    uint64_t key;
    uint64_t first_ms, last_ms;
    uint64_t count;               /* suppressed since first_ms */
    veil_log_level level;
    bool used;
    char component[24];
    char text[REPEAT_TEXT];       /* the printed line, for the report */
} repeat_slot;

static repeat_slot slots[REPEAT_SLOTS];

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t key_of(const void *site, const char *component, const char *message)
{
    uint64_t h = 0xcbf29ce484222325ull;
    uintptr_t s = (uintptr_t)site;
    h = fnv(h, &s, sizeof s);
    h = fnv(h, component, strlen(component) + 1);
    return fnv(h, message, strlen(message));
}

static void report(repeat_slot *s, veil_log_emit_fn emit)
{
    if (s->used && s->count > 0) {
        char line[REPEAT_TEXT + 96];
        uint64_t ms = s->last_ms - s->first_ms;
        snprintf(line, sizeof line, "%s (repeated %llu more times in %llu.%01llu s)", s->text,
                 (unsigned long long)s->count, (unsigned long long)(ms / 1000),
                 (unsigned long long)(ms % 1000 / 100));
        emit(s->level, s->component, line);
    }
    s->used = false;
    s->count = 0;
}

void veil__log_repeat_flush(uint64_t now_ms, unsigned window_s, bool all, veil_log_emit_fn emit)
{
    uint64_t window_ms = (uint64_t)window_s * 1000u;
    for (size_t i = 0; i < REPEAT_SLOTS; i++)
        if (slots[i].used && (all || now_ms - slots[i].first_ms >= window_ms))
            report(&slots[i], emit);
}

static void remember(repeat_slot *s, uint64_t key, veil_log_level level, const char *component,
                     const char *message, uint64_t now_ms)
{
    size_t n = strlen(message);
    s->used = true;
    s->key = key;
    s->level = level;
    s->first_ms = s->last_ms = now_ms;
    s->count = 0;
    snprintf(s->component, sizeof s->component, "%s", component);
    if (n < sizeof s->text)
        memcpy(s->text, message, n + 1);
    else
        snprintf(s->text, sizeof s->text, "%.*s...", (int)sizeof s->text - 4, message);
}

static bool same_text(const repeat_slot *s, const char *message)
{
    size_t n = strlen(message);
    if (n < sizeof s->text)
        return strcmp(s->text, message) == 0;
    return strncmp(s->text, message, sizeof s->text - 4) == 0; /* stored with "..." */
}

bool veil__log_repeat_admit(const void *site, veil_log_level level, const char *component,
                            const char *message, uint64_t now_ms, unsigned window_s,
                            veil_log_emit_fn emit)
{
    if (window_s == 0 || level < VEIL_LOG_INFO)
        return true;
    veil__log_repeat_flush(now_ms, window_s, false, emit);
    uint64_t key = key_of(site, component, message);
    repeat_slot *free_slot = NULL, *oldest = &slots[0];
    for (size_t i = 0; i < REPEAT_SLOTS; i++) {
        repeat_slot *s = &slots[i];
        if (!s->used) {
            if (free_slot == NULL)
                free_slot = s;
            continue;
        }
        /* The text too: FNV collisions can be made on purpose. */
        if (s->key == key && s->level == level && same_text(s, message)) {
            s->count++;
            s->last_ms = now_ms;
            return false;
        }
        if (s->first_ms < oldest->first_ms || !oldest->used)
            oldest = s;
    }
    if (free_slot == NULL) {
        report(oldest, emit);
        free_slot = oldest;
    }
    remember(free_slot, key, level, component, message, now_ms);
    return true;
}
