#!/bin/sh
# Three hosts in network namespaces (TAP): initiator, relay and responder
# of examples/06-secure-channel-many-hops-* each in its own namespace,
# linked by two veth pairs (addresses exist only inside the namespaces):
#
#   [A] 10.231.1.1 --veth-- 10.231.1.2 [M] 10.231.2.2 --veth-- 10.231.2.1 [R]
#
# The initiator in A reaches the responder in R only through the relay
# node in M (A has no route to R).  tcpdump captures on all of M's
# interfaces.  Asserted: the initiator got the reply; the capture holds TCP
# traffic on both links; the frames the relay printed (ciphertext) are in
# the capture; a routing string that travels in clear ("bob_listener") is
# in it too (the capture would show a plaintext if there were one); the
# distinctive payload is NOT in it, in clear or hex.  Plain and --nested.
# A control run (example 04, no channel) must show its payload in the same
# capture, so the "never" above is a real check.
#
# Skipped (with the reason) only where namespaces cannot be made: not root,
# no `ip`, no tcpdump, or `ip netns add` refused.  Namespaces, links and
# processes are removed on every exit path.
set -u
top=${VEIL_TOP_BUILDDIR:?VEIL_TOP_BUILDDIR must be set (run through make check)}
src=${VEIL_TOP_SRCDIR:?VEIL_TOP_SRCDIR must be set}
ex=$top/examples
py=${PYTHON3:-/usr/bin/python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-netns.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
. "$src/tests/system/multinode-lib.sh"
ns_a=veil$$a ns_m=veil$$m ns_r=veil$$r
# Link names are made in the root namespace first: unique per run.
va=vla$$ vma=vlma$$ vmr=vlmr$$ vr=vlr$$
plan=2
unset VEIL_CONF

skip_all() {
    echo "1..0 # SKIP $1"
    rm -rf "$tmp"
    exit 0
}

cleanup() {
    mn_cleanup
    for ns in $ns_a $ns_m $ns_r; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del "$ns" 2>/dev/null
    done
    # Links still in the root namespace (setup failed half way).
    for l in $va $vr; do ip link del "$l" 2>/dev/null; done
}

[ "$(id -u)" -eq 0 ] || skip_all "network namespaces need root"
command -v ip >/dev/null 2>&1 || skip_all "no ip command (iproute2)"
command -v tcpdump >/dev/null 2>&1 || skip_all "no tcpdump"
[ -x "$py" ] || skip_all "no python3 at $py (reads the capture)"
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$ns_a" 2>"$tmp/netns.err" || skip_all "ip netns add failed: $(cat "$tmp/netns.err")"
ip netns add "$ns_m" && ip netns add "$ns_r" || { echo "Bail out! ip netns add failed"; exit 1; }

# in NS CMD...: run CMD inside namespace NS.
in_ns() { ns=$1; shift; ip netns exec "$ns" "$@"; }

setup_links() {
    ip link add "$va" type veth peer name "$vma" || return 1
    ip link add "$vr" type veth peer name "$vmr" || return 1
    ip link set "$va" netns "$ns_a" && ip link set "$vma" netns "$ns_m" &&
        ip link set "$vmr" netns "$ns_m" && ip link set "$vr" netns "$ns_r" || return 1
    in_ns "$ns_a" ip addr add 10.231.1.1/24 dev "$va" &&
        in_ns "$ns_m" ip addr add 10.231.1.2/24 dev "$vma" &&
        in_ns "$ns_m" ip addr add 10.231.2.2/24 dev "$vmr" &&
        in_ns "$ns_r" ip addr add 10.231.2.1/24 dev "$vr" || return 1
    for pair in "$ns_a $va" "$ns_m $vma" "$ns_m $vmr" "$ns_r $vr" "$ns_a lo" "$ns_m lo" "$ns_r lo"; do
        set -- $pair
        in_ns "$1" ip link set "$2" up || return 1
    done
}
setup_links 2>"$tmp/links.err" || { echo "Bail out! veth setup failed: $(cat "$tmp/links.err")"; exit 1; }

echo "1..$((plan * 4 + 2))"
mn_check "namespaces: A cannot reach R directly (only through the relay)" \
    sh -c "! ip netns exec $ns_a ip route get 10.231.2.1 >/dev/null 2>&1"

# A payload that cannot appear by chance.
payload="veil-netns-plaintext-$$-7f3a9c1e5b"

# run LABEL [--nested]
run() {
    label=$1
    shift
    mn_start resp ip netns exec "$ns_r" "$ex/06-secure-channel-many-hops-responder" 10.231.2.1:0
    mn_start mid ip netns exec "$ns_m" "$ex/06-secure-channel-many-hops-middle" 10.231.1.2:0
    if ! r=$(mn_wait_listen resp) || ! m=$(mn_wait_listen mid); then
        for i in 1 2 3 4; do mn_not_ok "$label: responder and relay listen"; done
        mn_stop resp; mn_stop mid
        return
    fi
    rm -f "$tmp/cap.pcap"
    # Immediate mode: each packet reaches the file at once (SIGTERM would
    # lose a half-filled block).  Its ring has one slot per snaplen bytes,
    # so a 32 MiB buffer with a 64 KiB snaplen holds 512 packets however
    # late tcpdump gets the CPU.
    mn_start cap ip netns exec "$ns_m" tcpdump --immediate-mode -B 32768 -Z root -i any -U -s 65535 -w "$tmp/cap.pcap" tcp
    i=0
    while ! grep -q 'listening on' "$tmp/cap.err" 2>/dev/null && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    rid=$(mn_field resp 'Responder identifier: ')
    midid=$(mn_field mid 'Middle identifier: ')
    in_ns "$ns_a" "$ex/06-secure-channel-many-hops-initiator" "$@" --message "$payload" \
        "$m" "$r" "$rid" "$midid" >"$tmp/init.out" 2>"$tmp/init.err"
    st=$?
    # The relay and the responder first: every frame the relay printed has
    # then left it (a stopping node flushes), and the capture, still
    # running, has seen it.
    mn_stop resp
    mn_stop mid
    sleep 0.3
    mn_stop cap
    if [ $st -eq 0 ] && grep -qx "App Received: $payload" "$tmp/init.out" &&
        grep -qx "Responder authenticated as: $rid" "$tmp/init.out"; then
        mn_ok "$label: the initiator in A got the reply from R through M"
    else
        mn_not_ok "$label: the initiator in A got the reply from R through M (exit $st)"
        mn_dump "$tmp/init.out" "initiator stdout"
        mn_dump "$tmp/init.err" "initiator stderr"
        mn_dump "$tmp/resp.err" "responder stderr"
        mn_dump "$tmp/mid.err" "relay stderr"
    fi
    sed -n 's/^Middle relayed [0-9]* bytes: //p' "$tmp/mid.out" >"$tmp/frames.hex"
    "$py" - "$tmp/cap.pcap" "$tmp/frames.hex" "$payload" "${m##*:}" "${r##*:}" \
        >"$tmp/check.out" 2>&1 <<'PY'
import struct, sys
cap, frames, payload, pm, pr = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4]), int(sys.argv[5])
raw = open(cap, 'rb').read()
# pcap: global header 24 bytes, records of 16-byte header + data; linktype
# LINUX_SLL (113) or LINUX_SLL2 (276) from "-i any".  Each TCP direction is
# reassembled by sequence number (a frame may straddle segments; a packet
# may show on two interfaces), then searched.
magic = struct.unpack('<I', raw[:4])[0]
end = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
link = struct.unpack(end + 'I', raw[20:24])[0]
skip = {113: 16, 276: 20, 1: 14}.get(link)
off, ports, flows = 24, set(), {}
while off + 16 <= len(raw):
    incl = struct.unpack(end + 'I', raw[off + 8:off + 12])[0]
    pkt = raw[off + 16:off + 16 + incl]
    off += 16 + incl
    ip = pkt[skip:] if skip is not None else b''
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
        continue
    ihl = (ip[0] & 15) * 4
    tcp = ip[ihl:]
    sport, dport, seq = struct.unpack('>HHI', tcp[:8])
    body = tcp[(tcp[12] >> 4) * 4:]
    if body:
        ports.add(sport); ports.add(dport)
        flows.setdefault((ip[12:16], ip[16:20], sport, dport), {})[seq] = body
streams = []
for segs in flows.values():
    data, nxt = b'', None
    for seq in sorted(segs):
        b = segs[seq]
        if nxt is not None and seq < nxt:
            b = b[nxt - seq:]
        data += b
        nxt = seq + len(segs[seq]) if nxt is None else max(nxt, seq + len(segs[seq]))
    streams.append(data)
stream = b'\x00'.join(streams)
hexes = [bytes.fromhex(l.strip()) for l in open(frames) if l.strip()]
found = sum(1 for f in hexes if f in stream)
print('links with payload bytes: relay port %s %s, responder port %s %s' %
      (pm, pm in ports, pr, pr in ports))
print('relayed frames found in the capture: %d of %d' % (found, len(hexes)))
print('clear routing string bob_listener in capture: %s' % (b'bob_listener' in stream))
bad = [f for f in (payload, payload.hex().encode(), payload.hex().upper().encode())
       if f in raw or f in stream]
print('plaintext payload in capture: %s' % bool(bad))
ok = pm in ports and pr in ports
sys.exit(0 if ok and len(hexes) >= 6 and found == len(hexes) and b'bob_listener' in stream and not bad
         else (3 if bad else 1))
PY
    pst=$?
    if grep -q 'relay port .* True, responder port .* True' "$tmp/check.out"; then
        mn_ok "$label: capture on M holds TCP payload on both links (A-M and M-R)"
    else
        mn_not_ok "$label: capture on M holds TCP payload on both links (A-M and M-R)"
    fi
    if grep -q 'plaintext payload in capture: False' "$tmp/check.out"; then
        mn_ok "$label: the payload never appears in the capture (clear or hex)"
    else
        mn_not_ok "$label: the payload never appears in the capture (clear or hex)"
    fi
    if [ $pst -eq 0 ]; then
        mn_ok "$label: every frame the relay printed (ciphertext) is in the capture; clear routing visible"
    else
        mn_not_ok "$label: every frame the relay printed (ciphertext) is in the capture; clear routing visible"
    fi
    sed 's/^/# /' "$tmp/check.out"
    grep 'dropped by kernel' "$tmp/cap.err" | sed 's/^/# tcpdump: /'
}

run "plain"
run "nested" --nested

# Control: the same capture on M sees a payload that crosses in clear
# (example 04: no secure channel, A -> echoer on M), so the checks above
# would catch a plaintext.
mn_start resp04 ip netns exec "$ns_m" "$ex/04-transport-responder" 10.231.1.2:0
if e=$(mn_wait_listen resp04); then
    rm -f "$tmp/cap.pcap" "$tmp/cap.err"
    mn_start cap ip netns exec "$ns_m" tcpdump --immediate-mode -B 32768 -Z root -i any -U -s 65535 -w "$tmp/cap.pcap" tcp
    i=0
    while ! grep -q 'listening on' "$tmp/cap.err" 2>/dev/null && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    in_ns "$ns_a" "$ex/04-transport-initiator" "$e" >"$tmp/init04.out" 2>&1
    sleep 0.3
    mn_stop cap
    mn_stop resp04
    if grep -qx 'App Received: Hello Ockam!' "$tmp/init04.out" && grep -qa 'Hello Ockam!' "$tmp/cap.pcap"; then
        mn_ok "control: a payload sent without a channel (example 04) is visible in the capture"
    else
        mn_not_ok "control: a payload sent without a channel (example 04) is visible in the capture"
        mn_dump "$tmp/init04.out" "04 initiator"
    fi
else
    mn_not_ok "control: example 04 responder listens in M"
fi
[ "$fails" -eq 0 ]
