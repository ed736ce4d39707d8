/* A minimal in-test X3DH prekey store (the x3dh_store_* functions of
 * plugins/x3dh/x3dh.h) for the protocol tests, the KAT runner and the
 * interop peer, so they do not depend on the real store (x3dh_store.c,
 * tested by the prekey side).  Not thread-safe; one process, few keys. */
#ifndef VEIL_TESTS_X3DH_STORE_H
#define VEIL_TESTS_X3DH_STORE_H

#include "x3dh.h"

/* Forget every store (does not destroy vault secrets: the tests own them). */
void tstore_reset(void);
/* Add an SPK / OPK under identity public key ik_pub of vault v (the store
 * is created on first use).  0, or -1 when a table is full. */
int tstore_add_spk(veil_vault *v, const uint8_t ik_pub[32], uint32_t id, veil_secret spk,
                   bool expired);
int tstore_add_opk(veil_vault *v, const uint8_t ik_pub[32], uint32_t id, veil_secret opk);
/* 1 when the OPK is still available, 0 consumed, -1 unknown. */
int tstore_opk_available(veil_vault *v, const uint8_t ik_pub[32], uint32_t id);
/* Number of lookups not yet released (must be 0 after every session). */
int tstore_open_refs(void);

#endif
