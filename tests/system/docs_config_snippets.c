/* Every configuration snippet in the documentation parses and names only
 * known sections and keys (issue #16): docs/CONFIG.md, "Sections".
 *
 *   docs_config_snippets FILE...
 *
 * A snippet is a fenced block opened by a line "```ini" (any info after
 * "ini" too).  Each is parsed with veil_config_new_from_text with the
 * lines outside it blanked, so errors name the document's own file:line;
 * every section holding `plugin = NAME` has its plugin opened (keys
 * checked, init run: a plugin registers the sections it reads) unless the
 * name is an absolute path or a plugin this build does not have (noted);
 * then veil_config_check_sections checks every section is known and the
 * [node], [secure_channel], [identity] values.  TAP on stdout: one line
 * per snippet. */
#include <veil/config.h>
#include <veil/error.h>
#include <veil/plugin.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLUGINS_MAX 16

static int kind_of(const char *section)
{
    static const struct { const char *base; int kind; } kinds[] = {
        { "vault", VEIL_PLUGIN_VAULT },
        { "key_agreement", VEIL_PLUGIN_KEY_AGREEMENT },
        { "policy", VEIL_PLUGIN_TRUST_POLICY },
        { "transport", VEIL_PLUGIN_TRANSPORT },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t n = strlen(kinds[i].base);
        if (strncmp(section, kinds[i].base, n) == 0 && (section[n] == '\0' || section[n] == '.'))
            return kinds[i].kind;
    }
    return 0;
}

/* Open the plugins the snippet names; 0 or the first error. */
static int open_plugins(const veil_config *cfg, veil_plugin **p, size_t *np)
{
    for (size_t i = 0; i < veil_config_section_count(cfg); i++) {
        const char *sec = veil_config_section_name(cfg, i);
        const char *name = veil_config_get(cfg, sec, "plugin");
        int kind = kind_of(sec);
        if (name == NULL || kind == 0 || *np == PLUGINS_MAX)
            continue;
        if (name[0] == '/') {
            printf("# [%s] plugin %s: a path, keys not checked\n", sec, name);
            continue;
        }
        int rc = veil_plugin_open(cfg, sec, kind, NULL, &p[*np]);
        if (rc == VEIL_EPLUGIN_NOTFOUND) {
            printf("# [%s] plugin '%s' is not in this build: its keys not checked\n", sec, name);
            continue;
        }
        if (rc < 0)
            return rc;
        (*np)++;
    }
    return 0;
}

static int check_snippet(const char *text, const char *origin)
{
    veil_config *cfg;
    veil_plugin *p[PLUGINS_MAX];
    size_t np = 0;
    int rc = veil_config_new_from_text(&cfg, text, origin);
    if (rc < 0)
        return rc;
    rc = open_plugins(cfg, p, &np);
    if (rc == 0)
        rc = veil_config_check_sections(cfg, NULL);
    while (np > 0)
        veil_plugin_close(p[--np]);
    veil_config_free(cfg);
    return rc;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t r; buf != NULL && (r = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += r;
        if (n + 1 == cap) {
            char *b = realloc(buf, cap *= 2);
            if (b == NULL)
                free(buf);
            buf = b;
        }
    }
    fclose(f);
    if (buf != NULL)
        buf[n] = '\0';
    return buf;
}

/* Check every snippet of path; *count snippets seen, *failed failing. */
static void check_file(const char *path, unsigned *count, unsigned *failed)
{
    char *doc = slurp(path);
    if (doc == NULL) {
        printf("not ok %u - %s: cannot read\n", ++*count, path);
        ++*failed;
        return;
    }
    size_t len = strlen(doc), line = 0, start = 0;
    char *text = malloc(len + 1);
    size_t tn = 0;
    bool in = false;
    for (char *s = doc; text != NULL && *s != '\0';) {
        char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        line++;
        if (!in && strncmp(s, "```ini", 6) == 0) {
            in = true;
            start = line;
            tn = 0;
            for (size_t i = 0; i < line; i++)
                text[tn++] = '\n'; /* the snippet keeps the document's line numbers */
        } else if (in && strncmp(s, "```", 3) == 0) {
            in = false;
            text[tn] = '\0';
            int rc = check_snippet(text, path);
            if (rc < 0) {
                ++*failed;
                printf("not ok %u - %s:%zu: snippet: %s\n", ++*count, path, start,
                       veil_last_error());
            } else {
                printf("ok %u - %s:%zu\n", ++*count, path, start);
            }
        } else if (in) {
            memcpy(text + tn, s, n);
            tn += n;
            text[tn++] = '\n';
        }
        s += n + (nl != NULL);
    }
    free(text);
    free(doc);
}

int main(int argc, char **argv)
{
    unsigned count = 0, failed = 0;
    /* The veil command's sections (registered by cli/main.c in the
     * daemon; docs/CLI.md shows them), without their checks. */
    static const char *const cli_sections[] = { "daemon", "control", "listener.*", "inlet.*",
                                                "outlet.*", "relay", "register.*" };
    for (size_t i = 0; i < sizeof cli_sections / sizeof cli_sections[0]; i++)
        if (veil_config_register_section(cli_sections[i], NULL) < 0) {
            fprintf(stderr, "registering [%s]: %s\n", cli_sections[i], veil_last_error());
            return 1;
        }
    for (int i = 1; i < argc; i++)
        check_file(argv[i], &count, &failed);
    printf("1..%u\n", count);
    return failed > 0 || count == 0;
}
