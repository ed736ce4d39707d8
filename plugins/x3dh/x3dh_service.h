/* Private to x3dh_service.c and x3dh_directory.c: the prekey service worker's
 * state, its entries (names served) and the wire format constants
 * (docs/X3DH.md, "Prekey service"). */
#ifndef VEIL_X3DH_SERVICE_H
#define VEIL_X3DH_SERVICE_H

#include "x3dh_prekeys.h"

#include <veil/node.h>

#define PK_VERSION 1u
#define PK_FETCH 0x01u
#define PK_PUBLISH 0x02u
#define PK_REPLY 0x80u               /* op | PK_REPLY answers op */
#define PK_NAME_MAX 255u
#define PK_DETAIL_MAX 400u           /* error text in a reply */
#define PK_PUBLISH_DOMAIN "veil.x3dh.publish.v1"
#define PK_PUBLISH_BATCH_MAX 1000u   /* OPKs in one publication */
#define PK_PFLAG_REQUIRE_OPK 0x01u
#define PK_OPK_ENTRY (4u + X3DH_ENC_BYTES)

typedef struct pk_service pk_service;

/* One name the service answers for: a local store (a listener on this
 * node) or what a remote responder published (directory). */
typedef struct pk_entry {
    struct pk_entry *next;
    char name[PK_NAME_MAX + 1];
    x3dh_store *store;               /* local */
    void *owner;                     /* local: its pk_reg */
    /* remote (directory) */
    x3dh_bundle spk;                 /* verified, without OPK */
    uint64_t seq;
    bool require_opk;
    uint32_t *opk_ids;               /* a queue: handed out from head */
    uint8_t (*opk_pubs)[X3DH_KEY_BYTES];
    size_t head, count, cap;
} pk_entry;

struct pk_service {
    pk_service *next;                /* all services of the process */
    unsigned refs;                   /* the worker + registrations */
    veil_node *node;
    veil_context *ctx;               /* NULL once the worker stopped */
    char address[VEIL_ADDRESS_MAX + 1];
    veil_vault *dir_vault;           /* non-NULL: a directory */
    pk_entry *entries;
    uint64_t fetches, publications;
};

/* A registration (prekey_start's handle). */
typedef struct pk_reg {
    pk_service *svc;
    pk_entry *entry;                 /* local entry in svc */
    x3dh_store *store;
    veil_timer *timer;
    uint64_t publish_ms;             /* 0: no directory */
    veil_route dir_route;
    veil_vault *vault;
    uint64_t seq;                    /* last publication's */
    bool dir_sent;
    uint32_t published_spk;
    unsigned dir_held;               /* OPKs the directory reported */
    bool dir_acked;                  /* the last publication was acknowledged */
    x3dh_store_config cfg;
} pk_reg;

X3DH_HIDDEN pk_entry *pk_find(pk_service *svc, const char *name);
/* Reply to msg: version | op|PK_REPLY | status | body. */
X3DH_HIDDEN int pk_reply(veil_context *ctx, veil_message *msg, uint8_t op, int status,
                         const uint8_t *body, size_t len);
/* Reply with status rc and the current error detail as body (after
 * prefix, the name bytes for a publication reply). */
X3DH_HIDDEN int pk_reply_error(veil_context *ctx, veil_message *msg, uint8_t op, int rc,
                               const char *name);
X3DH_HIDDEN void pk_entry_free(pk_entry *e);

/* x3dh_directory.c */
/* A PUBLISH request (body after version and op): verify and take it. */
X3DH_HIDDEN int pk_dir_publish(pk_service *svc, veil_context *ctx, veil_message *msg,
                               const uint8_t *body, size_t len);
/* A reply to a publication we sent (body after version and op). */
X3DH_HIDDEN void pk_dir_ack(pk_service *svc, const uint8_t *body, size_t len);
/* A bundle from a remote entry (one OPK at most once). */
X3DH_HIDDEN int pk_dir_bundle(pk_entry *e, x3dh_bundle *out);
/* Send a signed publication for reg (SPK + up to n OPKs) to its directory. */
X3DH_HIDDEN int pk_dir_send(pk_reg *reg, unsigned n);

#endif
