#!/bin/sh
# The Noise vectors on the OpenSSL backend: all 944 of cacophony's pass;
# the noise-c-format file (tests/vectors/gen_noise_c.py) passes but for its
# two obsolete NoisePSK_ entries, skipped.
exec sh "${VEIL_TOP_SRCDIR:-.}/tests/kat/noise-vectors-run.sh" openssl \
    noise-cacophony.json "944 passed, 0 failed, 0 skipped" \
    noise-c-format.json "120 passed, 0 failed, 2 skipped"
