/* See test_x3dh_store.h. */
#include "test_x3dh_store.h"

#define MAX_STORES 8
#define MAX_KEYS 32

typedef struct tkey {
    bool used, expired, consumed;
    uint32_t id;
    veil_secret secret;
    uint8_t pub[32];
} tkey;

struct x3dh_store {
    bool used;
    veil_vault *v;
    uint8_t ik[32];
    tkey spk[MAX_KEYS], opk[MAX_KEYS];
};

static struct x3dh_store stores[MAX_STORES];
static int refs;

void tstore_reset(void)
{
    memset(stores, 0, sizeof stores);
    refs = 0;
}

static struct x3dh_store *find(veil_vault *v, const uint8_t ik[32], bool create)
{
    for (int i = 0; i < MAX_STORES; i++)
        if (stores[i].used && stores[i].v == v && memcmp(stores[i].ik, ik, 32) == 0)
            return &stores[i];
    for (int i = 0; create && i < MAX_STORES; i++)
        if (!stores[i].used) {
            stores[i].used = true;
            stores[i].v = v;
            memcpy(stores[i].ik, ik, 32);
            return &stores[i];
        }
    return NULL;
}

static int add(tkey *t, veil_vault *v, uint32_t id, veil_secret k, bool expired)
{
    for (int i = 0; i < MAX_KEYS; i++)
        if (!t[i].used) {
            size_t n = 0;
            t[i].used = true;
            t[i].id = id;
            t[i].secret = k;
            t[i].expired = expired;
            return veil_vault_public_key(v, k, t[i].pub, 32, &n) == 0 && n == 32 ? 0 : -1;
        }
    return -1;
}

int tstore_add_spk(veil_vault *v, const uint8_t ik_pub[32], uint32_t id, veil_secret spk,
                   bool expired)
{
    struct x3dh_store *s = find(v, ik_pub, true);
    return s ? add(s->spk, v, id, spk, expired) : -1;
}

int tstore_add_opk(veil_vault *v, const uint8_t ik_pub[32], uint32_t id, veil_secret opk)
{
    struct x3dh_store *s = find(v, ik_pub, true);
    return s ? add(s->opk, v, id, opk, false) : -1;
}

static tkey *key_by_id(tkey *t, uint32_t id)
{
    for (int i = 0; i < MAX_KEYS; i++)
        if (t[i].used && t[i].id == id)
            return &t[i];
    return NULL;
}

int tstore_opk_available(veil_vault *v, const uint8_t ik_pub[32], uint32_t id)
{
    struct x3dh_store *s = find(v, ik_pub, false);
    tkey *k = s ? key_by_id(s->opk, id) : NULL;
    return k == NULL ? -1 : !k->consumed;
}

int tstore_open_refs(void)
{
    return refs;
}

int x3dh_store_lookup(veil_vault *v, const uint8_t ik_pub[X3DH_KEY_BYTES], x3dh_store **out)
{
    struct x3dh_store *s = find(v, ik_pub, false);
    if (s == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "test store: no store for this identity key");
    refs++;
    *out = s;
    return 0;
}

void x3dh_store_release(x3dh_store *s)
{
    (void)s;
    refs--;
}

int x3dh_store_find_spk(x3dh_store *s, uint32_t id, veil_secret *spk,
                        uint8_t pub[X3DH_KEY_BYTES])
{
    tkey *k = key_by_id(s->spk, id);
    if (k == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "test store: no signed prekey %u", (unsigned)id);
    if (k->expired)
        return veil_error_set(VEIL_ETIMEDOUT, "test store: signed prekey %u expired beyond its "
                              "grace period", (unsigned)id);
    *spk = k->secret;
    memcpy(pub, k->pub, 32);
    return 0;
}

int x3dh_store_find_opk(x3dh_store *s, uint32_t id, veil_secret *opk,
                        uint8_t pub[X3DH_KEY_BYTES])
{
    tkey *k = key_by_id(s->opk, id);
    if (k == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "test store: no one-time prekey %u", (unsigned)id);
    if (k->consumed)
        return veil_error_set(VEIL_EREPLAY, "test store: one-time prekey %u was already used",
                              (unsigned)id);
    *opk = k->secret;
    memcpy(pub, k->pub, 32);
    return 0;
}

int x3dh_store_consume_opk(x3dh_store *s, uint32_t id)
{
    tkey *k = key_by_id(s->opk, id);
    if (k == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "test store: no one-time prekey %u", (unsigned)id);
    if (k->consumed)
        return veil_error_set(VEIL_EREPLAY, "test store: one-time prekey %u was already used",
                              (unsigned)id);
    k->consumed = true;
    return 0;
}
