#!/bin/sh
# Shared body of noise-vectors-{openssl,sodium}.sh: run the bundled Noise
# vector files on one crypto backend and report each as a TAP test.
#   $1 = backend; then pairs of FILE (under tests/vectors/) and the exact
#   summary line noise-vectors must print for it.
# A test passes when noise-vectors exits 0, prints exactly that summary, and
# every skip is one of the two allowed kinds: X448 unsupported by the
# backend, or an obsolete revision-30 NoisePSK_ vector.
crypto=$1
shift
bin="${VEIL_TOP_BUILDDIR:-.}/tests/kat/noise-vectors"
echo "1..$(($# / 2))"
i=0
while [ $# -ge 2 ]; do
    file=$1 want=$2
    shift 2
    i=$((i + 1))
    out=$("$bin" --crypto "$crypto" "${VEIL_TOP_SRCDIR:-.}/tests/vectors/$file" 2>&1)
    status=$?
    printf '%s\n' "$out" | sed 's/^/# /'
    summary=$(printf '%s\n' "$out" | tail -n 1)
    bad_skips=$(printf '%s\n' "$out" | grep '^SKIP' |
        grep -v '_448_.*unsupported' | grep -vc 'obsolete: a Noise revision 30 NoisePSK_ vector' || true)
    if [ "$status" -eq 0 ] && [ "$summary" = "$want" ] && [ "$bad_skips" -eq 0 ]; then
        echo "ok $i - $file on $crypto: $summary"
    else
        echo "not ok $i - $file on $crypto: '$summary', expected '$want' (exit $status, $bad_skips skips of another kind)"
    fi
done
