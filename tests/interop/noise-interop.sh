#!/bin/sh
# Live Noise interop against dissononce (python3-dissononce), TAP output.
# Runs on every crypto backend this build has.
py="${PYTHON3:-/usr/bin/python3}"
[ -n "$py" ] || py=/usr/bin/python3
peer="${VEIL_TOP_BUILDDIR:-.}/tests/interop/noise-peer"
backends=""
for b in openssl sodium; do
    grep -q "^#define VEIL_HAVE_$(echo $b | tr a-z A-Z) 1" "${VEIL_TOP_BUILDDIR:-.}/build-aux/config.h" 2>/dev/null &&
        backends="$backends $b"
done
if ! "$py" -c 'import dissononce' 2>/dev/null; then
    echo "1..0 # SKIP python3-dissononce cannot be imported by $py (apt-get install python3-dissononce)"
    exit 0
fi
exec "$py" "${VEIL_TOP_SRCDIR:-.}/tests/interop/noise_interop.py" "$peer" ${backends:-openssl}
