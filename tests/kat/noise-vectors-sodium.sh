#!/bin/sh
# The cacophony vectors on the libsodium backend: only X448 (which
# libsodium lacks) may be skipped, and must be reported as unsupported.
exec sh "${VEIL_TOP_SRCDIR:-.}/tests/kat/noise-vectors-run.sh" sodium 472
