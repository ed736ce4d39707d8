/* Log capture (logs.h). */
#include "logs.h"

#include <stdio.h>
#include <string.h>

log_rec LOGS;

static void log_sink(veil_log_level level, const char *component, const char *message, void *arg)
{
    (void)arg;
    int n = snprintf(LOGS.text + LOGS.len, sizeof LOGS.text - LOGS.len, "[%d %s] %s\n",
                     (int)level, component, message);
    if (n > 0 && LOGS.len + (size_t)n < sizeof LOGS.text)
        LOGS.len += (size_t)n;
    LOGS.count++;
    if (level >= VEIL_LOG_WARN) {
        LOGS.warnings++;
        snprintf(LOGS.last_warning, sizeof LOGS.last_warning, "%s", message);
        snprintf(LOGS.last_warning_component, sizeof LOGS.last_warning_component, "%s",
                 component);
    }
}

void logs_start(void)
{
    /* Repeats held from before (an earlier test) are reported to the old
     * sink, so this capture sees every line's first occurrence. */
    veil_log_flush();
    memset(&LOGS, 0, sizeof LOGS);
    veil_log_set_handler(log_sink, NULL);
}

void logs_stop(void)
{
    veil_log_set_handler(NULL, NULL);
}
