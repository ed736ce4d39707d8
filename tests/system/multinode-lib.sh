# Shared by tests/system/multinode-*.sh and tests/system/netns-*.sh (sourced, POSIX sh):
# start example processes in the background, wait for their
# "Listening on 1#HOST:PORT" line, stop them, speak TAP.
#
# The caller sets: tmp (a private directory), and calls mn_cleanup from its
# EXIT trap.  Every process started with mn_start is killed there, on every
# exit path.

mn_pids=""
n=0
fails=0

mn_ok() { n=$((n + 1)); echo "ok $n - $1"; }
mn_not_ok() { n=$((n + 1)); echo "not ok $n - $1"; fails=$((fails + 1)); }
# mn_check NAME COMMAND...: ok when the command succeeds.
mn_check() {
    name=$1
    shift
    if "$@"; then mn_ok "$name"; else mn_not_ok "$name"; fi
}
# mn_dump FILE LABEL: the file as TAP comments.
mn_dump() { [ -f "$1" ] && sed "s/^/# $2: /" "$1"; return 0; }

# mn_start NAME COMMAND...: run in the background, stdout in $tmp/NAME.out,
# stderr in $tmp/NAME.err; its pid in $tmp/NAME.pid.
mn_start() {
    name=$1
    shift
    # Emptied here, before the background job exists: a reader must never
    # see the previous run's lines (e.g. an old port).
    : >"$tmp/$name.out"
    : >"$tmp/$name.err"
    "$@" >>"$tmp/$name.out" 2>>"$tmp/$name.err" &
    echo $! >"$tmp/$name.pid"
    mn_pids="$mn_pids $!"
}

# mn_wait_listen NAME: wait (10 s at most, polling every 20 ms) for NAME's "Listening on" line;
# prints HOST:PORT (without "1#").  Fails if the process died first.
mn_wait_listen() {
    i=0
    while [ $i -lt 500 ]; do
        addr=$(sed -n 's/^Listening on 1#//p' "$tmp/$1.out" 2>/dev/null)
        if [ -n "$addr" ]; then
            echo "$addr"
            return 0
        fi
        kill -0 "$(cat "$tmp/$1.pid")" 2>/dev/null || break
        sleep 0.02
        i=$((i + 1))
    done
    mn_dump "$tmp/$1.err" "$1 stderr" >&2
    return 1
}

# mn_field NAME PREFIX: the rest of NAME's first output line starting with PREFIX.
mn_field() { sed -n "s/^$2//p" "$tmp/$1.out" | head -n 1; }

# mn_stop NAME: SIGTERM, wait (5 s, then SIGKILL); returns its exit status.
mn_stop() {
    pid=$(cat "$tmp/$1.pid" 2>/dev/null) || return 1
    kill -TERM "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 250 ]; do
        sleep 0.02
        i=$((i + 1))
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid"
}

mn_cleanup() {
    for p in $mn_pids; do
        kill -KILL "$p" 2>/dev/null
    done
    wait 2>/dev/null
    rm -rf "$tmp"
}
