#!/bin/sh
# A relay restart heals every resilient channel (issue #15): a relay M, a
# registrant R (registered as bob, dials out only) and an initiator A whose
# channels heal ([secure_channel] resilient = true and --resilient).  A
# opens several channels to R through M by name and echoes through each;
# M is killed (kill -9) and restarted on the same port; R registers again
# by itself, and every one of A's channels logs "open again" within the
# backoff bound configured (reconnect_max_ms) after R is registered again,
# keeps its address, and carries an echo again.  Then R is frozen
# (SIGSTOP): its connection to M stays up, and A's keep-alive finds every
# channel's dead far side past the relay within dead_after_ms + one ping
# interval (the first to find it drops A's connection to the relay, which
# carried nothing for that long either, so the others hear their route lost
# at the same moment); `veil channel list` shows each as reconnecting with
# its attempt count, and, thawed, they heal and show open.  Speaks TAP.
. "${VEIL_TOP_SRCDIR:-.}/tests/system/daemon-lib.sh"
daemon_test_setup relay-heal "the file vault, tcp, noise and the policies" vault-file tcp noise policies
VEIL_TEST_PASS=relay-heal-test
export VEIL_TEST_PASS
. "${VEIL_TOP_SRCDIR:-.}/tests/system/relay-lib.sh"
K=4            # resilient channels
MAX_MS=1000    # A's reconnect_max_ms: the bound asserted
now_ms() { echo $(($(date +%s%N) / 1000000)); }


# wait_grep FILE PATTERN COUNT TRIES: until FILE has COUNT lines matching
# PATTERN (every 0.02 s).
wait_grep() {
    i=0
    while [ $i -lt "$4" ]; do
        [ "$(grep -cE -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
        sleep 0.02
        i=$((i + 1))
    done
    return 1
}

echo "1..15"

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
conf a "" "[secure_channel]
resilient = true
ping_interval_ms = 300
dead_after_ms = 1200
reconnect_min_ms = 100
reconnect_max_ms = $MAX_MS"
start r && start a && wait_grep "$tmp/r.log" "registered 'bob'|bob.*registered" 1 500
check "the registrant and the initiator start; bob is registered" \
    sh -c "'$veil' relay list -c '$tmp/r.conf' | grep -q '^registered bob at .* up'"

route="1#127.0.0.1:$port => relay => bob => bob"
: >"$tmp/chans"
okc=0
i=0
while [ $i -lt $K ]; do
    if "$veil" secure-channel create -c "$tmp/a.conf" --to "$route" --trust "$r" --resilient \
        >"$tmp/out" 2>"$tmp/err" && grep -qx "peer $r" "$tmp/out"; then
        sed -n 's/^channel //p' "$tmp/out" >>"$tmp/chans"
        okc=$((okc + 1))
    else
        dump "$tmp/err" "create $i"
    fi
    i=$((i + 1))
done
check "A opens $K resilient channels to R through the relay" [ "$okc" -eq $K ]

echo_all() {
    while read -r ch; do
        [ "$("$veil" message send -c "$tmp/a.conf" --to "$ch => echo" "$1" 2>"$tmp/err")" = "$1" ] ||
            { echo "# $ch: $(cat "$tmp/err")"; return 1; }
    done <"$tmp/chans"
}
check "an echo comes back through each" echo_all before

kill -9 "$(cat "$tmp/m.pid")"
check "every channel is reconnecting (one log line each)" \
    wait_grep "$tmp/a.log" "channel sc_[0-9a-f]+ reconnecting to $r: ENOROUTE" $K 500
check "the relay restarts on the same port" start m
restarted=$(now_ms)
wait_grep "$tmp/r.log" "registered|up" 1 1 >/dev/null 2>&1
i=0
while [ $i -lt 1000 ]; do
    "$veil" relay list -c "$tmp/r.conf" 2>/dev/null | grep -q '^registered bob at .* up registrations 2$' && break
    sleep 0.01
    i=$((i + 1))
done
registered=$(now_ms)
check "R registers again" [ $i -lt 1000 ]
if wait_grep "$tmp/a.log" "channel sc_[0-9a-f]+ open again to $r" $K 1000; then
    healed=$(now_ms)
    echo "# relay restarted -> R registered: $((registered - restarted)) ms; -> all $K channels open: $((healed - restarted)) ms (after R registered: $((healed - registered)) ms, bound reconnect_max_ms $MAX_MS + 500 ms for the handshake and polling)"
    check "every channel is open again within the backoff bound after R registered" \
        [ $((healed - registered)) -le $((MAX_MS + 500)) ]
else
    dump "$tmp/a.log" "a log"
    not_ok "every channel is open again within the backoff bound after R registered"
fi
check "... at the same addresses: an echo comes back through each again" echo_all after
# list_states STATE: every one of A's channels is listed with STATE
list_states() {
    "$veil" channel list -c "$tmp/a.conf" >"$tmp/list" 2>"$tmp/err" || return 1
    while read -r ch; do
        grep -qE "^$ch state $1 peer $r role initiator " "$tmp/list" ||
            { sed 's/^/# list: /' "$tmp/list"; return 1; }
    done <"$tmp/chans"
}
check "channel list: every channel is open" list_states open

# R freezes (SIGSTOP): its connection to the relay stays up, so nothing is
# ever reported lost at A; the keep-alive past the relay finds it.
lostre="channel sc_[0-9a-f]+ reconnecting to $r: (ETIMEDOUT|ENOROUTE)"
before=$(grep -cE "$lostre" "$tmp/a.log")
kill -STOP "$(cat "$tmp/r.pid")"
frozen=$(now_ms)
if wait_grep "$tmp/a.log" "$lostre" $((before + K)) 500; then
    found=$(now_ms)
    echo "# R frozen -> all $K dead paths found: $((found - frozen)) ms (dead_after_ms 1200, ping_interval_ms 300)"
    check "a frozen peer behind the relay is found dead within dead_after_ms + one ping interval (+1 s for a loaded machine)" \
        [ $((found - frozen)) -le $((1200 + 300 + 1000)) ]
else
    not_ok "a frozen peer behind the relay is found dead within dead_after_ms + one ping interval (+1 s for a loaded machine)"
fi
check "a silent relay connection is dropped by the first dead path found" \
    grep -qE "dropped its first hop 127.0.0.1:$port" "$tmp/a.log"
check "channel list: every channel is reconnecting, with its attempt count" \
    list_states "reconnecting attempts [0-9]+"
kill -CONT "$(cat "$tmp/r.pid")"
# (the daemon's identical "open again" lines within its log's repeat
# window are counted, not printed: poll the channels themselves)
thawed() {
    i=0
    while [ $i -lt 100 ]; do
        echo_all thawed 2>/dev/null >/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    echo_all thawed
}
check "R thawed: every channel carries an echo again (within 10 s)" thawed
check "channel list: every channel is open again" list_states open
[ "$fails" -eq 0 ] || { dump "$tmp/a.log" "a log"; dump "$tmp/r.log" "r log"; }
exit 0
