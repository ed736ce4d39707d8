#!/bin/sh
# `veil node run` re-reads [inlet.NAME] / [outlet.NAME] on SIGHUP (issue
# #14): portals added start, removed ones stop, changed ones restart;
# an unchanged portal keeps its streams (a connection through it echoes
# before and after every reload); a bad line is refused with file:line
# and nothing changes.  Speaks TAP; bounded; everything it starts is
# stopped.
. "${VEIL_TOP_SRCDIR:-.}/tests/system/portal-lib.sh"
if ! have vault-file tcp noise policies; then
    echo "1..0 # SKIP needs the file vault, tcp, noise and the policies"; exit 0
fi
command -v "$PY" >/dev/null 2>&1 || { echo "1..0 # SKIP no python3"; exit 0; }
peer="$src/tests/system/portal_peer.py"
echo "1..8"
portal_setup || { echo "Bail out! daemons did not start"; show_logs; exit 1; }
ALICE_PID=$(echo $portal_pids | awk '{ print $2 }')
BOB_PID=$(echo $portal_pids | awk '{ print $1 }')
eport=$(pfree)
"$PY" "$peer" echo "$eport" >/dev/null & bg $!
wait_port "$eport"
cp "$tmp/alice.conf" "$tmp/alice.base"
cp "$tmp/bob.conf" "$tmp/bob.base"

# hup NAME: SIGHUP the daemon NAME and wait for its "reload: done" or a
# refusal (the Nth of either, N counted per daemon).
hups_alice=0 hups_bob=0
hup() {
    eval "k=\$((hups_$1 + 1)); hups_$1=\$k"
    eval "kill -HUP \$$(echo "$1" | tr a-z A-Z)_PID"
    for i in $(seq 100); do
        [ "$(grep -c 'reload: done\|nothing applied' "$tmp/$1.log")" -ge "$k" ] && return 0
        sleep 0.1
    done
    return 1
}
# inlet NAME PORT OUTLET: an [inlet.NAME] section for Alice
inlet() {
    printf '\n[inlet.%s]\nfrom = 127.0.0.1:%s\nto = 1#127.0.0.1:%s => bob => %s\ntrust = %s\n' \
        "$1" "$2" "$LPORT" "$3" "$BOB"
}
outlet() { printf '\n[outlet.%s]\nto = 127.0.0.1:%s\nallow = everyone\n' "$1" "$2"; }
# through PORT: one echo round trip through the inlet at PORT
through() { "$PY" - "$1" <<'PYEOF'
import socket, sys
try:
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)
    c.settimeout(5)
    c.sendall(b"ping")
    sys.exit(0 if c.recv(4) == b"ping" else 1)
except OSError:
    sys.exit(1)
PYEOF
}
refused() { ! through "$1"; }

# 1. Added: outlets at Bob, inlets at Alice, by SIGHUP alone.
kp=$(pfree) wp=$(pfree)
{ cat "$tmp/bob.base"; outlet keep "$eport"; outlet web "$eport"; } >"$tmp/bob.conf"
{ cat "$tmp/alice.base"; inlet keep "$kp" keep; inlet web "$wp" web; } >"$tmp/alice.conf"
hup bob && hup alice && through "$kp" && through "$wp" &&
    grep -q "reload: \[inlet.keep\] added" "$tmp/alice.log" &&
    grep -q "reload: \[outlet.web\] added" "$tmp/bob.log"
ok $? "SIGHUP starts the portals added to both files"

# A stream through the unchanged portal 'keep' lives through every reload below.
"$PY" "$peer" session "$kp" "$tmp/go" >"$tmp/session.out" 2>&1 &
sess=$!
for i in $(seq 50); do grep -q waiting "$tmp/session.out" && break; sleep 0.1; done

# 2. Changed: web moves to another port (restarted); keep is untouched.
wp2=$(pfree)
mark=$(wc -l <"$tmp/alice.log")
{ cat "$tmp/alice.base"; inlet keep "$kp" keep; inlet web "$wp2" web; } >"$tmp/alice.conf"
hup alice && through "$wp2" && refused "$wp" &&
    grep -q "reload: \[inlet.web\] changed: restarted" "$tmp/alice.log" &&
    ! tail -n +"$((mark + 1))" "$tmp/alice.log" | grep -q "inlet.keep\|tcp-inlet keep"
ok $? "a changed inlet restarts on its new port, the old one is closed"

# 3. A changed inlet that cannot start (its new port is taken) runs on as it was.
{ cat "$tmp/alice.base"; inlet keep "$kp" keep; inlet web "$eport" web; } >"$tmp/alice.conf"
hup alice && through "$wp2" &&
    grep -q "reload: \[inlet.web\]: inlet web: listen on 127.0.0.1:$eport: Address already in use: not started" "$tmp/alice.log" &&
    grep -q "reload: \[inlet.web\] kept as it was" "$tmp/alice.log"
ok $? "a changed inlet whose new port is taken keeps running on its old one"

# 4. Removed: web goes from both; the control list shows keep only.
{ cat "$tmp/bob.base"; outlet keep "$eport"; } >"$tmp/bob.conf"
{ cat "$tmp/alice.base"; inlet keep "$kp" keep; } >"$tmp/alice.conf"
hup alice && hup bob && refused "$wp2" &&
    grep -q "reload: \[inlet.web\] removed" "$tmp/alice.log" &&
    grep -q "reload: \[outlet.web\] removed" "$tmp/bob.log" &&
    [ "$("$V" tcp-inlet list -c "$tmp/alice.conf" | awk '{ print $1 }' | paste -sd,)" = keep ] &&
    [ "$("$V" tcp-outlet list -c "$tmp/bob.conf" | awk '{ print $1 }' | paste -sd,)" = keep ]
ok $? "removed portals stop; the lists show the remaining one"

# 5. A bad line: refused with file:line, nothing applied (web is not added,
#    keep keeps running).
{ cat "$tmp/alice.base"; inlet keep "$kp" keep; inlet web "$wp" web; echo "max_streams = lots"; } >"$tmp/alice.conf"
bad=$(wc -l <"$tmp/alice.conf")
hup alice && grep -q "reload: $tmp/alice.conf:$bad: .*max_streams.*: nothing applied" "$tmp/alice.log" &&
    refused "$wp" && through "$kp" &&
    [ "$("$V" tcp-inlet list -c "$tmp/alice.conf" | awk '{ print $1 }' | paste -sd,)" = keep ]
ok $? "a bad line is refused naming $tmp/alice.conf:$bad; the running portals stay as they were"

# 6. A bad trust (an identifier that is not one) is refused the same way.
{ cat "$tmp/alice.base"; inlet keep "$kp" keep; inlet web "$wp" web | sed 's/^trust = .*/trust = Pnothex/'; } >"$tmp/alice.conf"
hup alice && grep -q "reload: $tmp/alice.conf:[0-9]*: .*trust.*Pnothex.*nothing applied" "$tmp/alice.log" &&
    [ "$(grep -c 'nothing applied' "$tmp/alice.log")" -eq 2 ] && refused "$wp"
ok $? "a bad trust in a new inlet is refused; nothing applied"

# 7. The stream opened before the first change still echoes.
touch "$tmp/go"
wait $sess
st=$?
[ $st -eq 0 ] && grep -q "both echoed on one stream" "$tmp/session.out"
ok $? "the stream through the unchanged portal survived five reloads ($(tail -n1 "$tmp/session.out"))"

# 8. Its inlet counted no reset and one stream.
"$V" tcp-inlet list -c "$tmp/alice.conf" | grep -q "^keep .* opened [0-9]* refused 0 resets 0 "
ok $? "the unchanged inlet reset nothing"
