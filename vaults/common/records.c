/* The vault core's records (veil/vault.h, "records"): public named byte
 * strings in a name-sorted array (binary search; a prefix is a contiguous
 * range).  Records are not secrets, so they live on the plain heap.  Every
 * change calls the persistence hook like a change to a persistent secret;
 * when the hook fails the change is undone, so a persistent vault's memory
 * and storage never disagree. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <veil/error.h>

#include "core_internal.h"

typedef struct vc_record {
    char *name;
    uint8_t *value;                    /* NULL when len is 0 */
    size_t len;
} vc_record;

struct vc_records {
    vc_record *a;
    size_t n, cap;
    size_t bytes;                      /* names + values, against VEIL_RECORDS_BYTES_MAX */
};

void vc_records_free(vc_vault *v)
{
    struct vc_records *r = v->records;
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->a[i].name);
        free(r->a[i].value);
    }
    free(r->a);
    free(r);
    v->records = NULL;
}

/* Index of name, or where it would go (*found says which). */
static size_t find(const struct vc_records *r, const char *name, bool *found)
{
    size_t lo = 0, hi = r != NULL ? r->n : 0;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->a[mid].name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int table(vc_vault *v, struct vc_records **out)
{
    if (v->records == NULL && (v->records = calloc(1, sizeof *v->records)) == NULL)
        return veil_error_set(VEIL_ENOMEM, "records: out of memory");
    struct vc_records *r = v->records;
    if (r->n == r->cap) {
        size_t ncap = r->cap ? 2 * r->cap : 16;
        vc_record *a = realloc(r->a, ncap * sizeof *a);
        if (a == NULL)
            return veil_error_set(VEIL_ENOMEM, "records: out of memory for %zu records", ncap);
        r->a = a;
        r->cap = ncap;
    }
    *out = r;
    return 0;
}

static int copy_value(const uint8_t *value, size_t len, uint8_t **out)
{
    *out = NULL;
    if (len == 0)
        return 0;
    if ((*out = malloc(len)) == NULL)
        return veil_error_set(VEIL_ENOMEM, "records: out of memory for %zu bytes", len);
    memcpy(*out, value, len);
    return 0;
}

/* Limits for a record of name/len replacing one of old_len bytes (or a
 * new one when !found). */
static int check_limits(const struct vc_records *r, const char *name, size_t len, bool found,
                        size_t old_len)
{
    size_t n = r != NULL ? r->n : 0, bytes = r != NULL ? r->bytes : 0;
    if (!found && n >= VEIL_RECORDS_MAX)
        return veil_error_set(VEIL_ELIMIT, "record '%s': the vault holds %zu records already "
                              "(limit %u)", name, n, VEIL_RECORDS_MAX);
    size_t add = found ? len : strlen(name) + len;
    size_t sub = found ? old_len : 0;
    if (bytes - sub + add > VEIL_RECORDS_BYTES_MAX)
        return veil_error_set(VEIL_ELIMIT, "record '%s' of %zu bytes: the vault's records "
                              "would take %zu bytes (limit %u)", name, len,
                              bytes - sub + add, VEIL_RECORDS_BYTES_MAX);
    return 0;
}

/* Insert or replace without the hook.  *old receives the replaced value
 * (the caller frees it or puts it back); *inserted whether it is new. */
static int put_raw(vc_vault *v, const char *name, const uint8_t *value, size_t len,
                   vc_record *old, bool *inserted)
{
    bool found;
    size_t i = find(v->records, name, &found);
    int rc = check_limits(v->records, name, len, found,
                          found ? v->records->a[i].len : 0);
    uint8_t *copy = NULL;
    if (rc == 0)
        rc = copy_value(value, len, &copy);
    if (rc != 0)
        return rc;
    struct vc_records *r = v->records;
    if (found) {
        *old = r->a[i];
        r->a[i].value = copy;
        r->a[i].len = len;
        r->bytes = r->bytes - old->len + len;
        *inserted = false;
        return 0;
    }
    char *nm = strdup(name);
    if (nm == NULL || (rc = table(v, &r)) != 0) {
        free(nm);
        free(copy);
        return rc != 0 ? rc : veil_error_set(VEIL_ENOMEM, "records: out of memory");
    }
    memmove(&r->a[i + 1], &r->a[i], (r->n - i) * sizeof *r->a);
    r->a[i] = (vc_record){ nm, copy, len };
    r->n++;
    r->bytes += strlen(nm) + len;
    *inserted = true;
    return 0;
}

/* Remove entry i, returning it (not freed). */
static vc_record take(struct vc_records *r, size_t i)
{
    vc_record e = r->a[i];
    memmove(&r->a[i], &r->a[i + 1], (r->n - i - 1) * sizeof *r->a);
    r->n--;
    r->bytes -= strlen(e.name) + e.len;
    return e;
}

/* Put e back at its sorted place (room is there: it was just taken). */
static void restore(struct vc_records *r, vc_record e)
{
    bool found;
    size_t i = find(r, e.name, &found);
    memmove(&r->a[i + 1], &r->a[i], (r->n - i) * sizeof *r->a);
    r->a[i] = e;
    r->n++;
    r->bytes += strlen(e.name) + e.len;
}

static int hook(vc_vault *v)
{
    return vc_changed(v);
}

int vc_op_record_put(void *vault, const char *name, const uint8_t *value, size_t len)
{
    vc_vault *v = vault;
    vc_record old = { NULL, NULL, 0 };
    bool inserted = false;
    int rc = put_raw(v, name, value, len, &old, &inserted);
    if (rc != 0)
        return rc;
    if ((rc = hook(v)) == 0) {
        free(old.value);
        return 0;
    }
    /* Not stored: undo, so memory matches storage. */
    bool found;
    size_t i = find(v->records, name, &found);
    if (inserted) {
        vc_record e = take(v->records, i);
        free(e.name);
        free(e.value);
    } else {
        free(v->records->a[i].value);
        v->records->bytes = v->records->bytes - v->records->a[i].len + old.len;
        v->records->a[i].value = old.value;
        v->records->a[i].len = old.len;
    }
    return rc;
}

int vc_op_record_get(void *vault, const char *name, uint8_t *out, size_t cap, size_t *len)
{
    vc_vault *v = vault;
    bool found;
    size_t i = find(v->records, name, &found);
    if (!found)
        return veil_error_set(VEIL_ENOTFOUND, "no record '%s' in this vault", name);
    const vc_record *e = &v->records->a[i];
    *len = e->len;
    if (out == NULL)
        return 0;
    if (cap < e->len)
        return veil_error_set(VEIL_ELIMIT, "record '%s' is %zu bytes, the buffer holds %zu",
                              name, e->len, cap);
    if (e->len > 0)
        memcpy(out, e->value, e->len);
    return 0;
}

int vc_op_record_delete(void *vault, const char *name)
{
    vc_vault *v = vault;
    bool found;
    size_t i = find(v->records, name, &found);
    if (!found)
        return veil_error_set(VEIL_ENOTFOUND, "no record '%s' in this vault", name);
    vc_record e = take(v->records, i);
    int rc = hook(v);
    if (rc != 0) {
        restore(v->records, e);
        return rc;
    }
    free(e.name);
    free(e.value);
    return 0;
}

int vc_op_record_list(void *vault, const char *prefix, veil_record_fn fn, void *arg)
{
    vc_vault *v = vault;
    bool found;
    size_t plen = strlen(prefix);
    size_t i = find(v->records, prefix, &found);
    for (; v->records != NULL && i < v->records->n; i++) {
        const vc_record *e = &v->records->a[i];
        if (strncmp(e->name, prefix, plen) != 0)
            break;
        int rc = fn(arg, e->name, e->len);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int vc_records_foreach(vc_vault *v, vc_record_each_fn fn, void *arg)
{
    for (size_t i = 0; v->records != NULL && i < v->records->n; i++) {
        const vc_record *e = &v->records->a[i];
        int rc = fn(arg, e->name, e->value, e->len);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void vc_records_size(const vc_vault *v, size_t *count, size_t *bytes)
{
    *count = v->records != NULL ? v->records->n : 0;
    *bytes = v->records != NULL ? v->records->bytes : 0;
}

int vc_records_insert(vc_vault *v, const char *name, const uint8_t *value, size_t len)
{
    int rc = veil_vault_record_name_check(name);
    if (rc != 0)
        return rc;
    if (len > VEIL_RECORD_VALUE_MAX)
        return veil_error_set(VEIL_ELIMIT, "record '%s' of %zu bytes (limit %u)", name, len,
                              VEIL_RECORD_VALUE_MAX);
    bool found;
    (void)find(v->records, name, &found);
    if (found)
        return veil_error_set(VEIL_EEXIST, "record '%s' appears twice", name);
    vc_record old;
    bool inserted;
    return put_raw(v, name, value, len, &old, &inserted);
}
