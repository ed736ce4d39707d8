/* What a daemon is asked to create at run time through its control socket
 * (tcp-inlet-create, tcp-outlet-create, relay-register), kept in the
 * node's store when the daemon has [node] state_dir, so a restart brings
 * it back; deleting it deletes the record (docs/CLI.md, "Run-time
 * definitions across restarts").  Configured sections are never written
 * here: they come from the configuration, which wins on a name clash.
 *
 *   veil.daemon / inlet/NAME      FROM \n TRUST \n ROUTE
 *   veil.daemon / outlet/NAME     TO \n ALLOW
 *   veil.daemon / register/NAME   HOST:PORT \n LISTENER \n IDENTIFIER
 *
 * The fields are the control request's arguments (no spaces, no
 * newlines: a control line is split at spaces), each 1..DAEMON_KEEP_FIELD_MAX
 * bytes.  Nothing secret is in them. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <veil/store.h>

#include "daemon.h"

#define NS "veil.daemon"

/* The node's store when [node] state_dir is set (and it is not memory). */
static veil_store *kept(veil_daemon *d)
{
    veil_store *s = NULL;
    if (veil_config_get(d->cfg, "node", "state_dir") == NULL)
        return NULL;
    if (veil_node_store(d->node, &s) < 0) {
        dlog(VEIL_LOG_WARN, "run-time definitions are not kept: the node's store: %s",
             veil_last_error());
        return NULL;
    }
    return strcmp(veil_store_plugin_name(s), "memory") == 0 ? NULL : s;
}

void daemon_keep_put(veil_daemon *d, const char *kind, const char *name,
                     const char *const *fields, size_t n)
{
    veil_store *s = kept(d);
    char key[VEIL_STORE_KEY_MAX + 1], v[DAEMON_KEEP_FIELDS_MAX * (DAEMON_KEEP_FIELD_MAX + 1)];
    size_t len = 0;
    uint64_t ver;
    if (s == NULL)
        return;
    for (size_t i = 0; i < n && i < DAEMON_KEEP_FIELDS_MAX; i++)
        len += (size_t)snprintf(v + len, sizeof v - len, "%s%.*s", i ? "\n" : "",
                                (int)DAEMON_KEEP_FIELD_MAX, fields[i]);
    snprintf(key, sizeof key, "%s/%s", kind, name);
    if (len >= sizeof v || veil_store_put(s, NS, key, (const uint8_t *)v, len, VEIL_STORE_ANY,
                                          &ver) < 0)
        dlog(VEIL_LOG_WARN, "%s '%s' is not kept across a restart: %s", kind, name,
             len >= sizeof v ? "too long" : veil_last_error());
}

void daemon_keep_delete(veil_daemon *d, const char *kind, const char *name)
{
    veil_store *s = kept(d);
    char key[VEIL_STORE_KEY_MAX + 1];
    snprintf(key, sizeof key, "%s/%s", kind, name);
    int rc = s != NULL ? veil_store_delete(s, NS, key, VEIL_STORE_ANY) : 0;
    if (rc < 0 && rc != VEIL_ENOTFOUND)
        dlog(VEIL_LOG_WARN, "%s '%s' deleted, but its record stays in the node's store (it "
             "comes back at the next start): %s", kind, name, veil_last_error());
}

typedef struct keep_list {
    size_t n, want, min;
    char names[DAEMON_KEEP_MAX][DAEMON_KEEP_FIELD_MAX + 1];
    char fields[DAEMON_KEEP_MAX][DAEMON_KEEP_FIELDS_MAX][DAEMON_KEEP_FIELD_MAX + 1];
    const char *kind;
} keep_list;

/* Split v at newlines into min..want fields of 1..FIELD_MAX bytes; the
 * missing trailing ones are empty. */
static bool split(const uint8_t *v, size_t len, size_t min, size_t want,
                  char out[][DAEMON_KEEP_FIELD_MAX + 1])
{
    size_t f = 0, at = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && v[i] != '\n') {
            if (v[i] < 0x21 || v[i] > 0x7e)
                return false;
            continue;
        }
        size_t n = i - at;
        if (f >= want || n < 1 || n > DAEMON_KEEP_FIELD_MAX)
            return false;
        memcpy(out[f], v + at, n);
        out[f++][n] = '\0';
        at = i + 1;
    }
    for (size_t i = f; i < want; i++)
        out[i][0] = '\0';
    return f >= min;
}

static int list_one(void *arg, const char *key, const uint8_t *value, size_t len,
                    uint64_t version)
{
    (void)version;
    keep_list *l = arg;
    const char *name = key + strlen(l->kind) + 1;
    if (l->n >= DAEMON_KEEP_MAX || strlen(name) > DAEMON_KEEP_FIELD_MAX ||
        !split(value, len, l->min, l->want, l->fields[l->n])) {
        dlog(VEIL_LOG_WARN, "store record " NS "/%s: not %zu fields of 1..%u printable bytes "
             "(or more than %u records): ignored", key, l->want, DAEMON_KEEP_FIELD_MAX,
             DAEMON_KEEP_MAX);
        return 0;
    }
    snprintf(l->names[l->n++], DAEMON_KEEP_FIELD_MAX + 1, "%s", name);
    return 0;
}

int daemon_keep_restore(veil_daemon *d, const char *kind, size_t nfields, daemon_keep_fn fn)
{
    return daemon_keep_restore_min(d, kind, nfields, nfields, fn);
}

int daemon_keep_restore_min(veil_daemon *d, const char *kind, size_t min, size_t nfields,
                            daemon_keep_fn fn)
{
    static keep_list l; /* large; start-up runs on one thread */
    veil_store *s = kept(d);
    char prefix[32];
    if (s == NULL)
        return 0;
    memset(&l, 0, sizeof l);
    l.kind = kind;
    l.want = nfields;
    l.min = min;
    snprintf(prefix, sizeof prefix, "%s/", kind);
    int rc = veil_store_list(s, NS, prefix, list_one, &l);
    if (rc < 0)
        return veil_error_wrap(rc, "reading the run-time %s definitions (namespace " NS ")",
                               kind);
    for (size_t i = 0; i < l.n; i++) {
        const char *f[DAEMON_KEEP_FIELDS_MAX];
        for (size_t j = 0; j < nfields; j++)
            f[j] = l.fields[i][j];
        fn(d, l.names[i], f);
    }
    return 0;
}
