/* The x3dh instance configuration ([key_agreement] with plugin = x3dh). */
#include "x3dh.h"

#include <veil/config.h>

#include <strings.h>

void x3dh_config_default(x3dh_config *c)
{
    memset(c, 0, sizeof *c);
    c->info_len = sizeof X3DH_DEFAULT_INFO - 1;
    memcpy(c->info, X3DH_DEFAULT_INFO, c->info_len);
    c->require_opk = false;
    c->cipher_type = VEIL_SECRET_AES256GCM;
}

static const char *origin(const veil_config_scope *scope, const char *key)
{
    const char *o = veil_config_scope_origin(scope, key);
    return o ? o : "(configuration)";
}

int x3dh_config_read(x3dh_config *c, const veil_config_scope *scope)
{
    x3dh_config_default(c);
    const char *info = veil_config_scope_get(scope, "info");
    const char *cipher = veil_config_scope_get(scope, "cipher");
    const char *app = veil_config_scope_get(scope, "ad_appendix");
    if (info != NULL) {
        size_t n = strlen(info);
        if (n == 0 || n > X3DH_INFO_MAX)
            return veil_error_set(VEIL_ECONFIG, "%s: [%s] info is %zu bytes, expected 1..%u",
                                  origin(scope, "info"), scope->section, n, X3DH_INFO_MAX);
        memcpy(c->info, info, n);
        c->info_len = n;
    }
    if (cipher != NULL) {
        if (strcasecmp(cipher, "AESGCM") == 0)
            c->cipher_type = VEIL_SECRET_AES256GCM;
        else if (strcasecmp(cipher, "ChaChaPoly") == 0)
            c->cipher_type = VEIL_SECRET_CHACHAPOLY;
        else
            return veil_error_set(VEIL_ECONFIG, "%s: [%s] cipher '%s' is unknown (accepted: "
                                  "AESGCM, ChaChaPoly)", origin(scope, "cipher"),
                                  scope->section, cipher);
    }
    if (app != NULL) {
        size_t n = strlen(app);
        if (n > X3DH_APPENDIX_MAX)
            return veil_error_set(VEIL_ECONFIG, "%s: [%s] ad_appendix is %zu bytes (at most %u)",
                                  origin(scope, "ad_appendix"), scope->section, n,
                                  X3DH_APPENDIX_MAX);
        memcpy(c->appendix, app, n);
        c->appendix_len = n;
    }
    return veil_config_scope_get_bool(scope, "require_opk", false, &c->require_opk);
}
