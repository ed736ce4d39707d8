/* Shared by the identity tests (test_entity.c, test_history.c,
 * test_contacts.c): a node with a software vault, the history layout of
 * docs/PROTOCOL.md as constants, and the test's own reading of the
 * signing rule (len || domain || payload) — written from the document,
 * not taken from the code under test. */
#ifndef VEIL_TEST_IDENTITY_H
#define VEIL_TEST_IDENTITY_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "assert_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <veil/entity.h>
#include <veil/error.h>
#include <veil/node.h>
#include <veil/vault.h>

/* History version 2, events whose seq fits one byte (docs/PROTOCOL.md). */
#define HDR 2u                        /* version, count */
#define EV_PREV 2u
#define EV_CREATED 34u
#define EV_EXPIRES 42u
#define EV_KEY_TYPE 50u
#define EV_KEY 51u
#define EV_BODY 83u                   /* kind seq prev created expires type key */
#define EV_SIG_NEW 83u
#define EV_SIG_PREV 147u
#define CREATE_LEN 147u               /* body + sig_new */
#define ROTATE_LEN 211u               /* ... + sig_prev */

static const char EVENT_DOMAIN[] = "veil.identity.event.v2";
static const char ATTEST_DOMAIN[] = "veil.channel.attest.v2";

typedef struct world {
    veil_node *node;
    veil_context *app;
    veil_vault *v;
} world;

static world the_world;

/* A node from config text (NULL: software vault only) and its vault. */
static inline int world_setup(void **state, const char *config)
{
    veil_config *cfg;
    if (veil_config_new_from_text(&cfg, config != NULL ? config : "[vault]\nplugin = software\n",
                                  "<test>") < 0)
        return -1;
    veil_node_options o = { sizeof o, cfg, NULL };
    int rc = veil_node_new(&the_world.node, &the_world.app, &o);
    veil_config_free(cfg);
    if (rc < 0 || veil_vault_open(the_world.node, NULL, &the_world.v) < 0) {
        fprintf(stderr, "setup: %s\n", veil_last_error());
        return -1;
    }
    *state = &the_world;
    return 0;
}

static inline int world_teardown(void **state)
{
    (void)state;
    veil_vault_close(the_world.v);
    return veil_node_free(the_world.node) == 0 ? 0 : -1;
}

static inline void hexof(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
}

static inline void unhex(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned b;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
        out[i] = (uint8_t)b;
    }
}

static inline void sha256(veil_vault *v, const uint8_t *d, size_t n, uint8_t out[32])
{
    veil_iovec iov = { d, n };
    assert_int_equal(veil_vault_hash(v, VEIL_HASH_SHA256, &iov, 1, out), 0);
}

static inline void put64(uint8_t *p, uint64_t x)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(x >> (56 - 8 * i));
}

static inline uint64_t get64(const uint8_t *p)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = x << 8 | p[i];
    return x;
}

/* len(domain) || domain || payload into out; returns its length. */
static inline size_t spec_message(uint8_t *out, const char *domain, const uint8_t *p, size_t n)
{
    size_t dl = strlen(domain);
    out[0] = (uint8_t)dl;
    memcpy(out + 1, domain, dl);
    memcpy(out + 1 + dl, p, n);
    return 1 + dl + n;
}

static inline int spec_verify(veil_vault *v, const uint8_t *key, const char *domain,
                              const uint8_t *p, size_t n, const uint8_t *sig)
{
    uint8_t msg[1024];
    size_t len = spec_message(msg, domain, p, n);
    return veil_vault_verify(v, VEIL_SECRET_ED25519, key, 32, msg, len, sig);
}

static inline void spec_sign(veil_vault *v, veil_secret k, const char *domain, const uint8_t *p,
                             size_t n, uint8_t *sig)
{
    uint8_t msg[1024];
    size_t len = spec_message(msg, domain, p, n);
    assert_int_equal(veil_vault_sign(v, k, msg, len, sig), 0);
}


/* The entity's current key, which must be Ed25519 (32 bytes at pub). */
static inline int ed_key(const veil_entity *e, uint8_t pub[32])
{
    uint8_t k[VEIL_IDENTITY_KEY_MAX_BYTES];
    size_t n = 0;
    int type = 0;
    int rc = veil_entity_public_key(e, &type, k, &n);
    if (rc == 0 && (type != VEIL_SECRET_ED25519 || n != 32))
        return VEIL_ETYPE;
    memcpy(pub, k, 32);
    return rc;
}

/* An ephemeral Ed25519 key of the test's own (for hand-made events). */
static inline veil_secret test_key(veil_vault *v, uint8_t pub[32])
{
    veil_secret_attrs a;
    veil_secret k;
    size_t n;
    memset(&a, 0, sizeof a);
    a.type = VEIL_SECRET_ED25519;
    assert_int_equal(veil_vault_generate(v, &a, &k), 0);
    assert_int_equal(veil_vault_public_key(v, k, pub, 32, &n), 0);
    return k;
}

/* Write an event body at out (seq < 128), by the document. */
static inline void spec_body(uint8_t *out, unsigned seq, const uint8_t prev[32],
                             uint64_t created, uint64_t expires, const uint8_t key[32])
{
    out[0] = seq == 0 ? 1 : 2;
    out[1] = (uint8_t)seq;
    memcpy(out + EV_PREV, prev, 32);
    put64(out + EV_CREATED, created);
    put64(out + EV_EXPIRES, expires);
    out[EV_KEY_TYPE] = 1;
    memcpy(out + EV_KEY, key, 32);
}

/* A two-event history by the document: created by root (times c0, x0),
 * rotated to next (c1, x1).  Returns its length (HDR + CREATE_LEN +
 * ROTATE_LEN bytes at out). */
static inline size_t spec_history2(veil_vault *v, veil_secret root, const uint8_t root_pub[32],
                                   veil_secret next, const uint8_t next_pub[32], uint64_t c0,
                                   uint64_t x0, uint64_t c1, uint64_t x1, uint8_t *out)
{
    static const uint8_t zero[32];
    uint8_t link[32];
    uint8_t *e1 = out + HDR + CREATE_LEN;
    out[0] = 2, out[1] = 2;
    spec_body(out + HDR, 0, zero, c0, x0, root_pub);
    spec_sign(v, root, EVENT_DOMAIN, out + HDR, EV_BODY, out + HDR + EV_SIG_NEW);
    sha256(v, out + HDR, CREATE_LEN, link);
    spec_body(e1, 1, link, c1, x1, next_pub);
    spec_sign(v, next, EVENT_DOMAIN, e1, EV_BODY, e1 + EV_SIG_NEW);
    spec_sign(v, root, EVENT_DOMAIN, e1, EV_BODY, e1 + EV_SIG_PREV);
    return HDR + CREATE_LEN + ROTATE_LEN;
}

#endif
