#!/bin/sh
# The layers of libveil (docs/ARCHITECTURE.md, "Layers"), checked (TAP):
#
#   channel   framework/channel/   secure channels     <veil/key_agreement.h>, <veil/secure_channel.h>
#   identity  framework/identity/  entities, trust     <veil/entity.h>, <veil/trust_policy.h>
#   core      framework/core/      runtime, codec, config, plugin host, vault wrapper
#                                                      every other <veil/*.h> but <veil/veil.h>
#
# A layer includes only headers of its own layer and of the layers below:
#  - core files include no identity or channel header, public or internal;
#  - identity files include no channel header;
#  - an upper layer reaches the core through its public headers and the two
#    internal headers meant for it, core/util.h and core/upper.h, never
#    through the runtime's private ones (runtime.h, pool.h, ...);
#  - public headers include no header of a layer above their own, and no
#    internal header; no framework file includes the umbrella <veil/veil.h>;
#  - a quoted include must name an existing framework header; the static
#    inline helpers of framework/common/ (found on the include path) are
#    below every layer.
# Each violation is reported as file:line.  When the build tree holds
# libveil's objects, the calls are checked too: no core object references
# a symbol an identity or channel object defines, no identity object one a
# channel object defines.
#
# The checks prove they can fail: they are run again on a scratch copy of
# framework/ with violations planted at known lines, and on a planted core
# object that calls into the identity layer, and must report exactly those.
set -u
src=${VEIL_TOP_SRCDIR:?VEIL_TOP_SRCDIR must be set (run through make check)}
build=${VEIL_TOP_BUILDDIR:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-layering.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM

show() { sed 's/^/# /' "$1"; }

# check_includes ROOT: ROOT holds a framework/ tree.  Prints one line per
# violation ("framework/...:LINE: why"); status 1 when there is any.
check_includes() (
    cd "$1" || exit 2
    headers=$(find framework/common framework/core framework/identity framework/channel -name '*.h' | tr '\n' ' ')
    files=$(find framework/core framework/identity framework/channel framework/include/veil \
                 -name '*.[ch]' | LC_ALL=C sort)
    # shellcheck disable=SC2086
    awk -v headers="$headers" '
    BEGIN {
        rank["common"] = -1; rank["core"] = 0; rank["identity"] = 1; rank["channel"] = 2; rank["umbrella"] = 3
        n = split("common error log address message access node codec config plugin vault transport", c, " ")
        for (i = 1; i <= n; i++) pub[c[i] ".h"] = "core"
        pub["entity.h"] = "identity"; pub["trust_policy.h"] = "identity"
        pub["key_agreement.h"] = "channel"; pub["secure_channel.h"] = "channel"
        pub["veil.h"] = "umbrella"
        for_upper["util.h"] = 1; for_upper["upper.h"] = 1
        n = split(headers, h, " ")
        for (i = 1; i <= n; i++) exists[h[i]] = 1
        bad = 0
    }
    function layer_of(path,   p) {
        if (path ~ /^framework\/include\/veil\//) {
            p = path; sub(/.*\//, "", p)
            return (p in pub) ? pub[p] : "unknown"
        }
        p = path; sub(/^framework\//, "", p); sub(/\/.*/, "", p)
        return p
    }
    function report(why) {
        printf "%s:%d: %s\n", FILENAME, FNR, why
        bad = 1
    }
    FNR == 1 {
        me = layer_of(FILENAME)
        dir = FILENAME; sub(/\/[^\/]*$/, "", dir)
        public = FILENAME ~ /^framework\/include\/veil\//
    }
    /^[ \t]*#[ \t]*include[ \t]*[<"]/ {
        line = $0
        sub(/^[ \t]*#[ \t]*include[ \t]*/, "", line)
        if (line ~ /^</) {
            name = line; sub(/^</, "", name); sub(/>.*/, "", name)
            if (name !~ /^veil\//) next          # system header
            base = name; sub(/^veil\//, "", base)
            if (!(base in pub)) { report("<" name "> is no public header of veil"); next }
            t = pub[base]
            if (t == "umbrella") { report("<veil/veil.h> includes every layer: name the headers needed"); next }
            if (rank[t] > rank[me])
                report(me " includes <" name ">, a header of the " t " layer above it")
            next
        }
        name = line; sub(/^"/, "", name); sub(/".*/, "", name)
        if (public) { report("a public header includes the internal header \"" name "\""); next }
        if (name ~ /\//) { path = "framework/" name; t = name; sub(/\/.*/, "", t) }
        else if (!((dir "/" name) in exists) && (("framework/common/" name) in exists)) {
            path = "framework/common/" name; t = "common"
        }
        else { path = dir "/" name; t = me }
        if (!(path in exists)) { report("\"" name "\" is no header of framework/core, identity or channel (" path ")"); next }
        base = path; sub(/.*\//, "", base)
        if (rank[t] > rank[me])
            report(me " includes \"" name "\", a header of the " t " layer above it")
        else if (t == "core" && me != "core" && !(base in for_upper))
            report(me " includes \"" name "\", private to the core (use the public API, core/util.h, core/upper.h)")
    }
    END { exit bad }
    ' $files
)

# check_symbols CORE_OBJS IDENTITY_OBJS CHANNEL_OBJS (directories of .o
# files): lower-layer objects must not reference symbols upper-layer
# objects define.  Prints "object: calls SYMBOL (defined in LAYER)".
check_symbols() (
    defs() { for o in "$1"/*.o; do nm -g --defined-only "$o" | awk '$2 ~ /^[TDBRCV]$/ {print $3}'; done | sort -u; }
    undefs() { for o in "$1"/*.o; do nm -u "$o" | awk -v o="$(basename "$o")" '{print o, $NF}'; done; }
    defs "$2" >"$tmp/def.identity"
    defs "$3" >"$tmp/def.channel"
    undefs "$1" | while read -r o s; do
        grep -qx "$s" "$tmp/def.identity" && echo "core object $o: calls $s (defined in the identity layer)"
        grep -qx "$s" "$tmp/def.channel" && echo "core object $o: calls $s (defined in the channel layer)"
    done >"$tmp/sym.out"
    undefs "$2" | while read -r o s; do
        grep -qx "$s" "$tmp/def.channel" && echo "identity object $o: calls $s (defined in the channel layer)"
    done >>"$tmp/sym.out"
    cat "$tmp/sym.out"
    [ ! -s "$tmp/sym.out" ]
)

echo "1..4"

# 1. The tree as it is.
if check_includes "$src" >"$tmp/real.out" 2>&1; then
    echo "ok 1 - no layer includes a header of a layer above it or the core's private headers"
else
    echo "not ok 1 - layering violations in the includes"
    show "$tmp/real.out"
fi

# 2. Planted violations, one per rule, at line 2 of real files.
mkdir -p "$tmp/copy" && cp -R "$src/framework" "$tmp/copy/"
plant() { sed -i "1a\\
$2" "$tmp/copy/framework/$1"; }
plant core/node.c '#include "channel/channel_internal.h"'
plant core/router.c '#include <veil/entity.h>'
plant identity/trust.c '#include <veil/secure_channel.h>'
plant channel/channel_data.c '#include "core/runtime.h"'
plant include/veil/node.h '#include <veil/trust_policy.h>'
plant include/veil/codec.h '#include "core/util.h"'
plant identity/entity.c '#include <veil/veil.h>'
plant channel/nonce.c '#include "core/nosuch.h"'
check_includes "$tmp/copy" >"$tmp/planted.out" 2>&1
status=$?
cut -d: -f1,2 "$tmp/planted.out" | LC_ALL=C sort >"$tmp/planted.got"
printf '%s\n' framework/channel/channel_data.c:2 framework/channel/nonce.c:2 \
    framework/core/node.c:2 framework/core/router.c:2 framework/identity/entity.c:2 \
    framework/identity/trust.c:2 framework/include/veil/codec.h:2 \
    framework/include/veil/node.h:2 >"$tmp/planted.want"
if [ "$status" -eq 1 ] && cmp -s "$tmp/planted.got" "$tmp/planted.want"; then
    echo "ok 2 - planted violations fail the check, each named by file:line"
else
    echo "not ok 2 - planted violations: status $status, reported:"
    show "$tmp/planted.out"
fi

# 3 and 4. Calls, from the objects libveil was linked from.
# PIC objects in .libs (shared builds), else the objects themselves.
objdir() {
    if ls "$build/framework/$1/.libs"/libveil_la-*.o >/dev/null 2>&1; then
        echo "$build/framework/$1/.libs"
    else
        echo "$build/framework/$1"
    fi
}
if [ -z "$build" ] || ! command -v nm >/dev/null 2>&1 ||
   ! ls "$(objdir core)"/libveil_la-*.o >/dev/null 2>&1; then
    echo "ok 3 # SKIP no libveil objects or no nm in this build"
    echo "ok 4 # SKIP no libveil objects or no nm in this build"
    exit 0
fi
for l in core identity channel; do
    mkdir -p "$tmp/obj/$l" && cp "$(objdir $l)"/libveil_la-*.o "$tmp/obj/$l/"
done
if check_symbols "$tmp/obj/core" "$tmp/obj/identity" "$tmp/obj/channel" >"$tmp/sym.real" 2>&1; then
    echo "ok 3 - no core object calls the identity or channel layer, no identity object the channel layer"
else
    echo "not ok 3 - calls into a layer above"
    show "$tmp/sym.real"
fi
printf 'extern void veil_entity_close(void *e);\nvoid veil_probe(void *e) { veil_entity_close(e); }\n' \
    >"$tmp/probe.c"
if ${CC:-cc} -c -o "$tmp/obj/core/probe.o" "$tmp/probe.c" 2>"$tmp/cc.out"; then
    check_symbols "$tmp/obj/core" "$tmp/obj/identity" "$tmp/obj/channel" >"$tmp/sym.planted" 2>&1
    status=$?
    if [ "$status" -ne 0 ] && grep -qx "core object probe.o: calls veil_entity_close (defined in the identity layer)" \
           "$tmp/sym.planted" && [ "$(wc -l <"$tmp/sym.planted")" -eq 1 ]; then
        echo "ok 4 - a planted core object calling the identity layer fails the check, named"
    else
        echo "not ok 4 - planted call: status $status, reported:"
        show "$tmp/sym.planted"
    fi
else
    echo "ok 4 # SKIP no C compiler to plant an object with"
    show "$tmp/cc.out"
fi
