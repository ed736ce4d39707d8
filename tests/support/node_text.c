/* node_from_text (node_text.h); node_new_from_text is in node_new_text.c
 * (no cmocka: veil-bench links it too). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "node_text.h"

#include <veil/veil.h>

int node_from_text(const char *text, const char *origin)
{
    veil_config *cfg;
    veil_node *node = NULL;
    assert_int_equal(veil_config_new_from_text(&cfg, text, origin), 0);
    veil_node_options o = {.size = sizeof o, .config = cfg};
    int rc = veil_node_new(&node, NULL, &o);
    veil_config_free(cfg);
    if (rc == 0)
        assert_int_equal(veil_node_free(node), 0);
    else
        assert_null(node);
    return rc;
}
