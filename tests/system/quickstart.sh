#!/bin/sh
# README.md's quick start, run as it is written: the block between
# <!-- quickstart:begin --> and <!-- quickstart:end --> (fences dropped),
# with its port 4001 replaced by a free one and `../veil` being this
# build's.  It must print the echoed "Hello veil" and a channel list line
# with Bob's identifier.  Bounded (60 s); daemons killed on every exit.
# Speaks TAP.
set -u
top=${VEIL_TOP_BUILDDIR:-.}
src=${VEIL_TOP_SRCDIR:-.}
. "$src/tests/system/features.sh"
if ! have vault-file tcp noise policies; then
    echo "1..0 # SKIP needs the file vault, tcp, noise and the policies"
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-quickstart.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
cleanup() {
    # A daemon the script left running (it failed midway): the pid its
    # lock file names, if that process is still this quick start's daemon.
    for f in "$tmp"/quickstart/run/*.sock.pid; do
        [ -f "$f" ] || continue
        p=$(cat "$f")
        tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "node run -c" && kill -9 "$p"
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
unset VEIL_CONF VEIL_LOG
echo "1..4"
sed -n '/^<!-- quickstart:begin -->$/,/^<!-- quickstart:end -->$/p' "$src/README.md" |
    grep -v '^<!--' | grep -v '^```' >"$tmp/quickstart.sh"
port=$("${PYTHON3:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i "s/127\.0\.0\.1:4001/127.0.0.1:$port/g" "$tmp/quickstart.sh"
# The portal's ports (inlet 7000, web server 8000) too: other tests run at once.
inport=$("${PYTHON3:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
webport=$("${PYTHON3:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i -e "s/127\.0\.0\.1:7000/127.0.0.1:$inport/g" -e "s/127\.0\.0\.1:8000/127.0.0.1:$webport/g" \
    -e "s/http\.server 8000/http.server $webport/" "$tmp/quickstart.sh"
if [ "$(wc -l <"$tmp/quickstart.sh")" -gt 20 ] && grep -q 'message send' "$tmp/quickstart.sh"; then
    echo "ok 1 - README.md has the quick start between its markers"
else
    echo "not ok 1 - README.md has the quick start between its markers"
fi
printf '#!/bin/sh\nexec "%s/veil" "$@"\n' "$top" >"$tmp/veil"
chmod +x "$tmp/veil"
(cd "$tmp" && timeout 120 sh -e ./quickstart.sh) >"$tmp/out" 2>"$tmp/err"
st=$?
if [ $st -eq 0 ] && grep -qx 'Hello veil' "$tmp/out"; then
    echo "ok 2 - the quick start runs and prints the echoed message"
else
    echo "not ok 2 - the quick start runs and prints the echoed message (exit $st)"
    sed 's/^/# stdout: /' "$tmp/out"
    sed 's/^/# stderr: /' "$tmp/err"
    for f in "$tmp"/quickstart/*.log; do [ -f "$f" ] && sed "s|^|# $(basename "$f"): |" "$f"; done
fi
# identity create printed the two identifiers (Alice's, then Bob's).
bob=$(grep -E '^P[0-9a-f]{64}$' "$tmp/out" | sed -n 2p)
if [ -n "$bob" ] && grep -qE "^sc_[0-9a-f]+ state open peer $bob role initiator " "$tmp/out"; then
    echo "ok 3 - channel list shows the channel to Bob's identifier"
else
    echo "not ok 3 - channel list shows the channel to Bob's identifier"
fi
if grep -qx 'Hello through a portal' "$tmp/out" && grep -qE '^web from 127\.0\.0\.1:[0-9]+ port [0-9]+ .* opened [1-9]' "$tmp/out"; then
    echo "ok 4 - curl through the portal prints the web server's file; the inlet lists its stream"
else
    echo "not ok 4 - curl through the portal prints the web server's file; the inlet lists its stream"
fi
