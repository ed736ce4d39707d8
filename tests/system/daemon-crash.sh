#!/bin/sh
# kill -9 the daemon at random points, 100 times (issue #15): a daemon with
# a file vault and [node] state_dir learned a peer's contact over a secure
# channel; then, 100 times, it is started and killed with SIGKILL after a
# random delay (during start-up, while serving, or while it opens a
# channel to the peer).  After every kill: `sqlite3 state.db 'PRAGMA
# integrity_check'` says ok and the peer's contact is in the store; every
# tenth time the daemon is started to the end and must answer with the
# same identity, and a channel to the peer still opens.  The same for an
# X3DH responder's prekeys: daemon-crash-prekeys.sh; the prekey
# directory's state is tested by test_x3dh_dir_state.  Speaks TAP.
. "${VEIL_TOP_SRCDIR:-.}/tests/system/daemon-lib.sh"
daemon_test_setup daemon-crash "the file vault, tcp, noise, the policies and the sqlite store" \
    vault-file tcp noise policies store-sqlite
if ! command -v sqlite3 >/dev/null 2>&1; then
    echo "1..0 # SKIP the sqlite3 program is not installed (apt-get install sqlite3)"
    exit 0
fi
VEIL_TEST_PASS=daemon-crash
export VEIL_TEST_PASS
RUNS=100
conf() {
    daemon_conf "$1" "
[transport.tcp]
listen = 127.0.0.1:0
$2"
}

channel() {
    "$veil" secure-channel create -c "$tmp/alice.conf" --to "1#127.0.0.1:$port => bob" \
        --trust "$bob" >"$tmp/out" 2>"$tmp/err"
}

db=$tmp/alice.state/state.db
contacts() { sqlite3 "$db" "SELECT count(*) FROM veil_records WHERE ns = 'veil.contacts' AND key = '$bob'" 2>&1; }

echo "1..5"
mkdir -p "$tmp/alice.state" "$tmp/bob.state"
conf alice "
[node]
state_dir = $tmp/alice.state"
conf bob "
[node]
state_dir = $tmp/bob.state

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
start bob || { echo "Bail out! bob's daemon"; exit 1; }
port=$(sed -n 's/.*tcp: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/bob.log" | head -n 1)
start alice || { echo "Bail out! alice's daemon"; exit 1; }
if channel && [ "$(contacts)" = 1 ]; then
    echo "ok 1 - alice's daemon learned bob over a channel: his contact is in alice's state store"
else
    echo "not ok 1 - alice's daemon learned bob (contacts: $(contacts); $(cat "$tmp/err"))"
fi
kill -9 "$(cat "$tmp/alice.pid")"; wait "$(cat "$tmp/alice.pid")" 2>/dev/null

bad_integrity=0 lost=0 wrong_id=0 no_channel=0 restarts=0
r=0
while [ $r -lt $RUNS ]; do
    r=$((r + 1))
    "$veil" node run -c "$tmp/alice.conf" 2>>"$tmp/alice.log" &
    p=$!
    pids="$pids $p"
    # a random point: 0..400 ms after the start, and a channel being opened
    ms=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    ms=$((ms % 400))
    (sleep 0.05; channel) >/dev/null 2>&1 &
    c=$!
    sleep "$(printf '0.%03d' "$ms")"
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    wait "$c" 2>/dev/null
    [ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || bad_integrity=$((bad_integrity + 1))
    [ "$(contacts)" = 1 ] || lost=$((lost + 1))
    if [ $((r % 10)) -eq 0 ]; then
        restarts=$((restarts + 1))
        if start alice; then
            "$veil" status -c "$tmp/alice.conf" >"$tmp/status" 2>/dev/null
            grep -qx "identifier $alice" "$tmp/status" || wrong_id=$((wrong_id + 1))
            channel || no_channel=$((no_channel + 1))
            kill -9 "$(cat "$tmp/alice.pid")"; wait "$(cat "$tmp/alice.pid")" 2>/dev/null
        else
            wrong_id=$((wrong_id + 1))
        fi
    fi
done
[ $bad_integrity -eq 0 ] && echo "ok 2 - $RUNS kills: PRAGMA integrity_check is ok every time" ||
    echo "not ok 2 - $bad_integrity of $RUNS kills left a database failing integrity_check"
[ $lost -eq 0 ] && echo "ok 3 - $RUNS kills: bob's contact is in the store every time" ||
    echo "not ok 3 - $lost of $RUNS kills lost bob's contact"
[ $wrong_id -eq 0 ] && echo "ok 4 - $restarts full restarts: the daemon answers with alice's identity" ||
    echo "not ok 4 - $wrong_id of $restarts restarts did not come up as alice"
[ $no_channel -eq 0 ] && echo "ok 5 - $restarts full restarts: a channel to bob opens" ||
    echo "not ok 5 - $no_channel of $restarts restarts could not open a channel to bob"
kill -9 "$(cat "$tmp/bob.pid")" 2>/dev/null
