/* veil — levelled logging.  Default sink is stderr, level from VEIL_LOG
 * (debug|info|warn|error, default warn).  Secrets are never logged. */
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

VEIL_EXPORT void veil_log(veil_log_level level, const char *component,
                          const char *fmt, ...) VEIL_PRINTF(3, 4);
VEIL_EXPORT void veil_logv(veil_log_level level, const char *component,
                           const char *fmt, va_list ap);

VEIL_END_DECLS
#endif
