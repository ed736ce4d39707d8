#!/bin/sh
# Custom trust policy plugin, end to end (TAP):
#  1. install this build of veil into a temporary DESTDIR (as a non-root
#     user can, also under make distcheck);
#  2. build examples/custom-policy/ out of tree with its own Makefile, which
#     sees veil only through pkg-config;
#  3. load the plugin by absolute path through a configuration file from
#     tests/system/custom_policy_check (linked against the build-tree libveil) and
#     show allow / deny / reload.
set -u
top_build=${VEIL_TOP_BUILDDIR:?VEIL_TOP_BUILDDIR must be set (run through make check)}
top_src=${VEIL_TOP_SRCDIR:?VEIL_TOP_SRCDIR must be set (run through make check)}

echo "1..10"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-custom-policy.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM

show() { sed 's/^/# /' "$1" | tail -n 40; }

if ${MAKE:-make} -C "$top_build" install DESTDIR="$tmp/dest" >"$tmp/install.log" 2>&1; then
    echo "ok - make install DESTDIR=<tmp> (veil installed into a temporary root)"
else
    echo "not ok - make install DESTDIR=<tmp>"; show "$tmp/install.log"
    echo "Bail out! cannot install"; exit 1
fi

pc=$(find "$tmp/dest" -name veil.pc -path '*/pkgconfig/*' | head -n 1)
PKG_CONFIG_PATH=$(dirname "${pc:-/nonexistent/x}")
PKG_CONFIG_SYSROOT_DIR="$tmp/dest"
PKG_CONFIG_LIBDIR="$PKG_CONFIG_PATH"    # only the freshly installed veil
PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1        # keep -I/-L even for a /usr prefix
PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR \
    PKG_CONFIG_ALLOW_SYSTEM_CFLAGS PKG_CONFIG_ALLOW_SYSTEM_LIBS
cflags=$(pkg-config --cflags veil 2>&1)
case "$cflags" in
    *"$tmp/dest"*) echo "ok - pkg-config finds the installed veil ($cflags)" ;;
    *) echo "not ok - pkg-config finds the installed veil: '$cflags'" ;;
esac

# The compiler this tree was configured with (libtool records it).
CC=$(sed -n 's/^CC="\(.*\)"$/\1/p' "$top_build/libtool" | head -n 1)
mkdir -p "$tmp/custom"
cp "$top_src/examples/custom-policy/allowfile.c" "$top_src/examples/custom-policy/Makefile" "$tmp/custom/"
chmod u+w "$tmp/custom/"*
if ${MAKE:-make} -C "$tmp/custom" CC="${CC:-cc}" >"$tmp/build.log" 2>&1 && [ -f "$tmp/custom/allowfile.so" ]; then
    echo "ok - the example's own Makefile builds allowfile.so out of tree"
else
    echo "not ok - the example's own Makefile builds allowfile.so out of tree"; show "$tmp/build.log"
    echo "Bail out! no plugin"; exit 1
fi

exported=$(nm -D --defined-only "$tmp/custom/allowfile.so" | awk '$2 == "T" { print $3 }' | tr '\n' ' ')
if [ "$exported" = "veil_plugin_entry " ]; then
    echo "ok - the plugin exports only veil_plugin_entry"
else
    echo "not ok - the plugin exports only veil_plugin_entry (exports: $exported)"
fi

"$top_build/tests/system/custom_policy_check" "$tmp/custom/allowfile.so" "$tmp"
