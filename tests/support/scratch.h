/* Names for scratch files and directories of tests and benchmarks: one
 * helper, so every one of them lands under $TMPDIR (/tmp when it is unset
 * or empty) and none is cut short.  Header-only: the benchmarks use it
 * too. */
#ifndef VEIL_TESTS_SCRATCH_H
#define VEIL_TESTS_SCRATCH_H

#include <stdio.h>
#include <stdlib.h>

/* "$TMPDIR/veil-NAME-XXXXXX" into buf, for mkstemp or mkdtemp.  0, or -1
 * when it does not fit cap (a cut template would be no template). */
static inline int scratch_template(char *buf, size_t cap, const char *name)
{
    const char *dir = getenv("TMPDIR");
    int n = snprintf(buf, cap, "%s/veil-%s-XXXXXX", dir != NULL && *dir != '\0' ? dir : "/tmp",
                     name);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

#endif
