#!/bin/sh
# Portals with real, unmodified servers and clients (issue #14):
# redis-benchmark against redis-server, and iperf3 in both directions
# (-R: the server sends), through portals between two daemons.  Speaks
# TAP; skips what is not installed (redis-server/redis-tools, iperf3).
. "${VEIL_TOP_SRCDIR:-.}/tests/system/portal-lib.sh"
if ! have vault-file tcp noise policies; then
    echo "1..0 # SKIP needs the file vault, tcp, noise and the policies"; exit 0
fi
echo "1..4"
portal_setup || { echo "Bail out! daemons did not start"; show_logs; exit 1; }

# 1-2. redis-benchmark through a portal: every request answered, and a
# value written through the portal read back directly.
if command -v redis-server >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1; then
    rp=$(pfree)
    redis-server --port "$rp" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$tmp" >"$tmp/redis.log" 2>&1 &
    bg $!
    wait_port "$rp"
    r=$(portal_pair redis "127.0.0.1:$rp")
    timeout 120 redis-benchmark -h 127.0.0.1 -p "$r" -t set,get -n 20000 -c 50 -q \
        >"$tmp/rb.out" 2>&1
    st=$?
    n=$(grep -c 'requests per second' "$tmp/rb.out")
    [ $st -eq 0 ] && [ "$n" -eq 2 ]
    ok $? "redis-benchmark SET and GET through a portal (50 clients): $(tr '\r' '\n' <"$tmp/rb.out" | grep 'requests per second' | tr '\n' ' ')"
    v=$(head -c 300000 /dev/urandom | base64 -w0)
    redis-cli -h 127.0.0.1 -p "$r" -x SET big <<EOV >/dev/null
$v
EOV
    got=$(redis-cli -h 127.0.0.1 -p "$rp" GET big)
    [ "$got" = "$v" ]
    ok $? "a 400 kB value SET through the portal reads back the same directly"
else
    echo "ok 1 # SKIP no redis-server/redis-benchmark (apt-get install redis-server redis-tools)"
    echo "ok 2 # SKIP no redis-server/redis-benchmark"
    n_test=2
fi

# 3-4. iperf3 both ways, 3 s each; JSON says how many bytes arrived.
if command -v iperf3 >/dev/null 2>&1; then
    ip=$(pfree)
    iperf3 -s -p "$ip" -B 127.0.0.1 >"$tmp/iperf-s.log" 2>&1 &
    bg $!
    wait_port "$ip"
    i=$(portal_pair iperf "127.0.0.1:$ip")
    for dir in "" -R; do
        timeout 60 iperf3 -c 127.0.0.1 -p "$i" -t 3 $dir -J >"$tmp/iperf.json" 2>&1
        st=$?
        gbps=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.2f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))' "$tmp/iperf.json" 2>/dev/null)
        [ $st -eq 0 ] && [ -n "$gbps" ] && [ "$gbps" != "0.00" ]
        ok $? "iperf3 ${dir:-(client sends)} through a portal: $gbps Gbit/s received"
    done
else
    echo "ok 3 # SKIP no iperf3 (apt-get install iperf3)"
    echo "ok 4 # SKIP no iperf3"
fi
