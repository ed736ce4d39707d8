#!/usr/bin/env python3
"""Write the seed corpus of every fuzz target (tests/fuzz/corpus/TARGET/).

One small file per input kind each target accepts, written from the
formats in docs/PROTOCOL.md and docs/X3DH.md (nothing here is taken from
the C code).  Targets that start from an honest input made at run time
(patch.h: fuzz_history, fuzz_noise_handshake, fuzz_x3dh with the patch
bit) get their mode byte alone: the honest run, which stays valid when a
format changes.  Regression inputs for bugs fuzzing found are named
regress-* and are written here too, so the corpus can be made again from
scratch:

    python3 tests/fuzz/make-seeds.py [OUTDIR]    (default: next to this file)
"""
import os
import struct
import sys


def varint(n):
    """The codec's varint (docs/PROTOCOL.md, "Varints"): LEB128."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def route(*addrs):
    """addrs: (type, bytes) pairs."""
    out = varint(len(addrs))
    for t, b in addrs:
        out += bytes([t]) + varint(len(b)) + b
    return out


def message(onward, ret, payload):
    return b"\x01" + onward + ret + varint(len(payload)) + payload


def frame(body):
    return struct.pack(">I", len(body)) + body


ECHO = route((0, b"echoer"))
APP = route((0, b"app"))
VIA = route((1, b"127.0.0.1:4000"), (0, b"echoer"))
V6 = route((1, b"[::1]:4000"), (0, b"svc"), (0, b"app"))


def codec():
    return {
        "hi": message(ECHO, APP, b"hi"),  # docs/PROTOCOL.md, "Worked example"
        "tcp-hop": message(VIA, APP, b"payload"),
        "ipv6-three-hops": message(V6, route(), b""),
        "empty-routes": message(route(), route(), b"x"),
        "long-varint": message(ECHO, APP, b"A" * 300),
        "overlong-varint": b"\x01\x81\x00\x00\x06echoer\x00\x00",
        "truncated": message(ECHO, APP, b"hello")[:-2],
        "trailing": message(ECHO, APP, b"") + b"\x00",
        "version-2": b"\x02" + message(ECHO, APP, b"hi")[1:],
    }


def config():
    return {
        "node-conf": b"# veil.conf\n[node]\nqueue_size = 64k\n\n[vault]\nplugin = software\n"
                     b"crypto = openssl\n\n[transport.tcp]\nlisten = 127.0.0.1:4000\n",
        "quoted": b"[a]\nmotd = \"  # not a comment \\\" \\\\ \"\nnote = a # b\n; c\n",
        "crlf-repeat": b"[x]\r\nk = 1\r\n[y]\r\nb = yes\r\n[x]\r\nj = -5\r\n",
        "ints-bools": b"[t]\nn = 4m\nm = 0x10\nk = 12k\nb1 = true\nb2 = off\nempty =\n",
        "errors": b"[Vault]\nkey\n[a] # x\nk = \"unterminated\n",
    }


# ---- secure channel frames (docs/PROTOCOL.md, "Frames") ----
TAG = b"\xaa" * 16


def enc(body, nonce, ftype):
    """An encrypted frame as received: ciphertext || tag || nonce || type."""
    return body + TAG + struct.pack(">Q", nonce) + bytes([ftype])


def inner(payload, onward, ret):
    """A data frame's plaintext: payload, routes, payload length."""
    return payload + onward + ret + struct.pack(">I", len(payload))


def channel():
    proof = b"\x01" + b"\x55" * 64 + b"\x01\x02\x03"  # version, signature, history
    ops = b""
    for i, v in enumerate([5, 3, 5, 1000, 2, 4000, 3000]):
        ops += bytes([i & 3]) + struct.pack("<Q", v)
    return {
        "hs1": b"\x00" + b"\x11" * 32 + NOISE + bytes([len(NOISE)]) + b"\x01",
        "hs1-v2": b"\x00" + b"\x11" * 32 + b"\x01",
        "notice": b"\x00\x03veil.undeliverable\x0f",
        "hs2-proof": b"\x00" + b"\x22" * 48 + proof + b"\x02",
        "hs3-proof": b"\x00" + proof + b"\x03",
        "hserr": b"\x00" + bytes([20]) + b"\x04",
        "hserr-with-text": b"\x00" + bytes([20]) + b"no OPK left" + b"\x04",
        "cookie": b"\x00" + b"\xc0" * 16 + b"\x05",
        "hs1-cookie": b"\x00" + b"\x11" * 32 + NOISE + bytes([len(NOISE)]) + b"\xc0" * 16
        + b"\x06",
        "data": b"\x00" + enc(inner(b"hi", ECHO, APP), 7, 0x10),
        "close": b"\x00" + enc(b"", 8, 0x11),
        "accept": b"\x00" + enc(b"", 1, 0x12),
        "refuse": b"\x00" + enc(b"allowlist", 2, 0x13),
        "nonce-reserved": b"\x00" + enc(b"", 2**64 - 1, 0x10),
        "window": b"\x01" + ops,
        # The harness aborted on every valid HSERR frame (issue #10): the
        # smallest one, code 0x29 and no text.
        "regress-hserr-04-29-04": b"\x04\x29\x04",
    }


# The veil-tcp preamble (docs/PROTOCOL.md, "TCP framing"): magic, version 1.
PREAMBLE = b"\x89VEIL\n" + struct.pack(">H", 1)


# HS1 names the key agreement (channel handshake version 3).
NOISE = b"Noise_XX_25519_AESGCM_SHA256"


def tcp_frame():
    two = frame(message(ECHO, APP, b"one")) + frame(message(VIA, APP, b"two" * 40))
    p = PREAMBLE
    return {
        "two-frames": b"\x10\x07" + p + two,
        "partial": b"\x10\x03" + p + two + frame(message(ECHO, APP, b"x" * 200))[:50],
        "zero-length": b"\x00\x01" + p + frame(message(ECHO, APP, b"")) + b"\x00\x00\x00\x00",
        "oversize": b"\x00\x02" + p + struct.pack(">I", 5000) + b"\x01",
        "big-frame": b"\xff\x09" + p + frame(message(ECHO, APP, b"B" * 3000)),
        "bad-body": b"\x20\x05" + p + frame(b"hello"),
        "preamble-http": b"\x10\x02" + b"HTTP/1.0 400 Bad request\r\n",
        "preamble-v2": b"\x10\x02" + p[:6] + struct.pack(">H", 2) + two,
        "preamble-none": b"\x10\x02" + two,
        "preamble-partial": b"\x10\x02" + p[:5],
    }


def x3dh_wire():
    k = b"\x05" + b"\x09" * 32
    bundle = b"\x01\x00" + k + struct.pack(">I", 1) + k + b"\x66" * 64
    bundle_opk = b"\x01\x01" + bundle[2:] + struct.pack(">I", 2) + k
    m1 = b"\x01\x01" + k + k + struct.pack(">II", 1, 2) + b"\x77" * 32
    return bundle, bundle_opk, m1


def x3dh():
    bundle, bundle_opk, m1 = x3dh_wire()
    return {
        "bundle": b"\x00" + bundle,
        "bundle-opk": b"\x00" + bundle_opk,
        "message1": b"\x01" + m1,
        "message1-responder": b"\x02" + m1,
        "message2-initiator": b"\x03" + b"\x05" + b"\x09" * 32 + b"\x44" * 16,
        "honest-bundle": b"\x04",
        "honest-message1": b"\x05",
        "honest-message1-responder": b"\x06",
        "honest-message2-initiator": b"\x07",
        "message3-responder": b"\x08" + b"\x55" * 48,
        "honest-message3-responder": b"\x0c",
    }


def prekeys():
    bundle, _, _ = x3dh_wire()
    opk = struct.pack(">I", 9) + b"\x05" + b"\x09" * 32
    publish = (b"\x01\x02\x05carol" + struct.pack(">Q", 1) + b"\x01" + bundle +
               struct.pack(">H", 1) + opk + b"\x33" * 64)
    return {
        "fetch-bob": b"\x01\x01\x03bob",
        "fetch-unknown": b"\x01\x01\x05alice",
        "fetch-bad-length": b"\x01\x01\x09bob",
        "publish": publish,
        "publish-ack": b"\x01\x82\x00\x03bob" + struct.pack(">I", 10),
        "version-2": b"\x02\x01\x03bob",
    }


def noise():
    # bit 0: protocol (XX, IK); bits 1-6: position; bit 7: patch the honest message
    seeds = {"xx-msg1-raw": b"\x00" + b"\x09" * 32, "ik-msg1-raw": b"\x01" + b"\x09" * 96}
    for proto, p in (("xx", 0), ("ik", 1)):
        for pos in range(3 if proto == "xx" else 2):
            seeds["honest-%s-msg%d" % (proto, pos + 1)] = bytes([0x80 | pos << 1 | p])
    return seeds


def history():
    return {"honest": b"\x01", "raw": b"\x00\x01\x00\x20" + b"\x00" * 32,
            "patched-length": b"\x01\x00\x03\x07\x05"}


TARGETS = {
    "fuzz_codec": codec, "fuzz_config": config, "fuzz_channel": channel,
    "fuzz_tcp_frame": tcp_frame, "fuzz_x3dh": x3dh, "fuzz_prekeys": prekeys,
    "fuzz_noise_handshake": noise, "fuzz_history": history,
}


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "corpus")
    for target, make in TARGETS.items():
        d = os.path.join(top, target)
        os.makedirs(d, exist_ok=True)
        for name, data in make().items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
