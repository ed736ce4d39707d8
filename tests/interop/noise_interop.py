#!/usr/bin/python3
"""Live Noise interop: veil (tests/interop/noise-peer) against dissononce.

usage: noise_interop.py PEER [CRYPTO...]

For XX, IK, NK, KK, NNpsk0, XXpsk3 (and XXpsk0+psk3) x AESGCM/ChaChaPoly x SHA256/BLAKE2b,
with veil as initiator and as responder, on each crypto backend given:
the handshake (payload of message i is "hs-i" both ways), the handshake
hash and the remote static key veil learned, transport messages both
ways, then Rekey() of both directions on both sides and more transport.
Prints TAP.  dissononce is another implementation no one here wrote.

dissononce's CipherState.rekey() resets n to 0 and uses the whole 48-byte
ENCRYPT output as the key; the spec (rev 34, 5.1 and 4.2) keeps n and
takes the first 32 bytes, so rekey() below does it per the spec on top of
dissononce's cipher.
"""
import os
import signal
import struct
import subprocess
import sys

try:
    from dissononce.extras.meta.protocol.factory import NoiseProtocolFactory
    from dissononce.dh.x25519.private import PrivateKey
    from dissononce.dh.x25519.x25519 import X25519DH
    IMPORT_ERROR = None
except Exception as exc:  # pragma: no cover - reported as a TAP skip
    IMPORT_ERROR = exc

# pattern -> (initiator has s, responder has s, initiator pre-knows rs,
#             responder pre-knows rs, number of psks)
PATTERNS = {
    "XX": (True, True, False, False, 0),
    "IK": (True, True, True, False, 0),
    "NK": (False, True, True, False, 0),
    "KK": (True, True, True, True, 0),
    "NNpsk0": (False, False, False, False, 1),
    "XXpsk3": (True, True, False, False, 1),
    # Two psks at once: their order in the handshake must agree.
    "XXpsk0+psk3": (True, True, False, False, 2),
}
CIPHERS = ("AESGCM", "ChaChaPoly")
HASHES = ("SHA256", "BLAKE2b")
ROUNDS = 3
PROLOGUE = b"veil interop"


class Failure(Exception):
    pass


def put_frame(pipe, data):
    pipe.write(struct.pack(">H", len(data)) + data)
    pipe.flush()


def get_frame(pipe):
    hdr = pipe.read(2)
    if len(hdr) != 2:
        raise Failure("veil closed the stream")
    (n,) = struct.unpack(">H", hdr)
    data = pipe.read(n)
    if len(data) != n:
        raise Failure("short frame from veil")
    return data


def rekey(cs):
    """Rekey() per the spec: k = first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros); n kept."""
    n = cs._nonce
    cs.initialize_key(cs.cipher.encrypt(cs._key, 2 ** 64 - 1, b"", bytes(32))[:32])
    cs.set_nonce(n)


def keypair(dh, secret):
    return dh.generate_keypair(PrivateKey(secret))


def run_one(peer, crypto, name, pattern, veil_role):
    init_s, resp_s, init_rs, resp_rs, n_psks = PATTERNS[pattern]
    dh = X25519DH()
    veil_init = veil_role == "initiator"
    veil_kp = keypair(dh, os.urandom(32))
    py_kp = keypair(dh, os.urandom(32))
    psks = [os.urandom(32) for _ in range(n_psks)]
    veil_has_s = init_s if veil_init else resp_s
    py_has_s = resp_s if veil_init else init_s
    veil_knows = init_rs if veil_init else resp_rs
    py_knows = resp_rs if veil_init else init_rs

    args = [peer, "--crypto", crypto, "--protocol", name, "--role", veil_role,
            "--prologue", PROLOGUE.hex(), "--rounds", str(ROUNDS)]
    if veil_has_s:
        args += ["--static", veil_kp.private.data.hex()]
    if veil_knows:
        args += ["--remote-static", py_kp.public.data.hex()]
    for psk in psks:
        args += ["--psk", psk.hex()]

    proto = NoiseProtocolFactory().get_noise_protocol(name)
    hs = proto.create_handshakestate()
    hs.initialize(proto.pattern, not veil_init, PROLOGUE,
                  s=py_kp if py_has_s else None,
                  rs=veil_kp.public if py_knows else None,
                  psks=psks if psks else None)

    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        return converse(proc, hs, proto, veil_init, veil_kp, py_kp)
    finally:
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
        err = proc.stderr.read().decode(errors="replace").strip()
        status = proc.wait()
        if status != 0:
            raise Failure("veil exited %d: %s" % (status, err))


def converse(proc, hs, proto, veil_init, veil_kp, py_kp):
    n_msgs = len(proto.pattern.message_patterns)
    result = None
    for i in range(n_msgs):
        veil_writes = (i % 2 == 0) == veil_init
        text = b"hs-%d" % i
        if veil_writes:
            buf = bytearray()
            result = hs.read_message(get_frame(proc.stdout), buf)
            if bytes(buf) != text:
                raise Failure("handshake payload %d: got %r" % (i, bytes(buf)))
        else:
            buf = bytearray()
            result = hs.write_message(text, buf)
            put_frame(proc.stdin, bytes(buf))
    if result is None:
        raise Failure("dissononce did not finish the handshake")
    veil_hash = get_frame(proc.stdout)
    if veil_hash != hs.symmetricstate.get_handshake_hash():
        raise Failure("handshake hash differs")
    veil_rs = get_frame(proc.stdout)
    if veil_rs and veil_rs != py_kp.public.data:
        raise Failure("remote static key veil learned differs")
    c1, c2 = result
    send, recv = (c2, c1) if veil_init else (c1, c2)
    transport(proc, send, recv, 0)
    for cs in (send, recv):
        rekey(cs)
    transport(proc, send, recv, 1)
    return "hash ok, %d transport round trips, rekey ok" % (2 * ROUNDS)


def transport(proc, send, recv, phase):
    for r in range(ROUNDS):
        text = b"py-%d-%d" % (phase, r)
        put_frame(proc.stdin, send.encrypt_with_ad(b"", text))
        got = recv.decrypt_with_ad(b"", get_frame(proc.stdout))
        want = b"veil-%d-%d:" % (phase, r) + text
        if got != want:
            raise Failure("transport phase %d round %d: got %r" % (phase, r, got))


def on_alarm(signum, frame):
    raise Failure("timed out")


def main():
    if IMPORT_ERROR is not None:
        print("1..0 # SKIP dissononce cannot be imported: %s" % IMPORT_ERROR)
        return 0
    if len(sys.argv) < 2:
        print("usage: noise_interop.py PEER [CRYPTO...]", file=sys.stderr)
        return 2
    peer = sys.argv[1]
    backends = sys.argv[2:] or ["openssl"]
    cases = [(c, "Noise_%s_25519_%s_%s" % (p, ci, h), p, role)
             for c in backends for p in PATTERNS for ci in CIPHERS for h in HASHES
             for role in ("initiator", "responder")]
    print("1..%d" % len(cases))
    failed = 0
    signal.signal(signal.SIGALRM, on_alarm)
    for i, (crypto, name, pattern, role) in enumerate(cases, 1):
        label = "%s veil=%s crypto=%s" % (name, role, crypto)
        signal.alarm(20)
        try:
            note = run_one(peer, crypto, name, pattern, role)
            print("ok %d - %s: %s" % (i, label, note))
        except Exception as exc:
            failed += 1
            print("not ok %d - %s: %s" % (i, label, exc))
        finally:
            signal.alarm(0)
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
