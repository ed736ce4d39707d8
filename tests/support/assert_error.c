/* The error-assertion helper (assert_error.h). */
#include "assert_error.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <veil/error.h>

const char *test_error_name(int code)
{
#define NAME(c) case c: return #c
    switch (code) {
    case 0:
        return "0";
    NAME(VEIL_EINVAL); NAME(VEIL_ENOMEM); NAME(VEIL_ENOROUTE); NAME(VEIL_ETIMEDOUT);
    NAME(VEIL_ETRUNCATED); NAME(VEIL_EOVERLONG); NAME(VEIL_ELIMIT); NAME(VEIL_ETRAILING);
    NAME(VEIL_EVERSION); NAME(VEIL_ENOTFOUND); NAME(VEIL_EEXIST); NAME(VEIL_ECONFIG);
    NAME(VEIL_EPLUGIN_NOTFOUND); NAME(VEIL_EPLUGIN_NOENTRY); NAME(VEIL_EPLUGIN_ABI);
    NAME(VEIL_EPLUGIN_KIND); NAME(VEIL_EPLUGIN_NAME); NAME(VEIL_EPLUGIN_INIT);
    NAME(VEIL_EUNSUPPORTED); NAME(VEIL_EAUTH); NAME(VEIL_ELOWORDER); NAME(VEIL_ETYPE);
    NAME(VEIL_EPERM); NAME(VEIL_EBADHANDLE); NAME(VEIL_ESTATE); NAME(VEIL_EIO);
    NAME(VEIL_ECLOSED); NAME(VEIL_EAGAIN); NAME(VEIL_ELOCKED); NAME(VEIL_EDENIED);
    NAME(VEIL_EREPLAY); NAME(VEIL_EFORMAT); NAME(VEIL_ENOSPC); NAME(VEIL_EHANDSHAKE);
    NAME(VEIL_ENONCE); NAME(VEIL_ESTOPPED); NAME(VEIL_EPASSPHRASE); NAME(VEIL_EPERMISSIONS);
    NAME(VEIL_EREVOKED); NAME(VEIL_EEXPIRED); NAME(VEIL_EBUSY);
    default:
        return "unknown code";
    }
#undef NAME
}

static bool detail_matches(const char *got, const char *want, bool exact)
{
    return exact ? strcmp(got, want) == 0 : strstr(got, want) != NULL;
}

void test_assert_error(int rc, int code, const char *code_text, const char *detail, bool exact,
                       const char *call, const char *file, int line)
{
    const char *got = veil_last_error();
    if (rc == code && detail_matches(got, detail, exact))
        return;
    print_error("%s\n  expected %s (%d) with a detail %s \"%s\"\n  got      %s (%d) with \"%s\"\n",
                call, code_text, code, exact ? "equal to" : "containing", detail,
                test_error_name(rc), rc, got);
    _fail(file, line);
}

void test_assert_detail(const char *detail, bool exact, const char *file, int line)
{
    const char *got = veil_last_error();
    if (detail_matches(got, detail, exact))
        return;
    print_error("last error detail\n  expected one %s \"%s\"\n  got      \"%s\"\n",
                exact ? "equal to" : "containing", detail, got);
    _fail(file, line);
}

void test_assert_detail_lacks(const char *fragment, const char *file, int line)
{
    const char *got = veil_last_error();
    if (strstr(got, fragment) == NULL)
        return;
    print_error("last error detail\n  expected one without \"%s\"\n  got      \"%s\"\n", fragment,
                got);
    _fail(file, line);
}
