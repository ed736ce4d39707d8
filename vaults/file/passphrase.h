/* Where the file vault's passphrase comes from (docs/VAULT-FILE.md):
 *   passphrase_env = NAME    the environment variable NAME
 *   passphrase_file = PATH   the file's contents (one trailing newline cut)
 *   passphrase_fd = N        the inherited descriptor N, read to its end
 *                            (one trailing newline cut; left open)
 *   passphrase = TEXT        the config itself (warned: it sits in a file)
 *   passphrase_mode = none   no passphrase: file permissions only (warned)
 * Exactly one source unless passphrase_mode = none. */
#ifndef VEIL_FILE_VAULT_PASSPHRASE_H
#define VEIL_FILE_VAULT_PASSPHRASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <veil/config.h>

#include "backend.h"

#define FV_PASSPHRASE_MAX 1024u

typedef struct fv_passphrase {
    const vc_backend *be;
    uint8_t *bytes;                    /* guarded, FV_PASSPHRASE_MAX; NULL in mode none */
    size_t len;
    bool none;                         /* passphrase_mode = none */
} fv_passphrase;

/* Read the configured source into guarded memory.  Configuration mistakes
 * are VEIL_ECONFIG naming file:line; an unset variable or unreadable file
 * names it too. */
VC_HIDDEN int fv_passphrase_load(const veil_config_scope *scope, const vc_backend *be,
                                 fv_passphrase *out);
/* Wipe and free (safe on a zeroed struct). */
VC_HIDDEN void fv_passphrase_wipe(fv_passphrase *p);

#endif
