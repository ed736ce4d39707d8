/* The PKCS#11 layer (p11.h). */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/error.h>

#include "p11.h"

/* Modules this process initialised, counted: two vault instances on one
 * module share its C_Initialize, and C_Finalize waits for the last. */
typedef struct p11_user {
    CK_FUNCTION_LIST *f;
    unsigned refs;
    bool finalize;                    /* we initialised it (not someone else) */
} p11_user;

#define P11_USERS_MAX 16u
static p11_user users[P11_USERS_MAX];
static pthread_mutex_t users_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const module_dirs[] = {
    "/usr/lib/x86_64-linux-gnu/pkcs11", "/usr/lib/pkcs11", "/usr/lib64/pkcs11",
    "/usr/local/lib/pkcs11", NULL,
};

const char *p11_rv_name(CK_RV rv, char buf[24])
{
    switch (rv) {
    case CKR_OK: return "CKR_OK";
    case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
    case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
    case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
    case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
    case CKR_DEVICE_MEMORY: return "CKR_DEVICE_MEMORY";
    case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
    case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
    case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
    case CKR_OBJECT_HANDLE_INVALID: return "CKR_OBJECT_HANDLE_INVALID";
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_PIN_LEN_RANGE: return "CKR_PIN_LEN_RANGE";
    case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
    case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
    case CKR_USER_ALREADY_LOGGED_IN: return "CKR_USER_ALREADY_LOGGED_IN";
    case CKR_CRYPTOKI_ALREADY_INITIALIZED: return "CKR_CRYPTOKI_ALREADY_INITIALIZED";
    default: snprintf(buf, 24, "CKR_0x%lx", (unsigned long)rv); return buf;
    }
}

const char *p11_mech_name(CK_MECHANISM_TYPE m)
{
    switch (m) {
    case CKM_EC_EDWARDS_KEY_PAIR_GEN: return "CKM_EC_EDWARDS_KEY_PAIR_GEN";
    case CKM_EDDSA: return "CKM_EDDSA";
    case CKM_EC_KEY_PAIR_GEN: return "CKM_EC_KEY_PAIR_GEN";
    case CKM_ECDSA: return "CKM_ECDSA";
    default: return "an unnamed mechanism";
    }
}

void p11_field(const unsigned char *f, size_t n, char *out, size_t cap)
{
    while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\0'))
        n--;
    snprintf(out, cap, "%.*s", (int)n, (const char *)f);
}

/* ---- the module -------------------------------------------------------- */

/* Count a user of f, initialising the module for the first. */
static int user_add(CK_FUNCTION_LIST *f, const char *path)
{
    p11_user *free_slot = NULL;
    int rc = 0;
    pthread_mutex_lock(&users_lock);
    for (size_t i = 0; i < P11_USERS_MAX; i++) {
        if (users[i].f == f) {
            users[i].refs++;
            goto out;
        }
        if (users[i].f == NULL && free_slot == NULL)
            free_slot = &users[i];
    }
    if (free_slot == NULL) {
        rc = veil_error_set(VEIL_ELIMIT, "pkcs11: more than %u modules in one process",
                            P11_USERS_MAX);
        goto out;
    }
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof args);
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        char b[24];
        rc = veil_error_set(VEIL_EIO, "pkcs11 module %s: C_Initialize failed: %s", path,
                            p11_rv_name(rv, b));
        goto out;
    }
    *free_slot = (p11_user){ f, 1, rv == CKR_OK };
out:
    pthread_mutex_unlock(&users_lock);
    return rc;
}

static void user_drop(CK_FUNCTION_LIST *f)
{
    pthread_mutex_lock(&users_lock);
    for (size_t i = 0; i < P11_USERS_MAX; i++) {
        if (users[i].f != f || --users[i].refs > 0)
            continue;
        if (users[i].finalize)
            f->C_Finalize(NULL);
        memset(&users[i], 0, sizeof users[i]);
    }
    pthread_mutex_unlock(&users_lock);
}

/* dlopen the first path that loads; tried collects "path (reason)". */
static void *open_first(const char *name, p11_module *m, char *tried, size_t cap)
{
    size_t used = 0;
    for (size_t i = 0; i == 0 || (strchr(name, '/') == NULL && module_dirs[i - 1] != NULL);
         i++) {
        char path[sizeof m->path];
        if (i == 0)
            snprintf(path, sizeof path, "%s", name);
        else
            snprintf(path, sizeof path, "%s/%s", module_dirs[i - 1], name);
        /* Kept mapped after the last dlclose: some modules leave threads or
         * exit handlers behind C_Finalize, which must not outlive their code. */
        void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (dl != NULL) {
            snprintf(m->path, sizeof m->path, "%s", path);
            return dl;
        }
        const char *why = dlerror();
        int n = snprintf(tried + used, cap - used, "%s%s (%s)", used ? "; " : "", path,
                         why != NULL ? why : "?");
        if (n > 0 && (size_t)n < cap - used)
            used += (size_t)n;
    }
    return NULL;
}

int p11_module_load(const char *name, p11_module *m)
{
    char tried[1536] = "";
    memset(m, 0, sizeof *m);
    m->dl = open_first(name, m, tried, sizeof tried);
    if (m->dl == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "pkcs11 module '%s' not found: tried %s", name,
                              tried);
    CK_C_GetFunctionList get;
    *(void **)&get = dlsym(m->dl, "C_GetFunctionList");
    if (get == NULL) {
        p11_module_unload(m);
        return veil_error_set(VEIL_EFORMAT, "%s is not a PKCS#11 module: it has no "
                              "C_GetFunctionList", name);
    }
    CK_RV rv = get(&m->f);
    int rc = 0;
    if (rv != CKR_OK || m->f == NULL) {
        char b[24];
        rc = veil_error_set(VEIL_EFORMAT, "pkcs11 module %s: C_GetFunctionList failed: %s",
                            m->path, p11_rv_name(rv, b));
    }
    if (rc == 0 && (rc = user_add(m->f, m->path)) == 0)
        return 0;
    m->f = NULL;
    p11_module_unload(m);
    return rc;
}

void p11_module_unload(p11_module *m)
{
    if (m->f != NULL)
        user_drop(m->f);
    if (m->dl != NULL)
        dlclose(m->dl);
    memset(m, 0, sizeof *m);
}

/* ---- the token --------------------------------------------------------- */

int p11_token_find(p11_module *m, const char *label, const char *serial, CK_SLOT_ID *slot,
                   CK_TOKEN_INFO *info)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    char b[24], seen[1024] = "", lab[40], ser[20];
    size_t used = 0;
    CK_RV rv = m->f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv != CKR_OK)
        return veil_error_set(VEIL_EIO, "pkcs11 module %s: C_GetSlotList failed: %s", m->path,
                              p11_rv_name(rv, b));
    for (CK_ULONG i = 0; i < n; i++) {
        if (m->f->C_GetTokenInfo(slots[i], info) != CKR_OK)
            continue;
        p11_field(info->label, sizeof info->label, lab, sizeof lab);
        p11_field(info->serialNumber, sizeof info->serialNumber, ser, sizeof ser);
        if (!(info->flags & CKF_TOKEN_INITIALIZED))
            continue;
        if ((label != NULL && strcmp(lab, label) == 0) ||
            (serial != NULL && strcmp(ser, serial) == 0)) {
            *slot = slots[i];
            return 0;
        }
        int k = snprintf(seen + used, sizeof seen - used, "%s'%s' (serial %s)",
                         used ? ", " : "", lab, ser);
        if (k > 0 && (size_t)k < sizeof seen - used)
            used += (size_t)k;
    }
    return veil_error_set(VEIL_ENOTFOUND, "pkcs11: no token with %s '%s' in module %s "
                          "(tokens present: %s)", label != NULL ? "label" : "serial",
                          label != NULL ? label : serial, m->path, used ? seen : "none");
}

/* What the token's flags say about the user PIN, for a message. */
static const char *pin_tries(CK_FLAGS flags)
{
    if (flags & CKF_USER_PIN_FINAL_TRY)
        return ": one try left before the token locks the PIN (CKF_USER_PIN_FINAL_TRY)";
    if (flags & CKF_USER_PIN_COUNT_LOW)
        return ": the token reports few tries left (CKF_USER_PIN_COUNT_LOW; it does not say "
               "how many)";
    return " (the token does not report the remaining tries)";
}

int p11_login(p11_module *m, CK_SLOT_ID slot, const char *token, const uint8_t *pin,
              size_t pin_len, CK_SESSION_HANDLE *out)
{
    CK_TOKEN_INFO info;
    char b[24];
    CK_RV rv = m->f->C_GetTokenInfo(slot, &info);
    if (rv == CKR_OK && (info.flags & CKF_USER_PIN_LOCKED))
        return veil_error_set(VEIL_ELOCKED, "pkcs11 token %s: the user PIN is locked "
                              "(CKF_USER_PIN_LOCKED); unlock it with the SO PIN", token);
    rv = m->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, out);
    if (rv != CKR_OK)
        return veil_error_set(VEIL_EIO, "pkcs11 token %s: C_OpenSession failed: %s", token,
                              p11_rv_name(rv, b));
    rv = m->f->C_Login(*out, CKU_USER, (CK_UTF8CHAR *)(uintptr_t)pin, (CK_ULONG)pin_len);
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
        return 0;
    int rc;
    if (rv == CKR_PIN_LOCKED)
        rc = veil_error_set(VEIL_ELOCKED, "pkcs11 token %s: the user PIN is locked "
                            "(CKR_PIN_LOCKED); unlock it with the SO PIN", token);
    else if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE) {
        CK_FLAGS flags = m->f->C_GetTokenInfo(slot, &info) == CKR_OK ? info.flags : 0;
        rc = (flags & CKF_USER_PIN_LOCKED)
                 ? veil_error_set(VEIL_ELOCKED, "pkcs11 token %s: wrong PIN, and the token "
                                  "has now locked the user PIN (CKF_USER_PIN_LOCKED)", token)
                 : veil_error_set(VEIL_EPASSPHRASE, "pkcs11 token %s: wrong PIN (%s)%s", token,
                                  p11_rv_name(rv, b), pin_tries(flags));
    } else
        rc = veil_error_set(VEIL_EIO, "pkcs11 token %s: C_Login failed: %s", token,
                            p11_rv_name(rv, b));
    m->f->C_CloseSession(*out);
    *out = CK_INVALID_HANDLE;
    return rc;
}

/* mech is in the slot's C_GetMechanismList (the list is what a token
 * offers: SoftHSM2 answers C_GetMechanismInfo for mechanisms its
 * configuration removed). */
static bool mech_listed(p11_module *m, CK_SLOT_ID slot, CK_MECHANISM_TYPE mech)
{
    CK_MECHANISM_TYPE list[512];
    CK_ULONG n = 512;
    if (m->f->C_GetMechanismList(slot, list, &n) != CKR_OK)
        return false;
    for (CK_ULONG i = 0; i < n; i++)
        if (list[i] == mech)
            return true;
    return false;
}

int p11_need_mech(p11_module *m, CK_SLOT_ID slot, const char *token, CK_MECHANISM_TYPE mech,
                  CK_FLAGS flag)
{
    CK_MECHANISM_INFO mi;
    bool listed = mech_listed(m, slot, mech);
    if (listed && m->f->C_GetMechanismInfo(slot, mech, &mi) == CKR_OK && (mi.flags & flag) == flag)
        return 0;
    return veil_error_set(VEIL_EUNSUPPORTED, "pkcs11 token %s does not support mechanism %s "
                          "(0x%lx)%s", token, p11_mech_name(mech), (unsigned long)mech,
                          flag == CKF_SIGN ? " for signing" : " for key pair generation");
}

/* The C_FindObjects loop of p11_find (the operation is initialised). */
static int find_loop(p11_module *m, CK_SESSION_HANDLE sess, const char *token,
                     CK_OBJECT_HANDLE **out, CK_ULONG *count)
{
    char b[24];
    for (;;) {
        CK_ULONG got = 0;
        if (*count + 64 > P11_FIND_MAX)
            return veil_error_set(VEIL_ELIMIT, "pkcs11 token %s: more than %u matching "
                                  "objects", token, P11_FIND_MAX);
        CK_OBJECT_HANDLE *n = realloc(*out, (*count + 64) * sizeof *n);
        if (n == NULL)
            return veil_error_set(VEIL_ENOMEM, "pkcs11: out of memory");
        *out = n;
        CK_RV rv = m->f->C_FindObjects(sess, *out + *count, 64, &got);
        if (rv != CKR_OK)
            return veil_error_set(VEIL_EIO, "pkcs11 token %s: C_FindObjects failed: %s", token,
                                  p11_rv_name(rv, b));
        *count += got;
        if (got == 0)
            return 0;
    }
}

int p11_find(p11_module *m, CK_SESSION_HANDLE sess, const char *token, CK_ATTRIBUTE *tmpl,
             CK_ULONG n, CK_OBJECT_HANDLE **out, CK_ULONG *count)
{
    char b[24];
    *out = NULL;
    *count = 0;
    CK_RV rv = m->f->C_FindObjectsInit(sess, tmpl, n);
    if (rv != CKR_OK)
        return veil_error_set(VEIL_EIO, "pkcs11 token %s: C_FindObjectsInit failed: %s", token,
                              p11_rv_name(rv, b));
    int rc = find_loop(m, sess, token, out, count);
    m->f->C_FindObjectsFinal(sess);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *count = 0;
    }
    return rc;
}
