/* The crypto backends this build has, for tests run once per backend with
 * the backend's name as their prestate:
 *
 *   #define CRYPTO_TESTS(b) cmocka_unit_test_prestate_setup_teardown(t, up, down, b), ...
 *   const struct CMUnitTest tests[] = { FOR_EACH_BACKEND(CRYPTO_TESTS) };
 *
 * Include config.h first. */
#ifndef VEIL_TESTS_BACKENDS_H
#define VEIL_TESTS_BACKENDS_H

#ifdef VEIL_HAVE_OPENSSL
#define VEIL_TEST_OPENSSL_(X) X("openssl"),
#else
#define VEIL_TEST_OPENSSL_(X)
#endif
#ifdef VEIL_HAVE_SODIUM
#define VEIL_TEST_SODIUM_(X) X("sodium"),
#else
#define VEIL_TEST_SODIUM_(X)
#endif
#define FOR_EACH_BACKEND(X) VEIL_TEST_OPENSSL_(X) VEIL_TEST_SODIUM_(X)

#endif
