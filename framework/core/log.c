/* Levelled logging with a replaceable, process-wide sink.
 *
 * The level comes from VEIL_LOG, read once on first use (secure_getenv, so
 * a setuid program ignores it), or from a configuration's [log] section
 * (log_config.c), which VEIL_LOG overrides: the environment is the
 * operator's override for one run, the file the standing default.
 * veil_log_set_level sets it at once, whatever either says.
 *
 * The built-in sink writes one line per call to stderr or a file,
 * "2026-12-03T10:27:14.123Z veil[4242]: warn: node: MESSAGE" (UTC,
 * milliseconds; time and pid optional), or to syslog(3).  An application's
 * handler gets the bare message instead.  Repeated lines are rate-limited
 * before either (log_repeat.c).  The sink runs under a mutex so lines from
 * different threads never interleave and a handler need not be
 * thread-safe itself. */
#include "log_internal.h"

#include <veil/error.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 1024

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static atomic_int cur_level = VEIL_LOG_WARN;
static atomic_bool env_level; /* VEIL_LOG set a valid level */
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static veil_log_fn sink_fn; /* NULL: the built-in sink */
static void *sink_arg;
static veil_log_settings settings = {
    VEIL_LOG_TO_STDERR, true, true, "veil", LOG_USER, VEIL_LOG_WINDOW_DEFAULT_S, "",
};
static int file_fd = -1; /* VEIL_LOG_TO_FILE */
/* syslog(3) keeps the ident pointer: this buffer, changed only while
 * closed. */
static char syslog_ident[VEIL_LOG_IDENT_MAX + 1];
static bool syslog_open;
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

/* "[TIME ]IDENT[[PID]]: LEVEL: COMPONENT: MESSAGE\n", in one write: to
 * stderr, or appended to the file (O_APPEND: whole lines even with other
 * writers). */
static void write_line(veil_log_level level, const char *component, const char *msg)
{
    char line[LOG_LINE_MAX + 192], when[40] = "", pid[24] = "";
    if (settings.timestamps) {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (gmtime_r(&ts.tv_sec, &tm) != NULL) {
            size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
            snprintf(when + n, sizeof when - n, ".%03ldZ ", ts.tv_nsec / 1000000L);
        }
    }
    if (settings.pid)
        snprintf(pid, sizeof pid, "[%ld]", (long)getpid());
    int n = snprintf(line, sizeof line, "%s%s%s: %s: %s: %s\n", when, settings.ident, pid,
                     level_names[level], component, msg);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (settings.destination != VEIL_LOG_TO_FILE || file_fd < 0) {
        fputs(line, stderr);
        return;
    }
    if (len > 0 && line[len - 1] != '\n')
        line[len - 1] = '\n'; /* truncated: still one line */
    ssize_t w;
    do
        w = write(file_fd, line, len);
    while (w < 0 && errno == EINTR);
}

static void write_syslog(veil_log_level level, const char *component, const char *msg)
{
    static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
    syslog(settings.facility | prio[level], "%s: %s", component, msg);
}

/* With sink_lock held. */
static void emit_locked(veil_log_level level, const char *component, const char *msg)
{
    in_sink = true;
    if (sink_fn != NULL)
        sink_fn(level, component, msg, sink_arg);
    else if (settings.destination == VEIL_LOG_TO_SYSLOG)
        write_syslog(level, component, msg);
    else
        write_line(level, component, msg);
    in_sink = false;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void emit(const void *site, veil_log_level level, const char *component, const char *msg)
{
    if (in_sink) {
        fprintf(stderr, "%s: %s: %s: %s\n", settings.ident, level_names[level], component, msg);
        return;
    }
    pthread_mutex_lock(&sink_lock);
    if (veil__log_repeat_admit(site, level, component, msg, now_ms(), settings.window_s,
                               emit_locked))
        emit_locked(level, component, msg);
    pthread_mutex_unlock(&sink_lock);
}

void veil_log_flush(void)
{
    if (in_sink)
        return;
    pthread_mutex_lock(&sink_lock);
    veil__log_repeat_flush(now_ms(), settings.window_s, true, emit_locked);
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
        atomic_store(&env_level, true);
        return;
    }
    /* Runs once per process, so this warning is printed once. */
    char msg[160];
    snprintf(msg, sizeof msg,
             "invalid VEIL_LOG value '%.40s' (expected debug, info, warn, error or none); using warn",
             v);
    atomic_store(&cur_level, VEIL_LOG_WARN);
    emit(read_env, VEIL_LOG_WARN, "log", msg);
}

/* Appending, created 0600, never through a symlink, not inherited. */
static int open_file(const char *path, int *out)
{
    *out = -1;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0)
        return veil_error_set(VEIL_EIO, "[log] destination '%s': cannot open for appending: %s "
                              "(created 0600 if absent; a symlink is refused)", path,
                              strerror(errno));
    *out = fd;
    return 0;
}

int veil__log_apply(const veil_log_settings *s, const veil_log_level *level)
{
    int fd = -1;
    pthread_once(&env_once, read_env);
    if (s->destination == VEIL_LOG_TO_FILE && open_file(s->path, &fd) < 0)
        return VEIL_EIO;
    pthread_mutex_lock(&sink_lock);
    /* Counts held under the old window are reported first. */
    veil__log_repeat_flush(now_ms(), settings.window_s, true, emit_locked);
    bool reopen = s->destination == VEIL_LOG_TO_SYSLOG &&
                  (!syslog_open || strcmp(syslog_ident, s->ident) != 0 ||
                   settings.facility != s->facility || settings.pid != s->pid);
    if (syslog_open && (reopen || s->destination != VEIL_LOG_TO_SYSLOG)) {
        closelog();
        syslog_open = false;
    }
    if (file_fd >= 0)
        close(file_fd);
    file_fd = fd;
    settings = *s;
    if (reopen) {
        memcpy(syslog_ident, s->ident, sizeof syslog_ident);
        openlog(syslog_ident, s->pid ? LOG_PID : 0, s->facility);
        syslog_open = true;
    }
    pthread_mutex_unlock(&sink_lock);
    if (level != NULL && !atomic_load(&env_level))
        atomic_store(&cur_level, (int)*level);
    return 0;
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

static void logv_at(const void *site, veil_log_level level, const char *component,
                    const char *fmt, va_list ap)
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
    emit(site, level, component != NULL ? component : "veil", msg);
}

/* The format string's address stands for the call site (rate limiter). */
void veil_logv(veil_log_level level, const char *component, const char *fmt, va_list ap)
{
    logv_at(fmt, level, component, fmt, ap);
}

void veil_log(veil_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    logv_at(fmt, level, component, fmt, ap);
    va_end(ap);
}
