/* The one way tests assert a failing call: its exact error code and its
 * detail (veil_last_error()).  On a mismatch the test fails at the caller's
 * file:line, printing the call, the expected code's name and detail, and
 * the actual ones:
 *
 *   assert_error(veil_x(...), VEIL_EINVAL, "the whole detail");
 *   assert_error_contains(veil_x(...), VEIL_EINVAL, "a fragment of it");
 *
 * When the code was checked already (or the failure came another way, e.g.
 * through a callback), the detail alone:
 *
 *   assert_last_error("the whole detail");
 *   assert_last_error_contains("a fragment of it");
 *
 * Prefer the exact forms: a fragment only where the detail holds something
 * that varies from run to run (a port, a temporary path). */
#ifndef VEIL_TESTS_ASSERT_ERROR_H
#define VEIL_TESTS_ASSERT_ERROR_H

#include <stdbool.h>

#define assert_error(call, code, detail) \
    test_assert_error((call), (code), #code, (detail), true, #call, __FILE__, __LINE__)
#define assert_error_contains(call, code, fragment) \
    test_assert_error((call), (code), #code, (fragment), false, #call, __FILE__, __LINE__)
#define assert_last_error(detail) test_assert_detail((detail), true, __FILE__, __LINE__)
#define assert_last_error_contains(fragment) \
    test_assert_detail((fragment), false, __FILE__, __LINE__)
/* The detail must not contain fragment (a secret, a path it must not leak). */
#define assert_last_error_lacks(fragment) test_assert_detail_lacks((fragment), __FILE__, __LINE__)

/* The name of a VEIL_E* code ("VEIL_EINVAL"), "0", or "unknown code". */
const char *test_error_name(int code);

void test_assert_error(int rc, int code, const char *code_text, const char *detail, bool exact,
                       const char *call, const char *file, int line);
void test_assert_detail(const char *detail, bool exact, const char *file, int line);
void test_assert_detail_lacks(const char *fragment, const char *file, int line);

#endif
