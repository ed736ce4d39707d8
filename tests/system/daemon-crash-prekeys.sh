#!/bin/sh
# kill -9 an X3DH responder's daemon at random points, 100 times (issue
# #15): bob's daemon (file vault, [node] state_dir, an x3dh listener, and a
# relay where alice's daemon keeps the name "alice" registered, and a
# tcp-outlet made at run time) is started and killed with SIGKILL after a
# random delay while alice's daemon opens channels to it (each one fetches
# a bundle, so an OPK is handed out, and consumes the OPK when it
# completes) and re-registers.  After every kill:
#  - `sqlite3 state.db 'PRAGMA integrity_check'` says ok;
#  - bob's signed prekey record is the one he started with (prekeys intact);
#  - no one-time prekey whose record was gone (consumed, or expired) at an
#    earlier check has a live record again, and the reserved ids never go
#    back: a consumed OPK can never be accepted again (a responder accepts
#    an OPK only with a live record: docs/X3DH.md, "Prekeys across
#    restarts"; the replay itself is refused with VEIL_EREPLAY in
#    tests/unit/x3dh/test_x3dh_keep);
#  - the relay name "alice" is bound to alice's identity in the store, and
#    the run-time outlet's record is there;
# every tenth time bob is started to the end: a channel opens, `relay
# list` shows "alice" owned by alice (held or registered again) and the
# outlet is running again.  The run
# must have consumed OPKs, or it proves nothing.  Speaks TAP.
. "${VEIL_TOP_SRCDIR:-.}/tests/system/daemon-lib.sh"
daemon_test_setup crash-prekeys "the file vault, tcp, x3dh, the policies and the sqlite store" vault-file tcp x3dh policies store-sqlite
if ! command -v sqlite3 >/dev/null 2>&1; then
    echo "1..0 # SKIP the sqlite3 program is not installed (apt-get install sqlite3)"
    exit 0
fi
VEIL_TEST_PASS=daemon-crash-prekeys
export VEIL_TEST_PASS
RUNS=${VEIL_CRASH_RUNS:-100}

# conf NAME EXTRA [NODE_KEYS]
conf() {
    daemon_conf "$1" "
[key_agreement]
plugin = x3dh

[node]
state_dir = $tmp/$1.state
${3:-}
$2"
}

channel() {
    "$veil" secure-channel create -c "$tmp/alice.conf" --to "1#127.0.0.1:$port => bob" \
        --trust "$bob" >"$tmp/out" 2>"$tmp/err"
}

db=$tmp/bob.state/state.db
q() { sqlite3 "$db" "$1" 2>&1; }
# live records (state byte not 03 = DEAD) of kind s or o: their ids
live() {
    q "SELECT substr(key, 68) FROM veil_records WHERE ns = 'x3dh.keys' AND
       substr(key, 65, 3) = '/$1/' AND substr(hex(value), 3, 2) <> '03' ORDER BY key"
}
opk_next() { q "SELECT substr(hex(value), 27, 8) FROM veil_records WHERE ns = 'x3dh.keys' AND key LIKE '%/m'"; }
owner() { q "SELECT CAST(substr(value, 2) AS TEXT) FROM veil_records WHERE ns = 'veil.relay' AND key = 'alice'"; }
outlet() { q "SELECT count(*) FROM veil_records WHERE ns = 'veil.daemon' AND key = 'outlet/web'"; }

echo "1..8"
mkdir -p "$tmp/alice.state" "$tmp/bob.state" "$tmp/run"
conf alice "
[transport.tcp]
listen = 127.0.0.1:0"
bob_conf() {
    conf bob "
[transport.tcp]
listen = 127.0.0.1:$1

[listener.bob]
trust = everyone
allowed_workers = echo

[listener.relay_listener]
trust = everyone
allowed_workers = relay_registry

[relay]" "relay = true"
}
bob_conf 0
for d in alice bob; do
    "$veil" vault create -c "$tmp/$d.conf" >/dev/null 2>"$tmp/err" &&
        "$veil" identity create -c "$tmp/$d.conf" >"$tmp/$d.id" 2>"$tmp/err" ||
        { echo "Bail out! making $d's identity: $(cat "$tmp/err")"; exit 1; }
done
bob=$(cat "$tmp/bob.id")
start bob || { echo "Bail out! bob's daemon"; exit 1; }
port=$(sed -n 's/.*tcp: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/bob.log" | head -n 1)
bob_conf "$port" # the same port after every restart
alice=$(cat "$tmp/alice.id")
conf alice "
[transport.tcp]
listen = 127.0.0.1:0

[register.alice]
relay = 127.0.0.1:$port
listener = relay_listener
relay_identity = $bob
keepalive_ms = 300"
start alice || { echo "Bail out! alice's daemon"; exit 1; }
"$veil" tcp-outlet create -c "$tmp/bob.conf" web --to 127.0.0.1:1 --allow everyone >/dev/null 2>&1
i=0
until "$veil" relay list -c "$tmp/bob.conf" 2>/dev/null | grep -q "^name alice owner $alice route 1#"; do
    i=$((i + 1))
    [ $i -lt 200 ] || { echo "Bail out! alice's name at bob's relay"; dump "$tmp/alice.log" alice; exit 1; }
    sleep 0.05
done
spk=$(live s)
if channel && [ -n "$spk" ] && [ "$(echo "$spk" | wc -l)" = 1 ] && [ -n "$(live o)" ]; then
    echo "ok 1 - an X3DH channel to bob; his SPK ($spk) and OPKs are in his state store"
else
    echo "not ok 1 - X3DH channel to bob, his prekeys in the store (SPK '$spk'; $(cat "$tmp/err"))"
fi
kill -9 "$(cat "$tmp/bob.pid")"; wait "$(cat "$tmp/bob.pid")" 2>/dev/null

live o >"$tmp/seen"
: >"$tmp/gone"
last_next=$(opk_next)
bad_integrity=0 lost_spk=0 back=0 next_back=0 no_channel=0 restarts=0 lost_name=0 no_name=0
r=0
while [ $r -lt "$RUNS" ]; do
    r=$((r + 1))
    "$veil" node run -c "$tmp/bob.conf" 2>>"$tmp/bob.log" &
    p=$!
    pids="$pids $p"
    # a random point 0..800 ms after the start, while alice opens channels
    ms=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    ms=$((ms % 800))
    (i=0; while [ $i -lt 20 ]; do channel; sleep 0.02; i=$((i + 1)); done) >/dev/null 2>&1 &
    c=$!
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    kill "$c" 2>/dev/null
    wait "$c" 2>/dev/null
    [ "$(q 'PRAGMA integrity_check')" = ok ] || bad_integrity=$((bad_integrity + 1))
    [ "$(live s)" = "$spk" ] || { lost_spk=$((lost_spk + 1)); echo "# run $r: SPKs '$(live s)'"; }
    live o >"$tmp/now"
    if [ -n "$(comm -12 "$tmp/now" "$tmp/gone")" ]; then
        back=$((back + 1))
        echo "# run $r: gone OPKs live again: $(comm -12 "$tmp/now" "$tmp/gone" | tr '\n' ' ')"
    fi
    comm -23 "$tmp/seen" "$tmp/now" | sort -u - "$tmp/gone" >"$tmp/gone.new"
    mv "$tmp/gone.new" "$tmp/gone"
    sort -u "$tmp/seen" "$tmp/now" >"$tmp/seen.new"
    mv "$tmp/seen.new" "$tmp/seen"
    nx=$(opk_next)
    [ "$(printf '%d' "0x$nx")" -ge "$(printf '%d' "0x$last_next")" ] || next_back=$((next_back + 1))
    last_next=$nx
    [ "$(owner)" = "$alice" ] && [ "$(outlet)" = 1 ] ||
        { lost_name=$((lost_name + 1)); echo "# run $r: owner '$(owner)', outlet records $(outlet)"; }
    if [ $((r % 10)) -eq 0 ]; then
        restarts=$((restarts + 1))
        if start bob; then
            channel || { no_channel=$((no_channel + 1)); dump "$tmp/err" "run $r channel"; }
            "$veil" relay list -c "$tmp/bob.conf" >"$tmp/rl" 2>&1
            "$veil" tcp-outlet list -c "$tmp/bob.conf" >"$tmp/ol" 2>&1
            grep -q "^name alice owner $alice " "$tmp/rl" && grep -q "^web to 127.0.0.1:1 " "$tmp/ol" ||
                { no_name=$((no_name + 1)); dump "$tmp/rl" "run $r relay list"; dump "$tmp/ol" "run $r outlets"; }
            kill -9 "$(cat "$tmp/bob.pid")"; wait "$(cat "$tmp/bob.pid")" 2>/dev/null
        else
            no_channel=$((no_channel + 1))
        fi
    fi
done
consumed=$(wc -l <"$tmp/gone")
[ $bad_integrity -eq 0 ] && echo "ok 2 - $RUNS kills: PRAGMA integrity_check is ok every time" ||
    echo "not ok 2 - $bad_integrity of $RUNS kills left a database failing integrity_check"
[ $lost_spk -eq 0 ] && echo "ok 3 - $RUNS kills: bob's signed prekey $spk is kept every time" ||
    echo "not ok 3 - $lost_spk of $RUNS kills changed bob's signed prekeys"
[ $back -eq 0 ] && [ $next_back -eq 0 ] &&
    echo "ok 4 - $RUNS kills: no gone OPK ($consumed in all) came back, the ids never went back" ||
    echo "not ok 4 - gone OPKs came back after $back kills, ids went back after $next_back"
[ "$consumed" -gt 0 ] && echo "ok 5 - the run consumed $consumed OPKs" ||
    echo "not ok 5 - no OPK was consumed: the run proves nothing"
[ $no_channel -eq 0 ] && echo "ok 6 - $restarts full restarts of bob: an X3DH channel opens" ||
    echo "not ok 6 - $no_channel of $restarts restarts of bob: no channel"
[ $lost_name -eq 0 ] &&
    echo "ok 7 - $RUNS kills: the relay name alice stays bound to alice, the run-time outlet kept" ||
    echo "not ok 7 - $lost_name of $RUNS kills lost the relay binding or the outlet's record"
[ $no_name -eq 0 ] &&
    echo "ok 8 - $restarts full restarts: relay list shows alice owned by alice, the outlet runs" ||
    echo "not ok 8 - $no_name of $restarts full restarts: alice's name or the outlet missing"
kill -9 "$(cat "$tmp/alice.pid")" 2>/dev/null
