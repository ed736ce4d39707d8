/* File vault I/O (store.h).  Every step is checked and named in the error;
 * the vault file itself is only ever replaced by rename(2), so a reader or a
 * crash sees the old file or the new one, never a mix. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <veil/error.h>
#include <veil/log.h>

#include "format.h"
#include "store.h"

int (*fv_fault_hook)(const char *step) = NULL;

/* errno for a step: the injected fault if any, else 0 (run the call). */
static int fault(const char *step)
{
    return fv_fault_hook != NULL ? fv_fault_hook(step) : 0;
}

static int map_errno(int e)
{
    if (e == ENOSPC || e == EDQUOT)
        return VEIL_ENOSPC;
    if (e == EACCES || e == EPERM || e == EROFS)
        return VEIL_EPERM;
    return VEIL_EIO;
}

static int sys_error(int e, const char *path, const char *what, const char *file)
{
    return veil_error_set(map_errno(e), "vault file %s: %s %s: %s", path, what, file,
                          strerror(e));
}

static int suffixed(char *out, size_t cap, const char *path, const char *suffix)
{
    if ((size_t)snprintf(out, cap, "%s%s", path, suffix) >= cap)
        return veil_error_set(VEIL_ELIMIT, "vault file path too long: %s", path);
    return 0;
}

int fv_lock(const char *path, int *lock_fd)
{
    char lp[PATH_MAX];
    int rc = suffixed(lp, sizeof lp, path, ".lock");
    if (rc != 0)
        return rc;
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && (errno == EROFS || errno == EACCES))
        fd = open(lp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW); /* flock needs no write access */
    if (fd < 0)
        return sys_error(errno, path, "cannot open lock file", lp);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return veil_error_set(VEIL_ELOCKED,
                                  "vault file %s is locked by another open vault (lock file %s "
                                  "held by this or another process)",
                                  path, lp);
        return sys_error(e, path, "cannot lock", lp);
    }
    *lock_fd = fd;
    return 0;
}

void fv_unlock(int lock_fd)
{
    if (lock_fd >= 0)
        close(lock_fd); /* releases the flock */
}

static int read_all(int fd, const char *path, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sys_error(errno, path, "cannot read", path);
        if (n == 0)
            return veil_error_set(VEIL_EIO, "vault file %s changed size while being read", path);
        got += (size_t)n;
    }
    return 0;
}

int fv_read(const char *path, bool allow_open, bool *exists, uint8_t **buf, size_t *len)
{
    struct stat st;
    int rc = 0;
    *exists = false;
    *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : sys_error(errno, path, "cannot open", path);
    if (fstat(fd, &st) != 0) {
        rc = sys_error(errno, path, "cannot stat", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = veil_error_set(VEIL_EFORMAT, "vault file %s is not a regular file", path);
        goto out;
    }
    if ((st.st_mode & 077) != 0 && !allow_open) {
        rc = veil_error_set(VEIL_EPERMISSIONS,
                            "vault file %s has mode %04o: group/other may access it; run "
                            "'chmod 600 %s' or set allow_open_permissions = yes",
                            path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    if ((unsigned long long)st.st_size > FV_HEADER_BYTES + (unsigned long long)FV_BODY_MAX) {
        rc = veil_error_set(VEIL_ELIMIT, "vault file %s is %lld bytes, more than a vault can be",
                            path, (long long)st.st_size);
        goto out;
    }
    *len = (size_t)st.st_size;
    *buf = malloc(*len + 1);
    if (*buf == NULL) {
        rc = veil_error_set(VEIL_ENOMEM, "vault file %s: out of memory", path);
        goto out;
    }
    if ((rc = read_all(fd, path, *buf, *len)) != 0) {
        free(*buf);
        *buf = NULL;
        goto out;
    }
    *exists = true;
out:
    close(fd);
    return rc;
}

void fv_remove_stale_temp(const char *path)
{
    char tp[PATH_MAX];
    if (suffixed(tp, sizeof tp, path, ".tmp") == 0 && unlink(tp) == 0)
        veil_log(VEIL_LOG_INFO, "vault.file", "removed %s left by an interrupted write", tp);
}

static int write_all(int fd, const char *path, const char *tp, const uint8_t *data, size_t len)
{
    int e = fault("write");
    size_t done = 0;
    while (e == 0 && done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            e = errno;
        else
            done += (size_t)n;
    }
    return e != 0 ? sys_error(e, path, "cannot write temp file", tp) : 0;
}

/* The directory holding path, for the fsync that makes the rename durable. */
static void dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(out, cap, ".");
    else if (slash == path)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

static void sync_dir(const char *path)
{
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    int e = fault("fsync_dir");
    int fd = e == 0 ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (e == 0 && fd < 0)
        e = errno;
    if (e == 0 && fsync(fd) != 0)
        e = errno;
    if (fd >= 0)
        close(fd);
    if (e != 0)
        veil_log(VEIL_LOG_WARN, "vault.file",
                 "vault file %s was replaced but fsync of directory %s failed (%s): the "
                 "rename may not survive a power loss",
                 path, dir, strerror(e));
}

int fv_write_atomic(const char *path, const uint8_t *data, size_t len)
{
    char tp[PATH_MAX];
    int rc = suffixed(tp, sizeof tp, path, ".tmp");
    if (rc != 0)
        return rc;
    /* We hold the lock, so a temp file here is a dead writer's: remove it,
     * then O_EXCL makes sure we write a file of our own. */
    unlink(tp);
    int e = fault("open");
    int fd = e == 0 ? open(tp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
    if (fd < 0)
        return sys_error(e != 0 ? e : errno, path, "cannot create temp file", tp);
    rc = write_all(fd, path, tp, data, len);
    if (rc == 0 && ((e = fault("fsync")) != 0 || fsync(fd) != 0))
        rc = sys_error(e != 0 ? e : errno, path, "cannot fsync temp file", tp);
    if (close(fd) != 0 && rc == 0)
        rc = sys_error(errno, path, "cannot close temp file", tp);
    if (rc == 0 && ((e = fault("rename")) != 0 || rename(tp, path) != 0))
        rc = sys_error(e != 0 ? e : errno, path, "cannot rename temp file over it:", tp);
    if (rc != 0) {
        unlink(tp);
        return rc;
    }
    sync_dir(path);
    return 0;
}
