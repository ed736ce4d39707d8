/* The sections a configuration may hold (docs/CONFIG.md, "Sections";
 * docs/PLUGINS.md, "Sections a plugin reads").  Nothing here knows a
 * section by name: whatever reads a section registers it — the core
 * ([node], [log]), each plugin kind ([vault], [vault.NAME], ...: plugin_kind.c),
 * the channel and identity layers (constructors), a plugin (from its init)
 * and an application (the CLI's [listener.NAME], [control]) — with an
 * optional check that validates the section's keys and values when a node
 * is made.  A section nobody registered is an error naming its line, the
 * accepted sections and the nearest one: a typo must never fall back to a
 * default (issue #16).  Process-wide, behind a lock: applications register
 * before they make nodes, possibly from several threads. */
#include <veil/config.h>
#include <veil/error.h>

#include "config_internal.h"
#include "upper.h"
#include "util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SECTIONS_MAX 64u

typedef struct known {
    char pattern[VEIL_CONFIG_NAME_MAX + 3]; /* "name" or "prefix.*" */
    veil_config_section_check_fn check;
    unsigned refs; /* registrations not yet unregistered */
} known;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static known table[SECTIONS_MAX] = {
    { "node", veil__config_check_node, 1 },
    { "vault", veil__config_check_vault, 1 },
    { "vault.*", veil__config_check_vault, 1 },
    { "log", veil__config_check_log, 1 },
    { "store", veil__config_check_store, 1 },
    { "store.*", veil__config_check_store, 1 },
};
static size_t ntable = 6;

/* Does section match pattern ("name", or "prefix.*" for prefix.X, X not
 * empty)? */
static bool matches(const char *pattern, const char *section)
{
    size_t n = strlen(pattern);
    if (n >= 2 && strcmp(pattern + n - 2, ".*") == 0)
        return strncmp(section, pattern, n - 1) == 0 && section[n - 1] != '\0';
    return strcmp(pattern, section) == 0;
}

static int add(const char *pattern, veil_config_section_check_fn check)
{
    size_t n = pattern != NULL ? strlen(pattern) : 0;
    bool wild = n >= 2 && strcmp(pattern + n - 2, ".*") == 0;
    int rc;
    if (n == 0)
        return veil_error_set(VEIL_EINVAL, "veil_config_register_section: empty pattern");
    if ((rc = veil__config_check_name(pattern, wild ? n - 2 : n, "", "section pattern")) < 0)
        return rc;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < ntable; i++) {
        if (strcmp(table[i].pattern, pattern) == 0 && table[i].check == check) {
            /* Counted: a plugin loaded by two nodes registers twice and
             * unregisters twice. */
            if (table[i].refs < UINT32_MAX)
                table[i].refs++;
            pthread_mutex_unlock(&lock);
            return 0;
        }
    }
    if (ntable == SECTIONS_MAX) {
        pthread_mutex_unlock(&lock);
        return veil_error_set(VEIL_ELIMIT, "cannot register section '%s': %u registered already",
                              pattern, SECTIONS_MAX);
    }
    memcpy(table[ntable].pattern, pattern, n + 1);
    table[ntable].refs = 1;
    table[ntable++].check = check;
    pthread_mutex_unlock(&lock);
    return 0;
}

int veil_config_register_section(const char *pattern, veil_config_section_check_fn check)
{
    return add(pattern, check);
}

void veil_config_unregister_section(const char *pattern, veil_config_section_check_fn check)
{
    if (pattern == NULL)
        return;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < ntable; i++) {
        if (strcmp(table[i].pattern, pattern) != 0 || table[i].check != check)
            continue;
        if (--table[i].refs == 0) {
            memmove(&table[i], &table[i + 1], (ntable - i - 1) * sizeof table[0]);
            ntable--;
        }
        break;
    }
    pthread_mutex_unlock(&lock);
}

/* Levenshtein distance, for "did you mean" (names are <= 64 bytes). */
size_t veil__edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[VEIL_CONFIG_NAME_MAX * 2 + 2];
    if (lb >= sizeof row / sizeof row[0])
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The accepted sections, as "[a], [b.NAME], ..." for an error. */
static void accepted(char *out, size_t cap, const char *section, char *hint, size_t hcap)
{
    size_t pos = 0, best = (size_t)-1;
    char dotted[VEIL_CONFIG_NAME_MAX + 1];
    /* "valut.backup" is compared with the prefixes by its head. */
    snprintf(dotted, sizeof dotted, "%s", section);
    char *dot = strchr(dotted, '.');
    out[0] = hint[0] = '\0';
    for (size_t i = 0; i < ntable; i++) {
        char base[VEIL_CONFIG_NAME_MAX + 3];
        size_t n = strlen(table[i].pattern), j = 0;
        while (j < i && strcmp(table[j].pattern, table[i].pattern) != 0)
            j++;
        if (j < i)
            continue; /* registered with two checks: listed once */
        bool wild = n >= 2 && strcmp(table[i].pattern + n - 2, ".*") == 0;
        snprintf(base, sizeof base, "%.*s", (int)(wild ? n - 2 : n), table[i].pattern);
        int w = snprintf(out + pos, cap - pos, "%s[%s%s]", pos ? ", " : "", base,
                         wild ? ".NAME" : "");
        if (w > 0 && (size_t)w < cap - pos)
            pos += (size_t)w;
        if (dot != NULL)
            *dot = '\0';
        size_t d = veil__edit_distance(wild && dot != NULL ? dotted : section, base);
        if (dot != NULL)
            *dot = '.';
        if (d < best && d <= (strlen(base) + 2) / 3 + 1) {
            best = d;
            if (wild && dot != NULL)
                snprintf(hint, hcap, "; did you mean [%s%s]?", base, dot);
            else
                snprintf(hint, hcap, "; did you mean [%s%s]?", base, wild ? ".NAME" : "");
        }
    }
}

/* Register the plugin kinds' sections ([vault], [vault.*], ...). */
static void register_kinds(void)
{
    for (int kind = 0; kind < 16; kind++) {
        const veil_plugin_kind_info *k = veil__plugin_kind(kind);
        char p[VEIL_CONFIG_NAME_MAX + 3];
        if (k == NULL)
            continue;
        /* Kind names are valid section names, the table has room for
         * them (a handful): add cannot fail here. */
        if (k->bare_section)
            add(k->name, NULL);
        snprintf(p, sizeof p, "%s.*", k->name);
        add(p, NULL);
    }
}

static int check_one(const veil_config *cfg, const char *section, struct veil_node *node)
{
    veil_config_section_check_fn checks[SECTIONS_MAX];
    size_t nchecks = 0;
    bool found = false;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < ntable; i++) {
        if (!matches(table[i].pattern, section))
            continue;
        found = true;
        if (table[i].check != NULL)
            checks[nchecks++] = table[i].check;
    }
    if (!found) {
        char list[1024], hint[VEIL_CONFIG_NAME_MAX * 2 + 40];
        accepted(list, sizeof list, section, hint, sizeof hint);
        pthread_mutex_unlock(&lock);
        return veil_error_set(VEIL_ECONFIG, "%s: unknown section [%s]%s (accepted: %s; "
                              "docs/CONFIG.md, \"Sections\")",
                              veil__config_section_origin(cfg, section), section, hint, list);
    }
    pthread_mutex_unlock(&lock);
    /* Checks run unlocked: one may register a section itself. */
    for (size_t i = 0; i < nchecks; i++) {
        int rc = checks[i](node, cfg, section);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int veil_config_check_sections(const veil_config *cfg, struct veil_node *node)
{
    if (cfg == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_config_check_sections: NULL config");
    register_kinds();
    for (size_t i = 0; i < veil_config_section_count(cfg); i++) {
        int rc = check_one(cfg, veil_config_section_name(cfg, i), node);
        if (rc < 0)
            return rc;
    }
    return 0;
}
