/* Relays (veil/relay.h): what the registry, the registrant and the wire
 * codec share inside the channel layer. */
#ifndef VEIL_RELAY_INTERNAL_H
#define VEIL_RELAY_INTERNAL_H

#include <veil/relay.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEIL_RELAY_HIDDEN __attribute__((visibility("hidden")))

/* Message types (docs/PROTOCOL.md, "Relay registration"). */
#define VEIL_RELAY_REGISTER 0x01u
#define VEIL_RELAY_RESULT 0x02u
/* The largest registration message: version, type, code, length, name. */
#define VEIL_RELAY_MSG_MAX (4u + VEIL_RELAY_NAME_MAX)

typedef struct veil_relay_msg {
    uint8_t version;
    uint8_t type;
    uint8_t code;                       /* RESULT only */
    char name[VEIL_RELAY_NAME_MAX + 1]; /* NUL-terminated */
} veil_relay_msg;

/* Encode m into out (cap >= VEIL_RELAY_MSG_MAX); the length, or
 * VEIL_EINVAL (a name that is not valid). */
VEIL_RELAY_HIDDEN int veil__relay_encode(const veil_relay_msg *m, uint8_t *out, size_t cap);
/* Decode exactly len bytes.  VEIL_ETRUNCATED, VEIL_ETRAILING, VEIL_EVERSION
 * (version byte not 1; m->version is set), VEIL_EFORMAT (unknown type,
 * length 0 or over the maximum, a byte outside the charset). */
VEIL_RELAY_HIDDEN int veil__relay_decode(const uint8_t *in, size_t len, veil_relay_msg *m);

/* The registry's names by connection (relay_conns.c): a set of
 * connection addresses, each the `conn` of a registered name (several
 * names may share one), held by pointer.  At most max (init) added at
 * once; the table has at least 2 * max slots.  Empty addresses are never
 * held. */
typedef struct veil_relay_conns {
    const veil_address **slot;
    size_t cap;                    /* a power of two */
} veil_relay_conns;
VEIL_RELAY_HIDDEN int veil__relay_conns_init(veil_relay_conns *t, size_t max);
VEIL_RELAY_HIDDEN void veil__relay_conns_free(veil_relay_conns *t);
/* a stays valid (and unchanged) until removed. */
VEIL_RELAY_HIDDEN void veil__relay_conns_add(veil_relay_conns *t, const veil_address *a);
/* Remove this very pointer (no-op when absent). */
VEIL_RELAY_HIDDEN void veil__relay_conns_remove(veil_relay_conns *t, const veil_address *a);
/* Is an address equal to a held? */
VEIL_RELAY_HIDDEN bool veil__relay_conns_has(const veil_relay_conns *t, const veil_address *a);

/* The HSERR frame a relay answers an unknown name with (channel_hserr.c):
 * the initiator's open fails at once.  Its length. */
VEIL_RELAY_HIDDEN size_t veil__relay_refusal_frame(uint8_t *frame, size_t cap);

/* Registrations kept in the node's store (relay_persist.c): bind when a
 * name is first bound to an identity, unbind when the binding expires,
 * load at the registry's start (fn once per kept name).  No-ops with the
 * memory store; a failing store is logged, never fails a registration. */
typedef void (*veil__relay_restore_fn)(void *arg, const char *name, const char *owner);
VEIL_RELAY_HIDDEN void veil__relay_persist_bind(veil_node *node, const char *name,
                                                const char *owner);
VEIL_RELAY_HIDDEN void veil__relay_persist_unbind(veil_node *node, const char *name);
VEIL_RELAY_HIDDEN int veil__relay_persist_load(veil_node *node, veil__relay_restore_fn fn,
                                               void *arg);

#endif
