# Shared by the tests that run veil daemons (daemon.sh, relay-daemons.sh):
# TAP counting, running a command and checking its status, a daemon's
# configuration and start.  Expects $tmp (a scratch directory), $veil (the
# program) and $pids (the started daemons, killed by the caller's trap).
n=0
fails=0
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
