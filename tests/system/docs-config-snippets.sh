#!/bin/sh
# Every configuration snippet of the documentation parses and names only
# known sections and keys (TAP; issue #16).  A snippet is a fenced block
# opened by "```ini" in README.md, docs/*.md or examples/*/README.md;
# docs_config_snippets parses each (errors name the document's
# file:line), opens the plugins it names and checks its sections.
#
# The check first proves it can fail: a scratch document with planted
# mistakes (a typo'd key, a typo'd section, text after a closing quote)
# must fail exactly those snippets, and a correct one must pass.
set -u
src=${VEIL_TOP_SRCDIR:?VEIL_TOP_SRCDIR must be set (run through make check)}
bin=${VEIL_TOP_BUILDDIR:?VEIL_TOP_BUILDDIR must be set}/tests/system/docs_config_snippets
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-snippets.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM

cat >"$tmp/planted.md" <<'DOC'
# planted
```ini
[node]
queue_size = 64k
```
text
```ini
[valut]
crypto = openssl   # a trailing comment is fine
```
```ini
[vault]
crypto = "openssl"x
```
```ini
[vault]
plugin = software   ; fine
crypto = sodium
```
DOC
"$bin" "$tmp/planted.md" >"$tmp/out" 2>&1
grep -v '^#' "$tmp/out" | sed 's/: snippet: .*//' >"$tmp/got"
cat >"$tmp/want" <<WANT
not ok 1 - $tmp/planted.md:2
not ok 2 - $tmp/planted.md:7
not ok 3 - $tmp/planted.md:11
ok 4 - $tmp/planted.md:15
1..4
WANT
n=1
if cmp -s "$tmp/want" "$tmp/got" &&
   grep -q "planted.md:4: unknown key 'queue_size' in \[node\]" "$tmp/out" &&
   grep -q "planted.md:8: unknown section \[valut\]; did you mean \[vault\]?" "$tmp/out" &&
   grep -q "planted.md:13: unexpected text 'x' after the closing quote" "$tmp/out"; then
    echo "ok $n - planted mistakes are found at their lines"
else
    echo "not ok $n - planted mistakes are found at their lines"
    sed 's/^/# /' "$tmp/out"
fi

# The real documents: the program's TAP lines, renumbered after ours.
set -- "$src/README.md" "$src"/docs/*.md "$src"/examples/*/README.md
"$bin" "$@" >"$tmp/docs" 2>&1
status=$?
while IFS= read -r line; do
    case $line in
        "ok "*|"not ok "*)
            n=$((n + 1))
            printf '%s\n' "$line" | sed "s/^\(not \)\{0,1\}ok [0-9]*/\1ok $n/" | sed "s|$src/||" ;;
        "#"*) printf '%s\n' "$line" ;;
    esac
done <"$tmp/docs"
if [ "$status" -ne 0 ] && ! grep -q '^not ok' "$tmp/docs"; then
    n=$((n + 1))
    echo "not ok $n - docs_config_snippets exited $status"
    sed 's/^/# /' "$tmp/docs"
fi
echo "1..$n"
