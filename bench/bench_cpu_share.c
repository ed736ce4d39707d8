/* A CPU share of its own for one process (bench_cpu_share.h): a cgroup
 * (v1 cpu controller) whose CFS bandwidth lets its processes run for
 * quota out of every 10 ms period, the way a host of that many CPUs of its
 * own would.  Made under /sys/fs/cgroup/cpu as veil-bench-PID-NAME and
 * removed again, its process moved back first to the group it came from. */
#include "config.h"
#include "bench_cpu_share.h"

#include <veil/common.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CPU_ROOT "/sys/fs/cgroup/cpu"
#define PERIOD_US 10000L /* short, so a throttled process waits at most a few ms */

struct bench_cpu_share {
    char dir[256];
    char home[256]; /* the cpu cgroup its process came from ("" = the root) */
};

static int why_set(char *why, size_t cap, const char *fmt, ...) VEIL_PRINTF(3, 4);

static int why_set(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return -1;
}

/* Write text to dir/file; 0 or -1 with errno. */
static int put(const char *dir, const char *file, const char *text)
{
    char path[320];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    int ok = fputs(text, f) >= 0;
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

int bench_cpu_share_new(const char *name, double cpus, bench_cpu_share **out, char *why,
                        size_t cap)
{
    struct stat st;
    if (stat(CPU_ROOT "/cpu.cfs_quota_us", &st) != 0)
        return why_set(why, cap, "no cgroup v1 cpu controller with CFS bandwidth at %s "
                       "(cgroup v2 is not supported by this bench yet)", CPU_ROOT);
    bench_cpu_share *s = calloc(1, sizeof *s);
    if (s == NULL)
        return why_set(why, cap, "out of memory");
    snprintf(s->dir, sizeof s->dir, "%s/veil-bench-%ld-%s", CPU_ROOT, (long)getpid(), name);
    if (mkdir(s->dir, 0755) != 0 && errno != EEXIST) {
        int e = errno;
        free(s);
        return why_set(why, cap, "mkdir %s/veil-bench-%ld-%s: %s", CPU_ROOT, (long)getpid(),
                       name, strerror(e));
    }
    char period[32], quota[32];
    snprintf(period, sizeof period, "%ld", PERIOD_US);
    snprintf(quota, sizeof quota, "%ld", (long)(cpus * (double)PERIOD_US));
    if (put(s->dir, "cpu.cfs_period_us", period) != 0 ||
        put(s->dir, "cpu.cfs_quota_us", quota) != 0) {
        int e = errno;
        bench_cpu_share_free(s);
        return why_set(why, cap, "setting the CFS bandwidth of a cgroup: %s", strerror(e));
    }
    *out = s;
    return 0;
}

/* pid's cpu cgroup ("N:cpu:/path" or "N:cpu,cpuacct:/path" in
 * /proc/PID/cgroup) into home, "" for the root or when not found. */
static void home_of(pid_t pid, char *home, size_t cap)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%ld/cgroup", (long)pid);
    home[0] = '\0';
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        char *ctl = strchr(line, ':'), *where = ctl != NULL ? strchr(ctl + 1, ':') : NULL;
        if (where == NULL)
            continue;
        *where++ = '\0';
        where[strcspn(where, "\n")] = '\0';
        for (char *t = strtok(ctl + 1, ","); t != NULL; t = strtok(NULL, ","))
            if (strcmp(t, "cpu") == 0 && strcmp(where, "/") != 0)
                snprintf(home, cap, "%s", where);
    }
    if (f != NULL)
        fclose(f);
}

int bench_cpu_share_add(bench_cpu_share *s, pid_t pid)
{
    char text[32];
    snprintf(text, sizeof text, "%ld", (long)pid);
    home_of(pid, s->home, sizeof s->home);
    return put(s->dir, "cgroup.procs", text);
}

void bench_cpu_share_free(bench_cpu_share *s)
{
    if (s == NULL)
        return;
    char path[320], home[320];
    snprintf(path, sizeof path, "%s/cgroup.procs", s->dir);
    snprintf(home, sizeof home, "%s%s", CPU_ROOT, s->home);
    FILE *f = fopen(path, "r");
    long pid;
    while (f != NULL && fscanf(f, "%ld", &pid) == 1) {
        char text[32];
        snprintf(text, sizeof text, "%ld", pid);
        if (put(home, "cgroup.procs", text) != 0)
            (void)put(CPU_ROOT, "cgroup.procs", text);
    }
    if (f != NULL)
        fclose(f);
    (void)rmdir(s->dir);
    free(s);
}
