#!/bin/sh
# Portals and relay registrations made at run time through the control
# socket (veil tcp-outlet create, tcp-inlet create, relay register) are kept
# by a daemon with [node] state_dir (issue #15): after kill -9 and a
# restart they are back (lists; bytes through the portal again; the inlet,
# made with --resilient, still resilient), a
# configured section wins over a run-time definition of the same name, and
# delete / relay unregister remove them for good (not back after another
# restart, no record left).  One daemon: its inlet reaches its own outlet
# through its own listener.  Speaks TAP.
. "${VEIL_TOP_SRCDIR:-.}/tests/system/daemon-lib.sh"
daemon_test_setup runtime-keep "the file vault, tcp, noise, the policies and the sqlite store" vault-file tcp noise policies store-sqlite
PY=$(command -v python3) || { echo "1..0 # SKIP no python3"; exit 0; }
command -v sqlite3 >/dev/null 2>&1 || { echo "1..0 # SKIP no sqlite3 (apt-get install sqlite3)"; exit 0; }
VEIL_TEST_PASS=runtime-keep
export VEIL_TEST_PASS

pfree() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# an echo server (upper-cases, so an answer is not our own bytes)
eport=$(pfree)
"$PY" - "$eport" <<'PYEOF' &
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
def serve(c):
    with c:
        while True:
            b = c.recv(65536)
            if not b: return
            c.sendall(b.upper())
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PYEOF
pids="$pids $!"
# through PORT: send a line, expect it upper-cased
through() {
    "$PY" - "$1" <<'PYEOF'
import socket, sys, time
end = time.time() + 10
while True:
    try:
        c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)
        c.settimeout(5); c.sendall(b"kept across a restart\n")
        got = b""
        while not got.endswith(b"\n"): got += c.recv(100) or sys.exit(1)
        sys.exit(0 if got == b"KEPT ACROSS A RESTART\n" else 1)
    except OSError:
        if time.time() > end: sys.exit(1)
        time.sleep(0.1)
PYEOF
}

lport=$(pfree)
iport=$(pfree)
mkdir -p "$tmp/d.state" "$tmp/run"
daemon_conf d "
[node]
state_dir = $tmp/d.state

[transport.tcp]
listen = 127.0.0.1:$lport

[listener.bob]
trust = everyone"
"$veil" vault create -c "$tmp/d.conf" >/dev/null 2>"$tmp/err" &&
    "$veil" identity create -c "$tmp/d.conf" >"$tmp/d.id" 2>"$tmp/err" ||
    { echo "Bail out! identity: $(cat "$tmp/err")"; exit 1; }
id=$(cat "$tmp/d.id")
restart() {
    kill -9 "$(cat "$tmp/d.pid")" 2>/dev/null
    wait "$(cat "$tmp/d.pid")" 2>/dev/null
    start d
}
records() { sqlite3 "$tmp/d.state/state.db" "SELECT key FROM veil_records WHERE ns = 'veil.daemon' ORDER BY key" | tr '\n' ' '; }

echo "1..14"
check "the daemon starts" start d
check "tcp-outlet create web (run time)" \
    run 0 "$veil" tcp-outlet create -c "$tmp/d.conf" web --to "127.0.0.1:$eport" --allow everyone
check "tcp-outlet create --resilient is refused (exit 2, nothing created)" sh -c \
    "'$veil' tcp-outlet create -c '$tmp/d.conf' nope --to 127.0.0.1:1 --allow everyone --resilient 2>'$tmp/err'; [ \$? -eq 2 ] && grep -q \"unknown option '--resilient'\" '$tmp/err' && ! '$veil' tcp-outlet list -c '$tmp/d.conf' | grep -q '^nope '"
check "tcp-inlet create webin --resilient (run time), to the daemon's own outlet" \
    run 0 "$veil" tcp-inlet create -c "$tmp/d.conf" webin --from "127.0.0.1:$iport" \
    --to "1#127.0.0.1:$lport => bob => web" --trust "$id" --resilient
check "tcp-inlet list shows it resilient" sh -c \
    "'$veil' tcp-inlet list -c '$tmp/d.conf' | grep -q '^webin from .* trust $id resilient streams '"
check "relay register bob (run time; no relay there, so it stays down)" \
    run 0 "$veil" relay register -c "$tmp/d.conf" bob 127.0.0.1:1 relay_listener "$id"
check "bytes go through the portal" through "$iport"
check "run-time outlet cfg (to nowhere), its name then configured" \
    run 0 "$veil" tcp-outlet create -c "$tmp/d.conf" cfg --to 127.0.0.1:1 --allow everyone
printf '\n[outlet.cfg]\nto = 127.0.0.1:%s\nallow = everyone\n' "$eport" >>"$tmp/d.conf"

check "kill -9 and restart" restart
"$veil" tcp-outlet list -c "$tmp/d.conf" >"$tmp/outlets" 2>&1
"$veil" tcp-inlet list -c "$tmp/d.conf" >"$tmp/inlets" 2>&1
"$veil" relay list -c "$tmp/d.conf" >"$tmp/relays" 2>&1
if grep -q "^web to 127.0.0.1:$eport " "$tmp/outlets" &&
    grep -q "^webin from 127.0.0.1:$iport .* trust $id resilient streams " "$tmp/inlets" &&
    grep -q "^registered bob at 127.0.0.1:1 " "$tmp/relays" && through "$iport"; then
    ok "the run-time outlet, inlet (still resilient) and registration are back, bytes go through again"
else
    not_ok "the run-time definitions are back"; dump "$tmp/outlets" outlets; dump "$tmp/inlets" inlets
    dump "$tmp/relays" relays; dump "$tmp/d.log" log
fi
check "the configured [outlet.cfg] wins over the run-time cfg (logged)" sh -c \
    "grep -q '^cfg to 127.0.0.1:$eport ' '$tmp/outlets' && grep -q 'tcp-outlet cfg created at run time is not started' '$tmp/d.log'"
check "tcp-inlet delete, tcp-outlet delete, relay unregister" sh -c \
    "'$veil' tcp-inlet delete -c '$tmp/d.conf' webin && '$veil' tcp-outlet delete -c '$tmp/d.conf' web && '$veil' relay unregister -c '$tmp/d.conf' bob"
check "... their records are gone (the shadowed cfg stays)" sh -c "[ \"\$(sqlite3 '$tmp/d.state/state.db' \"SELECT key FROM veil_records WHERE ns = 'veil.daemon'\")\" = outlet/cfg ]"
restart >/dev/null
"$veil" tcp-outlet list -c "$tmp/d.conf" >"$tmp/outlets" 2>&1
"$veil" tcp-inlet list -c "$tmp/d.conf" >"$tmp/inlets" 2>&1
"$veil" relay list -c "$tmp/d.conf" >"$tmp/relays" 2>&1
if ! grep -q "^web " "$tmp/outlets" && ! grep -q "^webin " "$tmp/inlets" &&
    ! grep -q "registered bob" "$tmp/relays" && grep -q "^cfg " "$tmp/outlets"; then
    ok "after another restart the deleted ones stay deleted"
else
    not_ok "deleted definitions came back: $(records)"
fi
