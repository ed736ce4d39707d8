#!/bin/sh
# The X3DH known answers made by python3-x3dh (tests/vectors/x3dh-python.json)
# on every crypto backend this build has; TAP, one line per backend.
bin="${VEIL_TOP_BUILDDIR:-.}/tests/kat/x3dh-kat"
vectors="${VEIL_TOP_SRCDIR:-.}/tests/vectors/x3dh-python.json"
backends=""
for b in openssl sodium; do
    grep -q "^#define VEIL_HAVE_$(echo $b | tr a-z A-Z) 1" "${VEIL_TOP_BUILDDIR:-.}/build-aux/config.h" 2>/dev/null &&
        backends="$backends $b"
done
set -- $backends
echo "1..$#"
i=0
for b in "$@"; do
    i=$((i + 1))
    out=$("$bin" --crypto "$b" "$vectors" 2>&1)
    status=$?
    printf '%s\n' "$out" | sed 's/^/# /'
    summary=$(printf '%s\n' "$out" | tail -n 1)
    if [ "$status" -eq 0 ]; then
        echo "ok $i - x3dh known answers on $b: $summary"
    else
        echo "not ok $i - x3dh known answers on $b: $summary (exit $status)"
    fi
done
