/* "Did you mean" for plugin names that were not found (issue #16): the
 * nearest built-in or <dir>/<name>.so of the directories the loader
 * searched, by edit distance.  Only names are compared; nothing found this
 * way is ever opened (the loader opens only what a configuration names). */
#include "config_internal.h"
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

void veil__nearest_consider(veil_nearest *n, const char *want, const char *cand, size_t len)
{
    char name[VEIL_CONFIG_NAME_MAX + 1];
    if (len == 0 || len > VEIL_CONFIG_NAME_MAX)
        return;
    memcpy(name, cand, len);
    name[len] = '\0';
    size_t d = veil__edit_distance(want, name);
    /* Close enough to be a typo: about a third of the name. */
    if (d == 0 || d > (strlen(name) + 2) / 3 + 1 || (n->name[0] != '\0' && d >= n->dist))
        return;
    memcpy(n->name, name, len + 1);
    n->dist = d;
}

void veil__nearest_scan_dir(veil_nearest *n, const char *want, const char *dir, size_t dirlen)
{
    char path[4096];
    if (dirlen >= sizeof path)
        return;
    snprintf(path, sizeof path, "%.*s", (int)dirlen, dir);
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len > 3 && strcmp(e->d_name + len - 3, ".so") == 0)
            veil__nearest_consider(n, want, e->d_name, len - 3);
    }
    closedir(d);
}
