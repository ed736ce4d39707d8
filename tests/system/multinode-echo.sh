#!/bin/sh
# Two-node echo over TCP with examples/04-transport-*, as separate
# processes (TAP).  The responder listens on port 0 and prints the port it
# got; the initiator connects there, sends "Hello Ockam!" to the echoer and
# must print the reply (the contract in the examples' header comments).
# IPv4, IPv6 (when the machine has ::1) and a host name; a refused
# connection must fail with the reason; the responder must stop cleanly on
# SIGTERM (exit 0).
set -u
top=${VEIL_TOP_BUILDDIR:?VEIL_TOP_BUILDDIR must be set (run through make check)}
src=${VEIL_TOP_SRCDIR:?VEIL_TOP_SRCDIR must be set}
ex=$top/examples
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-mn-echo.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
. "$src/tests/system/multinode-lib.sh"
trap mn_cleanup EXIT
trap 'exit 1' INT TERM
unset VEIL_CONF
printf 'App Received: Hello Ockam!\n' >"$tmp/expected"

echo "1..8"

# echo_via NAME LISTEN CONNECT_HOST: a responder on LISTEN, the initiator
# to CONNECT_HOST:port; both outputs checked.
echo_via() {
    label=$1
    mn_start resp "$ex/04-transport-responder" "$2"
    if ! port_addr=$(mn_wait_listen resp); then
        mn_not_ok "$label: responder listens"
        mn_not_ok "$label: initiator prints the reply"
        mn_not_ok "$label: responder stops cleanly on SIGTERM"
        return
    fi
    port=${port_addr##*:}
    "$ex/04-transport-initiator" "$3:$port" >"$tmp/init.out" 2>"$tmp/init.err"
    st=$?
    if [ $st -eq 0 ] && cmp -s "$tmp/expected" "$tmp/init.out" &&
        grep -qx 'Address: echoer, Received: Hello Ockam!' "$tmp/resp.out"; then
        mn_ok "$label: initiator prints the reply, responder's echoer got the message"
    else
        mn_not_ok "$label: initiator prints the reply (exit $st)"
        mn_dump "$tmp/init.out" "initiator stdout"
        mn_dump "$tmp/init.err" "initiator stderr"
        mn_dump "$tmp/resp.out" "responder stdout"
    fi
    mn_stop resp
    st=$?
    if [ $st -eq 0 ]; then
        mn_ok "$label: responder stops cleanly on SIGTERM"
    else
        mn_not_ok "$label: responder stops cleanly on SIGTERM (exit $st)"
        mn_dump "$tmp/resp.err" "responder stderr"
    fi
    mn_check "$label: responder printed its address before serving" \
        grep -q "^Listening on 1#" "$tmp/resp.out"
}

echo_via "IPv4" 127.0.0.1:0 127.0.0.1
if ip -6 addr show dev lo 2>/dev/null | grep -q '::1'; then
    echo_via "IPv6" '[::1]:0' '[::1]'
else
    for i in 1 2 3; do n=$((n + 1)); echo "ok $n - IPv6 # SKIP no ::1 on this machine"; done
fi
# A name the resolver answers (localhost), listening on the IPv4 loopback.
mn_start resp "$ex/04-transport-responder" 127.0.0.1:0
if port_addr=$(mn_wait_listen resp); then
    port=${port_addr##*:}
    "$ex/04-transport-initiator" "localhost:$port" >"$tmp/init.out" 2>"$tmp/init.err"
    if [ $? -eq 0 ] && cmp -s "$tmp/expected" "$tmp/init.out"; then
        mn_ok "host name: localhost:PORT resolves and the reply comes back"
    else
        mn_not_ok "host name: localhost:PORT resolves and the reply comes back"
        mn_dump "$tmp/init.err" "initiator stderr"
    fi
    mn_stop resp
    # The port is free again: connecting must be refused, with the reason.
    "$ex/04-transport-initiator" "127.0.0.1:$port" >"$tmp/init.out" 2>"$tmp/init.err"
    st=$?
    if [ $st -eq 1 ] && [ ! -s "$tmp/init.out" ] && grep -qi 'refused' "$tmp/init.err"; then
        mn_ok "no responder: exit 1, stderr names the refused connection"
    else
        mn_not_ok "no responder: exit 1, stderr names the refused connection (exit $st)"
        mn_dump "$tmp/init.err" "initiator stderr"
    fi
else
    mn_not_ok "host name: responder listens"
    mn_not_ok "no responder: refused"
fi
[ "$fails" -eq 0 ]
