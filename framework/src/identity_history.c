/* Identity change history: encoding, verification, identifiers.
 *
 *   history = version:u8 (1) count:varint (1..VEIL_HISTORY_MAX_EVENTS) event*
 *   event   = kind:u8 (1 create, 2 rotate) seq:varint prev:32 key_type:u8 (1)
 *             key:32 sig_new:64 [sig_prev:64, rotate only]
 *
 * Both signatures cover VEIL_EVENT_DOMAIN || body, where body is the event
 * up to and including key, exactly as encoded.  prev is the SHA-256 of the
 * previous encoded event (signatures included), zeros for the create.
 * docs/PROTOCOL.md, "Identity change history", is the normative text.
 *
 * libveil links no crypto library: every hash and signature check goes
 * through the vault handed in. */
#include <veil/codec.h>
#include <veil/entity.h>
#include <veil/error.h>
#include <veil/vault.h>

#include <stdlib.h>
#include <string.h>

#include "identity_internal.h"
#include "util.h"

#define DOMAIN_LEN (sizeof VEIL_EVENT_DOMAIN - 1u)

void veil__identifier_format(const uint8_t digest[32], char out[VEIL_IDENTIFIER_LEN + 1])
{
    out[0] = 'P';
    veil__hex_encode(digest, 32, out + 1);
}

int veil_identifier_parse(const char *text, uint8_t digest[32])
{
    if (text == NULL || digest == NULL)
        return veil_error_set(VEIL_EINVAL, "veil_identifier_parse: %s is NULL",
                              text == NULL ? "text" : "digest");
    size_t n = strnlen(text, VEIL_IDENTIFIER_LEN + 1);
    if (text[0] != 'P')
        return veil_error_set(VEIL_EFORMAT, "identifier '%.80s' does not start with 'P' "
                              "(expected P followed by 64 hex digits)", text);
    if (n != VEIL_IDENTIFIER_LEN)
        return veil_error_set(VEIL_EFORMAT, "identifier '%.80s' is %s %u characters "
                              "(expected P followed by 64 hex digits)", text,
                              n > VEIL_IDENTIFIER_LEN ? "longer than" : "not",
                              (unsigned)VEIL_IDENTIFIER_LEN);
    uint8_t tmp[32];
    size_t got;
    int rc = veil__hex_decode(text + 1, tmp, sizeof tmp, &got);
    if (rc < 0)
        return veil_error_wrap(VEIL_EFORMAT, "identifier '%s'", text);
    memcpy(digest, tmp, 32);
    return 0;
}

size_t veil__event_body(uint8_t *out, unsigned kind, uint64_t seq, const uint8_t prev[32],
                        const uint8_t key[VEIL_ED25519_PUBLIC_BYTES])
{
    size_t n = 0;
    out[n++] = (uint8_t)kind;
    n += veil_varint_encode(seq, out + n, VEIL_VARINT_MAX);
    memcpy(out + n, prev, 32);
    n += 32;
    out[n++] = VEIL_KEY_TYPE_ED25519;
    memcpy(out + n, key, VEIL_ED25519_PUBLIC_BYTES);
    return n + VEIL_ED25519_PUBLIC_BYTES;
}

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
    uint8_t prev_key[32];
} cursor;

static int need(const cursor *c, size_t n, const char *field)
{
    if (c->len - c->pos >= n)
        return 0;
    return veil_error_set(VEIL_ETRUNCATED, "history: event %zu (byte %zu): field '%s' at "
                          "byte %zu needs %zu bytes, only %zu left", c->index,
                          c->event_start, field, c->pos, n, c->len - c->pos);
}

static int verify_sig(cursor *c, const uint8_t *key, const uint8_t *msg, size_t msg_len,
                      const char *field, const char *whose)
{
    size_t at = c->pos;
    int rc = veil_vault_verify(c->v, VEIL_SECRET_ED25519, key, 32, msg, msg_len, c->in + at);
    c->pos += VEIL_SIGNATURE_BYTES;
    if (rc == VEIL_EAUTH)
        return veil_error_wrap(VEIL_EAUTH, "history: event %zu (byte %zu): field '%s' at "
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

/* prev, key_type and key. */
static int decode_link_and_key(cursor *c, const uint8_t **key)
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
    if ((rc = need(c, 1, "key_type")) < 0)
        return rc;
    if (c->in[c->pos] != VEIL_KEY_TYPE_ED25519)
        return veil_error_set(VEIL_EFORMAT, "history: event %zu (byte %zu): field 'key_type' "
                              "at byte %zu is %u, expected 1 (Ed25519)", c->index,
                              c->event_start, c->pos, c->in[c->pos]);
    c->pos++;
    if ((rc = need(c, 32, "key")) < 0)
        return rc;
    *key = c->in + c->pos;
    if (c->index > 0 && memcmp(*key, c->prev_key, 32) == 0)
        return veil_error_set(VEIL_EFORMAT, "history: event %zu (byte %zu): field 'key' at "
                              "byte %zu repeats the previous key (a rotation needs a new key)",
                              c->index, c->event_start, c->pos);
    c->pos += 32;
    return 0;
}

static int decode_event(cursor *c)
{
    uint8_t msg[DOMAIN_LEN + VEIL_EVENT_MAX_BYTES];
    const uint8_t *key = NULL;
    unsigned kind = 0;
    c->event_start = c->pos;
    int rc = decode_head(c, &kind);
    if (rc == 0)
        rc = decode_link_and_key(c, &key);
    if (rc < 0)
        return rc;
    size_t body_len = c->pos - c->event_start;
    memcpy(msg, VEIL_EVENT_DOMAIN, DOMAIN_LEN);
    memcpy(msg + DOMAIN_LEN, c->in + c->event_start, body_len);
    if ((rc = need(c, VEIL_SIGNATURE_BYTES, "sig_new")) < 0)
        return rc;
    rc = verify_sig(c, key, msg, DOMAIN_LEN + body_len, "sig_new", "the event's key");
    if (rc == 0 && kind == VEIL_EVENT_ROTATE) {
        if ((rc = need(c, VEIL_SIGNATURE_BYTES, "sig_prev")) < 0)
            return rc;
        rc = verify_sig(c, c->prev_key, msg, DOMAIN_LEN + body_len, "sig_prev",
                        "the previous key");
    }
    if (rc < 0)
        return rc;
    memcpy(c->prev_key, key, 32);
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
    if (c->in[0] != VEIL_HISTORY_VERSION)
        return veil_error_set(VEIL_EVERSION, "history: field 'version' at byte 0 is %u, "
                              "expected %u", c->in[0], VEIL_HISTORY_VERSION);
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

int veil__history_verify_view(veil_vault *v, const uint8_t *history, size_t len,
                              veil_history_view *out)
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
        if (c.index == 0)
            memcpy(view.root_key, c.prev_key, 32);
    }
    if (c.pos != len)
        return veil_error_set(VEIL_ETRAILING, "history: %zu bytes left over at byte %zu after "
                              "the last of %llu events", len - c.pos, c.pos,
                              (unsigned long long)count);
    if ((rc = sha256(v, view.root_key, 32, view.digest)) < 0)
        return rc;
    veil__identifier_format(view.digest, view.info.identifier);
    memcpy(view.info.current_key, c.prev_key, 32);
    view.info.events = (size_t)count;
    *out = view;
    return 0;
}

int veil_history_verify(veil_vault *v, const uint8_t *history, size_t len,
                        veil_history_info *out)
{
    if (v == NULL || (history == NULL && len > 0))
        return veil_error_set(VEIL_EINVAL, "veil_history_verify: %s is NULL",
                              v == NULL ? "vault" : "history");
    veil_history_view view;
    int rc = veil__history_verify_view(v, history, len, &view);
    if (rc == 0 && out != NULL)
        *out = view.info;
    return rc;
}

/* ---- building (entity side) ------------------------------------------ */

/* Append one event for keys[i] (signed by it and, for a rotation, by
 * keys[i-1]) at out[*n]; updates prev (hash) and the public keys. */
static int build_event(veil_vault *v, const veil_secret *keys, size_t i, uint8_t prev[32],
                       uint8_t prev_pub[32], uint8_t *out, size_t *n)
{
    uint8_t pub[32], msg[DOMAIN_LEN + VEIL_EVENT_MAX_BYTES];
    size_t got, start = *n;
    int rc = veil_vault_public_key(v, keys[i], pub, sizeof pub, &got);
    if (rc < 0)
        return veil_error_wrap(rc, "identity key %zu", i);
    size_t body = veil__event_body(out + start, i == 0 ? VEIL_EVENT_CREATE : VEIL_EVENT_ROTATE,
                                   i, prev, pub);
    memcpy(msg, VEIL_EVENT_DOMAIN, DOMAIN_LEN);
    memcpy(msg + DOMAIN_LEN, out + start, body);
    *n += body;
    rc = veil_vault_sign(v, keys[i], msg, DOMAIN_LEN + body, out + *n);
    *n += VEIL_SIGNATURE_BYTES;
    if (rc == 0 && i > 0) {
        rc = veil_vault_sign(v, keys[i - 1], msg, DOMAIN_LEN + body, out + *n);
        *n += VEIL_SIGNATURE_BYTES;
    }
    if (rc == 0)
        rc = sha256(v, out + start, *n - start, prev);
    memcpy(prev_pub, pub, 32);
    return rc;
}

int veil__history_build(veil_vault *v, const veil_secret *keys, size_t n, uint8_t **out,
                        size_t *out_len)
{
    if (n == 0 || n > VEIL_HISTORY_MAX_EVENTS)
        return veil_error_set(VEIL_ELIMIT, "history: %zu events (expected 1..%u)", n,
                              (unsigned)VEIL_HISTORY_MAX_EVENTS);
    size_t cap = 1 + VEIL_VARINT_MAX + n * VEIL_EVENT_MAX_BYTES;
    uint8_t *buf = malloc(cap), prev[32] = {0}, pub[32];
    if (buf == NULL)
        return veil_error_set(VEIL_ENOMEM, "history: out of memory for %zu bytes", cap);
    size_t len = 0;
    buf[len++] = VEIL_HISTORY_VERSION;
    len += veil_varint_encode(n, buf + len, VEIL_VARINT_MAX);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = build_event(v, keys, i, prev, pub, buf, &len);
    if (rc == 0 && len > VEIL_HISTORY_MAX_BYTES)
        rc = veil_error_set(VEIL_ELIMIT, "history: %zu bytes, limit %u", len,
                            (unsigned)VEIL_HISTORY_MAX_BYTES);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

/* ---- trust info for channels ----------------------------------------- */

int veil__trust_info_from_history(veil_vault *v, const uint8_t *history, size_t len,
                                  const char *local_identifier, const veil_route *route,
                                  veil_history_view *view, veil_trust_info *info)
{
    int rc = veil__history_verify_view(v, history, len, view);
    if (rc < 0)
        return rc;
    memset(info, 0, sizeof *info);
    info->size = sizeof *info;
    info->peer_identifier = view->info.identifier;
    info->peer_history = history;
    info->peer_history_len = len;
    info->peer_public_key = view->info.current_key;
    info->peer_public_key_len = VEIL_ED25519_PUBLIC_BYTES;
    info->local_identifier = local_identifier;
    info->route = route;
    return 0;
}
