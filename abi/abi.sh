#!/bin/sh
# libveil's ABI against the stored baseline abi/libveil.abi (abigail-tools;
# docs/PACKAGING.md, "ABI").  Run through make:
#   make abi-check    fail on an incompatible change without an soname bump
#   make abi-update   store the built library's ABI as the new baseline
# Usage: abi.sh check|update BASELINE LIBRARY HEADERS_DIR
set -u
mode=${1:?usage: abi.sh check|update BASELINE LIBRARY HEADERS_DIR}
baseline=${2:?baseline} lib=${3:?library} headers=${4:?headers dir}
for tool in abidw abidiff; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "abi: $tool not found (apt-get install abigail-tools)" >&2; exit 1; }
done
[ -f "$lib" ] || { echo "abi: $lib not built (make first)" >&2; exit 1; }

# The ABI as abidw sees it: public types only (those in HEADERS_DIR), no
# paths or locations, so the file depends on the library and not on where
# it was built.
dump() {
    abidw --headers-dir "$headers" --drop-private-types --no-corpus-path --no-comp-dir-path \
        --no-show-locs --type-id-style hash --out-file "$2" "$1"
}
soname() { sed -n "s/.*<abi-corpus .*soname='\([^']*\)'.*/\1/p" "$1" | head -n 1; }
arch() { sed -n "s/.*<abi-corpus .*architecture='\([^']*\)'.*/\1/p" "$1" | head -n 1; }

case $mode in
update)
    dump "$lib" "$baseline" || exit 1
    echo "abi: stored the ABI of $lib ($(soname "$baseline"), $(arch "$baseline")) in $baseline"
    ;;
check)
    [ -f "$baseline" ] || { echo "abi: no baseline $baseline (make abi-update)" >&2; exit 1; }
    tmp=$(mktemp "${TMPDIR:-/tmp}/veil-abi.XXXXXX") || exit 1
    trap 'rm -f "$tmp"' EXIT INT TERM
    dump "$lib" "$tmp" || exit 1
    if [ "$(arch "$tmp")" != "$(arch "$baseline")" ]; then
        echo "abi: SKIP: the baseline is for $(arch "$baseline"), this build is $(arch "$tmp")"
        exit 0
    fi
    old=$(soname "$baseline") new=$(soname "$tmp")
    # abidiff's status is a bit field: 1 error, 2 usage, 4 ABI change,
    # 8 incompatible change.  Bit 8 is only for removals: a struct whose
    # layout changed is "4" as well, so any change but added functions and
    # variables (--no-added-syms) counts as incompatible here.
    abidiff --no-show-locs --no-added-syms "$baseline" "$tmp"
    status=$?
    abidiff --no-show-locs "$baseline" "$tmp" >/dev/null 2>&1
    all=$?
    if [ $((status & 3)) -ne 0 ] || [ $((all & 3)) -ne 0 ]; then
        echo "abi: abidiff failed (status $status)" >&2; exit 1
    elif [ $((status & 12)) -ne 0 ] && [ "$old" = "$new" ]; then
        echo "abi: FAIL: incompatible ABI change with the same soname $new (above)." >&2
        echo "abi: keep the old ABI, or bump the soname (configure.ac LIBVEIL_VERSION_INFO)" >&2
        echo "abi: and store the new baseline with 'make abi-update' (docs/PACKAGING.md)." >&2
        exit 1
    elif [ $((status & 12)) -ne 0 ]; then
        echo "abi: incompatible change, soname bumped ($old -> $new): store it with 'make abi-update'"
    elif [ $((all & 4)) -ne 0 ]; then
        echo "abi: compatible change ($new): additions only:"
        abidiff --no-show-locs "$baseline" "$tmp" | sed -n 's/^  \[A\] /  added: /p'
    else
        echo "abi: no change ($new)"
    fi
    ;;
*) echo "usage: abi.sh check|update BASELINE LIBRARY HEADERS_DIR" >&2; exit 2 ;;
esac
