/* Error codes, their descriptions, and the per-thread error detail. */
#include <veil/error.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DETAIL_MAX 1024

static _Thread_local char last_detail[DETAIL_MAX];

const char *veil_strerror(int code)
{
    switch (code) {
    case VEIL_OK: return "success";
    case VEIL_EINVAL: return "invalid argument";
    case VEIL_ENOMEM: return "out of memory";
    case VEIL_ENOROUTE: return "no route to address";
    case VEIL_ETIMEDOUT: return "timed out";
    case VEIL_ETRUNCATED: return "input truncated";
    case VEIL_EOVERLONG: return "overlong encoding";
    case VEIL_ELIMIT: return "limit exceeded";
    case VEIL_ETRAILING: return "trailing bytes after input";
    case VEIL_EVERSION: return "unsupported version";
    case VEIL_ENOTFOUND: return "not found";
    case VEIL_EEXIST: return "already exists";
    case VEIL_ECONFIG: return "configuration error";
    case VEIL_EPLUGIN_NOTFOUND: return "plugin not found";
    case VEIL_EPLUGIN_NOENTRY: return "not a veil plugin (no entry symbol)";
    case VEIL_EPLUGIN_ABI: return "plugin ABI mismatch";
    case VEIL_EPLUGIN_KIND: return "plugin kind does not fit the slot";
    case VEIL_EPLUGIN_NAME: return "plugin name mismatch";
    case VEIL_EPLUGIN_INIT: return "plugin initialisation failed";
    case VEIL_EUNSUPPORTED: return "unsupported";
    case VEIL_EAUTH: return "authentication failed";
    case VEIL_ELOWORDER: return "low-order public key (all-zero shared secret)";
    case VEIL_ETYPE: return "wrong secret type";
    case VEIL_EPERM: return "operation not permitted";
    case VEIL_EBADHANDLE: return "invalid or destroyed secret handle";
    case VEIL_ESTATE: return "wrong state for this operation";
    case VEIL_EIO: return "I/O error";
    case VEIL_ECLOSED: return "closed";
    case VEIL_EAGAIN: return "resource temporarily unavailable";
    case VEIL_ELOCKED: return "locked by another process";
    case VEIL_EDENIED: return "denied by trust policy";
    case VEIL_EREPLAY: return "replayed message";
    case VEIL_EFORMAT: return "malformed input";
    case VEIL_ENOSPC: return "no space left on device";
    case VEIL_EHANDSHAKE: return "key agreement failed";
    case VEIL_ENONCE: return "nonce exhausted";
    case VEIL_ESTOPPED: return "node stopped";
    case VEIL_EPASSPHRASE: return "wrong passphrase or corrupted vault";
    case VEIL_EPERMISSIONS: return "file permissions too open";
    case VEIL_EREVOKED: return "identity history revoked (older than or forking from the known one)";
    case VEIL_EEXPIRED: return "expired";
    case VEIL_EBUSY: return "busy (too much pending work)";
    default: return "unknown error";
    }
}

const char *veil_last_error(void)
{
    return last_detail;
}

int veil_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_detail, sizeof last_detail, fmt, ap);
    va_end(ap);
    return code;
}

int veil_error_wrap(int code, const char *fmt, ...)
{
    char old[DETAIL_MAX];
    va_list ap;
    size_t n;
    memcpy(old, last_detail, sizeof old);
    va_start(ap, fmt);
    vsnprintf(last_detail, sizeof last_detail, fmt, ap);
    va_end(ap);
    n = strlen(last_detail);
    if (old[0] != '\0' && n + 2 < sizeof last_detail) {
        size_t room = sizeof last_detail - n - 2 - 1;
        size_t olen = strlen(old);
        if (olen > room)
            olen = room;
        memcpy(last_detail + n, ": ", 2);
        memcpy(last_detail + n + 2, old, olen);
        last_detail[n + 2 + olen] = '\0';
    }
    return code;
}
