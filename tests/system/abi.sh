#!/bin/sh
# abi/abi.sh, the tool behind `make abi-check` / `make abi-update`, on a
# small library built here in four versions (TAP): against the baseline of
# version 1, a function added passes, a struct changed incompatibly fails
# naming the soname, the same change with the soname bumped passes.  (The
# real check of libveil against abi/libveil.abi is `make abi-check`, a CI
# step: .ci/run.)  Skipped without abigail-tools.
set -u
top_build=${VEIL_TOP_BUILDDIR:?VEIL_TOP_BUILDDIR must be set (run through make check)}
top_src=${VEIL_TOP_SRCDIR:?VEIL_TOP_SRCDIR must be set (run through make check)}
echo "1..4"
if ! command -v abidw >/dev/null 2>&1 || ! command -v abidiff >/dev/null 2>&1; then
    for i in 1 2 3 4; do echo "ok $i # SKIP abigail-tools not installed (apt-get install abigail-tools)"; done
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-abi.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM
cc=$(sed -n 's/^CC="\(.*\)"$/\1/p' "$top_build/libtool" | head -n 1)
mkdir "$tmp/inc"
printf 'T_0 { global: t_*; local: *; };\n' >"$tmp/map"

# lib VERSION SONAME STRUCT_BODY [EXTRA_FUNCTION]: build libt VERSION.
lib() {
    decl='' def=''
    if [ -n "${4:-}" ]; then decl="int $4(void);" def="int $4(void) { return 1; }"; fi
    printf 'struct t_s { %s };\nint t_get(const struct t_s *s);\n%s\n' "$3" "$decl" >"$tmp/inc/t.h"
    printf '#include "t.h"\nint t_get(const struct t_s *s) { return s->a; }\n%s\n' "$def" \
        >"$tmp/t$1.c"
    # shellcheck disable=SC2086 # the compiler may carry its own flags
    $cc -g -O0 -fPIC -shared -I"$tmp/inc" -Wl,-soname,"$2" -Wl,--version-script="$tmp/map" \
        -o "$tmp/libt$1.so" "$tmp/t$1.c" || { echo "Bail out! cannot build libt$1"; exit 1; }
}
abi() { sh "$top_src/abi/abi.sh" "$1" "$tmp/base.abi" "$tmp/libt$2.so" "$tmp/inc" >"$tmp/out" 2>&1; }
n=0
fails=0
# expect STATUS WORD DESCRIPTION: the last abi() gave STATUS, printed WORD.
expect() {
    st=$1
    n=$((n + 1))
    if [ "$st" -eq "$2" ] && grep -q "$3" "$tmp/out"; then echo "ok $n - $4"
    else echo "not ok $n - $4 (status $st, want $2 and '$3')"; sed 's/^/# /' "$tmp/out"; fails=$((fails + 1)); fi
}
lib 1 libt.so.1 'int a;'
abi update 1; expect $? 0 "stored" "abi-update stores the baseline"
lib 2 libt.so.1 'int a;' t_added
abi check 2; expect $? 0 "compatible change" "a function added: passes (compatible change)"
lib 3 libt.so.1 'long x; int a;'
abi check 3; expect $? 1 "FAIL: incompatible ABI change with the same soname libt.so.1" \
    "a struct changed, same soname: fails"
lib 4 libt.so.2 'long x; int a;'
abi check 4; expect $? 0 "soname bumped (libt.so.1 -> libt.so.2)" \
    "the same change with the soname bumped: passes"
[ "$fails" -eq 0 ]
