#!/bin/sh
# Runs examples/01..03 from the build tree and checks each against the
# output contract written in the example's header comment (the expected
# lines are built here from that contract, not captured from a run).  Then
# every example's command line: --help prints the usage on stdout and exits
# 0; an unknown option is refused (usage on stderr, exit 2), never taken for
# an address.  Speaks TAP.
set -u
top=${VEIL_TOP_BUILDDIR:-.}
ex=$top/examples
tmp=${TMPDIR:-/tmp}/veil-examples.$$
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT
unset VEIL_CONF
n=0
fails=0
progs="01-node 02-worker 03-routing 05a-secure-channel-with-entity"
for p in 04-transport-initiator 04-transport-responder 06-secure-channel-many-hops-initiator \
         06-secure-channel-many-hops-middle 06-secure-channel-many-hops-responder; do
    [ -x "$ex/$p" ] && progs="$progs $p"
done
echo "1..$((3 + 2 * $(echo $progs | wc -w)))"

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

# args NAME ARG STATUS: examples/NAME ARG exits STATUS; the usage goes to
# stdout (status 0, nothing on stderr) or stderr (nothing on stdout).
args() {
    n=$((n + 1))
    "$ex/$1" "$2" >"$tmp/out" 2>"$tmp/err"
    status=$?
    if [ "$3" -eq 0 ]; then use=$tmp/out other=$tmp/err; else use=$tmp/err other=$tmp/out; fi
    if [ "$status" -eq "$3" ] && grep -q "^usage: $1" "$use" && [ ! -s "$other" ]; then
        echo "ok $n - $1 $2: exit $3, usage on $( [ "$3" -eq 0 ] && echo stdout || echo stderr)"
    else
        echo "not ok $n - $1 $2: exit $3 with the usage (got $status)"
        sed 's/^/# stdout: /' "$tmp/out"
        sed 's/^/# stderr: /' "$tmp/err"
        fails=$((fails + 1))
    fi
}
for p in $progs; do
    args "$p" --help 0
    args "$p" --no-such-option 2
done

[ "$fails" -eq 0 ]
