/* The configuration object's layout and the helpers config.c (storage,
 * names, programmatic access) shares with config_parse.c (the INI parser,
 * files).  Core-internal: not installed, not exported. */
#ifndef VEIL_CONFIG_INTERNAL_H
#define VEIL_CONFIG_INTERNAL_H

#include <veil/config.h>

#include <stdbool.h>
#include <stddef.h>

#define VEIL_CONFIG_HIDDEN __attribute__((visibility("hidden")))

#define VEIL_CONFIG_SHOW 64        /* longest token quoted in an error */

typedef struct veil_config_entry {
    char *key;
    char *value;
    char *origin;
} veil_config_entry;

typedef struct veil_config_section {
    char *name;
    char *origin; /* "path:line" of its first header, or "set by program" */
    veil_config_entry *keys;
    size_t n, cap;
} veil_config_section;

struct veil_config {
    veil_config_section *secs;
    size_t n, cap;
};

/* The section called name, made (empty) when absent; origin: where it
 * was first named ("path:line", "set by program"). */
VEIL_CONFIG_HIDDEN int veil__config_add_section(veil_config *cfg, const char *name,
                                                const char *origin, veil_config_section **out);
/* Where [section] was first named; "?" when unknown. */
VEIL_CONFIG_HIDDEN const char *veil__config_section_origin(const veil_config *cfg,
                                                           const char *section);
/* Levenshtein distance of a and b (names up to VEIL_CONFIG_NAME_MAX bytes;
 * SIZE_MAX beyond), for "did you mean" hints. */
VEIL_CONFIG_HIDDEN size_t veil__edit_distance(const char *a, const char *b);
/* The nearest name to a wanted one, for "did you mean" (plugin_hint.c):
 * start with {0}; name stays "" when nothing is close. */
typedef struct veil_nearest {
    char name[VEIL_CONFIG_NAME_MAX + 1];
    size_t dist;
} veil_nearest;
VEIL_CONFIG_HIDDEN void veil__nearest_consider(veil_nearest *n, const char *want,
                                               const char *cand, size_t len);
/* Consider every <name>.so in dir (not opened, only listed). */
VEIL_CONFIG_HIDDEN void veil__nearest_scan_dir(veil_nearest *n, const char *want,
                                               const char *dir, size_t dirlen);

/* The core's section checks, registered in config_sections.c: [node]
 * (node.c); [vault] and [vault.NAME] load the section's plugin (the
 * default software vault when it names none), whose init checks its
 * values (vault_open.c). */
struct veil_node;
VEIL_CONFIG_HIDDEN int veil__config_check_node(struct veil_node *node, const veil_config *cfg,
                                               const char *section);
VEIL_CONFIG_HIDDEN int veil__config_check_vault(struct veil_node *node, const veil_config *cfg,
                                                const char *section);
/* [log] (log_config.c). */
VEIL_CONFIG_HIDDEN int veil__config_check_log(struct veil_node *node, const veil_config *cfg,
                                              const char *section);
/* [store] / [store.NAME]: its plugin loads (store.c). */
VEIL_CONFIG_HIDDEN int veil__config_check_store(struct veil_node *node, const veil_config *cfg,
                                                const char *section);
VEIL_CONFIG_HIDDEN veil_config_entry *veil__config_find_key(const veil_config_section *s,
                                                            const char *key);
/* Set key to value from origin; takes ownership of value and origin (freed
 * on failure too). */
VEIL_CONFIG_HIDDEN int veil__config_put_key(veil_config_section *s, const char *key, char *value,
                                            char *origin);

/* Names (sections and keys): a-z 0-9 _ . -, 1..VEIL_CONFIG_NAME_MAX. */
VEIL_CONFIG_HIDDEN bool veil__config_name_char(char c);
/* c for an error: 'X' when printable, 0xNN otherwise. */
VEIL_CONFIG_HIDDEN const char *veil__config_show_char(char c, char buf[8]);
/* where: "path:line: " or ""; what: "section name" / "key".  VEIL_ECONFIG. */
VEIL_CONFIG_HIDDEN int veil__config_check_name(const char *name, size_t n, const char *where,
                                               const char *what);

#endif
