# Sourced by the portal tests (portal-*.sh): two daemons on loopback, "bob"
# (a secure-channel listener and the outlets) and "alice" (the inlets),
# on free ports, in a temporary directory; everything stopped on exit.
# After portal_setup: $V (the veil command), $tmp, $BOB (Bob's identifier),
# $LPORT (Bob's transport port), pfree (prints a free port), portal_pair
# NAME TARGET (an outlet NAME to TARGET at Bob, an inlet NAME at Alice;
# prints the inlet's port).
set -u
top=$(cd "${VEIL_TOP_BUILDDIR:-.}" && pwd)
src=${VEIL_TOP_SRCDIR:-.}
. "$src/tests/system/features.sh"
PY=${PYTHON3:-python3}
V="$top/veil"
export VEIL_PLUGIN_PATH=${VEIL_PLUGIN_PATH:-$(find "$top" -path '*/.libs' -type d | paste -sd:)}
export VEIL_PASSPHRASE='portal test passphrase'
unset VEIL_CONF VEIL_LOG
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-portal.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
portal_pids=""
portal_cleanup() {
    for p in $portal_pids; do kill "$p" 2>/dev/null; done
    sleep 0.2
    for p in $portal_pids; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap portal_cleanup EXIT
trap 'exit 1' INT TERM

# Remember a background process to stop at exit.
bg() { portal_pids="$portal_pids $1"; }

pfree() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT: until something accepts there (10 s at most).
wait_port() {
    "$PY" - "$1" <<'PYEOF'
import socket, sys, time
end = time.time() + 10
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PYEOF
}

portal_setup() {
    LPORT=$(pfree)
    for n in alice bob; do
        cat >"$tmp/$n.conf" <<CONF
[vault]
plugin = file
path = $tmp/$n.vault
passphrase_env = VEIL_PASSPHRASE

[daemon]
name = $n-$$

[control]
socket = $tmp/run/$n.sock
CONF
        "$V" vault create -c "$tmp/$n.conf" >/dev/null 2>"$tmp/$n.err" &&
            "$V" identity create -c "$tmp/$n.conf" >"$tmp/$n.id" 2>"$tmp/$n.err" || { cat "$tmp/$n.err"; return 1; }
    done
    BOB=$(cat "$tmp/bob.id")
    printf '\n[transport.tcp]\nlisten = 127.0.0.1:%s\n\n[listener.bob]\ntrust = everyone\n' \
        "$LPORT" >>"$tmp/bob.conf"
    "$V" node run -c "$tmp/bob.conf" 2>"$tmp/bob.log" &
    bg $!
    "$V" node run -c "$tmp/alice.conf" 2>"$tmp/alice.log" &
    bg $!
    for i in $(seq 100); do
        "$V" status -c "$tmp/bob.conf" >/dev/null 2>&1 &&
            "$V" status -c "$tmp/alice.conf" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

portal_pair() {
    "$V" tcp-outlet create -c "$tmp/bob.conf" "$1" --to "$2" --allow everyone >/dev/null &&
        "$V" tcp-inlet create -c "$tmp/alice.conf" "$1" --from 127.0.0.1:0 \
            --to "1#127.0.0.1:$LPORT => bob => $1" --trust "$BOB" >/dev/null &&
        "$V" tcp-inlet list -c "$tmp/alice.conf" | awk -v n="$1" '$1 == n { print $5 }'
}

# show_logs: the daemons' logs as TAP comments.
show_logs() {
    for n in alice bob; do tail -n 20 "$tmp/$n.log" | sed "s|^|# $n: |"; done
    for n in alice bob; do
        { "$V" status -c "$tmp/$n.conf"; "$V" connection list -c "$tmp/$n.conf"
          "$V" channel list -c "$tmp/$n.conf"; } 2>&1 | sed "s|^|# $n now: |"
    done
    { "$V" tcp-inlet list -c "$tmp/alice.conf"; "$V" tcp-outlet list -c "$tmp/bob.conf"; } 2>&1 |
        sed "s|^|# portals now: |"
    command -v ss >/dev/null 2>&1 && ss -tn 2>/dev/null | awk 'NR > 1 && ($2 > 0 || $3 > 0)' |
        head -n 20 | sed "s|^|# sockets with queued bytes: |"
    return 0
}

# ok COND-STATUS TEXT
n_test=0
ok() {
    n_test=$((n_test + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n_test - $2"; else echo "not ok $n_test - $2"; show_logs; fi
}
