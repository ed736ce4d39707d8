/* Prekey directory (docs/X3DH.md, "Directory on a third node"): it takes
 * the signed publications of responders on other nodes (format in
 * x3dh_publish.c) and hands out bundles on their behalf.
 *
 * A publication is refused unless, in this order: it parses exactly; the
 * bundle's SPK signature verifies under the bundle's IK; the publication
 * signature verifies under the same IK; every OPK is a valid X25519 key;
 * the identity proof attests IK (its change history verifies and yields
 * the publisher's identifier); the name is not a local listener's, and is
 * bound to that identifier — by [prekeys] directory_names from the start,
 * or else to the first verified identifier that publishes it (not at all
 * with directory_open = no); a new name fits directory_names_max; seq is
 * above the last accepted for the name (a replayed publication would hand
 * out OPKs a second time).  Each OPK is handed out at most once, oldest
 * first; at most directory_opk_max are held per name (the oldest, never
 * handed out, make room); none left: a bundle without OPK, or VEIL_EAGAIN
 * when the publication said require_opk. */
#include "x3dh_service.h"

#include <veil/log.h>
#include <veil/secure_channel.h>
#include <veil/store.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#define DOMAIN_LEN (sizeof PK_PUBLISH_DOMAIN - 1u)

typedef struct publication {
    char name[PK_NAME_MAX + 1];
    uint64_t seq;
    const uint8_t *nonce;
    uint8_t flags;
    x3dh_bundle spk;
    unsigned n;
    const uint8_t *opks;             /* n entries */
    const uint8_t *proof;
    size_t proof_len;
    const uint8_t *sig;
    size_t signed_len;               /* bytes of the message before sig */
} publication;

/* Fixed part after the name: seq, nonce, flags, SPK bundle, n. */
#define FIXED (8u + PK_NONCE_BYTES + 1u + X3DH_BUNDLE_MIN + 2u)

static int parse_tail(const uint8_t *body, size_t len, size_t pos, publication *p)
{
    size_t need = pos + (size_t)p->n * PK_OPK_ENTRY + 2u;
    if (len < need)
        return veil_error_set(VEIL_ETRUNCATED, "publication for '%s': %zu bytes, %u OPKs and a "
                              "proof length need at least %zu", p->name, len, p->n, need);
    p->opks = body + pos;
    pos = need;
    p->proof_len = (size_t)veil__load_be16(body + pos - 2u);
    p->proof = body + pos;
    need = pos + p->proof_len + X3DH_SIG_BYTES;
    if (len != need)
        return veil_error_set(len < need ? VEIL_ETRUNCATED : VEIL_ETRAILING, "publication for "
                              "'%s': %zu bytes, %u OPKs and a %zu-byte proof need exactly %zu",
                              p->name, len, p->n, p->proof_len, need);
    p->signed_len = len - X3DH_SIG_BYTES;
    p->sig = body + p->signed_len;
    return 0;
}

static int parse(const uint8_t *body, size_t len, publication *p)
{
    memset(p, 0, sizeof *p);
    if (len < 1u || body[0] == 0 || len < 1u + body[0] + FIXED)
        return veil_error_set(VEIL_ETRUNCATED, "publication: %zu bytes is too short", len);
    memcpy(p->name, body + 1, body[0]);
    if (memchr(p->name, 0, body[0]) != NULL)
        return veil_error_set(VEIL_EFORMAT, "publication: NUL byte in the name");
    size_t pos = 1u + body[0];
    p->seq = veil__load_be64(body + pos);
    p->nonce = body + pos + 8u;
    p->flags = body[pos + 8u + PK_NONCE_BYTES];
    pos += 8u + PK_NONCE_BYTES + 1u;
    if (p->flags & ~(PK_PFLAG_REQUIRE_OPK | PK_PFLAG_RESET))
        return veil_error_set(VEIL_EFORMAT, "publication for '%s': unknown flags 0x%02x",
                              p->name, p->flags);
    int rc = x3dh_bundle_decode(body + pos, X3DH_BUNDLE_MIN, &p->spk);
    if (rc < 0)
        return veil_error_wrap(rc, "publication for '%s': the SPK bundle", p->name);
    if (p->spk.has_opk)
        return veil_error_set(VEIL_EFORMAT, "publication for '%s': the SPK bundle carries an "
                              "OPK (OPKs go in the list)", p->name);
    pos += X3DH_BUNDLE_MIN;
    p->n = (unsigned)veil__load_be16(body + pos);
    if (p->n > PK_PUBLISH_BATCH_MAX)
        return veil_error_set(VEIL_ELIMIT, "publication for '%s': %u OPKs (limit %u)", p->name,
                              p->n, PK_PUBLISH_BATCH_MAX);
    return parse_tail(body, len, pos + 2u, p);
}

/* The signature over domain || version || op || body-before-sig. */
static int verify_sig(veil_vault *v, const publication *p, const uint8_t *body)
{
    size_t n = DOMAIN_LEN + 2u + p->signed_len;
    uint8_t *m = malloc(n);
    if (m == NULL)
        return veil_error_set(VEIL_ENOMEM, "prekey directory: out of memory");
    memcpy(m, PK_PUBLISH_DOMAIN, DOMAIN_LEN);
    m[DOMAIN_LEN] = PK_VERSION;
    m[DOMAIN_LEN + 1u] = PK_PUBLISH;
    memcpy(m + DOMAIN_LEN + 2u, body, p->signed_len);
    int rc = veil_vault_verify(v, VEIL_SECRET_X25519, p->spk.ik, X3DH_KEY_BYTES, m, n, p->sig);
    free(m);
    if (rc == VEIL_EAUTH)
        return veil_error_set(VEIL_EAUTH, "publication for '%s': its signature does not verify "
                              "under the bundle's identity key", p->name);
    return rc;
}

static prekey_entry *entry_new(prekey_service *svc, const char *name, const char *identifier)
{
    prekey_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->identifier, sizeof e->identifier, "%s", identifier);
    e->next = svc->entries;
    svc->entries = e;
    return e;
}

/* May the publication go to its name?  Local listener names and
 * directory_names are in memory; what was published (identifier, seq) is
 * in the store.  *expected: the record's version, for the compare-and-set
 * that claims the seq. */
static int bind_name(prekey_service *svc, const publication *p, const char *identifier,
                     dir_rec *r, uint64_t *expected)
{
    prekey_entry *e = prekey_find(svc, p->name);
    unsigned names = 0;
    if (e != NULL && e->store != NULL)
        return veil_error_set(VEIL_EEXIST, "publication for '%s': a listener of this node "
                              "serves that name", p->name);
    if (e != NULL && strcmp(e->identifier, identifier) != 0)
        return veil_error_set(VEIL_EEXIST, "publication for '%s': the name is bound to another "
                              "identity", p->name);
    int rc = dir_rec_get(svc, p->name, r, expected);
    if (rc == 0 && strcmp(r->identifier, identifier) != 0)
        return veil_error_set(VEIL_EEXIST, "publication for '%s': the name is bound to another "
                              "identity", p->name);
    if (rc == 0 && p->seq <= r->seq)
        return veil_error_set(VEIL_EREPLAY, "publication for '%s': sequence %llu is not above "
                              "the last accepted (%llu): replayed or stale", p->name,
                              (unsigned long long)p->seq, (unsigned long long)r->seq);
    if (rc != VEIL_ENOTFOUND)
        return rc;
    *expected = VEIL_STORE_ABSENT;
    if (e != NULL)
        return 0;
    if (!svc->dir_open)
        return veil_error_set(VEIL_EPERM, "publication for '%s': this directory takes only the "
                              "names configured in directory_names", p->name);
    if ((rc = dir_names_count(svc, &names)) == 0 && names >= svc->dir_names_max)
        rc = veil_error_set(VEIL_ELIMIT, "publication for '%s': the directory holds as many "
                            "names as it takes (directory_names_max)", p->name);
    return rc;
}

/* Accept a bound publication: claim its seq (compare-and-set: of two
 * nodes accepting publications for one name concurrently, one wins and
 * the other's is refused as stale), then its OPKs, oldest dropped beyond
 * directory_opk_max. */
static int accept(prekey_service *svc, const publication *p, const char *identifier,
                  dir_rec *r, uint64_t expected)
{
    unsigned n = p->n, skip = 0, held = 0;
    uint32_t oldest;
    if (n > svc->dir_opk_max) { /* keep the newest */
        skip = n - svc->dir_opk_max;
        n = svc->dir_opk_max;
    }
    r->flags = p->flags & PK_PFLAG_REQUIRE_OPK;
    r->seq = p->seq;
    snprintf(r->identifier, sizeof r->identifier, "%s", identifier);
    r->spk = p->spk;
    int rc = dir_rec_put(svc, p->name, r, expected);
    if (rc == VEIL_ESTATE || rc == VEIL_EEXIST)
        return veil_error_set(VEIL_EREPLAY, "publication for '%s': another publication for "
                              "the name was accepted meanwhile: stale", p->name);
    if (rc == 0 && (p->flags & PK_PFLAG_RESET)) /* a new store: what it published is dead */
        rc = dir_opk_drop(svc, p->name, UINT32_MAX);
    if (rc == 0)
        rc = dir_opk_count(svc, p->name, &held, &oldest);
    if (rc == 0 && held + n > svc->dir_opk_max)
        rc = dir_opk_drop(svc, p->name, held + n - svc->dir_opk_max);
    for (unsigned i = skip; rc == 0 && i < p->n; i++)
        rc = dir_opk_add(svc, p->name, p->seq, i, p->opks + (size_t)i * PK_OPK_ENTRY);
    return rc;
}

/* Everything but the binding: signatures, keys, proof → identifier. */
static int check(prekey_service *svc, const publication *p, const uint8_t *body,
                 veil_history_info *who)
{
    uint8_t pub[X3DH_KEY_BYTES];
    int rc = x3dh_bundle_verify(svc->dir_vault, &p->spk);
    if (rc < 0)
        return veil_error_wrap(rc, "prekey directory '%s': refused the publication for '%s'",
                               svc->address, p->name);
    if ((rc = verify_sig(svc->dir_vault, p, body)) < 0)
        return rc;
    for (unsigned i = 0; rc == 0 && i < p->n; i++)
        rc = x3dh_decode_key(p->opks + (size_t)i * PK_OPK_ENTRY + 4u, "published OPK", pub);
    if (rc == 0 && (rc = veil_identity_proof_verify(svc->dir_vault, p->proof, p->proof_len,
                                                    p->spk.ik, X3DH_KEY_BYTES, who)) < 0)
        veil_error_wrap(rc, "publication for '%s': its identity proof does not attest the "
                        "bundle's identity key", p->name);
    return rc;
}

int prekey_dir_publish(prekey_service *svc, veil_context *ctx, veil_message *msg, const uint8_t *body,
                   size_t len)
{
    publication p;
    dir_rec r;
    uint64_t expected = VEIL_STORE_ABSENT;
    unsigned held = 0;
    uint32_t oldest = 0;
    veil_history_info who;
    int rc = parse(body, len, &p);
    if (rc == 0)
        rc = check(svc, &p, body, &who);
    if (rc == 0 && (rc = bind_name(svc, &p, who.identifier, &r, &expected)) == 0)
        rc = accept(svc, &p, who.identifier, &r, expected);
    if (rc == 0)
        rc = dir_opk_count(svc, p.name, &held, &oldest);
    if (rc < 0)
        return prekey_dir_reply(ctx, msg, rc, body, len, NULL, 0);
    svc->publications++;
    uint8_t counts[8];
    veil__store_be32(counts, held);
    veil__store_be32(counts + 4, oldest);
    return prekey_dir_reply(ctx, msg, 0, body, len, counts, sizeof counts);
}

int prekey_dir_reply(veil_context *ctx, veil_message *msg, int rc, const uint8_t *body, size_t len,
                 const uint8_t *ok, size_t ok_len)
{
    uint8_t out[1u + PK_NAME_MAX + PK_NONCE_BYTES + PK_DETAIL_MAX];
    size_t nl = len >= 1u && len >= 1u + body[0] ? body[0] : 0u, n = 0;
    if (nl > 0 && memchr(body + 1, 0, nl) != NULL)
        nl = 0;
    out[n++] = (uint8_t)nl;
    if (nl > 0)
        memcpy(out + n, body + 1, nl);
    n += nl;
    if (nl > 0 && len >= 1u + nl + 8u + PK_NONCE_BYTES)
        memcpy(out + n, body + 1 + nl + 8, PK_NONCE_BYTES);
    else
        memset(out + n, 0, PK_NONCE_BYTES);
    n += PK_NONCE_BYTES;
    if (rc == 0) {
        memcpy(out + n, ok, ok_len);
        n += ok_len;
    } else {
        const char *d = veil_last_error();
        size_t dl = strnlen(d, PK_DETAIL_MAX);
        memcpy(out + n, d, dl);
        n += dl;
        veil_log(rc == VEIL_EBUSY ? VEIL_LOG_DEBUG : VEIL_LOG_INFO, "x3dh", "prekey service: "
                 "refused a publication: %s", rc == VEIL_EBUSY ? "over its source's limit" : d);
    }
    return prekey_reply(ctx, msg, PK_PUBLISH, rc, out, n);
}

int prekey_dir_bundle(prekey_service *svc, const char *name, x3dh_bundle *out)
{
    dir_rec r;
    uint64_t version;
    int rc = dir_rec_get(svc, name, &r, &version);
    if (rc < 0)
        return rc;
    *out = r.spk;
    out->has_opk = false;
    rc = dir_opk_take(svc, name, &out->opk_id, out->opk);
    if (rc == 0)
        out->has_opk = true;
    if (rc != VEIL_ENOTFOUND)
        return rc;
    if (r.flags & PK_PFLAG_REQUIRE_OPK)
        return veil_error_set(VEIL_EAGAIN, "x3dh prekeys: the directory holds no one-time "
                              "prekey for '%s' and its publisher requires one (require_opk): "
                              "no bundle handed out", name);
    return 0;
}

/* ---- configuration ------------------------------------------------------ */

/* One "name=identifier" of directory_names (spaces around both allowed). */
static int config_pair(prekey_service *svc, const char *where, const char *item, size_t len)
{
    char name[PK_NAME_MAX + 1], idt[VEIL_IDENTIFIER_LEN + 1];
    uint8_t digest[32];
    while (len > 0 && isspace((unsigned char)*item)) {
        item++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)item[len - 1u]))
        len--;
    const char *eq = memchr(item, '=', len);
    size_t nl = eq ? (size_t)(eq - item) : 0u;
    while (nl > 0 && isspace((unsigned char)item[nl - 1u]))
        nl--;
    const char *id = eq ? eq + 1 : item + len;
    size_t il = (size_t)(item + len - id);
    while (il > 0 && isspace((unsigned char)*id)) {
        id++;
        il--;
    }
    if (eq == NULL || nl == 0 || nl > PK_NAME_MAX)
        return veil_error_set(VEIL_ECONFIG, "%s: [prekeys] directory_names: '%.*s' is not "
                              "name=identifier", where, (int)(len < 80 ? len : 80), item);
    if (il == VEIL_IDENTIFIER_LEN)
        memcpy(idt, id, il);
    idt[il == VEIL_IDENTIFIER_LEN ? il : 0] = '\0';
    if (il != VEIL_IDENTIFIER_LEN || veil_identifier_parse(idt, digest) < 0)
        return veil_error_set(VEIL_ECONFIG, "%s: [prekeys] directory_names: '%.*s' is not an "
                              "identifier (P and 64 hex digits)", where,
                              (int)(il < 80 ? il : 80), id);
    for (size_t i = 1; i < il; i++) /* lower case, as histories produce it */
        idt[i] = (char)tolower((unsigned char)idt[i]);
    memcpy(name, item, nl);
    name[nl] = '\0';
    prekey_entry *e = prekey_find(svc, name);
    if (e != NULL && e->store != NULL)
        return veil_error_set(VEIL_ECONFIG, "%s: [prekeys] directory_names: '%s' is the address "
                              "of a listener of this node", where, name);
    if (e == NULL && (e = entry_new(svc, name, idt)) == NULL)
        return veil_error_set(VEIL_ENOMEM, "prekey directory: out of memory");
    snprintf(e->identifier, sizeof e->identifier, "%s", idt);
    e->configured = true;
    return 0;
}

static int config_names(prekey_service *svc, const veil_ka_prekey_params *p)
{
    const char *text = veil_config_scope_get(&p->scope, "directory_names");
    const char *where = veil_config_scope_origin(&p->scope, "directory_names");
    int rc = 0;
    while (text != NULL && *text != '\0' && rc == 0) {
        const char *end = strchr(text, ',');
        size_t len = end ? (size_t)(end - text) : strlen(text);
        rc = config_pair(svc, where ? where : "?", text, len);
        text = end ? end + 1 : text + len;
    }
    return rc;
}

int prekey_dir_configure(prekey_service *svc, const veil_ka_prekey_params *p)
{
    long long names = 0, opks = 0;
    bool open = true;
    int rc = veil_config_scope_get_int(&p->scope, "directory_names_max", PK_NAMES_MAX_DEFAULT, 1,
                                       100000, &names);
    if (rc == 0)
        rc = veil_config_scope_get_int(&p->scope, "directory_opk_max", PK_DIR_OPK_MAX_DEFAULT, 1,
                                       X3DH_OPK_COUNT_MAX, &opks);
    if (rc == 0)
        rc = veil_config_scope_get_bool(&p->scope, "directory_open", true, &open);
    if (rc == 0)
        rc = config_names(svc, p);
    if (rc < 0)
        return rc;
    svc->dir_vault = p->vault;
    svc->dir_open = open;
    svc->dir_names_max = (unsigned)names;
    svc->dir_opk_max = (unsigned)opks;
    return 0;
}
