#!/bin/sh
# Live X3DH interop against python3-x3dh (Syndace), TAP output, on every
# crypto backend this build has (tests/interop/x3dh_interop.py says what is checked).
py="${PYTHON3:-/usr/bin/python3}"
peer="${VEIL_TOP_BUILDDIR:-.}/tests/interop/x3dh-peer"
backends=""
for b in openssl sodium; do
    grep -q "^#define VEIL_HAVE_$(echo $b | tr a-z A-Z) 1" "${VEIL_TOP_BUILDDIR:-.}/build-aux/config.h" 2>/dev/null &&
        backends="$backends $b"
done
if ! "$py" -c 'import x3dh, xeddsa, cryptography' 2>/dev/null; then
    echo "1..0 # SKIP python3-x3dh / python3-xeddsa cannot be imported by $py (apt-get install python3-x3dh python3-xeddsa)"
    exit 0
fi
exec "$py" "${VEIL_TOP_SRCDIR:-.}/tests/interop/x3dh_interop.py" "$peer" ${backends:-openssl}
