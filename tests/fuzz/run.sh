#!/bin/sh
# Run the libFuzzer targets, one at a time, one job each (tests/fuzz/README.md).
#
#   tests/fuzz/run.sh [-b BUILDDIR] [-n RUNS] [-t SECONDS] [-o OUTDIR] [-m] [TARGET...]
#
#   -b  build directory configured with --enable-fuzzing (default: .)
#   -n  stop a target after this many executions (default 10000000)
#   -t  ... or after this many seconds, whichever comes first (default 1800)
#   -o  working corpora, logs and crash artifacts (default BUILDDIR/fuzz-out)
#   -m  afterwards, merge what each run found into the seed corpus
#       (tests/fuzz/corpus/TARGET; libFuzzer -merge=1 adds only inputs that
#       add coverage)
#   TARGET  fuzz_channel ... (default: every target the build has)
#
# Each target starts from its seeds (tests/fuzz/corpus/TARGET, read only) and
# its working corpus from earlier runs (OUTDIR/TARGET).  The last line per
# target is its summary: executions, seconds, cov, ft, corpus size, result.
# Exit status 1 when a target crashed, leaked or timed out (the artifact
# is in OUTDIR/TARGET-artifacts/).
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=.
runs=10000000
secs=1800
out=
merge=no
while getopts b:n:t:o:m opt; do
    case $opt in
    b) build=$OPTARG ;;
    n) runs=$OPTARG ;;
    t) secs=$OPTARG ;;
    o) out=$OPTARG ;;
    m) merge=yes ;;
    *) sed -n '3,12p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
build=$(cd "$build" && pwd)
out=${out:-$build/fuzz-out}
mkdir -p "$out"
targets=$*
if [ -z "$targets" ]; then
    for f in "$build"/tests/fuzz/fuzz_*; do
        [ -x "$f" ] && [ -f "$f" ] && targets="$targets $(basename "$f")"
    done
fi
if [ -z "$targets" ]; then
    echo "run.sh: no fuzz targets in $build/tests/fuzz (configure with CC=clang --enable-fuzzing)" >&2
    exit 2
fi
# The targets that load plugins (fuzz_history, fuzz_prekeys) find them here.
VEIL_PLUGIN_PATH=$(find "$build" -type d -name .libs -path '*/vaults/*' -o -type d -name .libs \
    -path '*/plugins/*' -o -type d -name .libs -path '*/policies/*' | tr '\n' ':')
export VEIL_PLUGIN_PATH
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS UBSAN_OPTIONS

status=0
printf '%-22s %12s %6s %6s %7s %6s  %s\n' target executions secs cov ft corpus result
for t in $targets; do
    bin=$build/tests/fuzz/$t
    if [ ! -x "$bin" ]; then
        echo "run.sh: no target $bin" >&2
        status=1
        continue
    fi
    mkdir -p "$out/$t" "$out/$t-artifacts"
    seeds=$here/corpus/$t
    [ -d "$seeds" ] || seeds=
    log=$out/$t.log
    start=$(date +%s)
    "$bin" -runs="$runs" -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="$out/$t-artifacts/" "$out/$t" $seeds >"$log" 2>&1
    rc=$?
    end=$(date +%s)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p')
    result=ok
    if [ $rc -ne 0 ]; then
        result="FAILED (exit $rc; $(ls "$out/$t-artifacts" | head -1); log $log)"
        status=1
    fi
    printf '%-22s %12s %6s %6s %7s %6s  %s\n' "$t" "${execs:-?}" $((end - start)) \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
    if [ $merge = yes ] && [ $rc -eq 0 ]; then
        mkdir -p "$here/corpus/$t"
        "$bin" -merge=1 "$here/corpus/$t" "$out/$t" >>"$log" 2>&1 || status=1
    fi
done
exit $status
