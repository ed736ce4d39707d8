#!/usr/bin/python3
"""Live X3DH interop: veil (tests/interop/x3dh-peer) against python3-x3dh (Syndace).

python3-x3dh is configured as veil is: CURVE_25519 identity keys, SHA-256,
the same info, Encode(PK) = 0x05 || u.  It has no prekey ids and no wire
format of its own (its Bundle and Header are tuples of public keys), so
this script translates between its tuples and veil's bundle / message 1
(docs/X3DH.md), assigning the ids.  For each crypto backend, with and
without an OPK, it checks (TAP):

  * veil as initiator, python's bundle: veil verifies python's SPK
    signature, its real session writes message 1; python's passive side
    derives the same SK and AD, and with them decrypts message 1's
    ciphertext (so the session really used that SK and AD);
  * python as initiator, veil's bundle: python verifies veil's XEdDSA SPK
    signature and derives SK, AD; message 1 built from python's header and
    encrypted under python's SK is read by veil's real responder session,
    which derives the same SK and AD;
  * each side rejects the other's bundle with a flipped signature bit;
  * whole handshakes (messages 1-3, split) between veil's sessions and this
    script's own implementation of docs/X3DH.md's key schedule on top of
    python3-x3dh's SK and AD, in both roles: every message decrypts, and the
    handshake hash and both transport keys are the same.

usage: x3dh_interop.py PEER BACKEND...
"""
import asyncio
import hashlib
import os
import secrets
import struct
import subprocess
import sys

import x3dh
import x3dh.base_state
import xeddsa
from x3dh.crypto_provider import HashFunction
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"veil X3DH v1 X25519 SHA-256"
SPK_ID = 1
OPK_ID = 100


class State(x3dh.BaseState):
    @staticmethod
    def _encode_public_key(key_format, pub):
        return b"\x05" + pub


def new_state():
    return State.create(x3dh.IdentityKeyFormat.CURVE_25519, HashFunction.SHA_256, INFO)


def enc(pub):
    return b"\x05" + pub


def veil_bundle(b, opk):
    out = bytes([1, 1 if opk else 0]) + enc(b.identity_key) + struct.pack(">I", SPK_ID)
    out += enc(b.signed_pre_key) + b.signed_pre_key_sig
    if opk:
        out += struct.pack(">I", OPK_ID) + enc(opk)
    return out


def parse_bundle(raw):
    assert raw[0] == 1 and raw[2] == 5 and raw[39] == 5
    opk = raw[141:173] if raw[1] & 1 else None
    return x3dh.Bundle(identity_key=raw[3:35], signed_pre_key=raw[40:72],
                       signed_pre_key_sig=raw[72:136],
                       pre_keys=frozenset([opk]) if opk else frozenset())


def header_bytes(ik, ek, opk):
    h = bytes([1, 1 if opk else 0]) + enc(ik) + enc(ek) + struct.pack(">I", SPK_ID)
    return h + (struct.pack(">I", OPK_ID) if opk else b"")


def k1_of(sk, ad, header):
    """docs/X3DH.md: h = SHA-256(name); MixHash(AD); MixHash(header);
    ck || k1 = HKDF(salt = SK, IKM = h, info = "veil-x3dh msg1", 64)."""
    h = hashlib.sha256(b"veil-X3DH_25519_AESGCM_SHA256").digest()
    h = hashlib.sha256(h + ad).digest()
    h = hashlib.sha256(h + header).digest()
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=sk, info=b"veil-x3dh msg1").derive(h)
    return okm[32:]


class Transcript:
    """docs/X3DH.md: h = SHA-256(name); MixHash(x): h = SHA-256(h || x)."""

    def __init__(self):
        self.h = hashlib.sha256(b"veil-X3DH_25519_AESGCM_SHA256").digest()

    def mix(self, x):
        self.h = hashlib.sha256(self.h + x).digest()


def hkdf2(salt, ikm, label):
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=salt, info=label).derive(ikm)
    return okm[:32], okm[32:]


def seal(k, ad, pt):
    return AESGCM(k).encrypt(bytes(12), pt, ad)


def unseal(k, ad, ct):
    return AESGCM(k).decrypt(bytes(12), ct, ad)


class Lines:
    """A running x3dh-peer handshake command: key=hex lines out, hex lines in."""

    def __init__(self, path, crypto, *args):
        self.p = subprocess.Popen([path, crypto] + list(args), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def get(self, key):
        line = self.p.stdout.readline().strip()
        if not line.startswith(key + "="):
            self.p.kill()
            raise RuntimeError("expected %s=, got %r; stderr: %s" % (key, line, self.p.stderr.read()))
        return bytes.fromhex(line.split("=", 1)[1])

    def send(self, data):
        self.p.stdin.write(data.hex() + "\n")
        self.p.stdin.flush()

    def done(self):
        self.p.stdin.close()
        err = self.p.stderr.read()
        if self.p.wait() != 0:
            raise RuntimeError("x3dh-peer exit %d: %s" % (self.p.returncode, err))


def split_checks(t, ck, hh, seal_send, seal_recv, initiator_is_veil):
    """The handshake hash and both transport keys, from seals of "transport"."""
    k_ir, k_ri = hkdf2(ck, t.h, b"veil-x3dh split")
    send, recv = (k_ir, k_ri) if initiator_is_veil else (k_ri, k_ir)
    if hh != t.h:
        raise RuntimeError("handshake hash differs: veil %s, here %s" % (hh.hex(), t.h.hex()))
    if seal_send != seal(send, b"", b"transport") or seal_recv != seal(recv, b"", b"transport"):
        raise RuntimeError("transport keys differ")


async def full_veil_initiator(path, crypto, use_opk, appendix):
    bob = new_state()
    opk = None
    if use_opk:
        bob.generate_pre_keys(1)
        opk = next(iter(bob.bundle.pre_keys))
    run = Lines(path, crypto, "handshake-i", secrets.token_bytes(32).hex(),
                veil_bundle(bob.bundle, opk).hex(), INFO.decode(), appendix.hex() or "-")
    msg1 = run.get("msg1")
    hlen = 76 if use_opk else 72
    ik_a, ek_a = msg1[3:35], msg1[36:68]
    hdr = x3dh.Header(identity_key=ik_a, ephemeral_key=ek_a,
                      signed_pre_key=bob.bundle.signed_pre_key, pre_key=opk)
    sk, ad, _ = await bob.get_shared_secret_passive(hdr, appendix, require_pre_key=False)
    t = Transcript()
    t.mix(ad)
    t.mix(msg1[:hlen])
    ck, k1 = hkdf2(sk, t.h, b"veil-x3dh msg1")
    if unseal(k1, ad, msg1[hlen:]) != b"veil 1":
        raise RuntimeError("message 1 payload")
    t.mix(msg1[hlen:])
    er = secrets.token_bytes(32)
    er_pub = enc(xeddsa.priv_to_curve25519_pub(er))
    t.mix(er_pub)
    ck, k2 = hkdf2(ck, xeddsa.x25519(er, ek_a) + xeddsa.x25519(er, ik_a) + t.h, b"veil-x3dh msg2")
    ct2 = seal(k2, t.h, b"python 2")
    t.mix(ct2)
    run.send(er_pub + ct2)
    if run.get("payload") != b"python 2":
        raise RuntimeError("veil read message 2 wrong")
    ct3 = run.get("msg3")
    ck, k3 = hkdf2(ck, t.h, b"veil-x3dh msg3")
    if unseal(k3, t.h, ct3) != b"veil 3":
        raise RuntimeError("message 3 payload")
    t.mix(ct3)
    split_checks(t, ck, run.get("hh"), run.get("seal_send"), run.get("seal_recv"), True)
    run.done()


async def full_python_initiator(path, crypto, use_opk, appendix):
    ik_a_priv, ek = secrets.token_bytes(32), secrets.token_bytes(32)
    alice = State.create(x3dh.IdentityKeyFormat.CURVE_25519, HashFunction.SHA_256, INFO,
                         x3dh.identity_key_pair.IdentityKeyPairPriv(ik_a_priv))
    ik_b, spk, opk = (secrets.token_bytes(32) for _ in range(3))
    args = [ik_b.hex(), spk.hex(), str(SPK_ID)] + ([opk.hex(), str(OPK_ID)] if use_opk else [])
    rc, out, err = peer(path, crypto, "make-bundle", *args)
    if rc != 0:
        raise RuntimeError(err)
    bundle = parse_bundle(bytes.fromhex(out["bundle"]))

    class KnownEphemeral:  # python3-x3dh draws EK from secrets.token_bytes
        @staticmethod
        def token_bytes(n):
            return ek

        @staticmethod
        def choice(seq):
            return seq[0]

    x3dh.base_state.secrets = KnownEphemeral
    try:
        sk, ad, hdr = await alice.get_shared_secret_active(bundle, appendix, require_pre_key=False)
    finally:
        x3dh.base_state.secrets = secrets
    header = header_bytes(hdr.identity_key, hdr.ephemeral_key, hdr.pre_key)
    t = Transcript()
    t.mix(ad)
    t.mix(header)
    ck, k1 = hkdf2(sk, t.h, b"veil-x3dh msg1")
    ct1 = seal(k1, ad, b"python 1")
    t.mix(ct1)
    run = Lines(path, crypto, "handshake-r", ik_b.hex(), spk.hex(), str(SPK_ID),
                opk.hex() if use_opk else "-", str(OPK_ID), (header + ct1).hex(),
                INFO.decode(), appendix.hex() or "-")
    if run.get("payload") != b"python 1":
        raise RuntimeError("veil read message 1 wrong")
    msg2 = run.get("msg2")
    if msg2[0] != 5:
        raise RuntimeError("message 2 ER type byte %d" % msg2[0])
    er = msg2[1:33]
    t.mix(msg2[:33])
    ck, k2 = hkdf2(ck, xeddsa.x25519(ek, er) + xeddsa.x25519(ik_a_priv, er) + t.h, b"veil-x3dh msg2")
    if unseal(k2, t.h, msg2[33:]) != b"veil 2":
        raise RuntimeError("message 2 payload")
    t.mix(msg2[33:])
    ck, k3 = hkdf2(ck, t.h, b"veil-x3dh msg3")
    ct3 = seal(k3, t.h, b"python 3")
    t.mix(ct3)
    run.send(ct3)
    if run.get("payload") != b"python 3":
        raise RuntimeError("veil read message 3 wrong")
    split_checks(t, ck, run.get("hh"), run.get("seal_send"), run.get("seal_recv"), False)
    run.done()


async def full(tap, fn, name, *args):
    try:
        await fn(*args)
        tap.ok(True, name)
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        tap.ok(False, name, repr(e))


def peer(path, crypto, *args):
    r = subprocess.run([path, crypto] + list(args), capture_output=True, text=True)
    out = dict(line.split("=", 1) for line in r.stdout.split() if "=" in line)
    return r.returncode, out, r.stderr.strip()


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, why=""):
        self.n += 1
        if not cond:
            self.failed += 1
        print(("ok" if cond else "not ok") + " %d - %s%s" % (self.n, name,
              "" if cond else " # " + why.replace("\n", " ")))


async def veil_initiates(tap, path, crypto, use_opk, appendix):
    bob = new_state()
    opk = None
    if use_opk:
        bob.generate_pre_keys(1)
        opk = next(iter(bob.bundle.pre_keys))
    raw = veil_bundle(bob.bundle, opk)
    tag = "%s, %s OPK" % (crypto, "with" if use_opk else "no")
    rc, _, err = peer(path, crypto, "verify-bundle", raw.hex())
    tap.ok(rc == 0, "veil verifies python's SPK signature (%s)" % tag, err)
    bad = bytearray(raw)
    bad[72 + 40] ^= 1
    rc, _, err = peer(path, crypto, "verify-bundle", bad.hex())
    tap.ok(rc == 1 and "signature of SPK" in err, "veil rejects python's bundle with s flipped "
           "(%s)" % tag, err)
    payload = b"hello from veil"
    ik_a, ek = secrets.token_bytes(32), secrets.token_bytes(32)
    rc, out, err = peer(path, crypto, "initiate", ik_a.hex(), ek.hex(), raw.hex(),
                        INFO.decode(), appendix.hex() or "-", payload.hex())
    if rc != 0:
        tap.ok(False, "veil initiator (%s)" % tag, err)
        return
    msg1 = bytes.fromhex(out["msg1"])
    hlen = 76 if use_opk else 72
    assert msg1[1] == (1 if use_opk else 0)
    hdr = x3dh.Header(identity_key=msg1[3:35], ephemeral_key=msg1[36:68],
                      signed_pre_key=bob.bundle.signed_pre_key, pre_key=opk)
    sk, ad, _ = await bob.get_shared_secret_passive(hdr, appendix, require_pre_key=False)
    tap.ok(sk.hex() == out["sk"], "veil initiator and python responder derive the same SK "
           "(%s)" % tag, "veil %s python %s" % (out["sk"], sk.hex()))
    tap.ok(ad.hex() == out["ad"], "the same AD (%s)" % tag, "veil %s python %s" % (out["ad"], ad.hex()))
    try:
        plain = AESGCM(k1_of(sk, ad, msg1[:hlen])).decrypt(bytes(12), msg1[hlen:], ad)
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        plain = repr(e).encode()
    tap.ok(plain == payload, "python decrypts veil's message 1 with its own SK and AD (%s)" % tag,
           repr(plain))


async def python_initiates(tap, path, crypto, use_opk, appendix):
    alice = new_state()
    ik_b, spk, opk = (secrets.token_bytes(32) for _ in range(3))
    args = [ik_b.hex(), spk.hex(), str(SPK_ID)] + ([opk.hex(), str(OPK_ID)] if use_opk else [])
    tag = "%s, %s OPK" % (crypto, "with" if use_opk else "no")
    rc, out, err = peer(path, crypto, "make-bundle", *args)
    if rc != 0:
        tap.ok(False, "veil makes a bundle (%s)" % tag, err)
        return
    raw = bytes.fromhex(out["bundle"])
    bundle = parse_bundle(raw)
    bad = bundle._replace(signed_pre_key_sig=bytes([bundle.signed_pre_key_sig[0] ^ 4]) +
                          bundle.signed_pre_key_sig[1:])
    try:
        await alice.get_shared_secret_active(bad, appendix, require_pre_key=False)
        rejected = False
    except x3dh.KeyAgreementException:
        rejected = True
    tap.ok(rejected, "python rejects veil's bundle with R flipped (%s)" % tag)
    try:
        sk, ad, hdr = await alice.get_shared_secret_active(bundle, appendix, require_pre_key=False)
    except x3dh.KeyAgreementException as e:
        tap.ok(False, "python verifies veil's XEdDSA SPK signature (%s)" % tag, str(e))
        return
    tap.ok(True, "python verifies veil's XEdDSA SPK signature (%s)" % tag)
    header = header_bytes(hdr.identity_key, hdr.ephemeral_key, hdr.pre_key)
    payload = b"hello from python"
    ct = AESGCM(k1_of(sk, ad, header)).encrypt(bytes(12), payload, ad)
    rc, out, err = peer(path, crypto, "respond", ik_b.hex(), spk.hex(), str(SPK_ID),
                        opk.hex() if use_opk else "-", str(OPK_ID), (header + ct).hex(),
                        INFO.decode(), appendix.hex() or "-")
    if rc != 0:
        tap.ok(False, "veil responder reads python's message 1 (%s)" % tag, err)
        return
    tap.ok(bytes.fromhex(out["payload"]) == payload, "veil's responder session decrypts python's "
           "message 1 (%s)" % tag, out.get("payload", ""))
    tap.ok(out["sk"] == sk.hex(), "python initiator and veil responder derive the same SK "
           "(%s)" % tag, "veil %s python %s" % (out["sk"], sk.hex()))
    tap.ok(out["ad"] == ad.hex(), "the same AD (%s)" % tag, "veil %s python %s" % (out["ad"], ad.hex()))


async def main():
    path, backends = sys.argv[1], sys.argv[2:]
    tap = Tap()
    per = (5 + 5 + 2) * 2
    print("1..%d" % (per * len(backends)))
    for crypto in backends:
        for use_opk in (False, True):
            appendix = b"alice@veil|bob@veil" if use_opk else b""
            await veil_initiates(tap, path, crypto, use_opk, appendix)
            await python_initiates(tap, path, crypto, use_opk, appendix)
            tag = "%s, %s OPK" % (crypto, "with" if use_opk else "no")
            await full(tap, full_veil_initiator, "whole handshake, veil initiator vs docs/X3DH.md "
                       "in python: messages, handshake hash, transport keys (%s)" % tag,
                       path, crypto, use_opk, appendix)
            await full(tap, full_python_initiator, "whole handshake, python initiator (python3-x3dh "
                       "SK) vs veil responder (%s)" % tag, path, crypto, use_opk, appendix)
    # Tests that returned early count as failures through the plan.
    return 1 if tap.failed or tap.n != per * len(backends) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
