/* node_new_from_text (node_text.h), without cmocka. */
#include "node_text.h"

#include <veil/veil.h>

int node_new_from_text(const char *text, veil_node **node, veil_context **app)
{
    veil_config *cfg;
    int rc = veil_config_new_from_text(&cfg, text, "<test>");
    if (rc < 0)
        return rc;
    veil_node_options o = {.size = sizeof o, .config = cfg};
    rc = veil_node_new(node, app, &o);
    veil_config_free(cfg);
    return rc;
}
