#!/bin/sh
# All 944 cacophony vectors on the OpenSSL backend: no skip allowed.
exec sh "${VEIL_TOP_SRCDIR:-.}/tests/kat/noise-vectors-run.sh" openssl 0
