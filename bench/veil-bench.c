/* veil-bench [--smoke] [--json FILE] [--list] [case...]
 *
 * Runs the registered benchmark cases (all, or those named), prints a
 * table and optionally writes the results as JSON:
 *   {"smoke": false, "results": [{"case": "routing", "variant": "hops=3",
 *     "metric": "deliveries/s", "value": 2.5e6, "unit": "1/s"}, ...]} */
#include "bench.h"

#include <veil/veil.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct bench_result {
    const char *case_name;
    char variant[64];
    char metric[48];
    char unit[16];
    double value;
} bench_result;

struct bench_run {
    bool smoke;
    const char *case_name;
    bench_result *results;
    size_t n, cap;
};

bool bench_smoke(const bench_run *b)
{
    return b->smoke;
}

void bench_emit(bench_run *b, const char *variant, const char *metric, double value,
                const char *unit)
{
    if (b->n == b->cap) {
        size_t ncap = b->cap ? 2 * b->cap : 32;
        bench_result *r = realloc(b->results, ncap * sizeof *r);
        if (r == NULL) {
            fprintf(stderr, "veil-bench: out of memory\n");
            exit(2);
        }
        b->results = r;
        b->cap = ncap;
    }
    bench_result *r = &b->results[b->n++];
    r->case_name = b->case_name;
    snprintf(r->variant, sizeof r->variant, "%s", variant);
    snprintf(r->metric, sizeof r->metric, "%s", metric);
    snprintf(r->unit, sizeof r->unit, "%s", unit);
    r->value = value;
}

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long bench_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static int write_json(const bench_run *b, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    fprintf(f, "{\"smoke\": %s, \"results\": [", b->smoke ? "true" : "false");
    for (size_t i = 0; i < b->n; i++) {
        const bench_result *r = &b->results[i];
        fprintf(f, "%s\n  {\"case\": ", i ? "," : "");
        json_string(f, r->case_name);
        fputs(", \"variant\": ", f);
        json_string(f, r->variant);
        fputs(", \"metric\": ", f);
        json_string(f, r->metric);
        fprintf(f, ", \"value\": %.6g, \"unit\": ", r->value);
        json_string(f, r->unit);
        fputc('}', f);
    }
    fputs("\n]}\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

static void print_table(const bench_run *b)
{
    printf("%-16s %-16s %-22s %16s  %s\n", "case", "variant", "metric", "value", "unit");
    for (size_t i = 0; i < b->n; i++) {
        const bench_result *r = &b->results[i];
        printf("%-16s %-16s %-22s %16.6g  %s\n", r->case_name, r->variant, r->metric,
               r->value, r->unit);
    }
}

static const bench_case *find_case(const char *name)
{
    for (size_t i = 0; bench_cases[i] != NULL; i++)
        if (strcmp(bench_cases[i]->name, name) == 0)
            return bench_cases[i];
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: veil-bench [--smoke] [--json FILE] [--list] [case...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    bench_run b = {0};
    const char *json = NULL;
    const bench_case *selected[64];
    size_t nsel = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0) {
            b.smoke = true;
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            json = argv[++i];
        } else if (strcmp(argv[i], "--list") == 0) {
            for (size_t k = 0; bench_cases[k] != NULL; k++)
                printf("%-16s %s\n", bench_cases[k]->name, bench_cases[k]->description);
            return 0;
        } else if (argv[i][0] == '-') {
            return usage();
        } else {
            const bench_case *c = find_case(argv[i]);
            if (c == NULL) {
                fprintf(stderr, "veil-bench: unknown case '%s' (see --list)\n", argv[i]);
                return 2;
            }
            if (nsel < sizeof selected / sizeof selected[0])
                selected[nsel++] = c;
        }
    }
    if (nsel == 0)
        for (size_t k = 0; bench_cases[k] != NULL && nsel < 64; k++)
            selected[nsel++] = bench_cases[k];
    int status = 0;
    for (size_t i = 0; i < nsel; i++) {
        b.case_name = selected[i]->name;
        int rc = selected[i]->run(&b);
        if (rc < 0) {
            fprintf(stderr, "veil-bench: case '%s' failed: %s (%s)\n", b.case_name,
                    veil_strerror(rc), veil_last_error());
            status = 1;
        }
    }
    print_table(&b);
    if (json != NULL && write_json(&b, json) < 0)
        status = 1;
    free(b.results);
    return status;
}
