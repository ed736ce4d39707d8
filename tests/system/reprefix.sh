#!/bin/sh
# Usage: tests/system/reprefix.sh veil-X.Y.Z.tar.gz   (TAP; run by .ci/run)
# Configure a build for one prefix, install; configure the same build tree
# again with another prefix, `make`, install (issue #16: this used to fail
# half-way and leave a libveil pointing at the old plugin directory).  Then
# with the first prefix deleted:
#  - the second install holds every plugin as NAME.so and no .la file;
#  - no installed file names the first prefix (libveil's plugin directory,
#    RUNPATHs, veil.pc);
#  - example 05a, built from the installed sources with pkg-config, runs on
#    the installed libveil and finds the plugins by itself (VEIL_PLUGIN_PATH
#    unset: the plugin directory compiled into libveil).
# Two full builds: too slow for `make check`, hence CI (docs/PACKAGING.md).
set -u
tarball=${1:?usage: $0 veil-X.Y.Z.tar.gz}
case $tarball in /*) ;; *) tarball=$(pwd)/$tarball ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-reprefix.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM
. "$(dirname "$0")/tap-cases.sh"
echo "1..7"
tar -C "$tmp" -xzf "$tarball" || { echo "Bail out! cannot unpack $tarball"; exit 1; }
src=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'veil-*' | head -n 1)
mkdir "$tmp/build"
a=$tmp/prefix-a b=$tmp/prefix-b

# build_install PREFIX: configure (again) and install, in the same build tree.
build_install() {
    (cd "$tmp/build" && "$src/configure" -q --prefix="$1" && make -j2 >/dev/null &&
        make install >/dev/null)
}
result "configure --prefix=A, make, make install" build_install "$a"
result "configure --prefix=B in the same tree, make, make install" build_install "$b"
rm -rf "$a"

plugindir=$b/lib/veil/plugins
plugins_ok() {
    for p in everyone file identifier noise public-key software tcp x3dh; do
        [ -f "$plugindir/$p.so" ] || { echo "missing $plugindir/$p.so"; return 1; }
    done
    no_plugin_la "$plugindir"
}
result "prefix B: every plugin as NAME.so, no .la file" plugins_ok
names_b() { grep -q "$plugindir" "$b/lib/libveil.so.0"; }
result "prefix B: libveil's plugin directory is B's" names_b
stale() {
    hits=$(grep -rl "$a" "$b" 2>/dev/null)
    [ -z "$hits" ] || { echo "these files name the old prefix $a:"; echo "$hits"; return 1; }
}
result "prefix B: no installed file names prefix A" stale

cp -R "$b/share/doc/veil/examples" "$tmp/ex" && chmod -R u+w "$tmp/ex"
result "05a builds from B's installed sources with pkg-config" \
    env PKG_CONFIG_PATH="$b/lib/pkgconfig" make -C "$tmp/ex" 05a-secure-channel-with-entity
result "05a runs on B's libveil and finds B's plugins by itself" \
    run_05a "$tmp/ex/05a-secure-channel-with-entity" -u VEIL_PLUGIN_PATH LD_LIBRARY_PATH="$b/lib"
[ "$fails" -eq 0 ]
