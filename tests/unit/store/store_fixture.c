/* Opening and closing a store of each backend for the conformance cases. */
#include <veil/error.h>
#include <veil/store.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "store_fixture.h"

veil_store *store_fixture_reopen(store_fixture *f)
{
    veil_store *s = NULL;
    const char *kv[] = { "path", f->path, NULL };
    int rc = veil_store_new(f->backend->plugin, f->path[0] != '\0' ? kv : NULL, &s);
    if (rc < 0)
        print_error("opening a %s store: %s\n", f->backend->plugin, veil_last_error());
    return rc == 0 ? s : NULL;
}

store_backend store_backend_memory = { "memory", NULL };
store_backend store_backend_sqlite = { "sqlite", store_fixture_reopen };

int store_fixture_open(void **state)
{
    store_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->backend = *state;
    f->open_another = f->backend->open_another;
    if (strcmp(f->backend->plugin, "memory") != 0) {
        snprintf(f->dir, sizeof f->dir, "%s/veil-store.XXXXXX",
                 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
    }
    f->store = store_fixture_reopen(f);
    assert_non_null(f->store);
    *state = f;
    return 0;
}

int store_fixture_close(void **state)
{
    store_fixture *f = *state;
    char cmd[PATH_MAX + 16];
    veil_store_close(f->store);
    if (f->dir[0] != '\0') {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
    }
    free(f);
    return 0;
}
