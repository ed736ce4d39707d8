/* veil — plugin ABI (docs/PLUGINS.md).
 *
 * A plugin is a shared object exporting exactly one symbol,
 * veil_plugin_entry, which returns a static descriptor.  The first three
 * descriptor fields (abi_major, abi_minor, struct_size) are frozen for all
 * ABI versions so the host can always read them.  The host refuses a plugin
 * whose abi_major differs from VEIL_PLUGIN_ABI_MAJOR, or whose abi_minor is
 * newer than the host's.  Every ops table starts with its own size so it can
 * grow by appending (VEIL_ABI_HAS).
 *
 * The host contract: a plugin links libveil and calls its public API —
 * configuration through the veil_config_scope it is handed, logging with
 * veil_log, error details with veil_error_set, the node's event loop,
 * messages, routes, vaults, node extensions, and the two helpers below.
 * There is no second table of host services.  docs/PLUGINS.md, "The host
 * contract", says what may be called from where. */
#ifndef VEIL_PLUGIN_H
#define VEIL_PLUGIN_H

#include <veil/common.h>
#include <veil/config.h>
#include <veil/log.h>
#include <veil/node.h>

VEIL_BEGIN_DECLS

#define VEIL_PLUGIN_ABI_MAJOR 4u
#define VEIL_PLUGIN_ABI_MINOR 7u
#define VEIL_PLUGIN_ENTRY_SYMBOL "veil_plugin_entry"

/* The frozen prefix of a descriptor built against this header:
 *   static const veil_plugin_descriptor descriptor = { VEIL_PLUGIN_ABI, ... }; */
#define VEIL_PLUGIN_ABI                                                       \
    .abi_major = VEIL_PLUGIN_ABI_MAJOR, .abi_minor = VEIL_PLUGIN_ABI_MINOR,   \
    .struct_size = sizeof(veil_plugin_descriptor)

/* Size of a size-prefixed ABI structure (an ops table, veil_ka_params, ...)
 * up to and including its member `member`. */
#define VEIL_ABI_SIZE(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))
/* Does s (a pointer to an ABI structure whose `size` says how much of it
 * its maker knew) reach member?  Every read of a member appended after the
 * smallest table of a kind goes through this: a table built against an
 * older minor simply ends before it. */
#define VEIL_ABI_HAS(s, member) ((s)->size >= VEIL_ABI_SIZE(__typeof__(*(s)), member))

typedef enum veil_plugin_kind {
    VEIL_PLUGIN_VAULT = 1,
    VEIL_PLUGIN_KEY_AGREEMENT = 2,
    VEIL_PLUGIN_TRUST_POLICY = 3,
    VEIL_PLUGIN_TRANSPORT = 4,
    VEIL_PLUGIN_STORE = 5,         /* veil/store.h (ABI 4.4) */
} veil_plugin_kind;

/* "vault", "key_agreement", "policy", "transport", "store"; "?" otherwise. */
VEIL_EXPORT const char *veil_plugin_kind_name(int kind);

typedef struct veil_plugin_descriptor {
    /* frozen prefix */
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t struct_size;        /* sizeof(veil_plugin_descriptor) */
    int kind;                    /* veil_plugin_kind */
    const char *name;            /* must equal the name configured */
    const char *version;
    const char *description;
    /* Keys accepted in the plugin's section (NULL-terminated; "plugin" is
     * always accepted).  Others are refused at load with file:line. */
    const char *const *config_keys;
    /* Optional.  Called once per load with the section that named it (the
     * scope stays valid until fini); *state goes to every instance_new. */
    int (*init)(const veil_config_scope *scope, void **state);
    void (*fini)(void *state);
    /* The kind's ops table (veil_vault_ops, veil_key_agreement_ops,
     * veil_trust_policy_ops, veil_transport_ops, veil_store_ops); starts with its size. */
    const void *ops;
} veil_plugin_descriptor;

typedef const veil_plugin_descriptor *(*veil_plugin_entry_fn)(void);

/* In a plugin module: VEIL_PLUGIN_ENTRY(my_descriptor) defines the one
 * exported symbol.  Compile the same sources with -DVEIL_PLUGIN_BUILTIN to
 * link a plugin statically and register it with veil_plugin_register_builtin. */
#ifdef VEIL_PLUGIN_BUILTIN
#define VEIL_PLUGIN_ENTRY(desc)
#else
#define VEIL_PLUGIN_ENTRY(desc)                                               \
    VEIL_EXPORT const veil_plugin_descriptor *veil_plugin_entry(void);        \
    VEIL_EXPORT const veil_plugin_descriptor *veil_plugin_entry(void)         \
    {                                                                         \
        return &(desc);                                                       \
    }
#endif

/* ---- loading --------------------------------------------------------- */

/* Make a statically linked plugin available under its descriptor's name;
 * consulted before the file system.  Process-wide; not thread-safe. */
VEIL_EXPORT int veil_plugin_register_builtin(const veil_plugin_descriptor *d) VEIL_WUR;
VEIL_EXPORT void veil_plugin_unregister_builtin(const char *name);

/* Load the plugin named by `plugin = NAME` in section, check it against the
 * expected kind, check the section's keys, and run init with the section.
 * NAME is a bare name (file NAME.so on the search path) or an absolute path
 * to a .so.  Search order: built-ins; absolute path; each directory of
 * $VEIL_PLUGIN_PATH (ignored in setuid programs); the compiled-in plugin
 * directory.  node may be NULL for plugins that need no event loop. */
VEIL_EXPORT int veil_plugin_open(const veil_config *cfg, const char *section,
                                 int expected_kind, veil_node *node,
                                 veil_plugin **out) VEIL_WUR;
/* Same, naming the plugin directly (the section still supplies keys and may
 * be absent). */
VEIL_EXPORT int veil_plugin_open_named(const char *name, const veil_config *cfg,
                                       const char *section, int expected_kind,
                                       veil_node *node, veil_plugin **out) VEIL_WUR;
/* Runs fini and dlcloses.  NULL ok. */
VEIL_EXPORT void veil_plugin_close(veil_plugin *p);

VEIL_EXPORT const veil_plugin_descriptor *veil_plugin_descriptor_of(const veil_plugin *p);
VEIL_EXPORT void *veil_plugin_state(const veil_plugin *p);
VEIL_EXPORT const char *veil_plugin_path(const veil_plugin *p); /* "builtin" for built-ins */
VEIL_EXPORT veil_node *veil_plugin_node(const veil_plugin *p);
/* The compiled-in plugin directory. */
VEIL_EXPORT const char *veil_plugin_dir(void);

/* ---- helpers for plugins (and anyone) -------------------------------- */

/* Wipe memory in a way the compiler may not elide (NULL ok when n is 0). */
VEIL_EXPORT void veil_memzero(void *p, size_t n);
/* 0 when the n bytes are equal, 1 otherwise; the time taken depends only
 * on n, never on where the bytes differ. */
VEIL_EXPORT int veil_memcmp_ct(const void *a, const void *b, size_t n);

VEIL_END_DECLS
#endif
