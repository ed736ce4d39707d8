#!/bin/sh
# Shared body of noise-vectors-{openssl,sodium}.sh: run the cacophony
# vectors on one crypto backend and report as TAP.  $1 = backend, $2 = the
# number of skips allowed (all of them must be X448 "unsupported").
crypto=$1
allowed_skips=$2
bin="${VEIL_TOP_BUILDDIR:-.}/tests/kat/noise-vectors"
vectors="${VEIL_TOP_SRCDIR:-.}/tests/vectors/noise-cacophony.json"
echo "1..1"
out=$("$bin" --crypto "$crypto" "$vectors" 2>&1)
status=$?
printf '%s\n' "$out" | sed 's/^/# /'
summary=$(printf '%s\n' "$out" | tail -n 1)
skips=$(printf '%s\n' "$out" | grep -c '^SKIP' || true)
bad_skips=$(printf '%s\n' "$out" | grep '^SKIP' | grep -vc '_448_.*unsupported' || true)
if [ "$status" -eq 0 ] && [ "$skips" -le "$allowed_skips" ] && [ "$bad_skips" -eq 0 ]; then
    echo "ok 1 - cacophony vectors on $crypto: $summary"
else
    echo "not ok 1 - cacophony vectors on $crypto: $summary (exit $status, $skips skips, $bad_skips not X448-unsupported)"
fi
