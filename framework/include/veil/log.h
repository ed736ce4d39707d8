/* veil — levelled logging (docs/CONFIG.md, "[log]").  Process-wide.
 *
 * Level: warn by default; a configuration's [log] level sets it (applied
 * by veil_node_new or veil_log_configure); the VEIL_LOG environment
 * variable (debug|info|warn|error|none), when set, overrides [log] level;
 * veil_log_set_level() sets it at once, overriding both.
 * Sink: stderr lines "2026-12-03T10:27:14.123Z veil[PID]: LEVEL: COMPONENT:
 * MESSAGE" (UTC; time and pid per [log] timestamps/pid), the same lines
 * appended to a file ([log] destination = /PATH), syslog(3) ([log]
 * destination = syslog), or the application's handler.
 * Repeats: the same line (call site, component, text) again within [log]
 * repeat_window seconds (10) is counted, not passed on; one later line
 * says "... (repeated N more times in T s)".
 * Secrets are never logged. */
#ifndef VEIL_LOG_H
#define VEIL_LOG_H

#include <veil/common.h>
#include <stdarg.h>

VEIL_BEGIN_DECLS

typedef enum veil_log_level {
    VEIL_LOG_DEBUG = 0,
    VEIL_LOG_INFO = 1,
    VEIL_LOG_WARN = 2,
    VEIL_LOG_ERROR = 3,
    VEIL_LOG_NONE = 4,
} veil_log_level;

/* Application hook; component is "node", "loader", "noise", ... */
typedef void (*veil_log_fn)(veil_log_level level, const char *component,
                            const char *message, void *arg);

/* Replace the sink (NULL restores stderr).  Process-wide. */
VEIL_EXPORT void veil_log_set_handler(veil_log_fn fn, void *arg);
VEIL_EXPORT void veil_log_set_level(veil_log_level level);
VEIL_EXPORT veil_log_level veil_log_get_level(void);
/* Parse "debug|info|warn|error|none"; returns VEIL_EINVAL otherwise. */
VEIL_EXPORT int veil_log_level_parse(const char *text, veil_log_level *out) VEIL_WUR;

/* Apply cfg's [log] section process-wide (absent keys: their defaults;
 * the level is kept when [log] has none).  veil_node_new does this for a
 * configuration with a [log] section.  VEIL_ECONFIG naming file:line for a
 * bad key or value; nothing changes then. */
VEIL_EXPORT int veil_log_configure(const veil_config *cfg) VEIL_WUR;
/* Report the counts of repeated lines held back so far, now (veil_node_free
 * does; an application may before it exits). */
VEIL_EXPORT void veil_log_flush(void);

VEIL_EXPORT void veil_log(veil_log_level level, const char *component,
                          const char *fmt, ...) VEIL_PRINTF(3, 4);
VEIL_EXPORT void veil_logv(veil_log_level level, const char *component,
                           const char *fmt, va_list ap);

VEIL_END_DECLS
#endif
