/* The SoftHSM2 token fixture (softhsm.h). */
#define _XOPEN_SOURCE 700
#include "softhsm.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "scratch.h"

void p11t_require_module(void)
{
    if (access(P11T_MODULE, R_OK) != 0) {
        printf("SKIP: the SoftHSM2 PKCS#11 module %s is not installed (apt-get install "
               "softhsm2)\n", P11T_MODULE);
        exit(77);
    }
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Run softhsm2-util with args; its output into out (NUL-terminated). */
static void util(const char *args, char *out, size_t cap)
{
    char cmd[768];
    snprintf(cmd, sizeof cmd, "softhsm2-util %s 2>&1", args);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        fail_msg("cannot run softhsm2-util");
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    if (st != 0)
        fail_msg("softhsm2-util %s failed (status %d): %s", args, st, out);
}

void p11t_token_new(p11t *t, const char *extra_conf)
{
    char out[8192], args[256];
    memset(t, 0, sizeof *t);
    if (scratch_template(t->dir, sizeof t->dir, "p11") != 0 || mkdtemp(t->dir) == NULL)
        fail_msg("mkdtemp %s failed", t->dir);
    snprintf(t->conf, sizeof t->conf, "%s/softhsm2.conf", t->dir);
    snprintf(out, sizeof out, "%s/tokens", t->dir);
    assert_int_equal(mkdir(out, 0700), 0);
    FILE *f = fopen(t->conf, "w");
    assert_non_null(f);
    fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
            "log.level = ERROR\nslots.removable = false\n%s", t->dir,
            extra_conf != NULL ? extra_conf : "");
    assert_int_equal(fclose(f), 0);
    assert_int_equal(setenv("SOFTHSM2_CONF", t->conf, 1), 0);
    assert_int_equal(setenv(P11T_PIN_ENV, P11T_PIN, 1), 0);
    snprintf(args, sizeof args, "--init-token --free --label %s --pin %s --so-pin %s",
             P11T_LABEL, P11T_PIN, P11T_SO_PIN);
    util(args, out, sizeof out);
    util("--show-slots", out, sizeof out);
    /* Each slot lists "Serial number: S" then "Label: L". */
    for (const char *s = strstr(out, "Serial number:"); s != NULL;
         s = strstr(s + 1, "Serial number:")) {
        char ser[33] = "", lab[64] = "";
        const char *l = strstr(s, "Label:");
        if (sscanf(s, "Serial number: %32s", ser) == 1 && l != NULL &&
            sscanf(l, "Label: %63s", lab) == 1 && strcmp(lab, P11T_LABEL) == 0) {
            snprintf(t->serial, sizeof t->serial, "%s", ser);
            return;
        }
    }
    fail_msg("no serial for token %s in: %s", P11T_LABEL, out);
}

void p11t_token_free(p11t *t)
{
    if (t->dir[0] != '\0')
        nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    unsetenv("SOFTHSM2_CONF");
    memset(t, 0, sizeof *t);
}
