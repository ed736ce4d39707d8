/* The prekey directory's state in the node's store (veil_node_store), so
 * that it survives a restart and several directory nodes behind one name
 * can share it through one database (docs/X3DH.md, "Directory state").
 *
 *   x3dh.dir      / H            version:u8 (1) | flags:u8 | seq:u64 |
 *                                identifier[65] | name_len:u8 | name |
 *                                the SPK bundle (X3DH_BUNDLE_MIN bytes)
 *   x3dh.dir.opk  / H/SSSS...I   opk_id:u32 | Encode(OPK) (33 bytes)
 *
 * H is the SHA-256 of the name in hex (names are 1..255 arbitrary bytes;
 * keys are printable), S the publication's seq and I the OPK's index in it
 * (hex, fixed width), so keys sort oldest first.  Everything is public.
 * An OPK is handed out by veil_store_take on the lowest key of H/: one
 * database transaction, so no two fetches — on one node or on several
 * sharing the database — ever get the same OPK.  A publication's record
 * is written by compare-and-set on the version read, so two nodes taking
 * publications for one name cannot both accept the same seq. */
#include "x3dh_service.h"

#include <veil/store.h>

#include <stdio.h>

#define DIR_NS "x3dh.dir"
#define OPK_NS "x3dh.dir.opk"
#define REC_VERSION 1u
#define REC_FIXED (1u + 1u + 8u + VEIL_IDENTIFIER_LEN + 1u)
#define REC_MAX (REC_FIXED + PK_NAME_MAX + X3DH_BUNDLE_MIN)

static int store_of(prekey_service *svc, veil_store **s)
{
    int rc = veil_node_store(svc->node, s);
    return rc < 0 ? veil_error_wrap(rc, "prekey directory '%s': the node's store",
                                    svc->address)
                  : 0;
}

/* hex(SHA-256(name)) */
static int name_key(prekey_service *svc, const char *name, char key[65])
{
    uint8_t d[32];
    veil_iovec part = { (const uint8_t *)name, strlen(name) };
    int rc = veil_vault_hash(svc->dir_vault, VEIL_HASH_SHA256, &part, 1, d);
    if (rc == 0)
        veil__hex_encode(d, sizeof d, key);
    return rc;
}

static int bad(const char *key, const char *what)
{
    return veil_error_set(VEIL_EFORMAT, "prekey directory: store record " DIR_NS "/%s: %s", key,
                          what);
}

static int rec_decode(const char *key, const char *name, const uint8_t *v, size_t n,
                      dir_rec *r)
{
    if (n < REC_FIXED || v[0] != REC_VERSION)
        return bad(key, "shorter than its fixed part, or not of version 1");
    size_t nl = v[REC_FIXED - 1u];
    if (n != REC_FIXED + nl + X3DH_BUNDLE_MIN)
        return bad(key, "its length does not match its name length and one SPK bundle");
    if (nl != strlen(name) || memcmp(v + REC_FIXED, name, nl) != 0)
        return bad(key, "it holds another name (a hash collision or a damaged row)");
    r->flags = v[1];
    r->seq = veil__load_be64(v + 2);
    memcpy(r->identifier, v + 10, VEIL_IDENTIFIER_LEN);
    r->identifier[VEIL_IDENTIFIER_LEN] = '\0';
    if (r->identifier[0] != 'P' || strlen(r->identifier) != VEIL_IDENTIFIER_LEN)
        return bad(key, "its identifier is not P and 64 hex digits");
    int rc = x3dh_bundle_decode(v + REC_FIXED + nl, X3DH_BUNDLE_MIN, &r->spk);
    return rc < 0 ? veil_error_wrap(rc, "prekey directory: store record " DIR_NS "/%s: the SPK "
                                    "bundle", key)
                  : 0;
}

int dir_rec_get(prekey_service *svc, const char *name, dir_rec *r, uint64_t *version)
{
    veil_store *s;
    uint8_t v[REC_MAX];
    size_t n = 0;
    int rc = store_of(svc, &s);
    if (rc == 0)
        rc = name_key(svc, name, r->key);
    if (rc == 0)
        rc = veil_store_get(s, DIR_NS, r->key, v, sizeof v, &n, version);
    if (rc == VEIL_ELIMIT)
        rc = bad(r->key, "longer than any record");
    return rc < 0 ? rc : rec_decode(r->key, name, v, n, r);
}

int dir_rec_put(prekey_service *svc, const char *name, const dir_rec *r, uint64_t expected)
{
    veil_store *s;
    uint8_t v[REC_MAX];
    char key[65];
    size_t nl = strlen(name), n = 0;
    int rc = store_of(svc, &s);
    if (rc == 0)
        rc = name_key(svc, name, key);
    if (rc == 0) {
        v[0] = REC_VERSION;
        v[1] = r->flags;
        veil__store_be64(v + 2, r->seq);
        memcpy(v + 10, r->identifier, VEIL_IDENTIFIER_LEN);
        v[REC_FIXED - 1u] = (uint8_t)nl;
        memcpy(v + REC_FIXED, name, nl);
        rc = x3dh_bundle_encode(&r->spk, v + REC_FIXED + nl, X3DH_BUNDLE_MIN, &n);
    }
    if (rc == 0)
        rc = veil_store_put(s, DIR_NS, key, v, REC_FIXED + nl + n, expected, NULL);
    return rc;
}

static int count_one(void *arg, const char *key, const uint8_t *value, size_t len,
                     uint64_t version)
{
    (void)key;
    (void)value;
    (void)len;
    (void)version;
    ++*(unsigned *)arg;
    return 0;
}

int dir_names_count(prekey_service *svc, unsigned *n)
{
    veil_store *s;
    *n = 0;
    int rc = store_of(svc, &s);
    return rc < 0 ? rc : veil_store_list(s, DIR_NS, "", count_one, n);
}

int dir_opk_add(prekey_service *svc, const char *name, uint64_t seq, unsigned i,
                const uint8_t entry[PK_OPK_ENTRY])
{
    veil_store *s;
    char hk[65], key[65 + 1 + 16 + 4 + 1];
    int rc = store_of(svc, &s);
    if (rc == 0)
        rc = name_key(svc, name, hk);
    if (rc < 0)
        return rc;
    snprintf(key, sizeof key, "%s/%016llx%04x", hk, (unsigned long long)seq, i & 0xffffu);
    return veil_store_put(s, OPK_NS, key, entry, PK_OPK_ENTRY, VEIL_STORE_ANY, NULL);
}

typedef struct opk_walk {
    unsigned n;
    uint32_t oldest;
} opk_walk;

static int walk_one(void *arg, const char *key, const uint8_t *value, size_t len,
                    uint64_t version)
{
    opk_walk *w = arg;
    (void)key;
    (void)version;
    if (w->n++ == 0 && len == PK_OPK_ENTRY)
        w->oldest = veil__load_be32(value);
    return 0;
}

/* The store and the key prefix "H/" of name's OPKs. */
static int opk_prefix(prekey_service *svc, const char *name, veil_store **s, char prefix[66])
{
    int rc = store_of(svc, s);
    if (rc == 0)
        rc = name_key(svc, name, prefix);
    prefix[64] = '/';
    prefix[65] = '\0';
    return rc;
}

int dir_opk_count(prekey_service *svc, const char *name, unsigned *n, uint32_t *oldest)
{
    veil_store *s;
    char prefix[66];
    opk_walk w = { 0, 0 };
    int rc = opk_prefix(svc, name, &s, prefix);
    if (rc < 0)
        return rc;
    rc = veil_store_list(s, OPK_NS, prefix, walk_one, &w);
    *n = w.n;
    *oldest = w.oldest;
    return rc;
}

int dir_opk_take(prekey_service *svc, const char *name, uint32_t *id,
                 uint8_t pub[X3DH_KEY_BYTES])
{
    veil_store *s;
    char prefix[66], key[VEIL_STORE_KEY_MAX + 1];
    uint8_t v[PK_OPK_ENTRY];
    size_t n = 0;
    int rc = opk_prefix(svc, name, &s, prefix);
    if (rc < 0)
        return rc;
    rc = veil_store_take(s, OPK_NS, prefix, VEIL_STORE_PREFIX, key, v, sizeof v, &n);
    if (rc == 0 && n != PK_OPK_ENTRY)
        rc = veil_error_set(VEIL_EFORMAT, "prekey directory: store record " OPK_NS "/%s: %zu "
                            "bytes, an OPK entry is %u (the damaged entry is gone)", key, n,
                            PK_OPK_ENTRY);
    if (rc == VEIL_ELIMIT)
        rc = veil_error_set(VEIL_EFORMAT, "prekey directory: store record " OPK_NS "/%s*: "
                            "longer than an OPK entry (left in the store)", prefix);
    if (rc == 0) {
        *id = veil__load_be32(v);
        rc = x3dh_decode_key(v + 4, "stored OPK", pub);
    }
    return rc;
}

int dir_opk_drop(prekey_service *svc, const char *name, unsigned k)
{
    uint32_t id;
    uint8_t pub[X3DH_KEY_BYTES];
    int rc = 0;
    for (unsigned i = 0; i < k && rc == 0; i++)
        rc = dir_opk_take(svc, name, &id, pub);
    return rc == VEIL_ENOTFOUND ? 0 : rc;
}
