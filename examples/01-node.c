/* Example 01: create a node and stop it.
 *
 * Contract (checked by tests/system/examples.sh): prints nothing, exits 0.
 * A node with no configuration ($VEIL_CONF unset) loads no plugin; its
 * application context has the address "app". */
#include <veil/veil.h>

#include "example_args.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "\n"
    "  Create a node and stop it (prints nothing).\n";

int main(int argc, char **argv)
{
    example_args(argc, argv, usage, 0);
    veil_node *node;
    veil_context *app;
    int rc = veil_node_new(&node, &app, NULL);
    if (rc < 0) {
        fprintf(stderr, "veil_node_new: %s (%s)\n", veil_strerror(rc), veil_last_error());
        return 1;
    }
    if (strcmp(veil_ctx_address(app)->bytes, "app") != 0) {
        fprintf(stderr, "unexpected app address '%s'\n", veil_ctx_address(app)->bytes);
        (void)veil_node_free(node);
        return 1;
    }
    return veil_node_free(node) == 0 ? 0 : 1;
}
