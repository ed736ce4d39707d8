#!/bin/sh
# The Noise vectors on the libsodium backend: every 25519 vector passes;
# X448 (which libsodium lacks) is skipped as unsupported, as are the
# noise-c-format file's two obsolete NoisePSK_ entries.
exec sh "${VEIL_TOP_SRCDIR:-.}/tests/kat/noise-vectors-run.sh" sodium \
    noise-cacophony.json "472 passed, 0 failed, 472 skipped" \
    noise-c-format.json "60 passed, 0 failed, 62 skipped"
