/* The pkcs11 vault's records, kept in the token (p11_vault.h).  Encoding of
 * the object's value: version byte 1, then for each record in name order
 * its name length (1 byte), name, value length (4 bytes, big-endian) and
 * value.  Records are public (an entity's change history, contacts); the
 * object is private to the token's user all the same. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <veil/error.h>

#include "p11_vault.h"

#define RECORDS_VERSION 1u
#define LABEL_PREFIX "veil.records."

static const char app[] = "veil";

typedef struct enc {
    uint8_t *buf;
    size_t pos;
} enc;

static int put_one(void *arg, const char *name, const uint8_t *value, size_t len)
{
    enc *e = arg;
    size_t n = strlen(name);
    e->buf[e->pos++] = (uint8_t)n;
    memcpy(e->buf + e->pos, name, n);
    veil__store_be32(e->buf + e->pos + n, (uint32_t)len);
    if (len > 0) /* an empty record has no value pointer */
        memcpy(e->buf + e->pos + n + 4, value, len);
    e->pos += n + 4 + len;
    return 0;
}

static int decode(vc_vault *vc, const uint8_t *p, size_t n)
{
    if (n < 1 || p[0] != RECORDS_VERSION)
        return veil_error_set(VEIL_EVERSION, "pkcs11 vault: records object of version %u "
                              "(expected %u)", n ? p[0] : 0u, RECORDS_VERSION);
    for (size_t i = 1; i < n;) {
        char name[VEIL_RECORD_NAME_MAX + 1];
        size_t nl = p[i];
        if (nl == 0 || nl > VEIL_RECORD_NAME_MAX || n - i - 1 < nl + 4)
            return veil_error_set(VEIL_EFORMAT, "pkcs11 vault: records object truncated at "
                                  "offset %zu", i);
        memcpy(name, p + i + 1, nl);
        name[nl] = '\0';
        size_t vl = veil__load_be32(p + i + 1 + nl);
        if (vl > n - i - 5 - nl)
            return veil_error_set(VEIL_EFORMAT, "pkcs11 vault: record '%s' runs past the end "
                                  "of the records object", name);
        int rc = vc_records_insert(vc, name, p + i + 5 + nl, vl);
        if (rc < 0)
            return rc;
        i += 5 + nl + vl;
    }
    return 0;
}

/* Write the records as generation st->records_gen + 1, then drop the old. */
static int store(void *arg, vc_vault *vc)
{
    p11_state *st = arg;
    size_t count, bytes;
    vc_records_size(vc, &count, &bytes);
    enc e = { malloc(1 + count * 5 + bytes), 0 };
    if (e.buf == NULL)
        return veil_error_set(VEIL_ENOMEM, "pkcs11 vault: out of memory");
    e.buf[e.pos++] = RECORDS_VERSION;
    (void)vc_records_foreach(vc, put_one, &e);
    char label[64];
    snprintf(label, sizeof label, LABEL_PREFIX "%016llx",
             (unsigned long long)(st->records_gen + 1));
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &cls, sizeof cls }, { CKA_TOKEN, &yes, sizeof yes },
        { CKA_PRIVATE, &yes, sizeof yes },
        { CKA_APPLICATION, (void *)(uintptr_t)app, sizeof app - 1 },
        { CKA_LABEL, label, strlen(label) }, { CKA_VALUE, e.buf, e.pos },
    };
    CK_OBJECT_HANDLE obj;
    CK_RV rv = st->mod.f->C_CreateObject(st->sess, t, 6, &obj);
    free(e.buf);
    if (rv != CKR_OK) {
        char b[24];
        return veil_error_set(VEIL_EIO, "pkcs11 token %s: storing the vault's records "
                              "(C_CreateObject): %s", st->token, p11_rv_name(rv, b));
    }
    if (st->records != CK_INVALID_HANDLE)
        (void)st->mod.f->C_DestroyObject(st->sess, st->records); /* load removes it otherwise */
    st->records = obj;
    st->records_gen++;
    return 0;
}

/* The generation in a records object's label, 0 when it is not one. */
static uint64_t generation_of(p11_state *st, CK_OBJECT_HANDLE o)
{
    char label[64];
    CK_ATTRIBUTE a = { CKA_LABEL, label, sizeof label - 1 };
    unsigned long long g = 0;
    if (st->mod.f->C_GetAttributeValue(st->sess, o, &a, 1) != CKR_OK)
        return 0;
    label[a.ulValueLen] = '\0';
    if (strncmp(label, LABEL_PREFIX, sizeof LABEL_PREFIX - 1) != 0 ||
        sscanf(label + sizeof LABEL_PREFIX - 1, "%16llx", &g) != 1)
        return 0;
    return g;
}

static int read_value(p11_state *st, vc_vault *vc, CK_OBJECT_HANDLE o)
{
    CK_ATTRIBUTE a = { CKA_VALUE, NULL, 0 };
    char b[24];
    CK_RV rv = st->mod.f->C_GetAttributeValue(st->sess, o, &a, 1);
    if (rv == CKR_OK && (a.pValue = malloc(a.ulValueLen ? a.ulValueLen : 1)) == NULL)
        return veil_error_set(VEIL_ENOMEM, "pkcs11 vault: out of memory");
    if (rv == CKR_OK)
        rv = st->mod.f->C_GetAttributeValue(st->sess, o, &a, 1);
    int rc = rv == CKR_OK ? decode(vc, a.pValue, a.ulValueLen)
                          : veil_error_set(VEIL_EIO, "pkcs11 token %s: reading the vault's "
                                           "records: %s", st->token, p11_rv_name(rv, b));
    free(a.pValue);
    return rc;
}

int p11_records_load(p11_state *st, vc_vault *vc)
{
    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls },
                         { CKA_APPLICATION, (void *)(uintptr_t)app, sizeof app - 1 } };
    CK_OBJECT_HANDLE *objs;
    CK_ULONG n = 0;
    st->records = CK_INVALID_HANDLE;
    int rc = p11_find(&st->mod, st->sess, st->token, t, 2, &objs, &n);
    if (rc < 0)
        return rc;
    for (CK_ULONG i = 0; i < n; i++) {
        uint64_t g = generation_of(st, objs[i]);
        if (g > st->records_gen) {
            st->records_gen = g;
            st->records = objs[i];
        }
    }
    if (st->records != CK_INVALID_HANDLE)
        rc = read_value(st, vc, st->records);
    for (CK_ULONG i = 0; rc == 0 && i < n; i++)   /* older generations a crash left */
        if (objs[i] != st->records && generation_of(st, objs[i]) != 0)
            (void)st->mod.f->C_DestroyObject(st->sess, objs[i]);
    free(objs);
    if (rc == 0)
        vc_set_change_hook(vc, store, st);
    return rc;
}

void p11_records_free(p11_state *st)
{
    st->records = CK_INVALID_HANDLE;
}
