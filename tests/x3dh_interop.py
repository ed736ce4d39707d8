#!/usr/bin/python3
"""Live X3DH interop: veil (tests/x3dh-peer) against python3-x3dh (Syndace).

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
  * each side rejects the other's bundle with a flipped signature bit.

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
    per = (5 + 5) * 2
    print("1..%d" % (per * len(backends)))
    for crypto in backends:
        for use_opk in (False, True):
            appendix = b"alice@veil|bob@veil" if use_opk else b""
            await veil_initiates(tap, path, crypto, use_opk, appendix)
            await python_initiates(tap, path, crypto, use_opk, appendix)
    # Tests that returned early count as failures through the plan.
    return 1 if tap.failed or tap.n != per * len(backends) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
