#!/bin/sh
# make check (fuzzing builds): every seed of every fuzz target's corpus
# (tests/fuzz/corpus/TARGET/*) runs once through that target, under the
# build's sanitizers.  TAP, one test per seed, named "TARGET: SEED"; a seed
# that crashes, leaks or aborts the harness fails with the target's output.
set -u
top=${VEIL_TOP_SRCDIR:?run by make check}
build=${VEIL_TOP_BUILDDIR:?run by make check}
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export ASAN_OPTIONS
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
n=0
plan=0
for d in "$top"/tests/fuzz/corpus/*/; do
    t=$(basename "$d")
    [ -x "$build/tests/fuzz/$t" ] && plan=$((plan + $(ls "$d" | wc -l)))
done
echo "1..$plan"
[ "$plan" -gt 0 ] || echo "# no fuzz targets built"
for d in "$top"/tests/fuzz/corpus/*/; do
    t=$(basename "$d")
    [ -x "$build/tests/fuzz/$t" ] || continue
    for f in "$d"*; do
        n=$((n + 1))
        if "$build/tests/fuzz/$t" "$f" >"$tmp" 2>&1; then
            echo "ok $n - $t: $(basename "$f")"
        else
            echo "not ok $n - $t: $(basename "$f")"
            grep -E 'ERROR|SUMMARY|deadly|#[0-9]+ 0x' "$tmp" | head -20 | sed 's/^/# /'
        fi
    done
done
