/* Shared between the fixture plugins and tests/test_plugin_loader.c. */
#ifndef VEIL_TEST_FIXTURES_H
#define VEIL_TEST_FIXTURES_H

#include <veil/plugin.h>

/* fixture_good's greeting when its section sets none. */
#define FIXTURE_GOOD_DEFAULT_GREETING "hello from fixture_good"
/* The detail fixture_initfail's init sets before failing. */
#define FIXTURE_INIT_MESSAGE "fixture_initfail: the frobnicator is not plugged in"
/* The descriptor name fixture_name carries (its file is fixture_name.so). */
#define FIXTURE_OTHER_NAME "someone_else"

/* fixture_good's descriptor, visible so the test can register it as a
 * built-in (the test compiles fixture_good.c with -DVEIL_PLUGIN_BUILTIN). */
extern const veil_plugin_descriptor fixture_good_descriptor;

#endif
