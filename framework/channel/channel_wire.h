/* Secure channels: the frames on the wire (docs/PROTOCOL.md, "Secure
 * channel") and their parsers (channel_frame.c), shared through
 * channel_internal.h.  Not installed, not exported. */
#ifndef VEIL_CHANNEL_WIRE_H
#define VEIL_CHANNEL_WIRE_H

#include <veil/key_agreement.h>
#include <veil/node.h>
#include <veil/vault.h>

#include <stddef.h>
#include <stdint.h>

#include "core/upper.h"

#define VEIL_CH_HIDDEN __attribute__((visibility("hidden")))

/* ---- wire format ------------------------------------------------------ */

enum {
    VEIL_CH_HS1 = 0x01,      /* initiator → listener: KA message 1 || protocol
                              * || protocol_len:u8 (the key agreement's name) */
    VEIL_CH_HS2 = 0x02,      /* responder → initiator: KA message 2 */
    VEIL_CH_HS3 = 0x03,      /* initiator → responder: KA message 3 */
    VEIL_CH_HSERR = 0x04,    /* plain refusal: responder → initiator (message 1
                              * refused), initiator → responder (message 2's
                              * identity refused by the initiator's policy) */
    VEIL_CH_COOKIE = 0x05,   /* plain: listener under load → initiator: cookie */
    VEIL_CH_HS1_COOKIE = 0x06, /* initiator → listener: HS1's body || cookie */
    VEIL_CH_NOTICE = VEIL_NOTICE_TYPE, /* plain, from the far node: no worker
                              * at the listener's address (core/upper.h) */
    VEIL_CH_DATA = 0x10,     /* encrypted: payload, routes, payload length */
    VEIL_CH_CLOSE = 0x11,    /* encrypted: empty */
    VEIL_CH_ACCEPT = 0x12,   /* encrypted: empty; responder's policy allowed */
    VEIL_CH_REFUSE = 0x13,   /* encrypted: code:u8 || the refusing policy's name */
    VEIL_CH_PING = 0x14,     /* encrypted: token:u64be || dead_after_ms:u32be */
    VEIL_CH_PONG = 0x15,     /* encrypted: token:u64be (the PING's) */
};
#define VEIL_CH_PING_BODY 12u

/* Frames end with their type byte; encrypted frames are
 * ciphertext || tag || nonce:u64be || type, with AD = nonce || type.  The
 * plaintext starts at offset 0, so a decrypted payload needs no move. */
#define VEIL_CH_TRAILER 9u                   /* 64-bit nonce + type */
#define VEIL_CH_OVERHEAD (VEIL_CH_TRAILER + VEIL_AEAD_TAG_BYTES)
/* The most one route takes encoded (veil_route_encode, codec.h): the
 * count (one byte: at most VEIL_ROUTE_MAX_HOPS < 128), then per address
 * type:u8 len:varint bytes, i.e. the 2 + len bytes VEIL_ROUTE_BYTES_MAX
 * bounds in memory, plus one byte for each address of 128 bytes or more
 * (its length takes a two-byte varint), of which at most
 * VEIL_ROUTE_BYTES_MAX / (2 + 128) fit: 1 + 1024 + 7 = 1032 bytes. */
#define VEIL_CH_ROUTE_ENCODED_MAX \
    (1u + VEIL_ROUTE_BYTES_MAX + VEIL_ROUTE_BYTES_MAX / (2u + 128u))
/* What an inner message adds to its payload: the onward and the return
 * route, and payload_len:u32be (veil__ch_inner_parse).  A data frame's
 * body is at most tag + this + max_message, and max_message at most
 * VEIL_PAYLOAD_MAX - VEIL_CH_OVERHEAD - this, so a frame always fits a
 * message. */
#define VEIL_CH_ROUTES_OVERHEAD (2u * VEIL_CH_ROUTE_ENCODED_MAX + 4u)
#define VEIL_CH_PROOF_VERSION 2u
/* Identity proof carried in KA messages 2 and 3: version(2) ||
 * attestation expiry:u64be || attestation signature(64) || encoded change
 * history.  The attestation (identity_sign.c, domain VEIL_DOMAIN_ATTEST)
 * covers 0x04 (X25519) || static public key || expiry. */
#define VEIL_CH_PROOF_MIN (1u + 8u + VEIL_SIGNATURE_BYTES)
#define VEIL_CH_POLICY_NAME_MAX 128u
/* Room for a key agreement's own bytes (ephemeral and static keys, tags)
 * around a handshake payload: Noise needs at most 2 * 56 + 2 * 16. */
#define VEIL_CH_KA_HEADROOM 1024u
/* HSERR body: code:u8 (-VEIL_E*) || a fixed reason chosen by the code
 * (channel_hserr.c), at most this many bytes. */
#define VEIL_CH_HSERR_MAX 256u
/* Frame types up to this one are plain handshake frames. */
#define VEIL_CH_HANDSHAKE_LAST 0x0fu
/* Cookies (channel_cookie.c): a MAC of the HS1's first return hop, under a
 * listener secret that changes every VEIL_CH_COOKIE_ROTATE_MS. */
#define VEIL_CH_COOKIE_BYTES 16u
#define VEIL_CH_COOKIE_ROTATE_MS 120000u
/* How many COOKIE frames an initiator answers during one handshake. */
#define VEIL_CH_COOKIE_TRIES 3u

typedef struct veil_ch_frame {
    uint8_t type;
    uint64_t nonce;               /* encrypted frames only */
    const uint8_t *body;          /* KA message, or ciphertext || tag (offset 0) */
    size_t body_len;
    const uint8_t *cookie;        /* COOKIE, HS1_COOKIE: VEIL_CH_COOKIE_BYTES */
    const uint8_t *protocol;      /* HS1, HS1_COOKIE: the initiator's key agreement */
    size_t protocol_len;          /* 1..VEIL_KA_PROTOCOL_NAME_MAX */
} veil_ch_frame;

/* Parse the outer frame: type, and for encrypted types the nonce and a
 * body of at least a tag.  VEIL_ETRUNCATED / VEIL_EFORMAT. */
VEIL_CH_HIDDEN int veil__ch_frame_parse(const uint8_t *in, size_t len, veil_ch_frame *out);

/* Decrypted data: payload || onward route || return route ||
 * payload_len:u32be (routes as veil_route_encode).  Payload first, so it
 * is delivered where it was decrypted.  VEIL_ELIMIT when the payload is
 * over max; VEIL_ETRUNCATED / VEIL_ETRAILING / the route decoder's errors. */
VEIL_CH_HIDDEN int veil__ch_inner_parse(const uint8_t *plain, size_t len, size_t max,
                                        veil_route *onward, veil_route *ret,
                                        size_t *payload_len);

typedef struct veil_ch_proof {
    uint64_t expires;             /* the attestation's (0: none of its own) */
    const uint8_t *sig;           /* VEIL_SIGNATURE_BYTES */
    const uint8_t *history;
    size_t history_len;
} veil_ch_proof;

/* Parse an identity proof (no crypto).  VEIL_ETRUNCATED / VEIL_EVERSION /
 * VEIL_ELIMIT (history over VEIL_HISTORY_MAX_BYTES). */
VEIL_CH_HIDDEN int veil__ch_proof_parse(const uint8_t *in, size_t len, veil_ch_proof *out);

#endif
