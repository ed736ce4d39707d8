/* Levelled logging with a replaceable, process-wide sink.
 *
 * The level comes from VEIL_LOG, read once on first use (secure_getenv, so a
 * setuid program ignores it).  The sink runs under a mutex so lines from
 * different threads never interleave and a handler need not be
 * thread-safe itself. */
#include <veil/log.h>
#include <veil/error.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define LOG_LINE_MAX 1024

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static atomic_int cur_level = VEIL_LOG_WARN;
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static veil_log_fn sink_fn; /* NULL: stderr */
static void *sink_arg;
/* Set while this thread runs the sink: a handler that logs again gets
 * stderr instead of a deadlock. */
static _Thread_local bool in_sink;

static const char *const level_names[] = {"debug", "info", "warn", "error", "none"};

int veil_log_level_parse(const char *text, veil_log_level *out)
{
    for (int i = VEIL_LOG_DEBUG; text != NULL && i <= VEIL_LOG_NONE; i++) {
        if (strcasecmp(text, level_names[i]) == 0) {
            if (out != NULL)
                *out = (veil_log_level)i;
            return 0;
        }
    }
    return veil_error_set(VEIL_EINVAL,
                          "invalid log level '%.64s' (expected debug, info, warn, error or none)",
                          text != NULL ? text : "(null)");
}

static void emit(veil_log_level level, const char *component, const char *msg)
{
    if (in_sink) {
        fprintf(stderr, "veil[%s] %s: %s\n", component, level_names[level], msg);
        return;
    }
    pthread_mutex_lock(&sink_lock);
    in_sink = true;
    if (sink_fn != NULL)
        sink_fn(level, component, msg, sink_arg);
    else
        fprintf(stderr, "veil[%s] %s: %s\n", component, level_names[level], msg);
    in_sink = false;
    pthread_mutex_unlock(&sink_lock);
}

static void read_env(void)
{
    const char *v = secure_getenv("VEIL_LOG");
    veil_log_level lv;

    if (v == NULL || v[0] == '\0')
        return;
    if (veil_log_level_parse(v, &lv) == 0) {
        atomic_store(&cur_level, (int)lv);
        return;
    }
    /* Runs once per process, so this warning is printed once. */
    char msg[160];
    snprintf(msg, sizeof msg,
             "invalid VEIL_LOG value '%.40s' (expected debug, info, warn, error or none); using warn",
             v);
    atomic_store(&cur_level, VEIL_LOG_WARN);
    emit(VEIL_LOG_WARN, "log", msg);
}

void veil_log_set_level(veil_log_level level)
{
    /* Read the environment first so it cannot later override this call. */
    pthread_once(&env_once, read_env);
    if ((int)level < VEIL_LOG_DEBUG || level > VEIL_LOG_NONE)
        level = VEIL_LOG_WARN;
    atomic_store(&cur_level, (int)level);
}

veil_log_level veil_log_get_level(void)
{
    pthread_once(&env_once, read_env);
    return (veil_log_level)atomic_load(&cur_level);
}

void veil_log_set_handler(veil_log_fn fn, void *arg)
{
    pthread_mutex_lock(&sink_lock);
    sink_fn = fn;
    sink_arg = arg;
    pthread_mutex_unlock(&sink_lock);
}

void veil_logv(veil_log_level level, const char *component, const char *fmt, va_list ap)
{
    char msg[LOG_LINE_MAX];

    if ((int)level < VEIL_LOG_DEBUG || level >= VEIL_LOG_NONE ||
        (int)level < (int)veil_log_get_level())
        return;
    if (fmt == NULL)
        fmt = "(null)";
    /* fmt is the caller's format: veil_log() call sites are checked by its
     * VEIL_PRINTF attribute; veil_logv() forwards va_lists. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    vsnprintf(msg, sizeof msg, fmt, ap);
#pragma GCC diagnostic pop
    emit(level, component != NULL ? component : "veil", msg);
}

void veil_log(veil_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    veil_logv(level, component, fmt, ap);
    va_end(ap);
}
