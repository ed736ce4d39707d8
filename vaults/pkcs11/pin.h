/* Where the pkcs11 vault's user PIN comes from (docs/VAULTS.md "pkcs11"):
 *   pin_env = VAR        the environment variable VAR
 *   pin_fd = N           read to end of file from the inherited descriptor N
 *   pin_prompt = yes     asked on the process's terminal (/dev/tty), not echoed
 * Exactly one; one trailing newline is cut.  A `pin` key is refused: a
 * PIN never sits in the configuration file. */
#ifndef VEIL_VAULT_P11_PIN_H
#define VEIL_VAULT_P11_PIN_H

#include <stddef.h>
#include <stdint.h>

#include <veil/config.h>

#include "backend.h" /* VC_HIDDEN */

#define PK_PIN_MAX 256u

/* The configuration's PIN keys, before anything is loaded: VEIL_ECONFIG
 * naming file:line for a `pin` key, none or more than one source. */
VC_HIDDEN int p11_pin_check(const veil_config_scope *scope);
/* The PIN into pin[0..PK_PIN_MAX] (the caller's guarded buffer of
 * PK_PIN_MAX + 1 bytes) and its length; token names the token in the
 * prompt.  VEIL_ECONFIG for an unset variable, a PIN too long or no
 * terminal to prompt on; VEIL_EIO for a read error. */
VC_HIDDEN int p11_pin_read(const veil_config_scope *scope, const char *token, uint8_t *pin,
                          size_t *len);

#endif
