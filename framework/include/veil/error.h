/* veil — error codes.  Every fallible call returns 0 or a negative VEIL_E*
 * code; the thread that got the error can read a detail string naming what
 * was wrong (file:line, path searched, expected vs found, ...). */
#ifndef VEIL_ERROR_H
#define VEIL_ERROR_H

#include <veil/common.h>

VEIL_BEGIN_DECLS

/* Values are part of the ABI: append only, never renumber. */
enum veil_error {
    VEIL_OK = 0,
    VEIL_EINVAL = -1,          /* invalid argument */
    VEIL_ENOMEM = -2,          /* out of memory */
    VEIL_ENOROUTE = -3,        /* no worker or transport for the next hop */
    VEIL_ETIMEDOUT = -4,       /* timed out */
    VEIL_ETRUNCATED = -5,      /* input ends before the structure does */
    VEIL_EOVERLONG = -6,       /* non-minimal or too-long varint encoding */
    VEIL_ELIMIT = -7,          /* a count or length exceeds its limit */
    VEIL_ETRAILING = -8,       /* bytes left over after a complete structure */
    VEIL_EVERSION = -9,        /* unknown format or protocol version */
    VEIL_ENOTFOUND = -10,      /* no such object (address, key, label) */
    VEIL_EEXIST = -11,         /* already exists (address taken, label used) */
    VEIL_ECONFIG = -12,        /* malformed configuration */
    VEIL_EPLUGIN_NOTFOUND = -13, /* plugin file not found on the search path */
    VEIL_EPLUGIN_NOENTRY = -14,  /* file is not a veil plugin (no entry symbol) */
    VEIL_EPLUGIN_ABI = -15,    /* plugin ABI major differs from the host's */
    VEIL_EPLUGIN_KIND = -16,   /* plugin kind does not fit the slot */
    VEIL_EPLUGIN_NAME = -17,   /* descriptor name differs from the requested one */
    VEIL_EPLUGIN_INIT = -18,   /* plugin init failed */
    VEIL_EUNSUPPORTED = -19,   /* not supported (by this backend, pattern, ...) */
    VEIL_EAUTH = -20,          /* authentication failed (AEAD tag, signature) */
    VEIL_ELOWORDER = -21,      /* DH result all zero: low-order public key */
    VEIL_ETYPE = -22,          /* wrong secret type for the operation */
    VEIL_EPERM = -23,          /* operation not permitted (e.g. export refused) */
    VEIL_EBADHANDLE = -24,     /* unknown or destroyed secret handle */
    VEIL_ESTATE = -25,         /* object is in the wrong state for this call */
    VEIL_EIO = -26,            /* I/O error from the operating system */
    VEIL_ECLOSED = -27,        /* peer or object closed */
    VEIL_EAGAIN = -28,         /* try again later (queue full, backpressure) */
    VEIL_ELOCKED = -29,        /* locked by another process */
    VEIL_EDENIED = -30,        /* refused by a trust policy */
    VEIL_EREPLAY = -31,        /* replayed message */
    VEIL_EFORMAT = -32,        /* malformed structure (bad tag, bad field) */
    VEIL_ENOSPC = -33,         /* no space left on device */
    VEIL_EHANDSHAKE = -34,     /* key agreement failed */
    VEIL_ENONCE = -35,         /* nonce exhausted or reserved */
    VEIL_ESTOPPED = -36,       /* node is stopping or stopped */
    VEIL_EPASSPHRASE = -37,    /* wrong passphrase (or corrupted vault file) */
    VEIL_EPERMISSIONS = -38,   /* file permissions too open */
    VEIL_EREVOKED = -39,       /* identity history older than, or forking from, the known one */
    VEIL_EEXPIRED = -40,       /* key, attestation or prekey past its expiry */
    VEIL_EBUSY = -41,          /* overloaded: a cap on pending work is reached */
};

/* A short, static, English description of a code. */
VEIL_EXPORT const char *veil_strerror(int code);

/* The calling thread's last error detail, e.g.
 * "plugin 'noise' not found; searched: /a/noise.so, /b/noise.so".
 * Valid until the next failing veil call on this thread. Never NULL. */
VEIL_EXPORT const char *veil_last_error(void);

/* Set the thread's last error detail and return code (for one-line
 * "return veil_error_set(VEIL_EINVAL, "...", ...)" in libveil and plugins). */
VEIL_EXPORT int veil_error_set(int code, const char *fmt, ...) VEIL_PRINTF(2, 3);

/* Prefix the current detail with context: "while X: <old detail>". */
VEIL_EXPORT int veil_error_wrap(int code, const char *fmt, ...) VEIL_PRINTF(2, 3);

VEIL_END_DECLS
#endif
