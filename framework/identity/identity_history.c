/* Identity change history: encoding, verification, the clock (identifiers
 * and key type tags: identity_id.c).
 *
 *   history = version:u8 (2 or 3) count:varint (1..VEIL_HISTORY_MAX_EVENTS)
 *             event*
 *   event   = kind:u8 (1 create, 2 rotate) seq:varint prev:32
 *             created:u64be expires:u64be key_type:u8 key
 *             sig_new:64 [sig_prev:64, rotate only]
 *   key     = 32 bytes (key_type 1, Ed25519)
 *           | 33 bytes (key_type 2, P-256, SEC1 compressed point)
 *
 * Version 2 holds Ed25519 keys only, version 3 at least one P-256 key.
 * Signatures are 64 bytes for both types (P-256: r || s, low S), each by
 * the key's own algorithm.
 *
 * Both signatures cover len || VEIL_DOMAIN_EVENT || body (identity_sign.c),
 * where body is the event up to and including key, exactly as encoded.
 * prev is the SHA-256 of the previous encoded event (signatures included),
 * zeros for the create.  docs/PROTOCOL.md, "Identity change history", is
 * the normative text.
 *
 * libveil links no crypto library: every hash and signature check goes
 * through the vault handed in. */
#include <veil/codec.h>
#include <veil/entity.h>
#include <veil/error.h>
#include <veil/vault.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "identity_internal.h"
#include "core/util.h"

static int sha256(veil_vault *v, const uint8_t *data, size_t len, uint8_t out[32])
{
    veil_iovec iov = { data, len };
    return veil_vault_hash(v, VEIL_HASH_SHA256, &iov, 1, out);
}

/* ---- decoding --------------------------------------------------------- */

/* Decoder position and the state carried from one event to the next. */
typedef struct cursor {
    veil_vault *v;
    const uint8_t *in;
    size_t len, pos;
    size_t index;                 /* event number */
    size_t event_start;
    uint8_t prev_hash[32];        /* SHA-256 of the previous event */
    int prev_type;                /* veil_secret_type of prev_key */
    size_t prev_len;
    uint8_t prev_key[VEIL_IDENTITY_KEY_MAX_BYTES];
    unsigned version;
    bool any_p256;
    uint64_t prev_created, prev_expires;
    uint64_t created, expires;    /* of the event being decoded */
} cursor;

static int need(const cursor *c, size_t n, const char *field)
{
    if (c->len - c->pos >= n)
        return 0;
    return veil_error_set(VEIL_ETRUNCATED, "history: event %zu (byte %zu): field '%s' at "
                          "byte %zu needs %zu bytes, only %zu left", c->index,
                          c->event_start, field, c->pos, n, c->len - c->pos);
}

/* The signature at the cursor, by key, over the event's body. */
static int verify_sig(cursor *c, int type, const uint8_t *key, size_t key_len, size_t body_len,
                      const char *field, const char *whose)
{
    size_t at = c->pos;
    int rc = need(c, VEIL_SIGNATURE_BYTES, field);
    if (rc < 0)
        return rc;
    rc = veil__identity_verify(c->v, type, key, key_len, VEIL_DOMAIN_EVENT,
                               c->in + c->event_start, body_len, c->in + at);
    c->pos += VEIL_SIGNATURE_BYTES;
    if (rc == VEIL_EFORMAT)
        return veil_error_wrap(VEIL_EFORMAT, "history: event %zu (byte %zu): field 'key' is "
                               "not a P-256 public key", c->index, c->event_start);
    if (rc == VEIL_EAUTH)
        return veil_error_set(VEIL_EAUTH, "history: event %zu (byte %zu): field '%s' at "
                              "byte %zu is not a valid signature by %s", c->index,
                              c->event_start, field, at, whose);
    if (rc < 0)
        return veil_error_wrap(rc, "history: event %zu (byte %zu): checking '%s'", c->index,
                               c->event_start, field);
    return 0;
}

/* kind and seq; kind must fit the event's place in the history. */
static int decode_head(cursor *c, unsigned *kind)
{
    int rc = need(c, 1, "kind");
    if (rc < 0)
        return rc;
    *kind = c->in[c->pos];
    unsigned want = c->index == 0 ? VEIL_EVENT_CREATE : VEIL_EVENT_ROTATE;
    if (*kind != want)
        return veil_error_set(VEIL_EFORMAT, "history: event %zu (byte %zu): field 'kind' is %u, "
                              "expected %u (%s)", c->index, c->event_start, *kind, want,
                              want == VEIL_EVENT_CREATE ? "the first event is a create"
                                                        : "every later event is a rotate");
    c->pos++;
    size_t at = c->pos;
    uint64_t seq;
    rc = veil_varint_decode(c->in, c->len, &c->pos, &seq);
    if (rc < 0)
        return veil_error_wrap(rc, "history: event %zu (byte %zu): field 'seq' at byte %zu",
                               c->index, c->event_start, at);
    if (seq != c->index)
        return veil_error_set(VEIL_EFORMAT, "history: event %zu (byte %zu): field 'seq' at "
                              "byte %zu is %llu, expected %zu (events are numbered from 0 "
                              "without gaps)", c->index, c->event_start, at,
                              (unsigned long long)seq, c->index);
    return 0;
}

static int decode_link(cursor *c)
{
    int rc = need(c, 32, "prev");
    if (rc < 0)
        return rc;
    if (memcmp(c->in + c->pos, c->prev_hash, 32) != 0)
        return veil_error_set(c->index == 0 ? VEIL_EFORMAT : VEIL_EAUTH,
                              "history: event %zu (byte %zu): field 'prev' at byte %zu %s",
                              c->index, c->event_start, c->pos,
                              c->index == 0 ? "must be all zero in the create event"
                                            : "is not the SHA-256 of the previous event");
    c->pos += 32;
    return 0;
}

/* created and expires: expires after created (or 0), created not before
 * the previous event's. */
static int decode_times(cursor *c)
{
    int rc = need(c, 16, "created");
    if (rc < 0)
        return rc;
    size_t at = c->pos;
    c->created = veil__load_be64(c->in + at);
    c->expires = veil__load_be64(c->in + at + 8);
    c->pos += 16;
    if (c->expires != 0 && c->expires <= c->created)
        return veil_error_set(VEIL_EFORMAT, "history: event %zu (byte %zu): field 'expires' at "
                              "byte %zu is %llu, not after 'created' %llu (0: no expiry)",
                              c->index, c->event_start, at + 8,
                              (unsigned long long)c->expires, (unsigned long long)c->created);
    if (c->index > 0 && c->created < c->prev_created)
        return veil_error_set(VEIL_EFORMAT, "history: event %zu (byte %zu): field 'created' at "
                              "byte %zu is %llu, before the previous event's %llu (events are "
                              "in time order)", c->index, c->event_start, at,
                              (unsigned long long)c->created,
                              (unsigned long long)c->prev_created);
    return 0;
}

/* key_type: 1 always, 2 from history version 3 on. */
static int decode_key_type(cursor *c, int *type)
{
    int rc = need(c, 1, "key_type");
    if (rc < 0)
        return rc;
    unsigned tag = c->in[c->pos];
    *type = veil__key_type_of_tag(tag);
    if (*type == 0 || (*type == VEIL_SECRET_P256 && c->version < VEIL_HISTORY_VERSION))
        return veil_error_set(VEIL_EFORMAT, "history: event %zu (byte %zu): field 'key_type' "
                              "at byte %zu is %u, expected 1 (Ed25519)%s", c->index,
                              c->event_start, c->pos, tag,
                              c->version < VEIL_HISTORY_VERSION
                                  ? " (2, P-256, needs history version 3)"
                                  : " or 2 (P-256)");
    c->any_p256 |= *type == VEIL_SECRET_P256;
    c->pos++;
    return 0;
}

/* The key (its length from its type); a P-256 key is a compressed point
 * (its prefix is checked here, the rest by the vault's verification). */
static int decode_key(cursor *c, int *type, const uint8_t **key, size_t *len)
{
    int rc = decode_key_type(c, type);
    if (rc < 0)
        return rc;
    *len = veil_secret_type_public_len(*type);
    if ((rc = need(c, *len, "key")) < 0)
        return rc;
    *key = c->in + c->pos;
    if (*type == VEIL_SECRET_P256 && (**key != 0x02 && **key != 0x03))
        return veil_error_set(VEIL_EFORMAT, "history: event %zu (byte %zu): field 'key' at "
                              "byte %zu starts 0x%02x, expected 0x02 or 0x03 (a SEC1 compressed "
                              "P-256 point)", c->index, c->event_start, c->pos, **key);
    if (c->index > 0 && *len == c->prev_len && memcmp(*key, c->prev_key, *len) == 0)
        return veil_error_set(VEIL_EFORMAT, "history: event %zu (byte %zu): field 'key' at "
                              "byte %zu repeats the previous key (a rotation needs a new key)",
                              c->index, c->event_start, c->pos);
    c->pos += *len;
    return 0;
}

/* A rotation is authorised by the previous key only while that key is
 * valid by its own terms (checked once both signatures hold, so the times
 * are the signers' statement). */
static int check_handover(const cursor *c)
{
    if (c->index == 0 || c->prev_expires == 0 || c->created <= c->prev_expires)
        return 0;
    return veil_error_set(VEIL_EEXPIRED, "history: event %zu (byte %zu): created at %llu, after "
                          "the previous key expired at %llu (an expired key cannot authorise "
                          "a rotation)", c->index, c->event_start,
                          (unsigned long long)c->created, (unsigned long long)c->prev_expires);
}

static int decode_event(cursor *c)
{
    const uint8_t *key = NULL;
    unsigned kind = 0;
    int type = 0;
    size_t key_len = 0;
    c->event_start = c->pos;
    int rc = decode_head(c, &kind);
    if (rc == 0)
        rc = decode_link(c);
    if (rc == 0)
        rc = decode_times(c);
    if (rc == 0)
        rc = decode_key(c, &type, &key, &key_len);
    if (rc < 0)
        return rc;
    size_t body_len = c->pos - c->event_start;
    rc = verify_sig(c, type, key, key_len, body_len, "sig_new", "the event's key");
    if (rc == 0 && kind == VEIL_EVENT_ROTATE)
        rc = verify_sig(c, c->prev_type, c->prev_key, c->prev_len, body_len, "sig_prev",
                        "the previous key");
    if (rc == 0)
        rc = check_handover(c);
    if (rc < 0)
        return rc;
    memcpy(c->prev_key, key, key_len);
    c->prev_type = type;
    c->prev_len = key_len;
    c->prev_created = c->created;
    c->prev_expires = c->expires;
    return sha256(c->v, c->in + c->event_start, c->pos - c->event_start, c->prev_hash);
}

static int decode_header(cursor *c, uint64_t *count)
{
    if (c->len > VEIL_HISTORY_MAX_BYTES)
        return veil_error_set(VEIL_ELIMIT, "history: %zu bytes, limit %u", c->len,
                              (unsigned)VEIL_HISTORY_MAX_BYTES);
    if (c->len == 0)
        return veil_error_set(VEIL_ETRUNCATED, "history: field 'version' at byte 0: "
                              "the history is empty");
    c->version = c->in[0];
    if (c->version != VEIL_HISTORY_VERSION && c->version != VEIL_HISTORY_VERSION_ED25519)
        return veil_error_set(VEIL_EVERSION, "history: field 'version' at byte 0 is %u, "
                              "expected %u or %u", c->in[0], VEIL_HISTORY_VERSION_ED25519,
                              VEIL_HISTORY_VERSION);
    c->pos = 1;
    int rc = veil_varint_decode(c->in, c->len, &c->pos, count);
    if (rc < 0)
        return veil_error_wrap(rc, "history: field 'count' at byte 1");
    if (*count == 0 || *count > VEIL_HISTORY_MAX_EVENTS)
        return veil_error_set(*count == 0 ? VEIL_EFORMAT : VEIL_ELIMIT,
                              "history: field 'count' at byte 1 is %llu (expected 1..%u)",
                              (unsigned long long)*count, (unsigned)VEIL_HISTORY_MAX_EVENTS);
    return 0;
}

/* Verify; events (cap entries, may be NULL) gets the first cap events. */
static int verify(veil_vault *v, const uint8_t *history, size_t len, veil_history_view *out,
                  veil_history_event *events, size_t cap)
{
    cursor c;
    uint64_t count;
    memset(&c, 0, sizeof c);
    c.v = v;
    c.in = history;
    c.len = len;
    int rc = decode_header(&c, &count);
    if (rc < 0)
        return rc;
    veil_history_view view;
    memset(&view, 0, sizeof view);
    view.events_offset = c.pos;
    for (c.index = 0; c.index < count; c.index++) {
        if ((rc = decode_event(&c)) < 0)
            return rc;
        if (c.index == 0) {
            memcpy(view.root_key, c.prev_key, c.prev_len);
            view.root_type = c.prev_type;
            view.root_len = c.prev_len;
        }
        if (c.index < cap) {
            memset(&events[c.index], 0, sizeof events[c.index]);
            events[c.index].seq = c.index;
            events[c.index].key_type = c.prev_type;
            events[c.index].key_len = c.prev_len;
            memcpy(events[c.index].key, c.prev_key, c.prev_len);
            events[c.index].created = c.created;
            events[c.index].expires = c.expires;
        }
    }
    if (c.pos != len)
        return veil_error_set(VEIL_ETRAILING, "history: %zu bytes left over at byte %zu after "
                              "the last of %llu events", len - c.pos, c.pos,
                              (unsigned long long)count);
    if (c.version == VEIL_HISTORY_VERSION && !c.any_p256)
        return veil_error_set(VEIL_EFORMAT, "history: field 'version' at byte 0 is %u but every "
                              "key is Ed25519 (version %u: a history has one encoding)",
                              c.version, VEIL_HISTORY_VERSION_ED25519);
    if ((rc = veil__identifier_digest(v, view.root_type, view.root_key, view.root_len,
                                      view.digest)) < 0)
        return rc;
    veil__identifier_format(view.digest, view.info.identifier);
    view.info.key_type = c.prev_type;
    view.info.key_len = c.prev_len;
    memcpy(view.info.current_key, c.prev_key, c.prev_len);
    view.info.events = (size_t)count;
    view.info.created = c.prev_created;
    view.info.expires = c.prev_expires;
    view.last_event_offset = c.event_start;
    *out = view;
    return 0;
}

int veil__history_verify_view(veil_vault *v, const uint8_t *history, size_t len,
                              veil_history_view *out)
{
    return verify(v, history, len, out, NULL, 0);
}

int veil_history_events(veil_vault *v, const uint8_t *history, size_t len,
                        veil_history_event *out, size_t cap, size_t *n)
{
    veil_history_view view;
    if (v == NULL || history == NULL || n == NULL || (out == NULL && cap != 0))
        return veil_error_set(VEIL_EINVAL, "veil_history_events: %s is NULL",
                              v == NULL ? "v" : history == NULL ? "history"
                                          : n == NULL       ? "n"
                                                            : "out (with cap > 0)");
    /* Into a local array first: out is not written unless all verifies. */
    veil_history_event all[VEIL_HISTORY_MAX_EVENTS];
    int rc = verify(v, history, len, &view, all, VEIL_HISTORY_MAX_EVENTS);
    if (rc < 0)
        return rc;
    *n = view.info.events;
    if (view.info.events > cap)
        return veil_error_set(VEIL_ELIMIT, "veil_history_events: the history has %zu events, "
                              "room for %zu", view.info.events, cap);
    memcpy(out, all, view.info.events * sizeof all[0]);
    return 0;
}

/* ---- the clock -------------------------------------------------------- */

int veil__history_check_clock(const veil_history_info *info, const veil_history_clock *clock)
{
    uint64_t now = clock->now, skew = clock->clock_skew;
    if (info->created > now && info->created - now > skew)
        return veil_error_set(VEIL_EEXPIRED, "identity %s: its current key (event %zu) is "
                              "created at %llu, after now (%llu) plus the clock skew allowance "
                              "(%llu s): not valid yet", info->identifier, info->events - 1,
                              (unsigned long long)info->created, (unsigned long long)now,
                              (unsigned long long)skew);
    uint64_t until = info->expires;
    bool capped = false;
    if (clock->max_key_lifetime != 0) {
        uint64_t cap = info->created > UINT64_MAX - clock->max_key_lifetime
                           ? UINT64_MAX : info->created + clock->max_key_lifetime;
        if (until == 0 || cap < until) {
            until = cap;
            capped = true;
        }
    }
    if (until == 0 || now <= until || now - until <= skew)
        return 0;
    if (capped)
        return veil_error_set(VEIL_EEXPIRED, "identity %s: its current key (event %zu, created "
                              "at %llu, expiry %llu) is past max_key_lifetime (%llu s) since "
                              "%llu (now %llu, clock skew allowance %llu s)", info->identifier,
                              info->events - 1, (unsigned long long)info->created,
                              (unsigned long long)info->expires,
                              (unsigned long long)clock->max_key_lifetime,
                              (unsigned long long)until, (unsigned long long)now,
                              (unsigned long long)skew);
    return veil_error_set(VEIL_EEXPIRED, "identity %s: its current key (event %zu) expired at "
                          "%llu (now %llu, clock skew allowance %llu s)", info->identifier,
                          info->events - 1, (unsigned long long)until, (unsigned long long)now,
                          (unsigned long long)skew);
}

void veil__identity_defaults(veil_identity_settings *out)
{
    out->key_lifetime = VEIL_KEY_LIFETIME_DEFAULT;
    out->clock_skew = VEIL_CLOCK_SKEW_DEFAULT;
    out->max_key_lifetime = VEIL_MAX_KEY_LIFETIME_DEFAULT;
    out->contacts_max = VEIL_CONTACTS_MAX_DEFAULT;
    out->key_type = VEIL_SECRET_ED25519;
}

void veil__identity_clock(const veil_identity_settings *s, veil_history_clock *out)
{
    time_t now = time(NULL);
    out->now = now < 0 ? 0 : (uint64_t)now;
    out->clock_skew = s->clock_skew;
    out->max_key_lifetime = s->max_key_lifetime;
}

int veil_history_verify_at(veil_vault *v, const uint8_t *history, size_t len,
                           const veil_history_clock *clock, veil_history_info *out)
{
    if (v == NULL || (history == NULL && len > 0))
        return veil_error_set(VEIL_EINVAL, "veil_history_verify: %s is NULL",
                              v == NULL ? "vault" : "history");
    veil_history_view view;
    int rc = veil__history_verify_view(v, history, len, &view);
    if (rc == 0 && clock != NULL)
        rc = veil__history_check_clock(&view.info, clock);
    if (rc == 0 && out != NULL)
        *out = view.info;
    return rc;
}

int veil_history_verify(veil_vault *v, const uint8_t *history, size_t len,
                        veil_history_info *out)
{
    veil_identity_settings s;
    veil_history_clock clock;
    veil__identity_defaults(&s);
    veil__identity_clock(&s, &clock);
    return veil_history_verify_at(v, history, len, &clock, out);
}

/* ---- appending (entity side) ------------------------------------------ */

/* Encode the body of event seq at out; returns its length. */
static size_t event_body(uint8_t *out, uint64_t seq, const uint8_t prev[32], uint64_t created,
                         uint64_t expires, int type, const uint8_t *key, size_t key_len)
{
    size_t n = 0;
    out[n++] = seq == 0 ? VEIL_EVENT_CREATE : VEIL_EVENT_ROTATE;
    n += veil_varint_encode(seq, out + n, VEIL_VARINT_MAX);
    memcpy(out + n, prev, 32);
    n += 32;
    veil__store_be64(out + n, created);
    veil__store_be64(out + n + 8, expires);
    n += 16;
    out[n++] = (uint8_t)veil__key_tag(type);
    memcpy(out + n, key, key_len);
    return n + key_len;
}

/* The event for new_key at out (body, sig_new, sig_prev for a rotation);
 * returns its length through *n. */
static int sign_event(veil_vault *v, veil_secret prev_key, veil_secret new_key, uint8_t *out,
                      size_t body, size_t *n)
{
    int rc = veil__identity_sign(v, new_key, VEIL_DOMAIN_EVENT, out, body, out + body);
    *n = body + VEIL_SIGNATURE_BYTES;
    if (rc == 0 && prev_key != 0) {
        rc = veil__identity_sign(v, prev_key, VEIL_DOMAIN_EVENT, out, body, out + *n);
        *n += VEIL_SIGNATURE_BYTES;
    }
    return rc;
}

int veil__history_append(veil_vault *v, const uint8_t *old, size_t old_len, veil_secret prev_key,
                         veil_secret new_key, int new_type, const uint8_t *new_pub,
                         size_t new_len, uint64_t created, uint64_t expires, uint8_t **out,
                         size_t *out_len)
{
    veil_history_view view;
    uint8_t prev[32] = { 0 };
    size_t seq = 0, events_len = 0;
    bool any_p256 = new_type == VEIL_SECRET_P256;
    int rc = 0;
    if (veil__key_tag(new_type) == 0 || new_len != veil_secret_type_public_len(new_type))
        return veil_error_set(VEIL_EINVAL, "history: a %zu-byte %s key cannot be an identity "
                              "key (expected ed25519 or p256)", new_len,
                              veil_secret_type_name(new_type));
    if (old != NULL) {
        if ((rc = veil__history_verify_view(v, old, old_len, &view)) < 0)
            return veil_error_wrap(rc, "history: the history to extend does not verify");
        seq = view.info.events;
        events_len = old_len - view.events_offset;
        if ((rc = sha256(v, old + view.last_event_offset, old_len - view.last_event_offset,
                         prev)) < 0)
            return rc;
    }
    if (seq >= VEIL_HISTORY_MAX_EVENTS)
        return veil_error_set(VEIL_ELIMIT, "history: %zu events already, the history holds at "
                              "most %u", seq, (unsigned)VEIL_HISTORY_MAX_EVENTS);
    size_t cap = 1 + VEIL_VARINT_MAX + events_len + VEIL_EVENT_MAX_BYTES, n = 0, ev = 0;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return veil_error_set(VEIL_ENOMEM, "history: out of memory for %zu bytes", cap);
    any_p256 |= old != NULL && old[0] == VEIL_HISTORY_VERSION;
    buf[n++] = any_p256 ? VEIL_HISTORY_VERSION : VEIL_HISTORY_VERSION_ED25519;
    n += veil_varint_encode(seq + 1, buf + n, VEIL_VARINT_MAX);
    if (events_len > 0)
        memcpy(buf + n, old + view.events_offset, events_len);
    n += events_len;
    size_t body = event_body(buf + n, seq, prev, created, expires, new_type, new_pub, new_len);
    rc = sign_event(v, old != NULL ? prev_key : 0, new_key, buf + n, body, &ev);
    n += ev;
    if (rc == 0 && n > VEIL_HISTORY_MAX_BYTES)
        rc = veil_error_set(VEIL_ELIMIT, "history: %zu bytes, limit %u", n,
                            (unsigned)VEIL_HISTORY_MAX_BYTES);
    if (rc == 0 && (rc = veil__history_verify_view(v, buf, n, &view)) < 0)
        veil_error_wrap(rc, "history: the extended history does not verify");
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

/* ---- trust info for channels ----------------------------------------- */

void veil__trust_info_fill(veil_trust_info *info, const veil_history_view *view,
                           const uint8_t *history, size_t len, const char *local_identifier,
                           const veil_route *route)
{
    memset(info, 0, sizeof *info);
    info->size = sizeof *info;
    info->peer_identifier = view->info.identifier;
    info->peer_history = history;
    info->peer_history_len = len;
    info->peer_public_key = view->info.current_key;
    info->peer_public_key_len = view->info.key_len;
    info->peer_key_type = view->info.key_type;
    info->local_identifier = local_identifier;
    info->route = route;
}
