/* Helpers for the tcp tests (see tcp_peer_spawn.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tcp_peer_spawn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int tcp_peer_start(tcp_peer_proc *p, const char *const *args)
{
    const char *top = getenv("VEIL_TOP_BUILDDIR");
    char prog[4096];
    snprintf(prog, sizeof prog, "%s/tests/support/tcp_peer", top != NULL ? top : ".");
    const char *argv[32];
    size_t n = 0;
    argv[n++] = prog;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int in[2], out[2];
    /* O_CLOEXEC: later peers must not inherit this one's stdin pipe */
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
        return -1;
    memset(p, 0, sizeof *p);
    p->pid = fork();
    if (p->pid < 0)
        return -1;
    if (p->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execv(prog, (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->stdin_fd = in[1];
    FILE *f = fdopen(out[0], "r");
    char line[512];
    bool ok = f != NULL && fgets(line, sizeof line, f) != NULL &&
              strncmp(line, "LISTEN 1#", 9) == 0;
    if (f != NULL)
        fclose(f);
    if (!ok) {
        fprintf(stderr, "tcp_peer did not start (%s)\n", prog);
        tcp_peer_kill(p);
        return -1;
    }
    line[strcspn(line, "\n")] = '\0';
    snprintf(p->address, sizeof p->address, "%.255s", line + 7);
    snprintf(p->where, sizeof p->where, "%.255s", line + 9);
    return 0;
}

int tcp_peer_stop(tcp_peer_proc *p)
{
    int st;
    if (p->pid <= 0)
        return -1;
    close(p->stdin_fd);
    pid_t r = waitpid(p->pid, &st, 0);
    p->pid = 0;
    return r < 0 ? -1 : (WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

void tcp_peer_kill(tcp_peer_proc *p)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    close(p->stdin_fd);
    p->pid = 0;
}

int tcp_test_node(veil_node **node, veil_context **app, const char *const *kv)
{
    veil_config *cfg;
    int rc = veil_config_new(&cfg);
    if (rc == 0)
        rc = veil_config_set(cfg, "transport.tcp", "plugin", "tcp");
    if (rc == 0)
        rc = veil_config_set(cfg, "transport.tcp", "auto_connect", "true");
    for (size_t i = 0; rc == 0 && kv != NULL && kv[i] != NULL; i++) {
        char key[64];
        const char *eq = strchr(kv[i], '=');
        if (eq == NULL || (size_t)(eq - kv[i]) >= sizeof key)
            return VEIL_EINVAL;
        memcpy(key, kv[i], (size_t)(eq - kv[i]));
        key[eq - kv[i]] = '\0';
        rc = veil_config_set(cfg, "transport.tcp", key, eq + 1);
    }
    if (rc < 0) {
        veil_config_free(cfg);
        return rc;
    }
    veil_node_options o = {.size = sizeof o, .config = cfg};
    rc = veil_node_new(node, app, &o);
    veil_config_free(cfg);
    return rc;
}

int tcp_expose(veil_context *ctx, void *state)
{
    (void)state;
    return veil_ctx_set_network_facing(ctx, NULL);
}

int tcp_echo(veil_context *ctx, void *state, veil_message *msg)
{
    (void)state;
    return veil_ctx_reply_message(ctx, msg, NULL, 0);
}

bool tcp_pump_until(veil_node *node, const volatile int *flag, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 5) {
        if (*flag)
            return true;
        if (veil_node_run_once(node, 5) < 0)
            return false;
    }
    return *flag != 0;
}

long tcp_rss_kib(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = -1;
    fclose(f);
    return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

long tcp_proc_kib(pid_t pid, const char *name)
{
    char path[64], line[256];
    long kib = -1;
    size_t n = strlen(name);
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (kib < 0 && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, name, n) == 0 && line[n] == ':')
            kib = strtol(line + n + 1, NULL, 10);
    fclose(f);
    return kib;
}

long tcp_port_unread(int port)
{
    char line[512];
    long total = 0;
    FILE *f = fopen("/proc/net/tcp", "r");
    if (f == NULL)
        return -1;
    if (fgets(line, sizeof line, f) == NULL) { /* the header */
        fclose(f);
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned lport, st;
        unsigned long txq, rxq;
        if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %lx:%lx", &lport, &st, &txq, &rxq) == 4 &&
            (int)lport == port && st != 0x0A) /* not the listener itself */
            total += (long)rxq;
    }
    fclose(f);
    return total;
}

int tcp_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof sin;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sin.sin_port);
}

void tcp_on_lost(veil_node *n, const veil_address *peer, int reason, const char *detail,
                 void *arg)
{
    tcp_lost *l = arg;
    (void)n;
    l->calls++;
    l->reason = reason;
    veil_address_format(peer, l->peer, sizeof l->peer);
    snprintf(l->detail, sizeof l->detail, "%s", detail);
}

void tcp_lost_is(veil_node *node, tcp_lost *l, int reason, const char *detail)
{
    assert_true(tcp_pump_until(node, &l->calls, 2000));
    assert_int_equal(l->reason, reason);
    if (strstr(l->detail, detail) == NULL)
        fail_msg("route-lost detail '%s' does not contain '%s'", l->detail, detail);
}

static char captured[16384];
static size_t captured_len;

static void capture(veil_log_level level, const char *component, const char *message, void *arg)
{
    (void)level;
    (void)arg;
    if (strcmp(component, "tcp") != 0)
        return;
    int n = snprintf(captured + captured_len, sizeof captured - captured_len, "%s\n", message);
    if (n > 0 && captured_len + (size_t)n < sizeof captured)
        captured_len += (size_t)n;
}

void tcp_log_capture_start(void)
{
    captured[0] = '\0';
    captured_len = 0;
    veil_log_set_level(VEIL_LOG_INFO);
    veil_log_set_handler(capture, NULL);
}

const char *tcp_log_captured(void)
{
    return captured;
}

void tcp_log_has(const char *want)
{
    if (strstr(captured, want) == NULL)
        fail_msg("log does not contain '%s'; log:\n%s", want, captured);
}

void tcp_log_capture_stop(void)
{
    veil_log_set_handler(NULL, NULL);
    veil_log_set_level(VEIL_LOG_WARN);
}
