/* The vault wrappers' private layout and argument checks, shared by
 * vault.c (secrets and computations) and vault_records.c (records).  Not
 * installed, not exported. */
#ifndef VEIL_VAULT_INTERNAL_H
#define VEIL_VAULT_INTERNAL_H

#include <veil/error.h>
#include <veil/plugin.h>
#include <veil/vault.h>

struct veil_vault {
    unsigned refs;              /* veil__vault_ref(); closed at 0 */
    veil_plugin *plugin;
    const veil_vault_ops *ops;
    void *inst;
    unsigned batch;             /* veil_vault_batch_begin depth */
};

/* The op exists in the plugin's table (which may be older and shorter). */
#define OP(v, name, fn)                                                           \
    do {                                                                          \
        if ((v) == NULL)                                                          \
            return veil_error_set(VEIL_EINVAL, "%s: vault is NULL", fn);          \
        if (!VEIL_ABI_HAS((v)->ops, name) || (v)->ops->name == NULL)              \
            return veil_error_set(VEIL_EUNSUPPORTED,                              \
                                  "%s: vault plugin '%s' does not implement " #name, fn, \
                                  veil_vault_plugin_name(v));                     \
    } while (0)

#define NONNULL(p, fn)                                                            \
    do {                                                                          \
        if ((p) == NULL)                                                          \
            return veil_error_set(VEIL_EINVAL, "%s: " #p " is NULL", fn);         \
    } while (0)

#endif
