/* Vault records (veil/vault.h, "records") in the conformance suite: every
 * vault row runs these, except the limits (in-memory rows only: a
 * persistent row would rewrite its file thousands of times, and the limit
 * code is the shared core's either way) and persistence (persistent rows
 * only); test_vault_conformance.c registers them so. */
#include "test_vault.h"
#include "assert_error.h"

typedef struct seen {
    char names[8][VEIL_RECORD_NAME_MAX + 1];
    size_t lens[8];
    size_t n;
    size_t stop_after;                /* 0: never */
} seen;

static int collect(void *arg, const char *name, size_t len)
{
    seen *s = arg;
    if (s->n < 8) {
        snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
        s->lens[s->n] = len;
    }
    s->n++;
    return s->stop_after != 0 && s->n == s->stop_after ? 77 : 0;
}

static void put_str(veil_vault *v, const char *name, const char *value)
{
    assert_int_equal(veil_vault_record_put(v, name, (const uint8_t *)value, strlen(value)), 0);
}

static void want_value(veil_vault *v, const char *name, const char *value)
{
    uint8_t buf[256];
    size_t len = 0;
    assert_int_equal(veil_vault_record_get(v, name, buf, sizeof buf, &len), 0);
    assert_int_equal(len, strlen(value));
    assert_memory_equal(buf, value, len);
}

void test_records_basic(void **state)
{
    veil_vault *v = V(state);
    uint8_t buf[8];
    size_t len = 99;
    assert_error_contains(veil_vault_record_get(v, "a.one", buf, sizeof buf, &len), VEIL_ENOTFOUND,
                          "no record 'a.one'");
    put_str(v, "a.one", "first");
    put_str(v, "b.other", "x");
    put_str(v, "a.two", "second value");
    want_value(v, "a.one", "first");
    /* Replace, then the length alone, then a buffer too small. */
    put_str(v, "a.one", "1st");
    want_value(v, "a.one", "1st");
    assert_int_equal(veil_vault_record_get(v, "a.two", NULL, 0, &len), 0);
    assert_int_equal(len, 12);
    assert_error_contains(veil_vault_record_get(v, "a.two", buf, 4, &len), VEIL_ELIMIT,
                          "record 'a.two' is 12 bytes, the buffer holds 4");
    assert_int_equal(len, 12);
    /* An empty value is a record too. */
    assert_int_equal(veil_vault_record_put(v, "a.empty", NULL, 0), 0);
    assert_int_equal(veil_vault_record_get(v, "a.empty", buf, sizeof buf, &len), 0);
    assert_int_equal(len, 0);
    /* List by prefix, in name order; a callback's return stops the walk. */
    seen s = { .n = 0 };
    assert_int_equal(veil_vault_record_list(v, "a.", collect, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.names[0], "a.empty");
    assert_string_equal(s.names[1], "a.one");
    assert_string_equal(s.names[2], "a.two");
    assert_int_equal(s.lens[1], 3);
    memset(&s, 0, sizeof s);
    assert_int_equal(veil_vault_record_list(v, NULL, collect, &s), 0);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.names[3], "b.other");
    memset(&s, 0, sizeof s);
    s.stop_after = 2;
    assert_int_equal(veil_vault_record_list(v, "", collect, &s), 77);
    assert_int_equal(s.n, 2);
    memset(&s, 0, sizeof s);
    assert_int_equal(veil_vault_record_list(v, "zzz", collect, &s), 0);
    assert_int_equal(s.n, 0);
    /* Delete: gone, and a second delete is ENOTFOUND. */
    assert_int_equal(veil_vault_record_delete(v, "a.one"), 0);
    assert_int_equal(veil_vault_record_get(v, "a.one", buf, sizeof buf, &len), VEIL_ENOTFOUND);
    assert_error_contains(veil_vault_record_delete(v, "a.one"), VEIL_ENOTFOUND,
                          "no record 'a.one'");
    want_value(v, "a.two", "second value");
}

void test_records_arguments(void **state)
{
    veil_vault *v = V(state);
    char longname[VEIL_RECORD_NAME_MAX + 2];
    static uint8_t big[VEIL_RECORD_VALUE_MAX + 1];
    size_t len;
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_error_contains(veil_vault_record_put(v, "", big, 1), VEIL_EINVAL,
                          "veil_vault_record_put: record name '' is empty");
    assert_error_contains(veil_vault_record_put(v, longname, big, 1), VEIL_EINVAL,
                          "is too long (expected 1..127 characters)");
    longname[VEIL_RECORD_NAME_MAX] = '\0'; /* exactly the limit: fine */
    assert_int_equal(veil_vault_record_put(v, longname, big, 1), 0);
    assert_error_contains(veil_vault_record_put(v, "bad name", big, 1), VEIL_EINVAL,
                          "bad character 0x20 at offset 3 (allowed: A-Z a-z 0-9 . _ -)");
    assert_error_contains(veil_vault_record_get(v, "a/b", big, 1, &len), VEIL_EINVAL,
                          "veil_vault_record_get: record name 'a/b': bad character 0x2f at "
                          "offset 1");
    assert_error_contains(veil_vault_record_put(v, "x", NULL, 3), VEIL_EINVAL,
                          "value is NULL but len is 3");
    assert_error_contains(veil_vault_record_put(v, "x", big, sizeof big), VEIL_ELIMIT,
                          "record 'x' of 32769 bytes (limit 32768)");
    assert_error(veil_vault_record_get(v, "x", big, 1, NULL), VEIL_EINVAL,
                 "veil_vault_record_get: len is NULL");
    assert_int_equal(veil_vault_record_list(v, NULL, NULL, NULL), VEIL_EINVAL);
    assert_error(veil_vault_record_put(NULL, "x", big, 1), VEIL_EINVAL,
                 "veil_vault_record_put: vault is NULL");
    /* Nothing of the refused calls was stored. */
    assert_int_equal(veil_vault_record_get(v, "x", NULL, 0, &len), VEIL_ENOTFOUND);
}

/* The record count and byte budget (VEIL_ELIMIT, nothing changes). */
void test_records_limits(void **state)
{
    veil_vault *v = V(state);
    static uint8_t value[VEIL_RECORD_VALUE_MAX];
    char name[32];
    size_t len;
    /* 255 records of 32 KiB and their names stay under 8 MiB; the 256th
     * does not fit. */
    for (unsigned i = 0; i < 255; i++) {
        snprintf(name, sizeof name, "big.%03u", i);
        assert_int_equal(veil_vault_record_put(v, name, value, sizeof value), 0);
    }
    assert_error_contains(veil_vault_record_put(v, "big.255", value, sizeof value), VEIL_ELIMIT,
                          "record 'big.255' of 32768 bytes: the vault's records would take");
    assert_int_equal(veil_vault_record_get(v, "big.255", NULL, 0, &len), VEIL_ENOTFOUND);
    /* Replacing one with a smaller value frees room. */
    assert_int_equal(veil_vault_record_put(v, "big.000", value, 10), 0);
    assert_int_equal(veil_vault_record_put(v, "big.255", value, 1000), 0);
    for (unsigned i = 0; i < 256; i++) {
        snprintf(name, sizeof name, "big.%03u", i);
        assert_int_equal(veil_vault_record_delete(v, name), 0);
    }
    /* The count limit. */
    for (unsigned i = 0; i < VEIL_RECORDS_MAX; i++) {
        snprintf(name, sizeof name, "n.%u", i);
        assert_int_equal(veil_vault_record_put(v, name, value, 1), 0);
    }
    assert_error_contains(veil_vault_record_put(v, "n.more", value, 1), VEIL_ELIMIT,
                          "the vault holds 4096 records already (limit 4096)");
    assert_int_equal(veil_vault_record_put(v, "n.7", value, 2), 0); /* a replacement is fine */
}

/* A persistent vault gives the records back after a re-open. */
void test_records_persist(void **state)
{
    fixture *f = *state;
    veil_config_scope scope = { f->cfg, "vault" };
    put_str(f->v, "keep.a", "alpha");
    put_str(f->v, "keep.b", "beta");
    put_str(f->v, "gone", "delete me");
    assert_int_equal(veil_vault_record_delete(f->v, "gone"), 0);
    veil_vault_close(f->v);
    assert_int_equal(veil_vault_open_plugin(f->plugin, &scope, &f->v), 0);
    want_value(f->v, "keep.a", "alpha");
    want_value(f->v, "keep.b", "beta");
    size_t len;
    assert_int_equal(veil_vault_record_get(f->v, "gone", NULL, 0, &len), VEIL_ENOTFOUND);
}
