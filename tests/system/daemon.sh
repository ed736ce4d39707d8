#!/bin/sh
# veil node run and the commands its control socket serves (docs/CLI.md,
# docs/CONTROL.md): two daemons on loopback from config files, a secure
# channel between them, `veil message send` through the echo worker, the
# listings, and the errors (refused peer, bad route, missing daemon, stale
# socket after kill -9, a second daemon on the same socket, malformed
# control requests), SIGHUP and SIGTERM.  Bounded waits; every daemon is
# killed on exit.  Speaks TAP.
. "${VEIL_TOP_SRCDIR:-.}/tests/system/daemon-lib.sh"
daemon_test_setup daemon "the file vault, tcp, noise and the policies" vault-file tcp noise policies
VEIL_TEST_PASS=daemon-test
export VEIL_TEST_PASS

# conf NAME EXTRA: a daemon's configuration.
conf() {
    daemon_conf "$1" "
[transport.tcp]
listen = 127.0.0.1:0
$2"
}

# stop NAME [SIGNAL]: SIGTERM (or SIGNAL), wait 5 s (then SIGKILL);
# returns the exit status.
stop() {
    p=$(cat "$tmp/$1.pid")
    kill -"${2:-TERM}" "$p" 2>/dev/null
    i=0
    while kill -0 "$p" 2>/dev/null && [ $i -lt 250 ]; do sleep 0.02; i=$((i + 1)); done
    kill -9 "$p" 2>/dev/null
    wait "$p"
}

# wait_log NAME PATTERN: up to 5 s for PATTERN in NAME's log.
wait_log() {
    i=0
    while [ $i -lt 250 ]; do
        grep -q -- "$2" "$tmp/$1.log" && return 0
        sleep 0.02
        i=$((i + 1))
    done
    dump "$tmp/$1.log" "$1 log"
    return 1
}

# ctl NAME: send stdin's bytes to NAME's control socket, print the answer
# (python3; until the daemon closes or 2 s of silence).
ctl_py='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
out = b""
try:
    s.sendall(sys.stdin.buffer.read())
except (BrokenPipeError, ConnectionResetError):
    out += b"<send failed>\n"
s.settimeout(2)
try:
    while True:
        b = s.recv(65536)
        if not b:
            out += b"<closed>\n"
            break
        out += b
except socket.timeout:
    pass
except ConnectionResetError:
    out += b"<reset>\n"
sys.stdout.write(out.decode("ascii", "replace"))
'
ctl() { "${PYTHON3:-python3}" -c "$ctl_py" "$tmp/run/$1.sock"; }

echo "1..63"

conf alice ""
conf bob "
[listener.bob]
trust = everyone
allowed_workers = echo"
for d in alice bob; do
    "$veil" vault create -c "$tmp/$d.conf" >/dev/null 2>"$tmp/err" &&
        "$veil" identity create -c "$tmp/$d.conf" >"$tmp/$d.id" 2>"$tmp/err" ||
        { echo "Bail out! making $d's identity: $(cat "$tmp/err")"; exit 1; }
done
alice=$(cat "$tmp/alice.id")
bob=$(cat "$tmp/bob.id")

# ---- config check makes the daemon's checks --------------------------------
# (port 0 so the check's bind does not collide)
check "config check accepts the daemon's sections" run 0 "$veil" config check "$tmp/bob.conf"
check "... and notes none of them as a typo" sh -c "! grep -q 'a typo' '$tmp/out'"
sed 's/^allowed_workers = echo$/allowed_worker = echo/' "$tmp/bob.conf" >"$tmp/bad.conf"
check "config check: an unknown key in [listener.bob] fails, naming file:line" sh -c \
    "! '$veil' config check '$tmp/bad.conf' >/dev/null 2>'$tmp/err' && grep -q 'bad.conf:[0-9]*' '$tmp/err' && grep -q 'allowed_worker' '$tmp/err'"
sed 's/^trust = everyone$/trust = Pnope/' "$tmp/bob.conf" >"$tmp/bad.conf"
check "config check: a bad trust fails as the daemon would" sh -c \
    "! '$veil' config check '$tmp/bad.conf' >/dev/null 2>'$tmp/err' && grep -q \"identifier 'Pnope'\" '$tmp/err'"
printf '[log]\nlevel = loud\n' >"$tmp/bad.conf"
check "config check: [log] level = loud fails, naming file:line" sh -c \
    "! '$veil' config check '$tmp/bad.conf' >/dev/null 2>'$tmp/err' && grep -q \"bad.conf:2: \\[log\\] level = 'loud': expected error, warn\" '$tmp/err'"
printf '[daemon]\nlog_level = debug\n' >"$tmp/bad.conf"
check "config check: [daemon] log_level (moved to [log]) fails, saying where it went" sh -c \
    "! '$veil' config check '$tmp/bad.conf' >/dev/null 2>'$tmp/err' && grep -q \"bad.conf:2: \\[daemon\\] log_level = 'debug': moved: write '\\[log\\] level\" '$tmp/err'"

# ---- command line ----------------------------------------------------------
check "veil status --help: the command's usage, exit 0" sh -c \
    "'$veil' status --help | grep -q '^Usage: veil status show'"
check "veil status frob: exit 2" run 2 "$veil" status frob
check "... naming the argument" err_has "^veil: status show: unexpected argument 'frob'"
check "veil message send without --to: exit 2" run 2 "$veil" message send hi
check "veil node run --vault: exit 2 (the vault comes from FILE)" run 2 "$veil" node run --vault x

# ---- missing daemon -------------------------------------------------------
check "no daemon: status exits 3 naming the socket" run 3 "$veil" status -c "$tmp/alice.conf"
check "no daemon: the message says so" \
    err_has "^veil: status show: no veil daemon is serving $tmp/run/alice.sock (No such file or directory); start one with 'veil node run -c FILE'\$"

# ---- two daemons ---------------------------------------------------------
check "bob's daemon starts and answers" start bob
check "alice's daemon starts and answers" start alice
port=$(sed -n 's/.*tcp: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/bob.log" | head -n 1)
check "the log lines carry ISO-8601 UTC timestamps" \
    grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z veil\[[0-9]+\]: info: daemon: node bob \(P' "$tmp/bob.log"
check "control socket is a socket, mode 0600, in a 0700 directory" sh -c \
    "[ -S '$tmp/run/bob.sock' ] && [ \"\$(stat -c %a '$tmp/run/bob.sock')\" = 600 ] && [ \"\$(stat -c %a '$tmp/run')\" = 700 ]"
run 0 "$veil" status -c "$tmp/bob.conf"
check "status: name, identifier, pid, uptime, channels" sh -c \
    "grep -qx 'name bob' '$tmp/out' && grep -qx 'identifier $bob' '$tmp/out' && grep -qx 'pid $(cat "$tmp/bob.pid")' '$tmp/out' && grep -qE '^uptime [0-9]+\$' '$tmp/out' && grep -qx 'channels 0' '$tmp/out'"

# ---- a secure channel and a message --------------------------------------
check "secure-channel create --trust BOB: exit 0" \
    run 0 "$veil" secure-channel create -c "$tmp/alice.conf" --to "1#127.0.0.1:$port => bob" --trust "$bob"
ch=$(sed -n 's/^channel //p' "$tmp/out")
check "it prints the channel and bob's identifier" sh -c "[ -n '$ch' ] && grep -qx 'peer $bob' '$tmp/out'"
check "message send through the channel to bob's echo worker prints the reply" \
    run 0 "$veil" message send -c "$tmp/alice.conf" --to "$ch => echo" "Hello veil"
check "the reply is the text" sh -c "[ \"\$(cat '$tmp/out')\" = 'Hello veil' ]"
run 0 "$veil" channel list -c "$tmp/alice.conf"
check "channel list (alice): the channel, bob, initiator, Noise, crypto, counts" \
    grep -qE "^$ch state open peer $bob role initiator key_agreement Noise_XX_25519_AESGCM_SHA256 crypto openssl age [0-9]+ sent 1 received 1 bytes_sent 10 bytes_received 10 rekeys 0 dropped 0\$" "$tmp/out"
run 0 "$veil" channel list -c "$tmp/bob.conf"
run 0 "$veil" status -c "$tmp/bob.conf"
check "status (bob): its listener's counters" \
    grep -qE "^listener bob opened 1 failed 0 pending 0 first_messages 1 cookies_sent 0 evicted 0\$" "$tmp/out"
run 0 "$veil" channel list -c "$tmp/bob.conf"
check "channel list (bob): alice as responder" \
    grep -qE "^sc_[0-9a-f]+ state open peer $alice role responder key_agreement Noise_XX_25519_AESGCM_SHA256 crypto openssl age [0-9]+ sent 1 received 1 " "$tmp/out"
run 0 "$veil" connection list -c "$tmp/alice.conf"
check "connection list (alice): tcp counters and the dialed connection, open" sh -c \
    "grep -qE '^transport tcp open 1 accepted 0 dialed 1 ' '$tmp/out' && grep -qx '1#127.0.0.1:$port open outbound' '$tmp/out'"
run 0 "$veil" connection list -c "$tmp/bob.conf"
check "connection list (bob): the accepted connection, inbound" sh -c \
    "grep -qE '^transport tcp open 1 accepted 1 dialed 0 ' '$tmp/out' && grep -qE '^1#127\.0\.0\.1:[0-9]+ open inbound\$' '$tmp/out'"

# ---- errors ----------------------------------------------------------------
wrong=P$(printf '%064d' 0)
check "refused peer: --trust another identifier exits 1" \
    run 1 "$veil" secure-channel create -c "$tmp/alice.conf" --to "1#127.0.0.1:$port => bob" --trust "$wrong"
check "refused peer: EDENIED naming bob and the policy" \
    err_has "^veil: secure-channel create: EDENIED peer $bob refused by policy 'identifier'"
closed=$("${PYTHON3:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
check "a route to a closed port: ECLOSED naming the refused connection, exit 1" sh -c \
    "! '$veil' secure-channel create -c '$tmp/alice.conf' --to '1#127.0.0.1:$closed => bob' --trust '$bob' 2>'$tmp/err' && grep -q 'ECLOSED .*connect failed: Connection refused' '$tmp/err'"
run 0 "$veil" connection list -c "$tmp/alice.conf"
check "connection list then shows that connection as lost, with the reason" \
    grep -qE "^1#127\.0\.0\.1:$closed lost: .*Connection refused" "$tmp/out"
check "bad route: exit 1, EINVAL" run 1 "$veil" message send -c "$tmp/alice.conf" --to "=> echo" hi
check "bad route: the message names the route" err_has "^veil: message send: EINVAL route '=>echo'"
check "a worker the channel does not allow: no reply, ETIMEDOUT, exit 1" \
    run 1 "$veil" message send -c "$tmp/alice.conf" --timeout 300 --to "$ch => app" hi
check "... and nothing was delivered (bob counted a flow-control drop)" sh -c \
    "'$veil' channel list -c '$tmp/bob.conf' | grep -q 'dropped 1\$' && ! grep -q 'ETIMEDOUT' '$tmp/out'"
printf 'frob\nstatus\n' | ctl alice >"$tmp/ctl"
check "malformed request: an error line, and the connection stays usable" sh -c \
    "head -n 1 '$tmp/ctl' | grep -qx \"error EINVAL unknown request 'frob' (see docs/CONTROL.md)\" && grep -qx 'ok' '$tmp/ctl' && grep -qx '= name alice' '$tmp/ctl'"
printf 'status\001\n' | ctl alice >"$tmp/ctl"
check "non-printable request: EINVAL" grep -qx "error EINVAL request is not a line of printable text" "$tmp/ctl"
head -c 5000 /dev/zero | tr '\0' a | ctl alice >"$tmp/ctl"
check "oversize request: ELIMIT, then the daemon closes" sh -c \
    "grep -qx 'error ELIMIT request longer than 4096 bytes: closing' '$tmp/ctl' && grep -qx '<closed>' '$tmp/ctl'"

# Peers of another uid are refused even when the socket's permissions
# would let them in (SO_PEERCRED): loosen them for the test, as root.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
    chmod 0755 "$tmp" "$tmp/run"
    chmod 0666 "$tmp/run/alice.sock"
    printf 'status\n' | setpriv --reuid=65534 --regid=65534 --clear-groups \
        "${PYTHON3:-python3}" -c "$ctl_py" "$tmp/run/alice.sock" >"$tmp/ctl" 2>&1
    chmod 0600 "$tmp/run/alice.sock"
    chmod 0700 "$tmp" "$tmp/run"
    check "a peer of another uid (65534) is closed without an answer" sh -c \
        "grep -qxE '<closed>|<reset>' '$tmp/ctl' && ! grep -q '^= ' '$tmp/ctl'"
    check "... and logged with its uid" wait_log alice "control: refused a connection from uid 65534 pid"
else
    for d in "a peer of another uid is closed" "... and logged"; do
        n=$((n + 1)); echo "ok $n - $d # SKIP needs root and setpriv"
    done
fi

check "channel close: exit 0" run 0 "$veil" channel close -c "$tmp/alice.conf" "$ch"
check "channel close: bob's side closes too" wait_log bob "channel sc_[0-9a-f]* closed (closed"
check "channel close of an unknown channel: ENOTFOUND, exit 1" sh -c \
    "! '$veil' channel close -c '$tmp/alice.conf' '$ch' 2>'$tmp/err' && grep -q 'ENOTFOUND no secure channel at' '$tmp/err'"

# ---- one daemon per socket; stale sockets ----------------------------------
check "a second daemon on the same socket: exit 1" run 1 "$veil" node run -c "$tmp/bob.conf"
check "... naming the running one" \
    err_has "^veil: node run: another veil daemon (pid $(cat "$tmp/bob.pid")) is serving $tmp/run/bob.sock\$"
kill -9 "$(cat "$tmp/alice.pid")"
wait "$(cat "$tmp/alice.pid")" 2>/dev/null
check "after kill -9 the socket file stays" test -S "$tmp/run/alice.sock"
check "the next daemon recovers the stale socket and serves" start alice
check "... and logs it" grep -q "removing stale control socket $tmp/run/alice.sock" "$tmp/alice.log"

# ---- SIGHUP, SIGTERM ---------------------------------------------------------
sed -i "s/^trust = everyone\$/trust = $alice/; s/^echo = yes\$/echo = no/" "$tmp/bob.conf"
kill -HUP "$(cat "$tmp/bob.pid")"
check "SIGHUP: the daemon re-reads its file" wait_log bob "reload: done"
check "SIGHUP: the listener's new trust applied, [daemon] echo logged as not applied" sh -c \
    "grep -q 'reload: \[listener.bob\] trust applied' '$tmp/bob.log' && grep -q 'reload: \[daemon\] echo changed: not applied' '$tmp/bob.log' \
     && ! grep -q 'reload: \[vault\]' '$tmp/bob.log'"
check "after SIGHUP status still answers with the daemon's name" sh -c \
    "'$veil' status -c '$tmp/bob.conf' | grep -qx 'name bob'"
sed -i "s/^trust = $alice\$/trust = Pnot-an-identifier/" "$tmp/bob.conf"
kill -HUP "$(cat "$tmp/bob.pid")"
check "SIGHUP with a bad trust: logged, the listener keeps its trust" \
    wait_log bob "reload: \[listener.bob\] trust: .*not applied, the listener keeps its trust"
check "... and alice, whom it trusts, still opens a channel to it" \
    run 0 "$veil" secure-channel create -c "$tmp/alice.conf" --to "1#127.0.0.1:$port => bob" --trust "$bob"
sed -i "s/^trust = Pnot-an-identifier\$/trust = $alice/" "$tmp/bob.conf"
stop bob
st=$?
check "SIGTERM: exit 0 and the socket is gone" sh -c "[ $st -eq 0 ] && [ ! -e '$tmp/run/bob.sock' ]"

check "wrong passphrase: node run exits 1" sh -c \
    "VEIL_TEST_PASS=wrong '$veil' node run -c '$tmp/bob.conf' >'$tmp/out' 2>'$tmp/err'; [ \$? -eq 1 ]"
check "... saying so" err_has "^veil: node run: .*wrong passphrase"

# ---- systemd's notify protocol ---------------------------------------------
notify_py='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
open(sys.argv[2], "w").write(s.recv(4096).decode())
'
"${PYTHON3:-python3}" -c "$notify_py" "$tmp/notify" "$tmp/notified" &
npid=$!
pids="$pids $npid"
i=0
while [ ! -S "$tmp/notify" ] && [ $i -lt 250 ]; do sleep 0.02; i=$((i + 1)); done
NOTIFY_SOCKET=$tmp/notify
export NOTIFY_SOCKET
start bob
unset NOTIFY_SOCKET
wait "$npid"
check "with NOTIFY_SOCKET the daemon sends READY=1 once it serves" grep -q "^READY=1" "$tmp/notified"
stop bob
st=$?
check "and stops with exit 0" [ $st -eq 0 ]
stop alice INT
st=$?
check "alice's daemon (with channels, a refused peer, ...) stops on SIGINT with exit 0" [ $st -eq 0 ]
check "... removing its socket" test ! -e "$tmp/run/alice.sock"
: >"$tmp/run/alice.sock"
check "a file that is not a socket at the socket's path: node run refuses it" \
    run 1 "$veil" node run -c "$tmp/alice.conf"
check "... saying so" err_has "^veil: node run: $tmp/run/alice.sock exists and is not a socket\$"
check "no sanitizer report in the daemons' logs" sh -c \
    "! grep -lE 'AddressSanitizer|LeakSanitizer|runtime error' '$tmp/alice.log' '$tmp/bob.log'"
[ $fails -eq 0 ]
