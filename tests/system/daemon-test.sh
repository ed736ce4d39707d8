# Sourced first by the tests that run veil daemons on loopback (daemon.sh,
# relay-daemons.sh, relay-heal.sh), with $name set: the build's veil, a
# scratch directory $tmp, $pids killed and $tmp removed on every exit, the
# TAP skip where the build lacks what daemons need, the vault passphrase
# in $VEIL_TEST_PASS, then daemon-lib.sh.
set -u
top=${VEIL_TOP_BUILDDIR:-.}
. "${VEIL_TOP_SRCDIR:-.}/tests/system/features.sh"
veil=$top/veil
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-$name.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
pids=""
cleanup() {
    for p in $pids; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
unset VEIL_CONF VEIL_LOG
if ! have vault-file tcp noise policies; then
    echo "1..0 # SKIP needs the file vault, tcp, noise and the policies"
    exit 0
fi
VEIL_TEST_PASS=$name-test
export VEIL_TEST_PASS
. "${VEIL_TOP_SRCDIR:-.}/tests/system/daemon-lib.sh"
