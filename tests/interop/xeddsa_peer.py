#!/usr/bin/python3
"""XEdDSA interop peer for tests/unit/vault/test_xeddsa.c, backed by python3-xeddsa
(Debian's binding of libxeddsa, an independent XEdDSA implementation).

  xeddsa_peer.py sign    stdin lines  PRIV:MSG:NONCE  -> PUB:ED_SIGN:SIG
  xeddsa_peer.py verify  stdin lines  PUB:MSG:SIG     -> ok | bad

All fields are lower-case hex (MSG may be empty).  PUB is the X25519 public
key of PRIV, ED_SIGN is the sign bit (0/1) of the Edwards point kB for the
clamped k, SIG is libxeddsa's XEdDSA signature made with the given 64-byte
nonce Z.  libxeddsa signs with a = priv_force_sign(k, sign=0), which is the
clamped k itself when kB's sign bit is 0 and -k mod q when it is 1.

Exits 77 with "SKIP: <reason>" on stdout when python3-xeddsa is missing.
"""
import sys

try:
    import xeddsa
except ImportError as exc:  # the C test turns this into a TAP skip
    print(f"SKIP: python3-xeddsa not importable ({exc})")
    sys.exit(77)


def clamp(k):
    k = bytearray(k)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    return bytes(k)


def sign_line(line):
    priv, msg, nonce = (bytes.fromhex(f) for f in line.split(":"))
    a = xeddsa.priv_force_sign(priv, False)
    ed_sign = 0 if a == clamp(priv) else 1
    sig = xeddsa.ed25519_priv_sign(a, msg, nonce)
    pub = xeddsa.priv_to_curve25519_pub(priv)
    return f"{pub.hex()}:{ed_sign}:{sig.hex()}"


def verify_line(line):
    pub, msg, sig = (bytes.fromhex(f) for f in line.split(":"))
    try:
        ed = xeddsa.curve25519_pub_to_ed25519_pub(pub, False)
        return "ok" if xeddsa.ed25519_verify(sig, ed, msg) else "bad"
    except (ValueError, xeddsa.XEdDSAException):
        return "bad"


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("sign", "verify"):
        sys.stderr.write("usage: xeddsa_peer.py sign|verify < lines\n")
        return 2
    fn = sign_line if sys.argv[1] == "sign" else verify_line
    for line in sys.stdin:
        line = line.strip()
        if line:
            print(fn(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
