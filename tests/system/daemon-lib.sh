# Shared by the tests that run veil daemons (daemon.sh, relay-daemons.sh):
# TAP counting, running a command and checking its status, a daemon's
# configuration and start.  Expects $tmp (a scratch directory), $veil (the
# program) and $pids (the started daemons, killed by the caller's trap),
# which daemon_test_setup makes.
n=0
fails=0

# daemon_test_setup PREFIX REASON FEATURE...: $veil, a scratch $tmp (removed
# at exit, with every pid in $pids killed), no VEIL_CONF / VEIL_LOG; skips
# the whole test (TAP "1..0 # SKIP needs REASON") when a feature is missing.
daemon_test_setup() {
    set -u
    . "${VEIL_TOP_SRCDIR:-.}/tests/system/features.sh"
    veil=${VEIL_TOP_BUILDDIR:-.}/veil
    prefix=$1 reason=$2
    shift 2
    if ! have "$@"; then
        echo "1..0 # SKIP needs $reason"
        exit 0
    fi
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-$prefix.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
    pids=""
    trap 'for p in $pids; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
    trap 'exit 1' INT TERM
    unset VEIL_CONF VEIL_LOG
}
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
dump() { [ -f "$1" ] && sed "s/^/# $2: /" "$1"; return 0; }

# run STATUS CMD...: stdout in $tmp/out, stderr in $tmp/err; true when
# the exit status is STATUS.
run() {
    want=$1
    shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    [ "$got" -eq "$want" ] && return 0
    echo "# exit $got, wanted $want: $*"
    dump "$tmp/out" stdout
    dump "$tmp/err" stderr
    return 1
}
err_has() { grep -q -- "$1" "$tmp/err" || { dump "$tmp/err" stderr; false; }; }
out_has() { grep -q -- "$1" "$tmp/out" || { dump "$tmp/out" stdout; false; }; }

# daemon_conf NAME EXTRA: a daemon's configuration (file vault with the
# passphrase in $VEIL_TEST_PASS, the echo worker, its control socket),
# then EXTRA.
daemon_conf() {
    cat >"$tmp/$1.conf" <<EOC
[vault]
plugin = file
path = $tmp/$1.vault
passphrase_env = VEIL_TEST_PASS
kdf_n = 1024
kdf_r = 1

[daemon]
name = $1
echo = yes

[control]
socket = $tmp/run/$1.sock
$2
EOC
}

# start NAME: run the daemon; wait (10 s at most) until its socket answers.
start() { start_in "" "$1"; }

# start_in NS NAME: the same inside network namespace NS ("": this one);
# the control socket is a file, answered from outside the namespace too.
start_in() {
    : >"$tmp/$2.log"
    if [ -n "$1" ]; then
        ip netns exec "$1" "$veil" node run -c "$tmp/$2.conf" 2>>"$tmp/$2.log" &
    else
        "$veil" node run -c "$tmp/$2.conf" 2>>"$tmp/$2.log" &
    fi
    echo $! >"$tmp/$2.pid"
    pids="$pids $!"
    i=0
    while [ $i -lt 500 ]; do
        "$veil" status -c "$tmp/$2.conf" >/dev/null 2>&1 && return 0
        kill -0 "$(cat "$tmp/$2.pid")" 2>/dev/null || break
        sleep 0.02
        i=$((i + 1))
    done
    dump "$tmp/$2.log" "$2 log"
    return 1
}
