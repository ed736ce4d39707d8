/* The file vault's I/O: the lock, reading the file, and the crash-safe
 * rewrite (temp file in the same directory, fsync, rename over, fsync the
 * directory).  No crypto here. */
#ifndef VEIL_FILE_VAULT_STORE_H
#define VEIL_FILE_VAULT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* Fault injection for tests.  NULL in normal use.  When set, it is asked
 * before each step of a rewrite ("open", "write", "fsync", "rename",
 * "fsync_dir") and a non-zero errno it returns makes that step fail as if
 * the system call had.  Reachable only by code linked with the convenience
 * library (tests): the installed module exports nothing but its entry. */
VC_HIDDEN extern int (*fv_fault_hook)(const char *step);

/* Take the exclusive lock on the sidecar "<path>.lock" (created 0600 when
 * absent, never removed).  VEIL_ELOCKED naming both paths when another
 * open vault holds it (any process, or this one). */
VC_HIDDEN int fv_lock(const char *path, int *lock_fd);
VC_HIDDEN void fv_unlock(int lock_fd);

/* Read the whole vault file.  *exists = false (and 0) when it is absent.
 * A file with group/other permission bits is VEIL_EPERMISSIONS unless
 * allow_open; not a regular file, too large, or unreadable: VEIL_EFORMAT /
 * VEIL_ELIMIT / VEIL_EIO naming the path.  *buf is malloc'd. */
VC_HIDDEN int fv_read(const char *path, bool allow_open, bool *exists, uint8_t **buf,
                      size_t *len);

/* Replace the file with data, crash-safely; the old file stays intact on any
 * failure before the rename.  ENOSPC/EDQUOT → VEIL_ENOSPC, EACCES/EPERM/
 * EROFS → VEIL_EPERM, others VEIL_EIO; the detail names the path, the step
 * and the system error.  A failing directory fsync after the rename is only
 * logged (the new contents are in place). */
VC_HIDDEN int fv_write_atomic(const char *path, const uint8_t *data, size_t len);

/* Remove a temp file left by a writer that died (call with the lock held). */
VC_HIDDEN void fv_remove_stale_temp(const char *path);

#endif
