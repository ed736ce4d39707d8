/* The passphrase prompt (cli.h): /dev/tty with echo off, never argv.  The
 * terminal's settings are restored on every path, also when a signal
 * ends the program during the prompt.  The passphrase goes to the file
 * vault through a pipe (its passphrase_fd key) and is wiped here at once. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

void cli_wipe(void *p, size_t n)
{
    explicit_bzero(p, n);
}

/* The terminal being prompted on, for the signal handler. */
static volatile sig_atomic_t tty_fd = -1;
static struct termios saved;

static const int caught[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
#define N_CAUGHT (sizeof caught / sizeof caught[0])

static void restore_and_die(int sig)
{
    if (tty_fd >= 0)
        tcsetattr(tty_fd, TCSAFLUSH, &saved);
    signal(sig == SIGTSTP ? SIGTERM : sig, SIG_DFL);
    raise(sig == SIGTSTP ? SIGTERM : sig);
}

static void catch_signals(struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = restore_and_die;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_CAUGHT; i++)
        sigaction(caught[i], &sa, &old[i]);
}

static void release_signals(const struct sigaction *old)
{
    for (size_t i = 0; i < N_CAUGHT; i++)
        sigaction(caught[i], &old[i], NULL);
}

/* One line from fd into buf (without the newline); VEIL_ELIMIT when it
 * does not fit (the rest of the line is read and dropped). */
static int read_line(int fd, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    bool over = false;
    char ch;
    ssize_t r;
    while ((r = read(fd, &ch, 1)) == 1 || (r < 0 && errno == EINTR)) {
        if (r < 0)
            continue;
        if (ch == '\n')
            break;
        if (n + 1 < cap)
            buf[n++] = ch;
        else
            over = true;
    }
    if (r < 0)
        return veil_error_set(VEIL_EIO, "reading the passphrase from /dev/tty: %s",
                              strerror(errno));
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    *len = n;
    if (over || n > CLI_PASSPHRASE_MAX)
        return veil_error_set(VEIL_ELIMIT, "the passphrase is longer than %u bytes",
                              CLI_PASSPHRASE_MAX);
    if (n == 0)
        return veil_error_set(VEIL_EINVAL, "the passphrase is empty");
    return 0;
}

static int ask(int fd, const char *prompt, char *buf, size_t cap, size_t *len)
{
    if (write(fd, prompt, strlen(prompt)) < 0)
        return veil_error_set(VEIL_EIO, "writing the prompt to /dev/tty: %s", strerror(errno));
    int rc = read_line(fd, buf, cap, len);
    if (write(fd, "\n", 1) < 0 && rc == 0) /* echo was off: end the prompt's line */
        rc = veil_error_set(VEIL_EIO, "writing to /dev/tty: %s", strerror(errno));
    return rc;
}

/* Both prompts with echo off. */
static int ask_all(int fd, const char *prompt, bool confirm, char *buf, size_t cap,
                   size_t *len)
{
    static char again[CLI_PASSPHRASE_MAX + 2];
    size_t len2 = 0;
    (void)mlock(again, sizeof again); /* best effort, as buf */
    int rc = ask(fd, prompt, buf, cap, len);
    if (rc == 0 && confirm) {
        rc = ask(fd, "Repeat it: ", again, sizeof again, &len2);
        if (rc == 0 && (len2 != *len || memcmp(buf, again, *len) != 0))
            rc = veil_error_set(VEIL_EINVAL, "the two passphrases differ");
        cli_wipe(again, sizeof again);
    }
    return rc;
}

int cli_prompt(const char *prompt, bool confirm, char *buf, size_t cap, size_t *len)
{
    struct sigaction old[N_CAUGHT];
    struct termios quiet;
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return veil_error_set(VEIL_EIO, "no terminal to prompt for the passphrase on "
                                        "(/dev/tty: %s); give --passphrase-env NAME or "
                                        "--passphrase-fd N", strerror(errno));
    if (tcgetattr(fd, &saved) != 0) {
        int e = errno;
        close(fd);
        return veil_error_set(VEIL_EIO, "/dev/tty: %s", strerror(e));
    }
    (void)mlock(buf, cap); /* best effort: keep it out of swap */
    catch_signals(old);
    tty_fd = fd;
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    quiet.c_lflag |= ICANON;
    int rc = tcsetattr(fd, TCSAFLUSH, &quiet) != 0
                 ? veil_error_set(VEIL_EIO, "/dev/tty: cannot turn echo off: %s",
                                  strerror(errno))
                 : ask_all(fd, prompt, confirm, buf, cap, len);
    tcsetattr(fd, TCSAFLUSH, &saved);
    tty_fd = -1;
    release_signals(old);
    close(fd);
    if (rc != 0)
        cli_wipe(buf, cap);
    return rc;
}

int cli_pipe_passphrase(const char *pass, size_t len, int *fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return veil_error_set(VEIL_EIO, "pipe for the passphrase: %s", strerror(errno));
    /* At most 1 KiB: a pipe holds it without a reader. */
    ssize_t n = write(p[1], pass, len);
    int e = errno;
    close(p[1]);
    if (n != (ssize_t)len) {
        close(p[0]);
        return veil_error_set(VEIL_EIO, "pipe for the passphrase: %s",
                              n < 0 ? strerror(e) : "short write");
    }
    *fd = p[0];
    return 0;
}
