/* The PKCS#11 layer of the pkcs11 vault: loading a module (dlopen and
 * C_GetFunctionList, nothing else of ours between veil and the standard's
 * C API), finding the token, logging in, checking mechanisms, and the
 * clear errors of each step (docs/VAULTS.md "pkcs11").  The header is the
 * OASIS pkcs11.h as p11-kit ships it. */
#ifndef VEIL_VAULT_P11_H
#define VEIL_VAULT_P11_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "backend.h" /* VC_HIDDEN */

typedef struct p11_module {
    void *dl;
    CK_FUNCTION_LIST *f;
    char path[512];                   /* the path that loaded */
} p11_module;

/* dlopen name (as given when it has a '/', else also under the usual
 * PKCS#11 module directories), C_GetFunctionList, C_Initialize (a module
 * another vault instance of this process initialised is shared, counted).
 * VEIL_ENOTFOUND naming every path tried and dlopen's reasons;
 * VEIL_EFORMAT when the library has no C_GetFunctionList ("not a PKCS#11
 * module"); VEIL_EIO when the module refuses to initialise. */
VC_HIDDEN int p11_module_load(const char *name, p11_module *m);
/* C_Finalize when the last user goes, dlclose (safe on a zeroed module). */
VC_HIDDEN void p11_module_unload(p11_module *m);

/* The slot whose token has label (or serial; exactly one given).
 * VEIL_ENOTFOUND "token absent" listing the tokens present. */
VC_HIDDEN int p11_token_find(p11_module *m, const char *label, const char *serial,
                             CK_SLOT_ID *slot, CK_TOKEN_INFO *info);

/* Open a read-write session and log the user in.  VEIL_EPASSPHRASE for a
 * wrong PIN (with the remaining tries the token's flags report),
 * VEIL_ELOCKED when the PIN is locked. */
VC_HIDDEN int p11_login(p11_module *m, CK_SLOT_ID slot, const char *token,
                        const uint8_t *pin, size_t pin_len, CK_SESSION_HANDLE *out);

/* VEIL_EUNSUPPORTED naming the mechanism when the token lacks it or lacks
 * the use (flag: CKF_SIGN, CKF_GENERATE_KEY_PAIR). */
VC_HIDDEN int p11_need_mech(p11_module *m, CK_SLOT_ID slot, const char *token,
                            CK_MECHANISM_TYPE mech, CK_FLAGS flag);

/* Every object matching the template (C_FindObjectsInit, C_FindObjects in
 * chunks, C_FindObjectsFinal) into *out (malloc'd, the caller frees; NULL
 * when none), at most P11_FIND_MAX (VEIL_ELIMIT beyond); VEIL_EIO naming
 * the failing call. */
#define P11_FIND_MAX 4096u
VC_HIDDEN int p11_find(p11_module *m, CK_SESSION_HANDLE sess, const char *token,
                       CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE **out, CK_ULONG *count);

/* "CKR_PIN_INCORRECT" etc. ("CKR_0x..." for one not in the table). */
VC_HIDDEN const char *p11_rv_name(CK_RV rv, char buf[24]);
VC_HIDDEN const char *p11_mech_name(CK_MECHANISM_TYPE m);
/* A fixed-width, blank-padded PKCS#11 text field as a C string. */
VC_HIDDEN void p11_field(const unsigned char *f, size_t n, char *out, size_t cap);

#endif
