/* veil — INI-style configuration (docs/CONFIG.md).
 *
 *   # comment            ; comment
 *   [vault]
 *   plugin = software
 *   crypto = openssl
 *
 * Sections name plugin slots: [vault], [vault.NAME], [key_agreement],
 * [policy], [policy.NAME], [transport.NAME], plus [node] for the runtime
 * and whatever else a layer, plugin or application registered (below);
 * any other section fails veil_node_new.  A '#' or ';' after a blank
 * starts a trailing comment (docs/CONFIG.md, "Syntax").
 * Every value remembers where it came from ("file:line" or "set by
 * program"), so errors can name it. */
#ifndef VEIL_CONFIG_H
#define VEIL_CONFIG_H

#include <veil/common.h>
#include <stdbool.h>

VEIL_BEGIN_DECLS

#define VEIL_CONFIG_NAME_MAX 64u     /* section and key names */
#define VEIL_CONFIG_VALUE_MAX 4096u  /* one value */

/* A section of a configuration, as handed to plugins. */
typedef struct veil_config_scope {
    const veil_config *config;
    const char *section;
} veil_config_scope;

VEIL_EXPORT int veil_config_new(veil_config **out) VEIL_WUR;
/* Parse a file; errors are VEIL_ECONFIG ("path:line: what") or VEIL_EIO. */
VEIL_EXPORT int veil_config_new_from_file(veil_config **out, const char *path) VEIL_WUR;
/* Parse text; origin names it in errors (e.g. "<string>"). */
VEIL_EXPORT int veil_config_new_from_text(veil_config **out, const char *text,
                                          const char *origin) VEIL_WUR;
/* $VEIL_CONF if set (VEIL_ENOTFOUND otherwise). */
VEIL_EXPORT int veil_config_new_from_env(veil_config **out) VEIL_WUR;
VEIL_EXPORT int veil_config_new_copy(veil_config **out, const veil_config *src) VEIL_WUR;
VEIL_EXPORT void veil_config_free(veil_config *cfg);

/* Programmatic override: sets (or replaces) section.key. */
VEIL_EXPORT int veil_config_set(veil_config *cfg, const char *section,
                                const char *key, const char *value) VEIL_WUR;
/* Remove a key (VEIL_ENOTFOUND if absent). */
VEIL_EXPORT int veil_config_unset(veil_config *cfg, const char *section,
                                  const char *key) VEIL_WUR;
/* Remove a section with all its keys (VEIL_ENOTFOUND if absent); the
 * sections after it move down one index. */
VEIL_EXPORT int veil_config_remove_section(veil_config *cfg, const char *section) VEIL_WUR;

/* NULL when absent. */
VEIL_EXPORT const char *veil_config_get(const veil_config *cfg,
                                        const char *section, const char *key);
/* Where a value came from: "file:line", "set by program"; NULL if absent. */
VEIL_EXPORT const char *veil_config_origin(const veil_config *cfg,
                                           const char *section, const char *key);
/* Typed getters: absent → def; malformed or out of [min,max] →
 * VEIL_ECONFIG naming origin, key, value and the expected form.  Integers
 * accept k/m/g suffixes (powers of 1024). */
VEIL_EXPORT int veil_config_get_int(const veil_config *cfg, const char *section,
                                    const char *key, long long def, long long min,
                                    long long max, long long *out) VEIL_WUR;
VEIL_EXPORT int veil_config_get_bool(const veil_config *cfg, const char *section,
                                     const char *key, bool def, bool *out) VEIL_WUR;

VEIL_EXPORT bool veil_config_has_section(const veil_config *cfg, const char *section);
/* Iterate sections (0..n-1) and the keys of one section. */
VEIL_EXPORT size_t veil_config_section_count(const veil_config *cfg);
VEIL_EXPORT const char *veil_config_section_name(const veil_config *cfg, size_t i);
VEIL_EXPORT size_t veil_config_key_count(const veil_config *cfg, const char *section);
VEIL_EXPORT int veil_config_key_at(const veil_config *cfg, const char *section,
                                   size_t i, const char **key,
                                   const char **value) VEIL_WUR;
/* Every key of section must be in allowed (NULL-terminated); otherwise
 * VEIL_ECONFIG "file:line: unknown key 'k' in [section] (accepted: ...)". */
VEIL_EXPORT int veil_config_check_keys(const veil_config *cfg, const char *section,
                                       const char *const *allowed) VEIL_WUR;

/* ---- sections: who reads what (docs/CONFIG.md, "Sections") ----------
 * A configuration may only hold sections something registered: a section
 * nobody reads is a typo, and a typo must not fall back to a default.
 * The core registers [node] and every plugin kind's sections ([vault],
 * [vault.NAME], [key_agreement], [policy], [policy.NAME],
 * [transport.NAME]); libveil's layers register [secure_channel] and
 * [identity]; a plugin that reads a section other than its own, or an
 * application (e.g. the veil command's [listener.NAME], [control]),
 * registers it before nodes are made.  Process-wide and thread-safe.
 *
 * pattern: "name", or "prefix.*" for every [prefix.X] (X not empty).
 * check, optional: validates the section's keys and values (0, or
 * VEIL_ECONFIG naming "file:line"); veil_node_new runs it for every
 * section the pattern matches, with the node being made (its plugins
 * loaded, nothing running yet), so a check may load what the section
 * names; node is NULL when an application calls
 * veil_config_check_sections without one.  Registering the same pattern
 * and check again is a no-op.  Errors: VEIL_EINVAL/VEIL_ECONFIG (bad
 * pattern), VEIL_ELIMIT (64 registrations). */
struct veil_node;
typedef int (*veil_config_section_check_fn)(struct veil_node *node, const veil_config *cfg,
                                            const char *section);
VEIL_EXPORT int veil_config_register_section(const char *pattern,
                                             veil_config_section_check_fn check) VEIL_WUR;
/* Undo one registration of (pattern, check); the section is unknown again
 * when every registration of it is undone.  A plugin registers from its
 * init and unregisters from its fini: check is code in the plugin, which
 * must not stay registered after the plugin is unloaded. */
VEIL_EXPORT void veil_config_unregister_section(const char *pattern,
                                                veil_config_section_check_fn check);
/* Every section of cfg registered, and every registered check passing;
 * otherwise VEIL_ECONFIG: "file:line: unknown section [valut]; did you mean
 * [vault]? (accepted: [node], [vault], ...)" or the check's error.
 * veil_node_new calls it with the node (after loading the plugins the
 * configuration names, so their registrations count); node may be NULL. */
VEIL_EXPORT int veil_config_check_sections(const veil_config *cfg,
                                           struct veil_node *node) VEIL_WUR;

/* Scoped helpers: what plugins read their sections with.  A scope that
 * is NULL or has no configuration or no section reads as "every key
 * absent" (getters give the default). */
VEIL_EXPORT const char *veil_config_scope_get(const veil_config_scope *s,
                                              const char *key);
/* "file:line" of the key's value, "set by program", or NULL if absent. */
VEIL_EXPORT const char *veil_config_scope_origin(const veil_config_scope *s,
                                                 const char *key);
VEIL_EXPORT int veil_config_scope_get_int(const veil_config_scope *s, const char *key,
                                          long long def, long long min,
                                          long long max, long long *out) VEIL_WUR;
VEIL_EXPORT int veil_config_scope_get_bool(const veil_config_scope *s,
                                           const char *key, bool def,
                                           bool *out) VEIL_WUR;

VEIL_END_DECLS
#endif
