#!/usr/bin/env bash
# Usage: .ci/debian.sh veil-X.Y.Z.tar.gz   (run by .ci/run, as root)
# Builds the Debian source and binary packages from the release tarball (the suites already
# ran: nocheck), runs lintian (any error fails; warnings are listed in
# docs/PACKAGING.md), installs the packages, builds example 05a from the
# installed sources with pkg-config, runs it on the installed libveil and
# plugins (VEIL_PLUGIN_PATH unset), and removes the packages again.
set -euo pipefail
tarball=$(readlink -f "${1:?usage: $0 veil-X.Y.Z.tar.gz}")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-deb.XXXXXX")
installed=""
cleanup() {
    [ -z "$installed" ] || dpkg -r libveil-dev libveil0 veil >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

tar -C "$tmp" -xzf "$tarball"
src=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'veil-*' | head -n 1)
echo "== dpkg-buildpackage -us -uc ($(basename "$src"))"
if ! (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc) \
        >"$tmp/build.log" 2>&1; then
    tail -n 60 "$tmp/build.log"; exit 1
fi
ls "$tmp"/*.deb "$tmp"/*.dsc | sed 's|.*/|built: |'

echo "== lintian"
changes=$(ls "$tmp"/*.changes)
lintian --display-info --pedantic --show-overrides "$changes" >"$tmp/lintian.log" 2>&1 || true
grep -E '^[EWIPXO]:' "$tmp/lintian.log" | sort -u || true
if grep -q '^E:' "$tmp/lintian.log"; then
    echo "debian: lintian reports errors" >&2; exit 1
fi

echo "== install the packages, run example 05a on them"
debs=$(ls "$tmp"/libveil0_*.deb "$tmp"/libveil-dev_*.deb "$tmp"/veil_*.deb 2>/dev/null || true)
installed=yes
# shellcheck disable=SC2086 # one word per package file
dpkg -i $debs >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; exit 1; }
cp -R /usr/share/doc/libveil-dev/examples "$tmp/ex"
make -s -C "$tmp/ex" 05a-secure-channel-with-entity
out=$(env -u VEIL_PLUGIN_PATH -u VEIL_CONF "$tmp/ex/05a-secure-channel-with-entity")
echo "05a: $out"
[ "$out" = "App Received: Hello Ockam!" ] || { echo "debian: 05a failed on the installed packages" >&2; exit 1; }
echo "debian: packages built, lintian clean of errors, 05a runs on the installed packages"
