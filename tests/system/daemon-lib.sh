# Sourced by the daemon tests (daemon.sh, daemon-crash.sh): a daemon's
# configuration and starting it.  Needs $tmp, $veil, $pids and dump().

# conf NAME EXTRA: a daemon's configuration.
conf() {
    cat >"$tmp/$1.conf" <<EOC
[vault]
plugin = file
path = $tmp/$1.vault
passphrase_env = VEIL_TEST_PASS
kdf_n = 1024
kdf_r = 1

[daemon]
name = $1
echo = yes

[control]
socket = $tmp/run/$1.sock

[transport.tcp]
listen = 127.0.0.1:0
$2
EOC
}

# start NAME: run the daemon; wait (10 s at most) until its socket answers.
start() {
    : >"$tmp/$1.log"
    "$veil" node run -c "$tmp/$1.conf" 2>>"$tmp/$1.log" &
    echo $! >"$tmp/$1.pid"
    pids="$pids $!"
    i=0
    while [ $i -lt 500 ]; do
        "$veil" status -c "$tmp/$1.conf" >"$tmp/status" 2>/dev/null && return 0
        kill -0 "$(cat "$tmp/$1.pid")" 2>/dev/null || break
        sleep 0.02
        i=$((i + 1))
    done
    dump "$tmp/$1.log" "$1 log"
    return 1
}

