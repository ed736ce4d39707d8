#!/bin/sh
# What `make install` puts where (TAP), in a temporary DESTDIR:
#  - libveil, its headers and veil.pc; every plugin as NAME.so and no
#    plugin .la file (plugins are dlopen()ed by file name);
#  - the documentation (README.md, docs/*.md) under $(docdir), the
#    examples' sources and their Makefile under $(docdir)/examples;
#  - that Makefile builds example 05a against the installed veil
#    (pkg-config), and the result runs on the installed libveil and plugins;
#  - `make uninstall` leaves no file behind.
# The prefix-change case (configure again with another --prefix) needs two
# fresh builds: .ci/run runs tests/system/reprefix.sh (docs/PACKAGING.md).
set -u
top_build=${VEIL_TOP_BUILDDIR:?VEIL_TOP_BUILDDIR must be set (run through make check)}
. "${VEIL_TOP_SRCDIR:?VEIL_TOP_SRCDIR must be set}/tests/system/features.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-install.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM
dest=$tmp/dest
. "$VEIL_TOP_SRCDIR/tests/system/tap-cases.sh"
mk() { ${MAKE:-make} -C "$top_build" "$@"; }
var() { mk -s --no-print-directory print-install-var VAR="$1" | sed -n "s|^$1=||p"; }

echo "1..9"
if ! mk install DESTDIR="$dest" >"$tmp/install.log" 2>&1; then
    echo "not ok 1 - make install DESTDIR=<tmp>"; show "$tmp/install.log"
    echo "Bail out! cannot install"; exit 1
fi
plugindir=$dest$(var plugindir) docdir=$dest$(var docdir) libdir=$dest$(var libdir)
plugins=$(var plugin_LTLIBRARIES)

has_plugins() {
    for p in $plugins; do
        b=$(basename "$p" .la)
        [ -f "$plugindir/$b.so" ] || { echo "missing $plugindir/$b.so"; return 1; }
    done
}
has_docs() {
    for f in README.md ARCHITECTURE.md CONFIG.md PLUGINS.md PROTOCOL.md PACKAGING.md \
             examples/Makefile examples/05a-secure-channel-with-entity.c examples/example_env.h \
             examples/example_args.h; do
        [ -f "$docdir/$f" ] || { echo "missing $docdir/$f"; return 1; }
    done
}
result "make install DESTDIR=<tmp>" true
result "every plugin installed as NAME.so ($(echo $plugins | wc -w) plugins)" has_plugins
result "no plugin .la file installed" no_plugin_la "$plugindir"
result "README.md, docs/*.md and the examples' sources under \$(docdir)" has_docs

# The installed examples' Makefile, against the installed veil only.
pc=$(find "$dest" -name veil.pc -path '*/pkgconfig/*' | head -n 1)
PKG_CONFIG_PATH=$(dirname "${pc:-/nonexistent/x}") PKG_CONFIG_LIBDIR=$(dirname "${pc:-/nonexistent/x}")
PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
export PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_ALLOW_SYSTEM_CFLAGS \
    PKG_CONFIG_ALLOW_SYSTEM_LIBS
CC=$(sed -n 's/^CC="\(.*\)"$/\1/p' "$top_build/libtool" | head -n 1)
cp -R "$docdir/examples" "$tmp/ex" && chmod -R u+w "$tmp/ex"
# A sanitizer build's libveil needs the same runtime in the program.
result "the installed examples' Makefile builds 05a with pkg-config" \
    ${MAKE:-make} -C "$tmp/ex" CC="${CC:-cc}" CFLAGS="-g -O1 $(var SANITIZER_CFLAGS)" \
    LDFLAGS="$(var SANITIZER_LDFLAGS)" 05a-secure-channel-with-entity
if ! have vault-software noise policies; then
    n=$((n + 1)); echo "ok $n - 05a on the installed plugins # SKIP needs vault-software, noise, policies"
else
    result "05a built from the installed sources runs on the installed libveil and plugins" \
        run_05a "$tmp/ex/05a-secure-channel-with-entity" LD_LIBRARY_PATH="$libdir" \
        VEIL_PLUGIN_PATH="$plugindir"
fi
help05a() { env LD_LIBRARY_PATH="$libdir" "$tmp/ex/05a-secure-channel-with-entity" --help | grep -q '^usage: '; }
result "the installed 05a answers --help" help05a

if mk uninstall DESTDIR="$dest" >"$tmp/uninstall.log" 2>&1; then
    result "make uninstall" true
else
    n=$((n + 1)); echo "not ok $n - make uninstall"; show "$tmp/uninstall.log"; fails=$((fails + 1))
fi
left() { f=$(find "$dest" -type f); [ -z "$f" ] || { echo "$f"; return 1; }; }
result "make uninstall leaves no file" left
[ "$fails" -eq 0 ]
