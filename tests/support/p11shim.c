/* A test-only PKCS#11 module in front of SoftHSM2: every function is
 * SoftHSM's except two, changed by the environment, to show the pkcs11
 * vault token states SoftHSM2 never reaches (it has no PIN retry counter):
 *   P11SHIM_TOKEN_FLAGS=N   C_GetTokenInfo reports these flags too (hex ok)
 *   P11SHIM_LOGIN_RV=N      C_Login returns this CKR_ value instead
 * Nothing else: key generation, signing and objects are SoftHSM's. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "softhsm.h"

static CK_FUNCTION_LIST shim;
static CK_FUNCTION_LIST *real;

static unsigned long env_num(const char *name)
{
    const char *v = getenv(name);
    return v != NULL ? strtoul(v, NULL, 0) : 0;
}

static CK_RV shim_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
    CK_RV rv = real->C_GetTokenInfo(slot, info);
    if (rv == CKR_OK)
        info->flags |= env_num("P11SHIM_TOKEN_FLAGS");
    return rv;
}

static CK_RV shim_login(CK_SESSION_HANDLE s, CK_USER_TYPE u, CK_UTF8CHAR *pin, CK_ULONG len)
{
    CK_RV forced = env_num("P11SHIM_LOGIN_RV");
    return forced != 0 ? forced : real->C_Login(s, u, pin, len);
}

__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST **out);

CK_RV C_GetFunctionList(CK_FUNCTION_LIST **out)
{
    if (real == NULL) {
        void *dl = dlopen(P11T_MODULE, RTLD_NOW | RTLD_LOCAL);
        CK_C_GetFunctionList get;
        if (dl == NULL)
            return CKR_GENERAL_ERROR;
        *(void **)&get = dlsym(dl, "C_GetFunctionList");
        if (get == NULL || get(&real) != CKR_OK)
            return CKR_GENERAL_ERROR;
        memcpy(&shim, real, sizeof shim);
        shim.C_GetTokenInfo = shim_token_info;
        shim.C_Login = shim_login;
    }
    *out = &shim;
    return CKR_OK;
}
