/* Flow control of secure channels (docs/ARCHITECTURE.md, "Access
 * control"): a message a channel decrypted may reach only
 *
 *   - a local address the channel allows: its listener's "allowed workers"
 *     (veil_secure_channel_listener_allow, else [secure_channel]
 *     allowed_workers), an initiator's own list (veil_secure_channel_allow,
 *     else the same key), or
 *   - the reply path: a local address that sent a message through this
 *     channel (the last VEIL_CH_SENDERS of them).
 *
 * Anything else (another local worker, a transport address: relaying) is
 * dropped, counted in the channel's dropped_flow and logged once per
 * channel.  What passes is marked admitted in its local info: the "local
 * only" access control accepts it at that first hop. */
#include "channel_internal.h"
#include "core/util.h"

#include <veil/error.h>
#include <veil/log.h>

#include <stdlib.h>
#include <string.h>

/* Equal bytes?  Addresses here are short: a loop beats a call to memcmp
 * on the data path (not secret: no constant time needed). */
static inline bool same(const char *a, const uint8_t *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((uint8_t)a[i] != b[i])
            return false;
    return true;
}

void veil__ch_allow_free(veil_ch_allow *a)
{
    free(a);
}

/* Does the list hold the local address (bytes, len)? */
static bool allow_has(const veil_ch_allow *a, const uint8_t *bytes, size_t len)
{
    for (size_t i = 0; a != NULL && i < a->n; i++)
        if (a->addr[i].len == len && same(a->addr[i].bytes, bytes, len))
            return true;
    return false;
}

static int allow_add(veil_ch_allow *a, const char *text, size_t len)
{
    veil_address ad;
    char buf[VEIL_ADDRESS_TEXT_MAX + 1];
    if (len == 0 || len > VEIL_ADDRESS_TEXT_MAX)
        return veil_error_set(VEIL_EINVAL, "allowed workers: an empty or too long address");
    memcpy(buf, text, len);
    buf[len] = '\0';
    int rc = veil_address_parse(&ad, buf);
    if (rc < 0)
        return veil_error_wrap(rc, "allowed workers: '%s'", buf);
    if (ad.type != VEIL_ADDRESS_TYPE_LOCAL)
        return veil_error_set(VEIL_EINVAL, "allowed workers: '%s' is not a local address (a "
                              "channel never hands its peer's messages to a transport)", buf);
    if (a->n >= VEIL_CH_ALLOW_MAX)
        return veil_error_set(VEIL_ELIMIT, "allowed workers: more than %u addresses",
                              VEIL_CH_ALLOW_MAX);
    a->addr[a->n++] = ad;
    return 0;
}

int veil__ch_allow_new(const char *const *workers, size_t n, veil_ch_allow **out)
{
    veil_ch_allow *a = calloc(1, sizeof *a);
    if (a == NULL)
        return veil_error_set(VEIL_ENOMEM, "allowed workers: out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc = workers[i] == NULL ? veil_error_set(VEIL_EINVAL, "allowed workers: NULL entry")
                                    : allow_add(a, workers[i], strlen(workers[i]));
        if (rc < 0) {
            free(a);
            return rc;
        }
    }
    *out = a;
    return 0;
}

/* "a, b ,c" from [secure_channel] allowed_workers; NULL *out when unset. */
int veil__ch_allow_from_config(veil_node *node, veil_ch_allow **out)
{
    const char *v = veil_config_get(veil_node_config(node), "secure_channel", "allowed_workers");
    *out = NULL;
    if (v == NULL)
        return 0;
    veil_ch_allow *a = calloc(1, sizeof *a);
    if (a == NULL)
        return veil_error_set(VEIL_ENOMEM, "allowed workers: out of memory");
    for (const char *p = v; *p != '\0';) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t len = strcspn(p, ", \t");
        int rc = len > 0 ? allow_add(a, p, len) : 0;
        if (rc < 0) {
            free(a);
            return veil_error_wrap(rc, "[secure_channel] allowed_workers");
        }
        p += len;
    }
    *out = a;
    return 0;
}

/* ---- the reply path ---------------------------------------------------- */

void veil__ch_senders_free(veil_channel *ch)
{
    for (unsigned i = 0; ch->senders != NULL && i < VEIL_CH_SENDERS; i++)
        free(ch->senders[i].bytes);
    free(ch->senders);
    ch->senders = NULL;
}

static bool sender_known(const veil_channel *ch, const uint8_t *bytes, size_t len)
{
    for (unsigned i = 0; ch->senders != NULL && i < VEIL_CH_SENDERS; i++)
        if (ch->senders[i].bytes != NULL && ch->senders[i].len == len &&
            same(ch->senders[i].bytes, bytes, len))
            return true;
    return false;
}

void veil__ch_note_sender(veil_channel *ch, const veil_message *msg)
{
    uint8_t type;
    const uint8_t *bytes;
    size_t len;
    if (!veil_route_front(veil_message_return_const(msg), &type, &bytes, &len) ||
        type != VEIL_ADDRESS_TYPE_LOCAL || sender_known(ch, bytes, len))
        return;
    if (ch->senders == NULL && (ch->senders = calloc(VEIL_CH_SENDERS, sizeof *ch->senders)) == NULL)
        return; /* its replies will be refused: fail closed */
    char *copy = malloc(len + 1u);
    if (copy == NULL)
        return;
    memcpy(copy, bytes, len);
    copy[len] = '\0';
    unsigned i = ch->senders_next++ % VEIL_CH_SENDERS;
    free(ch->senders[i].bytes);
    ch->senders[i].bytes = copy;
    ch->senders[i].len = len;
}

/* ---- the check at decryption -------------------------------------------- */

static const veil_ch_allow *allowed_of(const veil_channel *ch)
{
    return ch->listener != NULL ? ch->listener->allowed : ch->allowed;
}

int veil__ch_flow_check(veil_channel *ch, const veil_route *inner_onward)
{
    uint8_t type;
    const uint8_t *bytes;
    size_t len;
    if (!veil_route_front(inner_onward, &type, &bytes, &len))
        return VEIL_EDENIED;
    if (type == VEIL_ADDRESS_TYPE_LOCAL &&
        (sender_known(ch, bytes, len) || allow_has(allowed_of(ch), bytes, len)))
        return 0;
    ch->stats.dropped_flow++;
    if (!ch->flow_logged) {
        veil_address a;
        char text[VEIL_ADDRESS_TEXT_MAX + 1] = "?";
        ch->flow_logged = true;
        if (veil_address_set(&a, type, bytes, len) == 0)
            veil_address_format(&a, text, sizeof text);
        veil_log(VEIL_LOG_WARN, "channel", "%s: refused a message from peer %s for '%s': %s; "
                 "further ones on this channel are only counted", ch->addr->bytes,
                 ch->stats.peer_identifier, text, type != VEIL_ADDRESS_TYPE_LOCAL
                 ? "a channel does not relay its peer's messages to a transport"
                 : "the channel does not allow that worker (allowed workers) and it sent "
                   "nothing through the channel");
    }
    return VEIL_EDENIED;
}

/* ---- API ------------------------------------------------------------------ */

int veil_secure_channel_listener_allow(veil_node *node, const char *listener,
                                       const char *const *workers, size_t n)
{
    veil_ch_listener *l;
    veil_ch_allow *a;
    if (node == NULL || listener == NULL || (workers == NULL && n > 0))
        return veil_error_set(VEIL_EINVAL, "veil_secure_channel_listener_allow: node, listener "
                              "and workers must not be NULL");
    int rc = veil__ch_listener_find(node, listener, &l);
    if (rc == 0)
        rc = veil__ch_allow_new(workers, n, &a);
    if (rc < 0)
        return rc;
    veil__ch_allow_free(l->allowed);
    l->allowed = a;
    return 0;
}

int veil_secure_channel_allow(veil_node *node, const veil_address *channel,
                              const char *const *workers, size_t n)
{
    veil_ch_allow *a;
    if (node == NULL || channel == NULL || (workers == NULL && n > 0))
        return veil_error_set(VEIL_EINVAL, "veil_secure_channel_allow: node, channel and "
                              "workers must not be NULL");
    veil_channel *ch = veil__ch_find(node, channel);
    if (ch == NULL)
        return veil_error_set(VEIL_ENOTFOUND, "no secure channel at '%s'", channel->bytes);
    if (ch->listener != NULL)
        return veil_error_set(VEIL_EINVAL, "secure channel '%s' was opened by listener '%s': "
                              "set its allowed workers with veil_secure_channel_listener_allow",
                              channel->bytes, ch->listener->name);
    int rc = veil__ch_allow_new(workers, n, &a);
    if (rc < 0)
        return rc;
    veil__ch_allow_free(ch->allowed);
    ch->allowed = a;
    return 0;
}
