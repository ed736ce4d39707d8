/* veil — the state store: a node's durable, non-secret state.
 *
 * A store keeps records: (namespace, key) → value, each with a version
 * that grows by one with every write.  Three operations carry the
 * security-relevant guarantees (docs/PLUGINS.md, "The store kind"):
 *
 *  - put with an expected version: compare-and-set, so two writers never
 *    silently overwrite each other (an extended contact history never goes
 *    back to a shorter one because a stale writer won);
 *  - take: remove and return one record, exactly once across every user of
 *    the store (a one-time prekey is handed out once, also by two nodes
 *    sharing one database); done by the database's own transaction;
 *  - list, in key order.
 *
 * Nothing secret goes into a store in clear (docs/PLUGINS.md says what is
 * stored where).  Plugins: memory (the default), sqlite, postgresql. */
#ifndef VEIL_STORE_H
#define VEIL_STORE_H

#include <veil/common.h>
#include <veil/config.h>
#include <veil/node.h>

VEIL_BEGIN_DECLS

/* Bounds, checked by libveil before any plugin sees a call.  A namespace
 * is 1..VEIL_STORE_NS_MAX of [a-z0-9._-]; a key 1..VEIL_STORE_KEY_MAX
 * printable ASCII bytes other than space (0x21..0x7e); a value
 * 0..VEIL_STORE_VALUE_MAX bytes. */
#define VEIL_STORE_NS_MAX 64u
#define VEIL_STORE_KEY_MAX 255u
#define VEIL_STORE_VALUE_MAX 65536u

/* Expected versions for put and delete: any version (or none) / the
 * record must not exist yet.  Any other value: the record must be at
 * exactly that version. */
#define VEIL_STORE_ANY UINT64_MAX
#define VEIL_STORE_ABSENT 0u

/* take: `key` is a prefix, the record with the lowest key starting with it
 * is taken. */
#define VEIL_STORE_PREFIX 0x1u

/* Called once per record by list, in key order; a non-zero return stops
 * the walk and is returned.  The callback must not call the same store. */
typedef int (*veil_store_fn)(void *arg, const char *key, const uint8_t *value, size_t len,
                             uint64_t version);

/* ---- the plugin side ------------------------------------------------ */

/* What a store plugin implements (descriptor.ops of a VEIL_PLUGIN_STORE).
 * libveil checks namespaces, keys, value lengths and pointers first; a
 * plugin may rely on them being within the bounds above.  Every op
 * returns 0 or a negative VEIL_E* code with a detail; a record the
 * backend holds that breaks these bounds (a damaged or foreign row) is
 * VEIL_EFORMAT naming the table, the key and what was wrong.  Ops may be
 * called from several threads on one instance. */
typedef struct veil_store_ops {
    size_t size;                      /* sizeof(veil_store_ops) */
    int (*instance_new)(void *plugin_state, const veil_config_scope *scope, void **inst);
    void (*instance_free)(void *inst);
    /* Copy the value into value[0..cap), set *len and *version.
     * VEIL_ENOTFOUND; VEIL_ELIMIT when cap < the value (*len says how
     * much is needed, nothing copied). */
    int (*get)(void *inst, const char *ns, const char *key, uint8_t *value, size_t cap,
               size_t *len, uint64_t *version);
    /* Write if the record is at version `expected` (VEIL_STORE_ANY: in
     * any case; VEIL_STORE_ABSENT: only if absent); *version gets the new
     * version (the old one + 1, 1 for a new record).  VEIL_EEXIST
     * (expected absent, record exists), VEIL_ESTATE (other version
     * mismatch, an absent record included).  Durable on return. */
    int (*put)(void *inst, const char *ns, const char *key, const uint8_t *value, size_t len,
               uint64_t expected, uint64_t *version);
    /* Remove if at version `expected` (or VEIL_STORE_ANY).  VEIL_ENOTFOUND,
     * VEIL_ESTATE. */
    int (*del)(void *inst, const char *ns, const char *key, uint64_t expected);
    /* Remove one record and return it, atomically and exactly once: the
     * record `key`, or with VEIL_STORE_PREFIX the lowest key starting with
     * `key`.  key_out (VEIL_STORE_KEY_MAX + 1 bytes) gets its key.
     * VEIL_ENOTFOUND; VEIL_ELIMIT when cap < the value (*len set; nothing
     * is taken).  Durable on return: a taken record stays taken across a
     * crash. */
    int (*take)(void *inst, const char *ns, const char *key, unsigned flags, char *key_out,
                uint8_t *value, size_t cap, size_t *len);
    /* fn for every record of ns whose key starts with prefix ("" all). */
    int (*list)(void *inst, const char *ns, const char *prefix, veil_store_fn fn, void *arg);
    /* The smallest table ends here. */

    /* Appended in ABI 4.5 (read only when `size` covers them): the
     * calling thread's puts, deletes and takes between batch_begin and
     * batch_commit form one transaction, durable at batch_commit (one
     * commit instead of one per op); each op still checks its expected
     * version and a failing op undoes only itself.  Other threads' ops
     * wait or run outside it.  A failed commit undoes the whole batch.
     * Batches do not nest (VEIL_ESTATE), nor does a commit without a begin.
     * A store without them makes each op durable on its own (the wrappers
     * answer 0). */
    int (*batch_begin)(void *inst);
    int (*batch_commit)(void *inst);
} veil_store_ops;

/* ---- store objects --------------------------------------------------- */

typedef struct veil_store veil_store;

/* The store of section (NULL: "store") through the node's plugin slots.
 * Its plugin is `plugin = ` in the section; without one it is sqlite when
 * [store] path or [node] state_dir is set (the file state_dir/state.db),
 * else memory (docs/CONFIG.md, [store]). */
VEIL_EXPORT int veil_store_open(veil_node *node, const char *section,
                                veil_store **out) VEIL_WUR;
/* A store of plugin `name` without a node, its keys given as
 * NULL-terminated key, value pairs ({"path", "/var/lib/veil/state.db",
 * NULL}), validated like a configuration section. */
VEIL_EXPORT int veil_store_new(const char *name, const char *const *key_values,
                               veil_store **out) VEIL_WUR;
VEIL_EXPORT void veil_store_close(veil_store *s);
/* The node's store: [store] opened with veil_store_open on the first call,
 * then the same store until the node is freed (it is closed with the
 * node; do not close it).  Contacts and the X3DH prekeys keep their state
 * there.  Thread-safe. */
VEIL_EXPORT int veil_node_store(veil_node *node, veil_store **out) VEIL_WUR;
/* The plugin's name ("memory", "sqlite", "postgresql"). */
VEIL_EXPORT const char *veil_store_plugin_name(const veil_store *s);

VEIL_EXPORT int veil_store_get(veil_store *s, const char *ns, const char *key, uint8_t *value,
                               size_t cap, size_t *len, uint64_t *version) VEIL_WUR;
VEIL_EXPORT int veil_store_put(veil_store *s, const char *ns, const char *key,
                               const uint8_t *value, size_t len, uint64_t expected,
                               uint64_t *version) VEIL_WUR;
VEIL_EXPORT int veil_store_delete(veil_store *s, const char *ns, const char *key,
                                  uint64_t expected) VEIL_WUR;
VEIL_EXPORT int veil_store_take(veil_store *s, const char *ns, const char *key, unsigned flags,
                                char key_out[VEIL_STORE_KEY_MAX + 1], uint8_t *value,
                                size_t cap, size_t *len) VEIL_WUR;
/* One transaction for this thread's writes between them (veil_store_ops
 * batch_begin; durable at the commit; a failed commit undoes them all).
 * 0 and each write durable on its own with a store without batches. */
VEIL_EXPORT int veil_store_batch_begin(veil_store *s) VEIL_WUR;
VEIL_EXPORT int veil_store_batch_commit(veil_store *s) VEIL_WUR;
VEIL_EXPORT int veil_store_list(veil_store *s, const char *ns, const char *prefix,
                                veil_store_fn fn, void *arg) VEIL_WUR;

VEIL_END_DECLS
#endif
