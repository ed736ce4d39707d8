/* A node made from configuration text, for tests of what veil_node_new
 * accepts or refuses. */
#ifndef VEIL_TESTS_NODE_TEXT_H
#define VEIL_TESTS_NODE_TEXT_H

#include <veil/veil.h>

/* veil_node_new with a configuration parsed from text (origin names it in
 * errors): its return code; a node made is freed at once, a refusal left
 * none (asserted). */
int node_from_text(const char *text, const char *origin);

/* veil_node_new with a configuration parsed from text ("<test>" in errors):
 * its return code, the node and its application context in *node, *app. */
int node_new_from_text(const char *text, veil_node **node, veil_context **app);

#endif
