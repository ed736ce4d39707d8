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
    veil_config_entry *keys;
    size_t n, cap;
} veil_config_section;

struct veil_config {
    veil_config_section *secs;
    size_t n, cap;
};

/* The section called name, made (empty) when absent. */
VEIL_CONFIG_HIDDEN int veil__config_add_section(veil_config *cfg, const char *name,
                                                veil_config_section **out);
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
