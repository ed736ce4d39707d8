# Sourced by install.sh and reprefix.sh: TAP cases from shell functions.
# Needs $tmp (a scratch directory); counts in $n and $fails.
n=0
fails=0
# show FILE: its last lines as TAP comments.
show() { sed 's/^/# /' "$1" | tail -n 30; }
# result DESCRIPTION COMMAND...: one case, ok when COMMAND succeeds (its
# output is shown when it fails).
result() {
    what=$1; shift
    n=$((n + 1))
    if "$@" >"$tmp/case.log" 2>&1; then echo "ok $n - $what"
    else echo "not ok $n - $what"; show "$tmp/case.log"; fails=$((fails + 1)); fi
}
# no_plugin_la DIR: no .la file in the installed plugin directory DIR.
no_plugin_la() { la=$(find "$1" -name '*.la'); [ -z "$la" ] || { echo "installed: $la"; return 1; }; }
# run_05a PROGRAM ENV...: the example prints exactly its contract line.
run_05a() {
    prog=$1; shift
    out=$(env -u VEIL_CONF "$@" "$prog") || return 1
    echo "$out"; [ "$out" = "App Received: Hello Ockam!" ]
}
