#!/bin/sh
# Relays with the veil command only (docs/CLI.md, "Relays"): three daemons
# on loopback — a relay M ([node] relay, [relay], a listener allowing the
# registry), a registrant R that only dials out ([register.bob], no tcp
# listener at all) and an initiator A.  A reaches R's echo worker through
# M by the registered name; an unknown name is refused at once; A's
# identity cannot take R's name; R re-registers by itself after M is
# killed and restarted (same identity, same port), and after its
# connection to M is cut (ss -K, where the kernel allows it); M keeps its
# names in [node] state_dir: killed while R is registered, with R then
# gone too, M restarts with bob held for R — A's identity is refused
# (EEXIST) — until R comes back and registers again.  Speaks TAP.
. "${VEIL_TOP_SRCDIR:-.}/tests/system/daemon-lib.sh"
daemon_test_setup relay "the file vault, tcp, noise and the policies" vault-file tcp noise policies
VEIL_TEST_PASS=relay-test
export VEIL_TEST_PASS
. "${VEIL_TOP_SRCDIR:-.}/tests/system/relay-lib.sh"

# wait_list NAME PATTERN [TRIES]: until `veil relay list` on NAME shows PATTERN
# (every 0.05 s, 200 tries = 10 s by default).
wait_list() {
    i=0
    while [ $i -lt "${3:-200}" ]; do
        "$veil" relay list -c "$tmp/$1.conf" >"$tmp/list" 2>&1
        grep -qE -- "$2" "$tmp/list" && return 0
        sleep 0.05
        i=$((i + 1))
    done
    dump "$tmp/list" "relay list $1"
    dump "$tmp/$1.log" "$1 log"
    return 1
}

echo "1..22"

mkdir -p "$tmp/m.state"
state=""
have store-sqlite && state="state_dir = $tmp/m.state"
relay_state=$state   # M's [node] line (relay-lib.sh)
relay_identities
relay_start

conf r "" "[listener.bob]
trust = $a
allowed_workers = echo

[register.bob]
relay = 127.0.0.1:$port
listener = relay_listener
relay_identity = $m
keepalive_ms = 300"
conf a "" ""
check "the registrant daemon (no tcp listener) starts" start r
check "the initiator daemon starts" start a
check "R's name is registered (relay list on R: up, 1 registration)" \
    wait_list r "^registered bob at 127.0.0.1:$port up registrations 1\$"
check "relay list on M: bob, owned by R's identifier" wait_list m "^name bob owner $r route 1#127\.0\.0\.1:[0-9]+\$"

route="1#127.0.0.1:$port => relay => bob => bob"
check "A opens a secure channel to R through the relay by name" \
    run 0 "$veil" secure-channel create -c "$tmp/a.conf" --to "$route" --trust "$r"
ch=$(sed -n 's/^channel //p' "$tmp/out")
check "... authenticated as R" grep -qx "peer $r" "$tmp/out"
check "an echo through it comes back" sh -c \
    "'$veil' message send -c '$tmp/a.conf' --to '$ch => echo' 'via the relay' >'$tmp/echo' && [ \"\$(cat '$tmp/echo')\" = 'via the relay' ]"
check "an unknown name is refused at once (EHANDSHAKE, the relay's reason)" sh -c \
    "! '$veil' secure-channel create -c '$tmp/a.conf' --to '1#127.0.0.1:$port => relay => nosuch => bob' --trust '$r' 2>'$tmp/err' && grep -q 'no such name at the relay' '$tmp/err'"

# A's identity tries to take bob: refused (TAKEN), R keeps it.
check "veil relay register on A: started" \
    run 0 "$veil" relay register -c "$tmp/a.conf" bob "127.0.0.1:$port" relay_listener "$m"
check "... but the relay refused A (EEXIST, name held by another identity)" \
    sh -c "i=0; while [ \$i -lt 200 ]; do grep -q \"name 'bob' not registered (.*name held by another identity\" '$tmp/a.log' && exit 0; sleep 0.05; i=\$((i+1)); done; exit 1"
check "... and bob still belongs to R" wait_list m "^name bob owner $r "
# A would keep trying (and take the name while R is away: docs/PROTOCOL.md,
# "Relay registration"); its registration lives only in the running daemon.
kill -9 "$(cat "$tmp/a.pid")"
check "A's daemon restarts without that registration" start a

# The relay dies and comes back: R registers again by itself.
kill -9 "$(cat "$tmp/m.pid")"
check "R notices the relay is gone (down)" wait_list r "^registered bob at .* down registrations 1\$"
check "the relay restarts on the same port" start m
check "R registers again (up, 2 registrations)" wait_list r "^registered bob at .* up registrations 2\$" 600
check "A reaches R by name again" sh -c \
    "'$veil' secure-channel create -c '$tmp/a.conf' --to '$route' --trust '$r' >'$tmp/out2' && c=\$(sed -n 's/^channel //p' '$tmp/out2') && [ \"\$('$veil' message send -c '$tmp/a.conf' --to \"\$c => echo\" again)\" = again ]"

# The connection is cut under both daemons (ss -K, root and a kernel with
# sock_destroy): R dials again and registers a third time.
if [ "$(id -u)" = 0 ] && command -v ss >/dev/null 2>&1 &&
    ss -K dst 127.0.0.1 dport = ":$port" >/dev/null 2>&1 &&
    wait_list r "registrations 3\$" 600; then
    ok "R registers again after its connection was cut (ss -K)"
elif [ "$(id -u)" != 0 ] || ! command -v ss >/dev/null 2>&1; then
    ok "# SKIP cutting a connection needs root and ss"
else
    not_ok "R registers again after its connection was cut (ss -K)"
fi

# Names across a relay restart (issue #15): M dies while R holds bob, then
# R dies too (M is not there to see its connection go); M comes back and
# holds bob for R (no route yet); A's identity is refused; R comes back.
if [ -z "$state" ]; then
    for t in 1 2 3 4; do ok "# SKIP names kept across a restart need the sqlite store"; done
    exit 0
fi
kill -9 "$(cat "$tmp/a.pid")"
start a >/dev/null || not_ok "A's daemon restarts"
kill -9 "$(cat "$tmp/m.pid")"
wait_list r "^registered bob at .* down " >/dev/null
kill -9 "$(cat "$tmp/r.pid")"
if start m && wait_list m "^name bob owner $r route ?\$"; then
    ok "M restarts with bob kept for R, without a route (relay list on M)"
else
    not_ok "M restarts with bob kept for R, without a route (relay list on M)"
fi
check "veil relay register on A (A's identity): started" \
    run 0 "$veil" relay register -c "$tmp/a.conf" bob "127.0.0.1:$port" relay_listener "$m"
check "... refused: the name is held for R (EEXIST, name held by another identity)" \
    sh -c "i=0; while [ \$i -lt 200 ]; do grep -q \"name 'bob' not registered (.*name held by another identity\" '$tmp/a.log' && exit 0; sleep 0.05; i=\$((i+1)); done; exit 1"
if start r && wait_list r "^registered bob at .* up " 600 &&
    run 0 "$veil" secure-channel create -c "$tmp/a.conf" --to "$route" --trust "$r" &&
    grep -qx "peer $r" "$tmp/out"; then
    ok "R comes back, registers bob again, and A reaches R by name"
else
    not_ok "R comes back, registers bob again, and A reaches R by name"
fi
