#!/bin/sh
# Every veil_ identifier the documentation shows as code exists (TAP).
#
# Read: README.md, docs/*.md, examples/*/README.md.  Code there is what
# sits between backticks on one line, in a fenced block (``` or ~~~) or in
# an indented block (four spaces or a tab, after a blank line).  Every
# identifier veil_[a-z0-9_]+ in it must occur in the code (comments and
# string literals removed) of framework/ (public headers and libveil's
# own sources), plugins/, vaults/ or policies/: a function, type, macro,
# struct member or configuration name there.  A name ending in "_" (as in
# `veil_vault_*`) is a prefix: some identifier must start with it.
# Each miss is reported as file:line and the identifier.
#
# Intentional mentions of names that no longer exist (the ABI history of
# docs/PLUGINS.md, "what was renamed") are allowed one file at a time by
# the list below ("file identifier"); an entry whose identifier exists
# again, or whose file no longer mentions it, fails the run too, so the
# list cannot rot.
#
# The check proves it can fail: it runs again on a scratch copy of the
# documents with unknown identifiers planted at known lines (inline code,
# a fenced block, an indented block) and one in plain prose, which is no
# code and must not be reported; exactly the planted code lines must be.
# shellcheck disable=SC2016 # backticks in single quotes are Markdown's, literal
set -u
src=${VEIL_TOP_SRCDIR:?VEIL_TOP_SRCDIR must be set (run through make check)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-docids.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM

show() { sed 's/^/# /' "$1"; }

allowed() {
    cat <<'EOF'
docs/PLUGINS.md veil_host_services
docs/PLUGINS.md veil_host_services_get
docs/PLUGINS.md veil_prekey_directory_start
EOF
}

# defined SRCROOT: every veil_ identifier in the C code under SRCROOT,
# comments and string or character literals removed; one per line.
defined() (
    cd "$1" || exit 2
    find framework plugins vaults policies -name '*.[ch]' | LC_ALL=C sort |
    xargs awk '
    FNR == 1 { incomment = 0 }
    {
        line = $0; out = ""; i = 1; n = length(line)
        while (i <= n) {
            c = substr(line, i, 1); d = substr(line, i, 2)
            if (incomment) {
                if (d == "*/") { incomment = 0; i += 2 } else i++
                continue
            }
            if (d == "/*") { incomment = 1; out = out " "; i += 2; continue }
            if (d == "//") break
            if (c == "\"" || c == "'\''") {
                q = c; i++
                while (i <= n && substr(line, i, 1) != q) i += substr(line, i, 1) == "\\" ? 2 : 1
                out = out " "; i++
                continue
            }
            out = out c; i++
        }
        print out
    }' | tr -c 'A-Za-z0-9_' '\n' | grep '^veil_[a-z0-9_]*$' | LC_ALL=C sort -u
)

# mentions DOCROOT: "file:line identifier" for every veil_ identifier in
# code of the documents under DOCROOT.
mentions() (
    cd "$1" || exit 2
    files=$(ls README.md docs/*.md examples/*/README.md 2>/dev/null)
    # shellcheck disable=SC2086
    awk '
    function emit(text,   t, k, m) {
        m = split(text, t, /[^A-Za-z0-9_]+/)
        for (k = 1; k <= m; k++)
            if (t[k] ~ /^veil_[a-z0-9_]+$/) print FILENAME ":" FNR " " t[k]
    }
    FNR == 1 { fence = ""; blank = 1; indented = 0 }
    {
        if (fence != "") {
            if (substr($0, 1, 3) == fence) fence = ""; else emit($0)
            next
        }
        if ($0 ~ /^ *(```|~~~)/) { sub(/^ */, ""); fence = substr($0, 1, 3); next }
        if ($0 ~ /^[ \t]*$/) { blank = 1; next }
        if ((blank || indented) && $0 ~ /^(    |\t)/) { indented = 1; blank = 0; emit($0); next }
        indented = 0; blank = 0
        n = split($0, part, "`")
        for (j = 2; j < n; j += 2) emit(part[j])   # a closed span: part j, j+2, ...
    }' $files
)

# check DOCROOT SRCROOT: prints "file:line: `id` ..." per miss; status 1
# when there is any.
check() {
    defined "$2" >"$tmp/defs" || return 2
    mentions "$1" >"$tmp/mentions" || return 2
    allowed >"$tmp/allow"
    awk -v defs="$tmp/defs" -v allow="$tmp/allow" '
    BEGIN {
        while ((getline d < defs) > 0) def[d] = 1
        while ((getline a < allow) > 0) { split(a, f, " "); ok[f[1] " " f[2]] = 1 }
        bad = 0
    }
    function known(id,   d) {
        if (id in def) return 1
        if (id !~ /_$/) return 0
        for (d in def) if (index(d, id) == 1) return 1
        return 0
    }
    {
        file = $1; sub(/:[0-9]+$/, "", file)
        if (known($2)) next
        if ((file " " $2) in ok) { used[file " " $2] = 1; next }
        printf "%s: `%s` is defined nowhere in framework/, plugins/, vaults/, policies/\n", $1, $2
        bad = 1
    }
    END {
        for (k in ok) {
            split(k, f, " ")
            if (known(f[2])) { printf "%s: allow-list entry `%s` is defined again: drop it\n", f[1], f[2]; bad = 1 }
            else if (!(k in used)) { printf "%s: allow-list entry `%s` is no longer mentioned: drop it\n", f[1], f[2]; bad = 1 }
        }
        exit bad
    }' "$tmp/mentions"
}

echo "1..2"

# 1. The documents as they are.
if check "$src" "$src" >"$tmp/real.out" 2>&1; then
    echo "ok 1 - every veil_ identifier shown as code in the documentation exists"
else
    echo "not ok 1 - the documentation names identifiers that do not exist"
    show "$tmp/real.out"
fi

# 2. Planted unknown identifiers, at line 2 of real documents.
mkdir -p "$tmp/copy/docs" "$tmp/copy/examples"
cp "$src/README.md" "$tmp/copy/"
cp "$src"/docs/*.md "$tmp/copy/docs/"
for d in "$src"/examples/*/; do
    [ -f "$d/README.md" ] || continue
    mkdir -p "$tmp/copy/examples/$(basename "$d")"
    cp "$d/README.md" "$tmp/copy/examples/$(basename "$d")/"
done
plant() { sed -i "1a\\
$2" "$tmp/copy/$1"; }
plant README.md 'Call `veil_planted_inline(node)` first.'
plant docs/CONFIG.md '```\nveil_planted_fenced();\n```'
plant docs/PROTOCOL.md '\n    veil_planted_indented(x);\n'
plant docs/PLUGINS.md 'In prose veil_planted_prose is no code.'
check "$tmp/copy" "$src" >"$tmp/planted.out" 2>&1
status=$?
sed 's/: .*`\(veil_[a-z0-9_]*\)`.*/ \1/' "$tmp/planted.out" | LC_ALL=C sort >"$tmp/planted.got"
printf '%s\n' "README.md:2 veil_planted_inline" "docs/CONFIG.md:3 veil_planted_fenced" \
    "docs/PROTOCOL.md:3 veil_planted_indented" | LC_ALL=C sort >"$tmp/planted.want"
if [ "$status" -eq 1 ] && cmp -s "$tmp/planted.got" "$tmp/planted.want"; then
    echo "ok 2 - planted unknown identifiers in code are reported by file:line, prose is not"
else
    echo "not ok 2 - planted identifiers: status $status, reported:"
    show "$tmp/planted.out"
fi
