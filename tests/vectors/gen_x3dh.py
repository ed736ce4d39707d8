#!/usr/bin/python3
"""Generate tests/vectors/x3dh-python.json with python3-x3dh (Syndace), the
independent implementation veil's X3DH known-answer runner (tests/kat/x3dh-kat)
is checked against.

python3-x3dh draws every private key from `secrets.token_bytes`; this
script replaces that module inside x3dh.base_state with one that returns
fixed keys, so its own code computes the bundle signature (deterministic
Ed25519 signing with the converted identity key), SK and AD from keys we
know.  Both of python's sides (active and passive) are run and must agree.

Negative vectors carry a broken SPK signature and "sig_valid": false;
"python_accepts" records what python3-x3dh itself says of it (it is more
lenient than veil on a non-canonical s, see docs/X3DH.md).

usage: /usr/bin/python3 tests/vectors/gen_x3dh.py > tests/vectors/x3dh-python.json
"""
import asyncio
import hashlib
import json
import struct
import sys

import x3dh
import x3dh.base_state as base_state
import xeddsa
from x3dh.crypto_provider import HashFunction

DEFAULT_INFO = b"veil X3DH v1 X25519 SHA-256"
L = 2**252 + 27742317777372353535851937790883648493


def key(label):
    return hashlib.sha256(b"veil x3dh vector " + label.encode()).digest()


class FixedSecrets:
    """Stands in for the secrets module: token_bytes hands out the queued
    keys in order, choice takes the first element."""

    def __init__(self, queue):
        self.queue = list(queue)

    def token_bytes(self, n):
        k = self.queue.pop(0)
        assert len(k) == n
        return k

    @staticmethod
    def choice(seq):
        return seq[0]


class State(x3dh.BaseState):
    @staticmethod
    def _encode_public_key(key_format, pub):
        return b"\x05" + pub


def enc(pub):
    return b"\x05" + pub


def veil_bundle(ik, spk_id, spk, sig, opk_id, opk):
    out = bytes([1, 1 if opk else 0]) + enc(ik) + struct.pack(">I", spk_id) + enc(spk) + sig
    return out + (struct.pack(">I", opk_id) + enc(opk) if opk else b"")


def python_verifies(ik, spk, sig):
    return xeddsa.ed25519_verify(sig, xeddsa.curve25519_pub_to_ed25519_pub(ik, False), enc(spk))


async def vector(name, info, appendix, with_opk, n):
    ik_a, ik_b, spk, opk, ek = (key("%s %d %s" % (w, n, name)) for w in ("IK_A", "IK_B", "SPK", "OPK", "EK"))
    base_state.secrets = FixedSecrets([spk])
    bob = State.create(x3dh.IdentityKeyFormat.CURVE_25519, HashFunction.SHA_256, info,
                       x3dh.identity_key_pair.IdentityKeyPairPriv(ik_b))
    if with_opk:
        base_state.secrets = FixedSecrets([opk])
        bob.generate_pre_keys(1)
    base_state.secrets = FixedSecrets([key("alice SPK %d" % n)])  # create() makes one
    alice = State.create(x3dh.IdentityKeyFormat.CURVE_25519, HashFunction.SHA_256, info,
                         x3dh.identity_key_pair.IdentityKeyPairPriv(ik_a))
    base_state.secrets = FixedSecrets([ek])
    b = bob.bundle
    sk, ad, header = await alice.get_shared_secret_active(b, appendix, require_pre_key=with_opk)
    sk2, ad2, _ = await bob.get_shared_secret_passive(header, appendix, require_pre_key=with_opk)
    assert sk == sk2 and ad == ad2
    assert header.ephemeral_key == xeddsa.priv_to_curve25519_pub(ek)
    opk_pub = next(iter(b.pre_keys)) if with_opk else None
    return {
        "name": name,
        "info": info.decode(),
        "appendix": appendix.hex(),
        "ik_a_priv": ik_a.hex(),
        "ik_b_priv": ik_b.hex(),
        "spk_priv": spk.hex(),
        "spk_id": 7 + n,
        "opk_priv": opk.hex() if with_opk else None,
        "opk_id": 1000 + n if with_opk else None,
        "ek_priv": ek.hex(),
        "bundle": veil_bundle(b.identity_key, 7 + n, b.signed_pre_key, b.signed_pre_key_sig,
                              1000 + n, opk_pub).hex(),
        "sig_valid": True,
        "python_accepts": True,
        "sk": sk.hex(),
        "ad": ad.hex(),
    }


def broken(v, name, sig, ik=None):
    raw = bytearray(bytes.fromhex(v["bundle"]))
    raw[72:136] = sig
    if ik is not None:
        raw[3:35] = ik
    ik_pub, spk_pub = bytes(raw[3:35]), bytes(raw[40:72])
    out = dict(v, name=name, bundle=raw.hex(), sig_valid=False,
               python_accepts=bool(python_verifies(ik_pub, spk_pub, bytes(sig))), sk=None, ad=None)
    return out


def negatives(v):
    raw = bytes.fromhex(v["bundle"])
    sig = bytearray(raw[72:136])
    ik_b = bytes.fromhex(v["ik_b_priv"])
    spk_pub = raw[40:72]
    out = []
    r = bytearray(sig)
    r[0] ^= 0x01
    out.append(broken(v, "bit flipped in R", r))
    s = bytearray(sig)
    s[32] ^= 0x01
    out.append(broken(v, "bit flipped in s", s))
    s_int = int.from_bytes(bytes(sig[32:]), "little") + L
    out.append(broken(v, "non-canonical s (s + L)", bytes(sig[:32]) + s_int.to_bytes(32, "little")))
    signer = xeddsa.priv_force_sign(ik_b, False)
    out.append(broken(v, "signature over the raw 32-byte SPK, not Encode(SPK)",
                      xeddsa.ed25519_priv_sign(signer, spk_pub)))
    other = key("another identity key")
    out.append(broken(v, "valid signature by another identity key",
                      xeddsa.ed25519_priv_sign(xeddsa.priv_force_sign(other, False), enc(spk_pub))))
    out.append(broken(v, "signature valid, bundle names another IK", bytes(sig),
                      ik=xeddsa.priv_to_curve25519_pub(other)))
    return out


async def main():
    vs = [
        await vector("3-DH, default info", DEFAULT_INFO, b"", False, 0),
        await vector("4-DH, default info", DEFAULT_INFO, b"", True, 1),
        await vector("4-DH, other info, AD appendix", b"MyProtocol", b"alice@example|bob@example", True, 2),
        await vector("3-DH, other info, AD appendix", b"veil test", b"\x00\x01\x02", False, 3),
    ]
    vs += negatives(vs[1])
    json.dump({
        "generator": "tests/vectors/gen_x3dh.py with python3-x3dh %s, python3-xeddsa" %
                     x3dh.version.__version__["full"],
        "encoding": "Encode(PK) = 0x05 || u; CURVE_25519 identity keys; SHA-256",
        "vectors": vs,
    }, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    asyncio.run(main())
