/* The daemon's control socket (docs/CONTROL.md): a Unix stream socket,
 * 0600 in a directory made 0700, owner-only peers (SO_PEERCRED), guarded by
 * a lock file (SOCKET.pid, flock) that also holds the daemon's pid.  One
 * request line at a time per connection; control_ops.c answers it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"

typedef struct ctl_client {
    veil_daemon *d;
    int fd;
    veil_watch *watch;
    bool busy;            /* a request is being answered */
    bool closing;         /* close once the answer is out */
    size_t len;
    char buf[CTL_LINE_MAX];
} ctl_client;

veil_daemon *ctl_daemon(ctl_client *c)
{
    return c->d;
}

void ctl_default_path(const char *name, char *out, size_t cap)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg != NULL && xdg[0] == '/')
        snprintf(out, cap, "%s/veil/%s.sock", xdg, name);
    else if (geteuid() == 0)
        snprintf(out, cap, "/run/veil/%s.sock", name);
    else
        snprintf(out, cap, "/tmp/veil-%ld/%s.sock", (long)geteuid(), name);
}

/* ---- the socket's directory, lock and stale socket ------------------------ */

/* Make the socket's directory 0700 when missing; an existing one must be
 * ours and not writable by others. */
static int socket_dir(const char *sock)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct stat st;
    snprintf(dir, sizeof dir, "%s", sock);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0;
    *slash = '\0';
    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST || stat(dir, &st) != 0)
        return veil_error_set(VEIL_EIO, "control socket directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != 0) ||
        (st.st_mode & 0022) != 0)
        return veil_error_set(VEIL_EPERMISSIONS, "control socket directory %s: not a directory "
                              "owned by this user (or root) and closed to others' writes", dir);
    return 0;
}

static int take_lock(veil_daemon *d)
{
    char pid[32] = "";
    snprintf(d->lock_path, sizeof d->lock_path, "%s.pid", d->socket_path);
    d->lock_fd = open(d->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (d->lock_fd < 0)
        return veil_error_set(VEIL_EIO, "lock file %s: %s", d->lock_path, strerror(errno));
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        ssize_t n = pread(d->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(d->lock_fd);
        d->lock_fd = -1;
        return veil_error_set(VEIL_ELOCKED, "another veil daemon (pid %s) is serving %s",
                              pid[0] != '\0' ? pid : "?", d->socket_path);
    }
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(d->lock_fd, 0) != 0 || pwrite(d->lock_fd, pid, (size_t)len, 0) != len)
        return veil_error_set(VEIL_EIO, "lock file %s: %s", d->lock_path, strerror(errno));
    return 0;
}

/* We hold the lock, so a socket file left there is a dead daemon's (a
 * SIGKILL leaves it): connecting is refused; remove it. */
static int recover_stale(const char *path, const struct sockaddr_un *sa)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode))
        return veil_error_set(VEIL_EEXIST, "%s exists and is not a socket", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return veil_error_set(VEIL_EIO, "socket: %s", strerror(errno));
    int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
    int err = errno;
    close(fd);
    if (rc == 0)
        return veil_error_set(VEIL_ELOCKED, "another process is serving %s", path);
    if (err != ECONNREFUSED)
        return veil_error_set(VEIL_EIO, "%s: %s", path, strerror(err));
    dlog(VEIL_LOG_WARN, "removing stale control socket %s (no daemon answers)", path);
    if (unlink(path) != 0)
        return veil_error_set(VEIL_EIO, "removing stale %s: %s", path, strerror(errno));
    return 0;
}

static void on_accept(veil_node *node, int fd, uint32_t events, void *arg);

int ctl_open(veil_daemon *d)
{
    struct sockaddr_un sa;
    const char *path = veil_config_get(d->cfg, "control", "socket");
    if (path != NULL && strlen(path) >= sizeof sa.sun_path - 8)
        return veil_error_set(VEIL_ELIMIT, "[control] socket: path longer than %zu bytes",
                              sizeof sa.sun_path - 9);
    if (path != NULL)
        snprintf(d->socket_path, sizeof d->socket_path, "%s", path);
    else
        ctl_default_path(d->name, d->socket_path, sizeof d->socket_path);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", d->socket_path);
    int rc = socket_dir(d->socket_path);
    if (rc == 0)
        rc = take_lock(d);
    if (rc == 0)
        rc = recover_stale(d->socket_path, &sa);
    if (rc != 0)
        return rc;
    d->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (d->listen_fd < 0)
        return veil_error_set(VEIL_EIO, "socket: %s", strerror(errno));
    mode_t old = umask(0177); /* the socket is 0600 from the start */
    rc = bind(d->listen_fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc != 0 || chmod(d->socket_path, 0600) != 0 || listen(d->listen_fd, 16) != 0)
        return veil_error_set(VEIL_EIO, "control socket %s: %s", d->socket_path,
                              strerror(errno));
    return 0;
}

/* The node exists only after ctl_open (a second daemon fails before it
 * binds ports): the watch is added by ctl_start. */
int ctl_start(veil_daemon *d)
{
    return veil_node_watch_add(d->node, d->listen_fd, VEIL_WATCH_READ, on_accept, d,
                               &d->listen_watch);
}

/* ---- connections -------------------------------------------------------- */

static void client_free(ctl_client *c)
{
    veil_daemon *d = c->d;
    for (size_t i = 0; i < CTL_CLIENTS_MAX; i++)
        if (d->clients[i] == c)
            d->clients[i] = NULL;
    if (c->busy)
        ctl_ops_abandon(c);
    veil_node_watch_remove(c->watch);
    /* Unread input would make close() send a reset that can overtake the
     * last answer (an oversize request's error): read what is there. */
    char sink[4096];
    shutdown(c->fd, SHUT_WR);
    for (int i = 0; i < 16 && recv(c->fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++)
        ;
    close(c->fd);
    free(c);
}

void ctl_reply(ctl_client *c, const char *fmt, ...)
{
    char line[CTL_LINE_MAX + 2];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)(sizeof line - 2);
    line[n++] = '\n';
    /* Blocking with a send timeout (SO_SNDTIMEO): a client that does not
     * read stalls the daemon at most that long, then is dropped. */
    for (size_t off = 0; off < (size_t)n && !c->closing;) {
        ssize_t w = send(c->fd, line + off, (size_t)n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            c->closing = true;
        else
            off += (size_t)w;
    }
}

static bool printable(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            if (*s != '\t')
                return false;
    return true;
}

/* Run the complete lines in the buffer, one at a time. */
static void run_lines(ctl_client *c)
{
    while (!c->busy && !c->closing) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl == NULL) {
            if (c->len == sizeof c->buf) {
                ctl_reply(c, "error ELIMIT request longer than %u bytes: closing", CTL_LINE_MAX);
                c->closing = true;
            }
            return;
        }
        *nl = '\0';
        size_t used = (size_t)(nl - c->buf) + 1;
        if (nl > c->buf && nl[-1] == '\r')
            nl[-1] = '\0';
        c->d->requests++;
        c->busy = true;
        bool pending = false;
        if (memchr(c->buf, '\0', used - 1) != NULL || !printable(c->buf))
            ctl_reply(c, "error EINVAL request is not a line of printable text");
        else
            pending = ctl_dispatch(c, c->buf); /* copies what a pending answer needs */
        c->len -= used;
        memmove(c->buf, c->buf + used, c->len);
        if (pending)
            return;
        c->busy = false;
    }
}

static void on_client(veil_node *node, int fd, uint32_t events, void *arg)
{
    ctl_client *c = arg;
    (void)node;
    (void)events;
    if (!c->busy && c->len < sizeof c->buf) {
        ssize_t n = recv(fd, c->buf + c->len, sizeof c->buf - c->len, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            c->closing = true;
        else if (n > 0)
            c->len += (size_t)n;
        run_lines(c);
    } else if (c->busy) {
        char probe;
        ssize_t n = recv(fd, &probe, 1, MSG_DONTWAIT | MSG_PEEK);
        if (n == 0)
            c->closing = true; /* went away while waiting */
    }
    /* While a request is answered, its connection is not read. */
    if (!c->closing && c->busy && veil_node_watch_modify(c->watch, 0) != 0)
        c->closing = true;
    if (c->closing)
        client_free(c);
}

void ctl_done(ctl_client *c)
{
    c->busy = false;
    if (!c->closing) {
        run_lines(c);
        if (!c->busy && !c->closing && veil_node_watch_modify(c->watch, VEIL_WATCH_READ) != 0)
            c->closing = true;
    }
    if (c->closing)
        client_free(c);
}

static bool peer_allowed(veil_daemon *d, int fd)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        dlog(VEIL_LOG_WARN, "control: SO_PEERCRED: %s: connection closed", strerror(errno));
        return false;
    }
    if (cred.uid != geteuid()) {
        d->refused_peers++;
        dlog(VEIL_LOG_WARN, "control: refused a connection from uid %ld pid %ld (the daemon "
             "runs as uid %ld)", (long)cred.uid, (long)cred.pid, (long)geteuid());
        return false;
    }
    return true;
}

static void on_accept(veil_node *node, int fd, uint32_t events, void *arg)
{
    veil_daemon *d = arg;
    struct timeval tv = { 1, 0 };
    (void)events;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (cfd < 0)
        return;
    size_t slot = CTL_CLIENTS_MAX;
    for (size_t i = 0; i < CTL_CLIENTS_MAX && slot == CTL_CLIENTS_MAX; i++)
        if (d->clients[i] == NULL)
            slot = i;
    if (!peer_allowed(d, cfd) || slot == CTL_CLIENTS_MAX) {
        if (slot == CTL_CLIENTS_MAX)
            dlog(VEIL_LOG_WARN, "control: %u connections already: closed", CTL_CLIENTS_MAX);
        close(cfd);
        return;
    }
    ctl_client *c = calloc(1, sizeof *c);
    (void)setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (c == NULL || veil_node_watch_add(node, cfd, VEIL_WATCH_READ, on_client, c, &c->watch)) {
        free(c);
        close(cfd);
        return;
    }
    c->d = d;
    c->fd = cfd;
    d->clients[slot] = c;
}

void ctl_close(veil_daemon *d)
{
    for (size_t i = 0; i < CTL_CLIENTS_MAX; i++)
        if (d->clients[i] != NULL)
            client_free(d->clients[i]);
    if (d->listen_watch != NULL)
        veil_node_watch_remove(d->listen_watch);
    d->listen_watch = NULL;
    if (d->listen_fd >= 0) {
        close(d->listen_fd);
        unlink(d->socket_path);
    }
    d->listen_fd = -1;
    if (d->lock_fd >= 0)
        close(d->lock_fd); /* the file stays: unlinking it would race a starting daemon */
    d->lock_fd = -1;
}
