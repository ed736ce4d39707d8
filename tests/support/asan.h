/* UNDER_ASAN is defined when AddressSanitizer instruments this build (gcc
 * or clang): its quarantine keeps freed memory resident, so memory bounds
 * measured as RSS are checked in plain builds only. */
#ifndef VEIL_TESTS_ASAN_H
#define VEIL_TESTS_ASAN_H

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#endif
