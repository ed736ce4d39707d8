/* libFuzzer target for the configuration parser: parse arbitrary text; a
 * parse must either succeed with walkable contents or fail with
 * VEIL_ECONFIG and a "<fuzz>:line: " detail. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <veil/config.h>
#include <veil/error.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const veil_config *cfg)
{
    for (size_t i = 0; i < veil_config_section_count(cfg); i++) {
        const char *sec = veil_config_section_name(cfg, i);
        for (size_t j = 0; j < veil_config_key_count(cfg, sec); j++) {
            const char *k, *v;
            long long n;
            bool b;
            if (veil_config_key_at(cfg, sec, j, &k, &v) != 0)
                abort();
            if (strlen(v) > VEIL_CONFIG_VALUE_MAX || veil_config_get(cfg, sec, k) != v)
                abort();
            if (strncmp(veil_config_origin(cfg, sec, k), "<fuzz>:", 7) != 0)
                abort();
            int rc = veil_config_get_int(cfg, sec, k, 0, -1000000, 1000000, &n);
            if (rc != 0 && rc != VEIL_ECONFIG)
                abort();
            rc = veil_config_get_bool(cfg, sec, k, false, &b);
            if (rc != 0 && rc != VEIL_ECONFIG)
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    veil_config *cfg, *copy;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    int rc = veil_config_new_from_text(&cfg, text, "<fuzz>");
    if (rc == 0) {
        walk(cfg);
        if (veil_config_new_copy(&copy, cfg) != 0)
            abort();
        walk(copy);
        veil_config_free(copy);
        veil_config_free(cfg);
    } else if (rc != VEIL_ECONFIG || strncmp(veil_last_error(), "<fuzz>:", 7) != 0) {
        abort();
    }
    free(text);
    return 0;
}
