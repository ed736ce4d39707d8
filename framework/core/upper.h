/* What the core offers the layers above it inside libveil (identity/ and
 * channel/) beyond the public API.  Not installed, not exported (hidden
 * visibility).  Upper layers include from the core only this, core/util.h
 * and the public headers, never the runtime's private headers
 * (tests/system/layering.sh checks it). */
#ifndef VEIL_UPPER_H
#define VEIL_UPPER_H

#include <veil/config.h>
#include <veil/message.h>
#include <veil/node.h>
#include <veil/plugin.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define VEIL_UPPER_HIDDEN __attribute__((visibility("hidden")))

/* ---- plugins the node owns (node.c) ----------------------------------- */

/* The plugin loaded for `section` (e.g. "vault", "vault.backup").
 *
 * Plugins named by the configuration (`plugin = NAME` in a section of a
 * registered plugin kind: vault*, key_agreement*, policy*, transport.*)
 * are loaded when the node is created.  When the section has no `plugin`
 * key (or is absent) and default_name is not NULL, default_name is loaded
 * once with that section supplying its keys, and kept for later calls.
 * The node owns every plugin it hands out; all are unloaded at
 * veil_node_free().
 *
 * Errors: VEIL_ENOTFOUND (nothing configured, no default), VEIL_EPLUGIN_KIND
 * (the section's plugin is of another kind), the loader's errors. */
VEIL_UPPER_HIDDEN int veil__node_plugin(veil_node *node, const char *section, int kind,
                                        const char *default_name, veil_plugin **out);

/* Is the node stopping (veil_node_stop / veil_node_free running or done)?
 * What a layer's stop op tells a node stop from a local stop by. */
VEIL_UPPER_HIDDEN bool veil__node_stopping(const veil_node *node);

/* ---- frame forwarding (fastpath.c) ------------------------------------ */

/* A network-facing worker that passes frames on without a message
 * (veil_node_forward_frame): given the frame's routes as decoded (the
 * connection it came over already first on ret) and what
 * veil_node_deliver would have put in its local info, rewrite the routes
 * as the worker's handle_message would and return 1; or return 0 to leave
 * the frame to the ordinary path (the routes are then ignored).  It must
 * not send, run the loop or stop workers, and must change nothing else: a
 * frame whose next hop is full is held by its transport and offered again
 * (veil_node_forward_frame's VEIL_FORWARD_HELD), so the same frame may
 * come here several times.  What it counts goes in *sent (may stay NULL):
 * the node increments that counter once, when the frame really went. */
typedef int (*veil__frame_forward_fn)(veil_context *ctx, void *state, const veil_local_info *li,
                                      veil_route *onward, veil_route *ret, uint64_t **sent);
/* Set on a worker from its start op; VEIL_EINVAL for a mailbox. */
VEIL_UPPER_HIDDEN int veil__ctx_set_frame_forwarder(veil_context *ctx, veil__frame_forward_fn fn);

/* ---- undeliverable notices (undeliverable.c) -------------------------- */

/* A node answers a message that came over a transport for a local address
 * with no worker with a notice (docs/PROTOCOL.md, "Undeliverable
 * notices"): code:u8 (-VEIL_ENOROUTE) || "veil.undeliverable" || 0x0f.
 * Its last byte is in the secure channel's plain handshake frame range. */
#define VEIL_NOTICE_TYPE 0x0fu
#define VEIL_NOTICE_MAGIC "veil.undeliverable"
#define VEIL_NOTICE_LEN (1u + sizeof VEIL_NOTICE_MAGIC - 1u + 1u)
/* Is p a notice?  Its code in *code.  Unauthenticated: anyone on the path
 * can send one.  (Inline: the channel's frame parser, fuzzed alone, uses
 * it.) */
static inline bool veil__notice_parse(const uint8_t *p, size_t n, int *code)
{
    if (n != VEIL_NOTICE_LEN || p[n - 1] != VEIL_NOTICE_TYPE ||
        memcmp(p + 1, VEIL_NOTICE_MAGIC, sizeof VEIL_NOTICE_MAGIC - 1u) != 0)
        return false;
    *code = -(int)p[0];
    return true;
}

/* ---- routes kept long (address.c) ------------------------------------- */

/* A route in as many bytes as its addresses take, for a route kept as long
 * as a secure channel lives (a veil_route is 1.3 KiB).  Unpacking it is
 * one copy of those bytes, as cheap as veil_route_copy: no decoding.
 * Free it with free(). */
typedef struct veil_packed_route veil_packed_route;
/* VEIL_ENOMEM. */
VEIL_UPPER_HIDDEN int veil__route_pack(const veil_route *r, veil_packed_route **out);
VEIL_UPPER_HIDDEN void veil__route_unpack(const veil_packed_route *p, veil_route *out);

/* ---- messages (message.c) --------------------------------------------- */

/* The message's local info, to change in place: a secure channel sets or
 * clears a few fields of it per message, where building a whole
 * veil_local_info for veil_message_set_local_info and copying it in shows
 * in the data path's cost (docs/PROTOCOL.md, "Performance"). */
VEIL_UPPER_HIDDEN veil_local_info *veil__message_local_info(veil_message *m);
/* Shorten the payload to len (<= its length) WITHOUT wiping the bytes
 * past len, for a caller that sized the payload for a read and wrote only
 * the first len bytes (the portal's read_once: up to 64 KiB offered to
 * read(2), often a few bytes taken).  Those bytes were never written since
 * the payload grew: they are what the pool handed out, i.e. zeros (the
 * pool wipes every byte a previous user held) or fresh malloc memory, so
 * wiping them (veil_message_resize_payload does) protects nothing and cost
 * the portal more instructions than the AEAD.  Never use it after writing
 * past len. */
VEIL_UPPER_HIDDEN void veil__message_shrink_unwritten(veil_message *m, size_t len);
/* The payload now holds only a sealed frame (a secure channel encrypted
 * it in place: ciphertext, tag and public trailer, every plaintext byte
 * overwritten): when the message is freed its buffer goes back to the pool
 * without a wipe, since an eavesdropper on the wire sees the same bytes.
 * Any later change of the payload (set/resize/payload_mut) clears the
 * mark, so bytes written afterwards are wiped as usual.  Never set it on a
 * payload that held plaintext outside the sealed bytes. */
VEIL_UPPER_HIDDEN void veil__message_sealed(veil_message *m);
/* Wipe what a secure channel put in li (which channel, which peer) and
 * reset the flags; the connection (meaningful only with from_transport,
 * nothing secret) is left alone. */
VEIL_UPPER_HIDDEN void veil__local_info_wipe(veil_local_info *li);

/* ---- plugin kinds (plugin_kind.c) ------------------------------------- */

typedef struct veil_plugin_kind_info {
    int kind;                    /* veil_plugin_kind */
    const char *name;            /* veil_plugin_kind_name(); sections [name.X] */
    size_t ops_min;              /* smallest ops table accepted (VEIL_ABI_SIZE) */
    bool bare_section;           /* [name] itself holds one too */
} veil_plugin_kind_info;

/* The core knows the vault and transport kinds; a layer above registers
 * each of its kinds once, when libveil is loaded (a constructor), so the
 * loader and the node never see its ops tables.  A kind registered twice
 * keeps its first registration. */
VEIL_UPPER_HIDDEN void veil__plugin_kind_register(const veil_plugin_kind_info *k);
/* The registration of kind, or NULL. */
VEIL_UPPER_HIDDEN const veil_plugin_kind_info *veil__plugin_kind(int kind);
/* The kind a configuration section holds a plugin of ([vault], [vault.X],
 * [transport.X], ...), or NULL. */
VEIL_UPPER_HIDDEN const veil_plugin_kind_info *veil__plugin_kind_of_section(const char *section);

/* ---- plugin references (plugin_loader.c) ------------------------------ */

/* One more holder of p: veil_plugin_close drops one, and the plugin is
 * finalised and closed when the last holder lets go.  Lets a node's cache
 * of trust policy plugins and every policy made from it share one load,
 * in whatever order node and policies are freed. */
VEIL_UPPER_HIDDEN void veil__plugin_ref(veil_plugin *p);

/* Check [section] of cfg against p's descriptor the way a load checks the
 * section it is given: only "plugin" and the descriptor's config_keys.
 * 0, or the loader's error naming the plugin and the offending key. */
VEIL_UPPER_HIDDEN int veil__plugin_check_section(const veil_plugin *p, const veil_config *cfg,
                                                 const char *section);

#endif
