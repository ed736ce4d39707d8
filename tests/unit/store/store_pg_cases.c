/* postgresql-only conformance cases: rows damaged behind the store's back,
 * and the password kept out of the configuration. */
#include <veil/error.h>
#include <veil/store.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "assert_error.h"
#include "store_fixture.h"

void test_pg_corrupt_row(void **state)
{
    store_fixture *f = *state;
    uint8_t buf[8];
    size_t len;
    char key[VEIL_STORE_KEY_MAX + 1];
    if (f->skipped)
        skip();
    assert_int_equal(veil_store_put(f->store, "n", "ver", (const uint8_t *)"v", 1,
                                    VEIL_STORE_ANY, NULL), 0);
    store_pg_exec("UPDATE veil_records SET version = -3 WHERE key = 'ver';"
                  "INSERT INTO veil_records VALUES ('n', 'sp ace', 1, '\\x00');"
                  "INSERT INTO veil_records VALUES ('n', 'big', 1, "
                  "decode(repeat('00', 65537), 'hex'))");
    assert_error_contains(veil_store_get(f->store, "n", "ver", buf, sizeof buf, &len, NULL),
                          VEIL_EFORMAT,
                          ": table veil_records, record n/ver: version is not an integer >= 1");
    assert_error_contains(veil_store_get(f->store, "n", "big", buf, sizeof buf, &len, NULL),
                          VEIL_EFORMAT, "record n/big: value is over VEIL_STORE_VALUE_MAX bytes");
    assert_error_contains(veil_store_take(f->store, "n", "sp", VEIL_STORE_PREFIX, key, buf,
                                          sizeof buf, &len), VEIL_EFORMAT,
                          "record n/sp ace: key holds a byte outside 0x21..0x7e");
    /* rolled back: the damaged row is still there, not taken */
    assert_error_contains(veil_store_take(f->store, "n", "sp", VEIL_STORE_PREFIX, key, buf,
                                          sizeof buf, &len), VEIL_EFORMAT, "record n/sp ace");
    store_pg_exec("UPDATE veil_store_meta SET value = 9");
    const char *pw, *why;
    const char *ci = store_pg_server(&pw, &why);
    veil_store *s = NULL;
    assert_error_contains(veil_store_new("postgresql", (const char *[]){ "conninfo", ci,
                                             "password_file", pw, NULL }, &s),
                          VEIL_EVERSION, "format 9, this veil reads 1");
    assert_null(s);
}

void test_pg_password_never_in_config(void **state)
{
    store_fixture *f = *state;
    const char *pw, *why;
    char text[512], password[128] = "";
    veil_store *s = NULL;
    if (f->skipped)
        skip();
    const char *ci = store_pg_server(&pw, &why);
    snprintf(text, sizeof text, "%s password=secret", ci);
    assert_error_contains(veil_store_new("postgresql", (const char *[]){ "conninfo", text, NULL },
                                         &s),
                          VEIL_ECONFIG, "conninfo holds a password; the password never goes "
                          "in the configuration: use password_file or password_env");
    assert_null(s);
    /* the password from the environment works */
    FILE *fp = fopen(pw, "r");
    assert_non_null(fp);
    assert_non_null(fgets(password, sizeof password, fp));
    fclose(fp);
    setenv("VEIL_TEST_PG_PW", password, 1);
    assert_int_equal(veil_store_new("postgresql", (const char *[]){ "conninfo", ci,
                                        "password_env", "VEIL_TEST_PG_PW", NULL }, &s), 0);
    veil_store_close(s);
    unsetenv("VEIL_TEST_PG_PW");
    /* a wrong password: refused by the server, the password not in the detail */
    setenv("VEIL_TEST_PG_PW", "not-the-password", 1);
    assert_error_contains(veil_store_new("postgresql", (const char *[]){ "conninfo", ci,
                                             "password_env", "VEIL_TEST_PG_PW", NULL }, &s),
                          VEIL_EIO, "connecting: ");
    assert_last_error_lacks("not-the-password");
    unsetenv("VEIL_TEST_PG_PW");
    /* a password file others may read: refused */
    chmod(pw, 0644);
    assert_error_contains(veil_store_new("postgresql", (const char *[]){ "conninfo", ci,
                                             "password_file", pw, NULL }, &s),
                          VEIL_EPERMISSIONS, "is readable by group or others (mode 644; chmod "
                          "600)");
    chmod(pw, 0600);
}
