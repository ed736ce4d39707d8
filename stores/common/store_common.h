/* What every store plugin does the same way.  Header-only: each plugin
 * is its own module. */
#ifndef VEIL_STORE_COMMON_H
#define VEIL_STORE_COMMON_H

#include <veil/error.h>
#include <veil/store.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The version rule of put and delete (veil/store.h): VEIL_STORE_ANY
 * passes, VEIL_STORE_ABSENT needs no record (VEIL_EEXIST), any other value
 * the record at exactly that version (VEIL_ESTATE). */
static inline int store_check_version(const char *ns, const char *key, bool found,
                                      uint64_t have, uint64_t expected)
{
    if (expected == VEIL_STORE_ANY)
        return 0;
    if (expected == VEIL_STORE_ABSENT && found)
        return veil_error_set(VEIL_EEXIST, "store: record %s/%s exists (version %llu), "
                              "expected none", ns, key, (unsigned long long)have);
    if (expected != VEIL_STORE_ABSENT && (!found || have != expected))
        return veil_error_set(VEIL_ESTATE, "store: record %s/%s is %s%llu, expected version "
                              "%llu", ns, key, found ? "at version " : "absent, version ",
                              found ? (unsigned long long)have : 0ull,
                              (unsigned long long)expected);
    return 0;
}

/* Copy a record's value out for get and take: *len is always set;
 * VEIL_ELIMIT (nothing copied) when cap is short.  who names the store. */
static inline int store_copy_out(const char *who, const char *ns, const char *key,
                                 const uint8_t *v, size_t n, uint8_t *value, size_t cap,
                                 size_t *len)
{
    *len = n;
    if (cap < n)
        return veil_error_set(VEIL_ELIMIT, "%s: record %s/%s holds %zu bytes, the buffer %zu",
                              who, ns, key, n, cap);
    if (n > 0)
        memcpy(value, v, n);
    return 0;
}

/* 0 when every byte of key is 0x21..0x7e (what libveil lets in; a row
 * read back is checked again). */
static inline int store_check_key_bytes(const char *key)
{
    for (; *key != '\0'; key++)
        if ((unsigned char)*key < 0x21 || (unsigned char)*key > 0x7e)
            return -1;
    return 0;
}

/* A secret from the first line of a file that only its owner may read
 * (VEIL_EPERMISSIONS otherwise, like the vaults' passphrase files).  The
 * caller wipes out. */
static inline int store_read_secret_file(const char *path, char *out, size_t cap)
{
    struct stat st;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return veil_error_set(VEIL_EIO, "cannot open '%s': %s", path, strerror(errno));
    int rc = 0;
    if (fstat(fileno(f), &st) != 0 || (st.st_mode & 077) != 0)
        rc = veil_error_set(VEIL_EPERMISSIONS, "'%s' is readable by group or others (mode "
                            "%03o; chmod 600)", path, (unsigned)(st.st_mode & 0777));
    else if (fgets(out, (int)cap, f) == NULL)
        rc = veil_error_set(VEIL_EIO, "'%s' is empty", path);
    fclose(f);
    out[rc == 0 ? strcspn(out, "\r\n") : 0] = '\0';
    return rc;
}

#endif
