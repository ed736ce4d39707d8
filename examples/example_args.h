/* Shared by the examples: the command line.
 *
 * example_args(argc, argv, usage, max_args): "--help" or "-h" prints the
 * usage (its first line the synopsis, then what the example does) on
 * stdout and exits 0; any other argument starting with '-', or more than
 * MAX_ARGS arguments, prints it on stderr and exits 2 — an option is never
 * taken for an address.  An example with options of its own (06's
 * initiator) calls example_help(), takes its options and checks the rest
 * with example_positional(). */
#ifndef VEIL_EXAMPLE_ARGS_H
#define VEIL_EXAMPLE_ARGS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void example_usage_exit(const char *argv0, const char *usage, int status)
{
    const char *name = strrchr(argv0, '/');
    fprintf(status == 0 ? stdout : stderr, "usage: %s%s", name != NULL ? name + 1 : argv0, usage);
    exit(status);
}

static inline void example_help(int argc, char **argv, const char *usage)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            example_usage_exit(argv[0], usage, 0);
}

/* ARGV[FIRST..] are positional: none starts with '-', MIN to MAX of them. */
static inline void example_positional(int argc, char **argv, int first, const char *usage,
                                      int min, int max)
{
    for (int i = first; i < argc; i++)
        if (argv[i][0] == '-') {
            fprintf(stderr, "%s: unknown option '%s'\n", argv[0], argv[i]);
            example_usage_exit(argv[0], usage, 2);
        }
    if (argc - first < min || argc - first > max) {
        fprintf(stderr, "%s: %s arguments\n", argv[0], argc - first < min ? "missing" : "too many");
        example_usage_exit(argv[0], usage, 2);
    }
}

static inline void example_args(int argc, char **argv, const char *usage, int max_args)
{
    example_help(argc, argv, usage);
    example_positional(argc, argv, 1, usage, 0, max_args);
}

#endif
