#!/usr/bin/python3
"""Write tests/vectors/noise-c-format.json: a FORMAT CONVERSION of
tests/vectors/noise-cacophony.json into noise-c's test-vector format, so
that the vector runner (tests/kat/noise-vectors) is shown to read noise-c's
files as they are.  Nothing here is new cryptographic data: every key,
payload and ciphertext is cacophony's.

    python3 tests/vectors/gen_noise_c.py > tests/vectors/noise-c-format.json

What noise-c's format does differently, and what this file carries of it:
  - "name" instead of "protocol_name", with the protocol also spelled out
    in "pattern", "dh", "cipher" and "hash";
  - key order as noise-c writes it, "handshake_hash" after "messages";
  - a "resp_ephemeral" on one-way patterns (noise-c's files have one, the
    responder of N/K/X never uses it: runners ignore it);
  - "fail": true on a vector whose last message must be rejected (two
    vectors below: cacophony's with the last ciphertext's final byte
    flipped);
  - obsolete Noise revision 30 "NoisePSK_" vectors with a single
    "init_psk"/"resp_psk" (two entries below, in that shape, made from the
    non-PSK vector of the same pattern): a runner skips them by name and
    never counts them as failures.

The subset: for each of cacophony's 59 patterns, the 25519/ChaChaPoly/
BLAKE2s and the 448/AESGCM/SHA512 vectors (118), then the two "fail" and
the two "NoisePSK_" entries.  Output is deterministic.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SUITES = ("25519_ChaChaPoly_BLAKE2s", "448_AESGCM_SHA512")
# The responder ephemerals noise-c's files carry for one-way patterns.
RESP_EPHEMERAL = {
    "25519": "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
    "448": "3facf7503ebee252465689f1d4e3b1dd219639ef9de4ffd6049d6d71a0f62126"
           "840febb99042421ce12af6626d98d9170260390fbc8399a5",
}
ORDER = ("init_prologue", "init_psks", "init_psk", "init_static", "init_ephemeral",
         "init_remote_static", "resp_prologue", "resp_psks", "resp_psk", "resp_static",
         "resp_ephemeral", "resp_remote_static")


def one_way(pattern):
    base = pattern.split("psk")[0]
    return len(base) == 1


def convert(v, name=None):
    _, pattern, dh, cipher, hsh = v["protocol_name"].split("_")
    out = {"name": name or v["protocol_name"], "pattern": pattern, "dh": dh,
           "cipher": cipher, "hash": hsh}
    src = dict(v)
    if one_way(pattern) and "resp_ephemeral" not in src:
        src["resp_ephemeral"] = RESP_EPHEMERAL[dh]
    for k in ORDER:
        if k in src:
            out[k] = src[k]
    out["messages"] = v["messages"]
    out["handshake_hash"] = v["handshake_hash"]
    return out


def failing(v):
    out = convert(v)
    last = dict(out["messages"][-1])
    ct = bytearray.fromhex(last["ciphertext"])
    ct[-1] ^= 0x01
    last["ciphertext"] = ct.hex()
    out["messages"] = out["messages"][:-1] + [last]
    out["fail"] = True
    return out


def obsolete_psk(v):
    out = convert(v, name=v["protocol_name"].replace("Noise_", "NoisePSK_", 1))
    psk = "54686973206973206d7920417573747269616e20706572737065637469766521"
    out = dict(out)
    out["init_psk"] = psk
    out["resp_psk"] = psk
    return out


def main():
    with open(os.path.join(HERE, "noise-cacophony.json")) as f:
        cacophony = json.load(f)["vectors"]
    by_name = {v["protocol_name"]: v for v in cacophony}
    patterns = []
    for v in cacophony:
        p = v["protocol_name"].split("_")[1]
        if p not in patterns:
            patterns.append(p)
    vectors = []
    for p in patterns:
        for s in SUITES:
            vectors.append(convert(by_name["Noise_%s_%s" % (p, s)]))
    vectors.append(failing(by_name["Noise_XX_25519_ChaChaPoly_BLAKE2s"]))
    vectors.append(failing(by_name["Noise_NN_448_AESGCM_SHA512"]))
    vectors.append(obsolete_psk(by_name["Noise_NN_25519_ChaChaPoly_SHA256"]))
    vectors.append(obsolete_psk(by_name["Noise_XX_25519_AESGCM_SHA256"]))
    # noise-c's own layout: one key per line, no indentation.
    sys.stdout.write('{\n"vectors": [\n')
    for i, v in enumerate(vectors):
        sys.stdout.write("{\n")
        items = list(v.items())
        for j, (k, val) in enumerate(items):
            sep = "," if j + 1 < len(items) else ""
            if k == "messages":
                sys.stdout.write('"messages": [\n')
                for m, msg in enumerate(val):
                    sys.stdout.write('{\n"payload": %s,\n"ciphertext": %s\n}%s\n' % (
                        json.dumps(msg["payload"]), json.dumps(msg["ciphertext"]),
                        "," if m + 1 < len(val) else ""))
                sys.stdout.write("]%s\n" % sep)
            else:
                sys.stdout.write("%s: %s%s\n" % (json.dumps(k), json.dumps(val), sep))
        sys.stdout.write("}%s\n" % ("," if i + 1 < len(vectors) else ""))
    sys.stdout.write("]\n}\n")


if __name__ == "__main__":
    main()
