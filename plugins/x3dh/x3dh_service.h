/* Private to the prekey service (x3dh_service.c, x3dh_limit.c,
 * x3dh_publish.c, x3dh_directory.c): the service worker's state, its
 * entries (names served), registrations, and the wire format constants
 * (docs/X3DH.md, "Prekey service", version 2). */
#ifndef VEIL_X3DH_SERVICE_H
#define VEIL_X3DH_SERVICE_H

#include "x3dh_prekeys.h"

#include <veil/entity.h>
#include <veil/node.h>

#define PK_VERSION 2u
#define PK_FETCH 0x01u
#define PK_PUBLISH 0x02u
#define PK_REPLY 0x80u               /* op | PK_REPLY answers op */
#define PK_NAME_MAX 255u
#define PK_DETAIL_MAX 400u           /* error text in a publication reply */
#define PK_PUBLISH_DOMAIN "veil.x3dh.publish.v2"
#define PK_PUBLISH_BATCH_MAX 1000u   /* OPKs in one publication */
#define PK_PFLAG_REQUIRE_OPK 0x01u
#define PK_PFLAG_RESET 0x02u         /* first publication of a store: drop held OPKs */
#define PK_OPK_ENTRY (4u + X3DH_ENC_BYTES)
#define PK_NONCE_BYTES 16u
#define PK_PROOF_MAX 65535u          /* proof_len is a u16 */

/* [prekeys] defaults and ranges (docs/CONFIG.md). */
#define PK_REQUEST_RATE_DEFAULT 20
#define PK_REQUEST_BURST_DEFAULT 40
#define PK_REQUEST_SOURCES_DEFAULT 256
#define PK_NAMES_MAX_DEFAULT 256
#define PK_DIR_OPK_MAX_DEFAULT 1000

/* ---- per-source request limits (x3dh_limit.c) -------------------------- */

typedef struct prekey_source {
    bool used;
    uint8_t type, len;
    uint8_t bytes[VEIL_ADDRESS_MAX];
    uint64_t tokens;                 /* thousandths of a request */
    uint64_t last_ms;
} prekey_source;

typedef struct prekey_limit {
    prekey_source *slots;
    unsigned n;
    prekey_source overflow;              /* sources without a slot share it */
    uint64_t rate, burst;            /* per second; burst in thousandths */
    uint32_t seed;
} prekey_limit;

X3DH_HIDDEN int prekey_limit_init(prekey_limit *l, unsigned sources, unsigned rate, unsigned burst,
                              uint32_t seed);
X3DH_HIDDEN void prekey_limit_free(prekey_limit *l);
/* Charge one request to the source of ret (its first address) at now:
 * false when that source is over its limit. */
X3DH_HIDDEN bool prekey_limit_take(prekey_limit *l, const veil_route *ret, uint64_t now);

/* ---- the service --------------------------------------------------------- */

typedef struct prekey_service prekey_service;

/* One name the service answers for: a local store (a listener on this
 * node) or what a remote responder published (directory). */
typedef struct prekey_entry {
    struct prekey_entry *next;
    char name[PK_NAME_MAX + 1];
    x3dh_store *store;               /* local */
    void *owner;                     /* local: its prekey_reg */
    /* directory: a name bound by [prekeys] directory_names (what was
     * published for it is in the node's store: x3dh_dir_store.c) */
    char identifier[VEIL_IDENTIFIER_LEN + 1];
    bool configured;
} prekey_entry;

struct prekey_service {
    prekey_service *next;                /* the node's services ("x3dh.prekeys") */
    unsigned refs;                   /* the worker + registrations */
    veil_node *node;
    veil_context *ctx;               /* NULL once the worker stopped */
    char address[VEIL_ADDRESS_MAX + 1];
    prekey_limit limit;
    prekey_entry *entries;
    /* directory */
    veil_vault *dir_vault;           /* non-NULL: a directory */
    bool dir_open;                   /* unconfigured names: first verified identity */
    unsigned dir_names_max;          /* names bound at run time (in the store) */
    unsigned dir_opk_max;            /* OPKs held per name */
    uint64_t fetches, publications, refused_busy, acks_dropped;
};

/* A registration (x3dh_prekey_start's handle). */
typedef struct prekey_reg {
    prekey_service *svc;
    prekey_entry *entry;                 /* local entry in svc */
    x3dh_store *store;
    veil_timer *timer;
    uint64_t publish_ms;             /* 0: no directory */
    veil_route dir_route;
    veil_vault *vault;
    veil_entity *entity;             /* its identity proof rides in publications */
    uint32_t tag;                    /* the store's tag for our published OPKs */
    uint64_t seq;                    /* last publication's */
    uint8_t nonce[PK_NONCE_BYTES];   /* ... and its nonce, which the ack echoes */
    bool pending;                    /* a publication awaits its ack */
    bool dir_sent;
    uint32_t published_spk;
    unsigned dir_held;               /* OPKs the directory reported */
    bool dir_acked;                  /* the last publication was acknowledged */
    x3dh_store_config cfg;
} prekey_reg;

X3DH_HIDDEN prekey_entry *prekey_find(prekey_service *svc, const char *name);
/* Reply to msg: version | op|PK_REPLY | status | body. */
X3DH_HIDDEN int prekey_reply(veil_context *ctx, veil_message *msg, uint8_t op, int status,
                         const uint8_t *body, size_t len);
X3DH_HIDDEN void prekey_entry_free(prekey_entry *e);

/* x3dh_publish.c: the responder's side of a directory */
/* Send a signed publication for reg (SPK + up to n OPKs) to its directory. */
X3DH_HIDDEN int p11_pub_send(prekey_reg *reg, unsigned n);
/* A reply to a publication (body after version and op): taken only when
 * it echoes the nonce of our pending publication and comes from the
 * first hop of directory_route; anything else is counted and dropped. */
X3DH_HIDDEN void p11_pub_ack(prekey_service *svc, veil_message *msg, const uint8_t *body, size_t len);

/* x3dh_directory.c: the directory's side */
/* [prekeys] directory_names, directory_open, directory_names_max,
 * directory_opk_max: make svc a directory with its configured names. */
X3DH_HIDDEN int prekey_dir_configure(prekey_service *svc, const veil_ka_prekey_params *p);
/* A PUBLISH request (body after version and op): verify and take it. */
X3DH_HIDDEN int prekey_dir_publish(prekey_service *svc, veil_context *ctx, veil_message *msg,
                               const uint8_t *body, size_t len);
/* Reply to a publication with status rc (name and nonce echoed as far as
 * they could be read from body; the detail when rc < 0). */
X3DH_HIDDEN int prekey_dir_reply(veil_context *ctx, veil_message *msg, int rc, const uint8_t *body,
                             size_t len, const uint8_t *ok, size_t ok_len);
/* A bundle from a remote entry (one OPK at most once). */
X3DH_HIDDEN int prekey_dir_bundle(prekey_service *svc, const char *name, x3dh_bundle *out);

/* x3dh_dir_store.c: the directory's state in the node's store. */
typedef struct dir_rec {
    char key[65];                    /* hex SHA-256 of the name (set by dir_rec_get) */
    uint8_t flags;                   /* PK_PFLAG_REQUIRE_OPK */
    uint64_t seq;                    /* the last accepted publication's */
    char identifier[VEIL_IDENTIFIER_LEN + 1];  /* the name is bound to it */
    x3dh_bundle spk;                 /* verified, without OPK */
} dir_rec;
/* VEIL_ENOTFOUND (nothing published), VEIL_EFORMAT (a damaged record,
 * naming it). */
X3DH_HIDDEN int dir_rec_get(prekey_service *svc, const char *name, dir_rec *r,
                            uint64_t *version);
/* Compare-and-set on expected (VEIL_STORE_ABSENT for a new name). */
X3DH_HIDDEN int dir_rec_put(prekey_service *svc, const char *name, const dir_rec *r,
                            uint64_t expected);
X3DH_HIDDEN int dir_names_count(prekey_service *svc, unsigned *n);
X3DH_HIDDEN int dir_opk_add(prekey_service *svc, const char *name, uint64_t seq, unsigned i,
                            const uint8_t entry[PK_OPK_ENTRY]);
X3DH_HIDDEN int dir_opk_count(prekey_service *svc, const char *name, unsigned *n,
                              uint32_t *oldest);
/* Hand out the oldest OPK of name, exactly once (VEIL_ENOTFOUND: none). */
X3DH_HIDDEN int dir_opk_take(prekey_service *svc, const char *name, uint32_t *id,
                             uint8_t pub[X3DH_KEY_BYTES]);
/* Drop the k oldest (fewer when fewer are held). */
X3DH_HIDDEN int dir_opk_drop(prekey_service *svc, const char *name, unsigned k);

#endif
