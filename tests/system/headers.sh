#!/bin/sh
# Every public header (framework/include/veil/*.h) compiles alone (TAP):
#  - as C99:   $CC -std=c99 -pedantic -Wall -Wextra -Werror
#  - as C++11: $CXX -std=c++11 -pedantic -Wall -Wextra -Werror
# and declares its exported functions between VEIL_BEGIN_DECLS and
# VEIL_END_DECLS (extern "C" under C++).  A failure names the header and
# shows the compiler's first lines.  The C compiler is the one this tree
# was configured with; the C++ compiler is $CXX, else c++ / g++ / clang++
# (a build without one skips the C++ cases, saying so).
set -u
top_build=${VEIL_TOP_BUILDDIR:?VEIL_TOP_BUILDDIR must be set (run through make check)}
top_src=${VEIL_TOP_SRCDIR:?VEIL_TOP_SRCDIR must be set (run through make check)}
inc=$top_src/framework/include
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-headers.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM

cc=$(sed -n 's/^CC="\(.*\)"$/\1/p' "$top_build/libtool" | head -n 1)
cc=${cc:-cc}
cxx=${CXX:-}
if [ -z "$cxx" ]; then
    for c in c++ g++ clang++; do
        if command -v "$c" >/dev/null 2>&1; then cxx=$c; break; fi
    done
fi

headers=$(cd "$inc" && ls veil/*.h)
count=$(echo "$headers" | wc -l)
echo "1..$((count * 3 + 1))"
n=0
fails=0

# compile NAME HEADER COMPILER FLAGS...: one case.
compile() {
    name=$1 header=$2 ext=$3 compiler=$4
    shift 4
    n=$((n + 1))
    printf '#include <%s>\n' "$header" >"$tmp/t.$ext"
    # shellcheck disable=SC2086 # the compiler may carry its own flags
    if $compiler "$@" -I"$inc" -fsyntax-only "$tmp/t.$ext" >"$tmp/log" 2>&1; then
        echo "ok $n - $header compiles alone as $name"
    else
        echo "not ok $n - $header compiles alone as $name ($compiler $*)"
        head -n 20 "$tmp/log" | sed 's/^/# /'
        fails=$((fails + 1))
    fi
}

# Every line naming VEIL_EXPORT lies between VEIL_BEGIN_DECLS and
# VEIL_END_DECLS.
guarded() {
    n=$((n + 1))
    bad=$(awk '/^VEIL_BEGIN_DECLS/ { in_ = 1 } /^VEIL_END_DECLS/ { in_ = 0 }
               /VEIL_EXPORT/ && !in_ && !/#define/ { print FILENAME ":" FNR ": " $0 }' "$inc/$1")
    if [ -z "$bad" ]; then
        echo "ok $n - $1 declares its exported functions inside VEIL_BEGIN_DECLS/VEIL_END_DECLS"
    else
        echo "not ok $n - $1 declares exported functions outside VEIL_BEGIN_DECLS/VEIL_END_DECLS"
        echo "$bad" | sed 's/^/# /'
        fails=$((fails + 1))
    fi
}

for h in $headers; do
    compile "C99 -pedantic" "$h" c "$cc" -std=c99 -pedantic -Wall -Wextra -Werror
    if [ -n "$cxx" ]; then
        compile "C++11 -pedantic" "$h" cc "$cxx" -std=c++11 -pedantic -Wall -Wextra -Werror
    else
        n=$((n + 1))
        echo "ok $n - $h as C++ # SKIP no C++ compiler (set CXX, or apt-get install g++)"
    fi
    guarded "$h"
done
# The plugin ABI version in <veil/plugin.h> is the one docs/PLUGINS.md
# names as today's, and its "ABI history" has an entry for it.
n=$((n + 1))
major=$(sed -n 's/^#define VEIL_PLUGIN_ABI_MAJOR \([0-9]*\)u.*/\1/p' "$inc/veil/plugin.h")
minor=$(sed -n 's/^#define VEIL_PLUGIN_ABI_MINOR \([0-9]*\)u.*/\1/p' "$inc/veil/plugin.h")
doc=$top_src/docs/PLUGINS.md
if grep -q "today \*\*$major\.$minor\*\*" "$doc" &&
   sed -n '/^## ABI history/,/^## /p' "$doc" | grep -q "^\*\*$major\.$minor\*\*"; then
    echo "ok $n - plugin ABI $major.$minor: docs/PLUGINS.md names it today's and has its history entry"
else
    echo "not ok $n - plugin ABI $major.$minor (veil/plugin.h) is not docs/PLUGINS.md's \"today **X.Y**\" or lacks a \"## ABI history\" entry"
    fails=$((fails + 1))
fi
[ "$fails" -eq 0 ]
