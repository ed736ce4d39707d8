/* veil — plugin ABI (docs/PLUGINS.md).
 *
 * A plugin is a shared object exporting exactly one symbol,
 * veil_plugin_entry, which returns a static descriptor.  The first three
 * descriptor fields (abi_major, abi_minor, struct_size) are frozen for all
 * ABI versions so the host can always read them.  The host refuses a plugin
 * whose abi_major differs from VEIL_PLUGIN_ABI_MAJOR, or whose abi_minor is
 * newer than the host's.  Every ops table starts with its own size so it can
 * grow by appending.
 *
 * Plugins talk to the host through the services table handed to init():
 * config getters scoped to the plugin's section, logging, errors, the
 * node's fd watches and timers, random bytes, memzero.  They may also call
 * libveil's public API (routes, messages, vault wrappers). */
#ifndef VEIL_PLUGIN_H
#define VEIL_PLUGIN_H

#include <veil/common.h>
#include <veil/config.h>
#include <veil/log.h>
#include <veil/node.h>

VEIL_BEGIN_DECLS

#define VEIL_PLUGIN_ABI_MAJOR 2u
#define VEIL_PLUGIN_ABI_MINOR 0u
#define VEIL_PLUGIN_ENTRY_SYMBOL "veil_plugin_entry"

typedef enum veil_plugin_kind {
    VEIL_PLUGIN_VAULT = 1,
    VEIL_PLUGIN_KEY_AGREEMENT = 2,
    VEIL_PLUGIN_TRUST_POLICY = 3,
    VEIL_PLUGIN_TRANSPORT = 4,
} veil_plugin_kind;

/* "vault", "key_agreement", "policy", "transport"; "?" otherwise. */
VEIL_EXPORT const char *veil_plugin_kind_name(int kind);

typedef struct veil_host_services {
    size_t size;                 /* sizeof(veil_host_services) */
    uint16_t abi_major, abi_minor;
    /* Configuration, scoped to a section (the plugin's own, or an
     * instance's section handed to the kind's instance constructor). */
    const char *(*config_get)(const veil_config_scope *scope, const char *key);
    int (*config_get_int)(const veil_config_scope *scope, const char *key,
                          long long def, long long min, long long max,
                          long long *out);
    int (*config_get_bool)(const veil_config_scope *scope, const char *key,
                           bool def, bool *out);
    /* Logging and errors (error sets the thread's detail, returns code). */
    void (*log)(veil_log_level level, const char *component, const char *fmt, ...)
        VEIL_PRINTF(3, 4);
    int (*error)(int code, const char *fmt, ...) VEIL_PRINTF(2, 3);
    /* The node's event loop. */
    int (*watch_add)(veil_node *node, int fd, uint32_t events, veil_watch_fn fn,
                     void *arg, veil_watch **out);
    int (*watch_modify)(veil_watch *w, uint32_t events);
    void (*watch_remove)(veil_watch *w);
    int (*timer_add)(veil_node *node, uint64_t delay_ms, veil_timer_fn fn,
                     void *arg, veil_timer **out);
    void (*timer_cancel)(veil_timer *t);
    /* OS randomness (getrandom); memory hygiene. */
    int (*random)(void *buf, size_t len);
    void (*memzero)(void *p, size_t len);
    /* 0 when equal; constant time in len. */
    int (*memcmp_ct)(const void *a, const void *b, size_t len);
} veil_host_services;

typedef struct veil_plugin_descriptor {
    /* frozen prefix */
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t struct_size;        /* sizeof(veil_plugin_descriptor) */
    /* ABI 1.0 */
    int kind;                    /* veil_plugin_kind */
    const char *name;            /* must equal the name configured */
    const char *version;
    const char *description;
    /* Keys accepted in the plugin's section (NULL-terminated; "plugin" is
     * always accepted).  Others are refused at load with file:line. */
    const char *const *config_keys;
    /* Optional.  Called once per load with the section that named it. */
    int (*init)(const veil_host_services *host, const veil_config_scope *scope,
                void **state);
    void (*fini)(void *state);
    /* The kind's ops table (veil_vault_ops, veil_key_agreement_ops,
     * veil_trust_policy_ops, veil_transport_ops); starts with its size. */
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

typedef struct veil_plugin veil_plugin;

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
VEIL_EXPORT int veil_plugin_load(const veil_config *cfg, const char *section,
                                 int expected_kind, veil_node *node,
                                 veil_plugin **out) VEIL_WUR;
/* Same, naming the plugin directly (the section still supplies keys and may
 * be absent). */
VEIL_EXPORT int veil_plugin_load_named(const char *name, const veil_config *cfg,
                                       const char *section, int expected_kind,
                                       veil_node *node, veil_plugin **out) VEIL_WUR;
/* Runs fini and dlcloses.  NULL ok. */
VEIL_EXPORT void veil_plugin_unload(veil_plugin *p);

VEIL_EXPORT const veil_plugin_descriptor *veil_plugin_descriptor_of(const veil_plugin *p);
VEIL_EXPORT void *veil_plugin_state(const veil_plugin *p);
VEIL_EXPORT const char *veil_plugin_path(const veil_plugin *p); /* "builtin" for built-ins */
VEIL_EXPORT veil_node *veil_plugin_node(const veil_plugin *p);
/* The services table the host hands to plugins. */
VEIL_EXPORT const veil_host_services *veil_host_services_get(void);
/* The compiled-in plugin directory. */
VEIL_EXPORT const char *veil_plugin_dir(void);

VEIL_END_DECLS
#endif
