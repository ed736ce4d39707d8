#!/bin/sh
# Runs examples/01..03 from the build tree and checks each against the
# output contract written in the example's header comment (the expected
# lines are built here from that contract, not captured from a run).
# Speaks TAP.
set -u
top=${VEIL_TOP_BUILDDIR:-.}
ex=$top/examples
tmp=${TMPDIR:-/tmp}/veil-examples.$$
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT
unset VEIL_CONF
n=0
fails=0
echo "1..3"

# check NAME EXPECTED_FILE: run examples/NAME, compare stdout, require
# exit 0 and an empty stderr.
check() {
    name=$1
    expected=$2
    n=$((n + 1))
    "$ex/$name" >"$tmp/out" 2>"$tmp/err"
    status=$?
    if [ "$status" -ne 0 ]; then
        echo "not ok $n - $name exits 0 (got $status)"
        sed 's/^/# stderr: /' "$tmp/err"
        fails=$((fails + 1))
    elif ! cmp -s "$expected" "$tmp/out"; then
        echo "not ok $n - $name prints its documented output"
        diff "$expected" "$tmp/out" | sed 's/^/# /'
        fails=$((fails + 1))
    elif [ -s "$tmp/err" ]; then
        echo "not ok $n - $name writes nothing to stderr"
        sed 's/^/# stderr: /' "$tmp/err"
        fails=$((fails + 1))
    else
        echo "ok $n - $name"
    fi
}

# 01-node: prints nothing.
: >"$tmp/exp1"
check 01-node "$tmp/exp1"

# 02-worker: exactly one line.
msg='Hello Ockam!'
printf 'App Received: %s\n' "$msg" >"$tmp/exp2"
check 02-worker "$tmp/exp2"

# 03-routing: each hop prints on the way out (h1 h2 h3) and back (h3 h2 h1),
# then the app prints the reply and the return route back to the echoer.
{
    for h in h1 h2 h3 h3 h2 h1; do
        printf '%s forwarding: %s\n' "$h" "$msg"
    done
    printf 'App Received: %s\n' "$msg"
    printf 'Return route: h1 => h2 => h3 => echoer\n'
} >"$tmp/exp3"
check 03-routing "$tmp/exp3"

[ "$fails" -eq 0 ]
