/* What log.c (levels, sinks, the line format) shares with log_repeat.c
 * (the rate limiter for repeated lines) and log_config.c (the [log]
 * section).  Core-internal: not installed, not exported. */
#ifndef VEIL_LOG_INTERNAL_H
#define VEIL_LOG_INTERNAL_H

#include <veil/log.h>

#include <stdbool.h>
#include <stdint.h>

#define VEIL_LOG_HIDDEN __attribute__((visibility("hidden")))

#define VEIL_LOG_IDENT_MAX 32u
#define VEIL_LOG_WINDOW_DEFAULT_S 10u
#define VEIL_LOG_WINDOW_MAX_S 3600u
#define VEIL_LOG_PATH_MAX 1023u

enum { VEIL_LOG_TO_STDERR = 0, VEIL_LOG_TO_SYSLOG = 1, VEIL_LOG_TO_FILE = 2 };

/* Everything [log] sets except the level (docs/CONFIG.md, "[log]"). */
typedef struct veil_log_settings {
    int destination;                    /* VEIL_LOG_TO_* */
    bool timestamps, pid;               /* stderr lines only */
    char ident[VEIL_LOG_IDENT_MAX + 1]; /* "veil" */
    int facility;                       /* syslog(3) LOG_* facility */
    unsigned window_s;                  /* repeat window; 0: no rate limit */
    char path[VEIL_LOG_PATH_MAX + 1];   /* VEIL_LOG_TO_FILE: absolute */
} veil_log_settings;

/* log_config.c: [log] read and checked (VEIL_ECONFIG naming file:line);
 * *level and *has_level: its level key, when present. */
VEIL_LOG_HIDDEN int veil__log_read_config(const veil_config *cfg, veil_log_settings *out,
                                          veil_log_level *level, bool *has_level);
/* log.c: install settings (under the sink lock; syslog reopened when its
 * ident or facility changed, a file destination opened anew every time,
 * so a rotated log is followed); the level unless VEIL_LOG is set.
 * VEIL_EIO when the file cannot be opened: nothing changes then. */
VEIL_LOG_HIDDEN int veil__log_apply(const veil_log_settings *s, const veil_log_level *level);

/* log_repeat.c — called with the sink lock held.  A line that passes the
 * level filter is admitted (printed) unless the same key (call site,
 * component and text) was printed less than window_s ago: then it is only
 * counted.  A key's count is reported by emit ("... (repeated N more
 * times in T s)") when its window ends and something is logged, when its
 * slot is reused, or on veil__log_repeat_flush.  A fixed table: no
 * allocation, memory bounded whatever is logged. */
typedef void (*veil_log_emit_fn)(veil_log_level level, const char *component,
                                 const char *message);
VEIL_LOG_HIDDEN bool veil__log_repeat_admit(const void *site, veil_log_level level,
                                            const char *component, const char *message,
                                            uint64_t now_ms, unsigned window_s,
                                            veil_log_emit_fn emit);
/* Report expired keys' counts (every key's when all). */
VEIL_LOG_HIDDEN void veil__log_repeat_flush(uint64_t now_ms, unsigned window_s, bool all,
                                            veil_log_emit_fn emit);

#endif
