/* The pkcs11 vault's PIN sources (pin.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <veil/error.h>

#include "pin.h"

static const char *section_of(const veil_config_scope *scope)
{
    return scope != NULL && scope->section != NULL ? scope->section : "vault";
}

int p11_pin_check(const veil_config_scope *scope)
{
    if (veil_config_scope_get(scope, "pin") != NULL)
        return veil_error_set(VEIL_ECONFIG, "%s: 'pin' is not accepted: a token PIN never sits "
                              "in the configuration file; use pin_env = VAR, pin_fd = N or "
                              "pin_prompt = yes", veil_config_scope_origin(scope, "pin"));
    bool prompt = false;
    int rc = veil_config_scope_get_bool(scope, "pin_prompt", false, &prompt);
    if (rc < 0)
        return rc;
    int n = (veil_config_scope_get(scope, "pin_env") != NULL) +
            (veil_config_scope_get(scope, "pin_fd") != NULL) + prompt;
    if (n != 1)
        return veil_error_set(VEIL_ECONFIG, "[%s]: the pkcs11 vault needs %s of pin_env = VAR, "
                              "pin_fd = N, pin_prompt = yes", section_of(scope),
                              n == 0 ? "one" : "only one");
    return 0;
}

/* Read from fd into pin until end of file (or, line set, a newline) or
 * PK_PIN_MAX + 1 bytes. */
static int read_fd(int fd, bool line, uint8_t *pin, size_t *len)
{
    *len = 0;
    while (*len <= PK_PIN_MAX) {
        ssize_t n = read(fd, pin + *len, line ? 1 : PK_PIN_MAX + 1 - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        *len += (size_t)n;
        if (line && pin[*len - 1] == '\n')
            break;
    }
    return 0;
}

/* Ask on /dev/tty with echo off (restored before returning). */
static int prompt(const char *token, uint8_t *pin, size_t *len)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct termios old, quiet;
    if (fd < 0 || tcgetattr(fd, &old) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return veil_error_set(VEIL_ECONFIG, "pin_prompt = yes but there is no terminal to ask "
                              "on (/dev/tty: %s); use pin_env or pin_fd", strerror(e));
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    int rc = tcsetattr(fd, TCSAFLUSH, &quiet) == 0 ? 0 : -errno;
    if (rc == 0 && dprintf(fd, "PIN for pkcs11 token %s: ", token) < 0)
        rc = -EIO;
    if (rc == 0)
        rc = read_fd(fd, true, pin, len);
    (void)tcsetattr(fd, TCSAFLUSH, &old);
    (void)!write(fd, "\n", 1);
    close(fd);
    return rc == 0 ? 0 : veil_error_set(VEIL_EIO, "pin_prompt: the terminal: %s", strerror(-rc));
}

int p11_pin_read(const veil_config_scope *scope, const char *token, uint8_t *pin, size_t *len)
{
    const char *env = veil_config_scope_get(scope, "pin_env");
    long long fd = -1;
    int rc = 0;
    *len = 0;
    if (env != NULL) {
        const char *v = getenv(env);
        if (v == NULL)
            return veil_error_set(VEIL_ECONFIG, "%s: pin_env names %s, which is not set in the "
                                  "environment", veil_config_scope_origin(scope, "pin_env"), env);
        *len = strnlen(v, PK_PIN_MAX + 1);
        memcpy(pin, v, *len);
    } else if (veil_config_scope_get(scope, "pin_fd") != NULL) {
        if ((rc = veil_config_scope_get_int(scope, "pin_fd", -1, 0, INT_MAX, &fd)) < 0)
            return rc;
        if ((rc = read_fd((int)fd, false, pin, len)) < 0)
            return veil_error_set(VEIL_EIO, "%s: reading the PIN from fd %lld: %s",
                                  veil_config_scope_origin(scope, "pin_fd"), fd, strerror(-rc));
    } else if ((rc = prompt(token, pin, len)) < 0) {
        return rc;
    }
    if (*len > PK_PIN_MAX)
        return veil_error_set(VEIL_ECONFIG, "[%s]: the PIN is longer than %u bytes",
                              section_of(scope), PK_PIN_MAX);
    if (*len > 0 && pin[*len - 1] == '\n')
        (*len)--;
    return 0;
}
