# Shared by the relay tests with three daemons (relay-daemons.sh,
# relay-heal.sh): the identities of a relay M, a registrant R and an
# initiator A, and M's configuration.  Expects daemon-lib.sh loaded, $tmp
# and $veil.

# conf NAME LISTEN EXTRA
conf() { daemon_conf "$1" "$2
$3"; }

# relay_identities: a vault and an identity for m, r and a; sets $m $r $a.
relay_identities() {
    for d in m r a; do
        conf $d "" ""
        "$veil" vault create -c "$tmp/$d.conf" >/dev/null 2>"$tmp/err" &&
            "$veil" identity create -c "$tmp/$d.conf" >"$tmp/$d.id" 2>"$tmp/err" ||
            { echo "Bail out! making $d's identity: $(cat "$tmp/err")"; exit 1; }
    done
    m=$(cat "$tmp/m.id")
    r=$(cat "$tmp/r.id")
    a=$(cat "$tmp/a.id")
}

# relay_conf PORT: M's configuration, listening on 127.0.0.1:PORT, with
# $relay_state (more [node] lines) when set.
relay_conf() {
    conf m "[transport.tcp]
listen = 127.0.0.1:$1" "[node]
relay = true
${relay_state:-}

[listener.relay_listener]
trust = everyone
allowed_workers = relay_registry

[relay]
max_names = 16
max_per_identity = 2"
}

# relay_start: start M on a free port (checked, TAP), then keep that port
# in its configuration for restarts; sets $port.
relay_start() {
    relay_conf 0
    check "the relay daemon starts" start m
    port=$(sed -n 's/.*tcp: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/m.log" | head -n 1)
    relay_conf "$port"   # a restart keeps the port
}
