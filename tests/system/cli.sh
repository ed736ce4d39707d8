#!/bin/sh
# The veil command (docs/CLI.md, man/veil.1): every subcommand's happy path
# and its errors, asserting the exit status and the exact message.  Test
# vaults use kdf_n = 1024, kdf_r = 1 (a config's kdf_* keys) to stay fast.
# Speaks TAP.
set -u
top=${VEIL_TOP_BUILDDIR:-.}
. "${VEIL_TOP_SRCDIR:-.}/tests/system/features.sh"
veil=$top/veil
tmp=${TMPDIR:-/tmp}/veil-cli.$$
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT
unset VEIL_CONF
VEIL_LOG=error
export VEIL_LOG
if ! have vault-file; then
    echo "1..0 # SKIP the file vault is configured out (--disable-vault-file)"
    exit 0
fi
n=0
fails=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }

# run STATUS STDERR CMD...: run CMD (stdout in $tmp/out, stderr in
# $tmp/err); the test passes when the exit status is STATUS and stderr is
# exactly STDERR (a line, or several separated by \n).
run() {
    want_status=$1
    want_err=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
    printf '%b\n' "$want_err" >"$tmp/want"
    [ -z "$want_err" ] && : >"$tmp/want"
    desc="veil ${*#"$veil"}"
    desc=$(echo "$desc" | sed "s#$tmp#T#g; s#$veil ##; s#\(a\{16\}\)a*#\1...#g")
    if [ "$status" -ne "$want_status" ]; then
        not_ok "$desc: exit $want_status (got $status)"
        sed 's/^/# stderr: /' "$tmp/err"
    elif ! cmp -s "$tmp/want" "$tmp/err"; then
        not_ok "$desc: exit $want_status and the exact message"
        diff "$tmp/want" "$tmp/err" | sed 's/^/# /'
    else
        ok "$desc: exit $want_status"
    fi
}

# check DESC CONDITION...: one more assertion.
check() {
    desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

out_has() { grep -qxE "$1" "$tmp/out"; }

conf() { # conf NAME: a file vault config for $tmp/NAME.vault, passphrase in $PW
    printf '[vault]\nplugin = file\npath = %s/%s.vault\nkdf_n = 1024\nkdf_r = 1\npassphrase_env = PW\n' \
        "$tmp" "$1" >"$tmp/$1.conf"
}
PW='correct horse'
export PW
conf a
conf b

# ---- the program itself ----------------------------------------------------
run 0 "" "$veil" --version
check "--version prints the version" out_has 'veil [0-9]+\.[0-9]+\.[0-9]+'
run 0 "" "$veil" --help
check "--help lists every command" sh -c "grep -cE '^  (identity|vault|config) +[a-z]+ ' '$tmp/out' | grep -qx 8"
for c in "identity create" "identity show" "identity rotate" "identity export" \
         "identity import" "vault create" "vault show" "config check"; do
    # shellcheck disable=SC2086
    run 0 "" "$veil" $c --help
    check "veil $c --help prints its usage" out_has "Usage: veil $c .*"
done
run 2 "veil: unknown command 'frob'\nTry 'veil --help'." "$veil" frob
run 2 "veil: unknown option '--frob'\nTry 'veil --help'." "$veil" --frob
run 0 "" "$veil" identity --help
check "veil identity --help lists its commands" sh -c "grep -cE '^  (create|show|rotate|export|import) ' '$tmp/out' | grep -qx 5"
run 2 "veil: vault: missing command\nTry 'veil vault --help'." "$veil" vault
run 2 "veil: identity: unknown command 'frob'\nTry 'veil identity --help'." "$veil" identity frob
run 2 "veil: identity show: unknown option '--frob'\nTry 'veil identity show --help'." \
    "$veil" identity show --vault "$tmp/a.vault" --frob
run 2 "veil: identity show: unknown option '-o'\nTry 'veil identity show --help'." \
    "$veil" identity show --vault "$tmp/a.vault" -o x
run 2 "veil: identity show: option '--name' needs a value\nTry 'veil identity show --help'." \
    "$veil" identity show --vault "$tmp/a.vault" --name
run 2 "veil: identity show: no vault: give --vault PATH or -c CONFIG\nTry 'veil identity show --help'." \
    "$veil" identity show
run 2 "veil: vault show: give -c CONFIG or --vault PATH, not both\nTry 'veil vault show --help'." \
    "$veil" vault show -c "$tmp/a.conf" --vault "$tmp/a.vault"
run 2 "veil: identity import: missing argument FILE\nTry 'veil identity import --help'." \
    "$veil" identity import --vault "$tmp/a.vault"
run 2 "veil: vault show: give --passphrase-env or --passphrase-fd, not both\nTry 'veil vault show --help'." \
    "$veil" vault show --vault "$tmp/a.vault" --passphrase-env PW --passphrase-fd 0
run 2 "veil: vault show: --passphrase-fd 'x' is not a file descriptor number\nTry 'veil vault show --help'." \
    "$veil" vault show --vault "$tmp/a.vault" --passphrase-fd x

# ---- vault create / show, passphrase sources -------------------------------
run 1 "veil: vault show: opening vault 'file': vault file $tmp/a.vault does not exist (create = no)" \
    "$veil" vault show -c "$tmp/a.conf"
check "a missing vault is not created" test ! -e "$tmp/a.vault"
run 0 "" "$veil" vault create -c "$tmp/a.conf"
check "vault create says what it made" out_has "created vault file $tmp/a.vault \(crypto openssl\)"
check "the vault file is 0600" sh -c "stat -c %a '$tmp/a.vault' | grep -qx 600"
run 1 "veil: vault create: opening vault 'file': vault file $tmp/a.vault already exists (create = new)" \
    "$veil" vault create -c "$tmp/a.conf"
run 0 "" "$veil" vault create -c "$tmp/b.conf"
run 0 "" "$veil" vault show --vault "$tmp/a.vault" --passphrase-env PW
check "vault show of an empty vault" sh -c "printf 'vault:      file %s\ncrypto:     openssl\nidentities: 0\ncontacts:   0\n' '$tmp/a.vault' | cmp -s - '$tmp/out'"
run 1 "veil: vault show: opening vault 'file': vault file $tmp/a.vault: wrong passphrase, or the file was modified (the sealed body does not verify)" \
    env WRONG=nope "$veil" vault show --vault "$tmp/a.vault" --passphrase-env WRONG
run 1 "veil: vault show: --passphrase-env NOPE: no such variable in the environment" \
    "$veil" vault show --vault "$tmp/a.vault" --passphrase-env NOPE
run 0 "" sh -c "'$veil' vault show --vault '$tmp/a.vault' --passphrase-fd 3 3<<EOF
$PW
EOF"
check "--passphrase-fd opens the vault" out_has 'identities: 0'
run 1 "veil: vault show: opening vault 'file': vault file $tmp/a.vault: wrong passphrase, or the file was modified (the sealed body does not verify)" \
    sh -c "echo wrong | '$veil' vault show --vault '$tmp/a.vault' --passphrase-fd 0"
run 1 "veil: vault show: opening vault 'file': set by program: passphrase_fd 7: Bad file descriptor" \
    "$veil" vault show --vault "$tmp/a.vault" --passphrase-fd 7
# No passphrase source and no terminal: no prompt possible.
if command -v setsid >/dev/null 2>&1; then
    run 1 "veil: vault show: no terminal to prompt for the passphrase on (/dev/tty: No such device or address); give --passphrase-env NAME or --passphrase-fd N" \
        setsid -w "$veil" vault show --vault "$tmp/a.vault"
    # Before any prompt: a file that is missing, or there already.
    run 1 "veil: vault show: vault file $tmp/none.vault does not exist" \
        setsid -w "$veil" vault show --vault "$tmp/none.vault"
    run 1 "veil: vault create: vault file $tmp/a.vault already exists" \
        setsid -w "$veil" vault create --vault "$tmp/a.vault"
else
    for i in 1 2 3; do ok "# SKIP no setsid"; done
fi
# The prompt on a terminal (script(1) gives it one): asked twice with echo
# off, the vault opens with the same passphrase from elsewhere.
if command -v script >/dev/null 2>&1; then
    printf '[vault]\nplugin = file\npath = %s/p.vault\nkdf_n = 1024\nkdf_r = 1\n' "$tmp" >"$tmp/p.conf"
    : >"$tmp/pty"
    (
        for prompt in 'New passphrase' 'Repeat it'; do
            i=0
            while ! grep -q "$prompt" "$tmp/pty" && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
            printf 'typed secret\n'
        done
        sleep 1
    ) | script -qec "'$veil' vault create -c '$tmp/p.conf'" /dev/null >"$tmp/pty" 2>&1
    check "the prompt asks twice and does not echo" sh -c "tr -d '\r' <'$tmp/pty' | cmp -s - /dev/stdin <<EOF
New passphrase for vault file $tmp/p.vault: 
Repeat it: 
created vault file $tmp/p.vault (crypto openssl)
EOF"
    run 0 "" env PP='typed secret' "$veil" vault show --vault "$tmp/p.vault" --passphrase-env PP
else
    ok "# SKIP no script(1)"
    ok "# SKIP no script(1)"
fi
printf '[vault]\ncrypto = openssl\n' >"$tmp/soft.conf"
run 1 "veil: identity show: [vault] uses plugin 'software', which keeps nothing once the command ends; use a file vault (--vault PATH, or plugin = file in [vault])" \
    "$veil" identity show -c "$tmp/soft.conf"

# The identity and vault commands read [vault] and [identity] only: a
# listener or a plugin named elsewhere in the file is not started for them.
cat "$tmp/a.conf" >"$tmp/full.conf"
printf '[transport.tcp]\nlisten = 256.0.0.1:1\n[key_agreement]\nplugin = nosuch\n' >>"$tmp/full.conf"
run 0 "" "$veil" vault show -c "$tmp/full.conf"
check "... which config check reads" sh -c "! '$veil' config check '$tmp/full.conf' >/dev/null 2>&1"
# ---- identity create / rotate / show ---------------------------------------
run 1 "veil: identity show: no identity named 'default' in vault $tmp/a.vault (make one with 'veil identity create')" \
    "$veil" identity show -c "$tmp/a.conf"
run 0 "" "$veil" identity create -c "$tmp/a.conf"
check "identity create prints the identifier" out_has 'P[0-9a-f]{64}'
id_a=$(cat "$tmp/out")
run 1 "veil: identity create: vault $tmp/a.vault already holds an identity named 'default'" \
    "$veil" identity create -c "$tmp/a.conf"
run 0 "" "$veil" identity create -c "$tmp/b.conf" --name bob
id_b=$(cat "$tmp/out")
run 0 "" "$veil" identity export -c "$tmp/a.conf" -o "$tmp/a-1.export"
run 0 "" "$veil" identity rotate -c "$tmp/a.conf"
check "rotate keeps the identifier, prints the new key" out_has "$id_a [0-9a-f]{64}"
key_a=$(cut -d' ' -f2 "$tmp/out")
run 0 "" "$veil" identity show --vault "$tmp/a.vault" --passphrase-env PW
iso='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
check "show: identifier" out_has "identifier: $id_a"
check "show: current key" out_has "key:        $key_a \(Ed25519\)"
check "show: vault plugin and path" out_has "vault:      file $tmp/a.vault \(crypto openssl\)"
check "show: 2 events after a rotation" out_has 'history:    2 events'
check "show: the create event with UTC times" out_has "  0 create key [0-9a-f]{64} \(Ed25519\) created $iso expires $iso"
check "show: the rotate event carries the current key" out_has "  1 rotate key $key_a \(Ed25519\) created $iso expires $iso"
check "show: where the identity key lives" out_has "key at:     file vault \(openssl, software\), file $tmp/a.vault \(Ed25519, in software\)"
check "show: where the static key lives" out_has "static key: file vault \(openssl, software\), file $tmp/a.vault \(X25519, in software\)"
run 0 "" "$veil" vault show -c "$tmp/a.conf"
check "vault show: the identity" out_has "  default $id_a events 2"
check "vault show: where its keys live" sh -c "grep -qxE '    key at:     file vault \(openssl, software\), file $tmp/a.vault \(Ed25519, in software\)' '$tmp/out' && grep -qxE '    static key: file vault \(openssl, software\), file $tmp/a.vault \(X25519, in software\)' '$tmp/out'"

# [identity] key_type = p256: an ECDSA P-256 identity, shown as such.
conf p2
printf '[identity]\nkey_type = p256\n' >>"$tmp/p2.conf"
run 0 "" sh -c "'$veil' vault create -c '$tmp/p2.conf' >/dev/null && '$veil' identity create -c '$tmp/p2.conf' >/dev/null && '$veil' identity show -c '$tmp/p2.conf'"
check "show: a P-256 key (33 bytes, compressed)" out_has "key:        0[23][0-9a-f]{64} \(ECDSA P-256\)"
check "show: the P-256 create event" out_has "  0 create key 0[23][0-9a-f]{64} \(ECDSA P-256\) created $iso expires $iso"
check "show: where the P-256 key lives" out_has "key at:     file vault \(openssl, software\), file $tmp/p2.vault \(ECDSA P-256, in software\)"
sed 's/^key_type = p256$/key_type = ed448/' "$tmp/p2.conf" >"$tmp/p3.conf"
run 1 "veil: identity show: $tmp/p3.conf:8: [identity] key_type 'ed448' is not known (expected ed25519 or p256)" \
    "$veil" identity show -c "$tmp/p3.conf"

# An identity in a SoftHSM2 token: the key's place names the token, the
# key's label and CKA_ID, and the module.
if have vault-pkcs11 && . "${VEIL_TOP_SRCDIR:-.}/tests/system/softhsm-lib.sh" &&
   softhsm_token "$tmp/hsm" veil-cli; then
    printf '[vault]\nplugin = pkcs11\nmodule = %s\ntoken_label = veil-cli\npin_env = VEIL_TEST_PIN\n[identity]\nkey_type = p256\n' \
        "$softhsm" >"$tmp/hsm.conf"
    run 0 "" sh -c "'$veil' identity create -c '$tmp/hsm.conf' >/dev/null && '$veil' identity show -c '$tmp/hsm.conf'"
    check "show: a P-256 key in the token" out_has "key at:     pkcs11 token 'veil-cli' \(serial [0-9a-f]+\), key 'veil.entity.default.key.0' \(CKA_ID [0-9a-f]{32}\), module $softhsm \(ECDSA P-256, in a token\)"
    check "show: its static key in software" out_has "static key: pkcs11 vault's software half \(openssl\), in memory \(X25519, in software\)"
    check "show: the token vault has no path" out_has "vault:      pkcs11 - \(crypto openssl\)"
    run 0 "" "$veil" vault show -c "$tmp/hsm.conf"
    check "vault show: the token's identity and where its key lives" out_has "    key at:     pkcs11 token 'veil-cli' \(serial [0-9a-f]+\), key 'veil.entity.default.key.0' \(CKA_ID [0-9a-f]{32}\), module $softhsm \(ECDSA P-256, in a token\)"
else
    ok "# SKIP no SoftHSM2 token (pkcs11 vault configured out, or softhsm2 not installed)"
fi

# [identity] key_lifetime = 0: keys without an expiry of their own.
conf n
printf '[identity]\nkey_lifetime = 0\n' >>"$tmp/n.conf"
run 0 "" sh -c "'$veil' vault create -c '$tmp/n.conf' >/dev/null && '$veil' identity create -c '$tmp/n.conf' >/dev/null && '$veil' identity show -c '$tmp/n.conf'"
check "show: a key without expiry says never" out_has "  0 create key [0-9a-f]{64} \(Ed25519\) created $iso expires never"
if [ -w /dev/full ]; then
    run 1 "veil: identity show: writing standard output: No space left on device" \
        sh -c "'$veil' identity show -c '$tmp/n.conf' >/dev/full"
    run 1 "veil: identity export: writing standard output: No space left on device" \
        sh -c "'$veil' identity export -c '$tmp/n.conf' >/dev/full"
fi

# ---- export / import between two vaults ------------------------------------
run 0 "" "$veil" identity export -c "$tmp/a.conf"
check "export is one line of hex" sh -c "[ \$(wc -l <'$tmp/out') -eq 1 ] && grep -qxE '[0-9a-f]+' '$tmp/out'"
cp "$tmp/out" "$tmp/a-2.export"
run 0 "" "$veil" identity import -c "$tmp/b.conf" --name bob "$tmp/a-2.export"
check "import pins the peer's history" out_has "$id_a pinned events 2 key $key_a"
run 0 "" "$veil" identity show -c "$tmp/b.conf" --name bob
check "the contact is stored in the vault" out_has "  $id_a pinned events 2 key $key_a expires $iso"
run 0 "" "$veil" identity import -c "$tmp/b.conf" --name bob --expect "$id_a" "$tmp/a-2.export"
check "import --expect with the right identifier" out_has "$id_a pinned events 2 key $key_a"
run 1 "veil: identity import: $tmp/a-2.export holds the history of $id_a, not of $id_b (--expect); nothing was pinned" \
    "$veil" identity import -c "$tmp/n.conf" --expect "$id_b" "$tmp/a-2.export"
run 0 "" "$veil" vault show -c "$tmp/n.conf"
check "a refused import pins nothing" out_has 'contacts:   0'
run 2 "veil: identity import: --expect: identifier 'Pabc' is not 65 characters (expected P followed by 64 hex digits)\nTry 'veil identity import --help'." \
    "$veil" identity import -c "$tmp/b.conf" --name bob --expect Pabc "$tmp/a-2.export"
run 2 "veil: identity show: unknown option '--expect'\nTry 'veil identity show --help'." \
    "$veil" identity show -c "$tmp/b.conf" --expect "$id_a"
run 0 "" sh -c "'$veil' identity import -c '$tmp/b.conf' --name bob - <'$tmp/a-1.export'"
check "importing an older history keeps the newer one" out_has "$id_a pinned events 2 key $key_a"
run 0 "" "$veil" vault show -c "$tmp/b.conf"
check "vault show lists the identity and the contact" sh -c "grep -qx '  bob $id_b events 1' '$tmp/out' && grep -qx 'contacts:   1' '$tmp/out'"
run 1 "veil: identity import: $tmp/b.export is the history of this identity ($id_b) itself" \
    sh -c "'$veil' identity export -c '$tmp/b.conf' --name bob -o '$tmp/b.export' && '$veil' identity import -c '$tmp/b.conf' --name bob '$tmp/b.export'"
printf 'zz00\n' >"$tmp/junk"
run 1 "veil: identity import: $tmp/junk: byte 0 is not a hex digit (expected an identity export)" \
    "$veil" identity import -c "$tmp/b.conf" --name bob "$tmp/junk"
head -c 100 "$tmp/a-2.export" >"$tmp/short"
run 1 "veil: identity import: $tmp/short: history: event 0 (byte 2): field 'created' at byte 36 needs 16 bytes, only 14 left" \
    "$veil" identity import -c "$tmp/b.conf" --name bob "$tmp/short"
run 1 "veil: identity import: cannot open $tmp/none: No such file or directory" \
    "$veil" identity import -c "$tmp/b.conf" --name bob "$tmp/none"

# ---- config check ----------------------------------------------------------
run 0 "" "$veil" config check "$tmp/a.conf"
check "config check says ok" out_has "$tmp/a.conf: ok"
printf '[node]\nqueue_limit = 64\n[vault]\nplugin file\n' >"$tmp/c1.conf"
run 1 "veil: config check: $tmp/c1.conf:4: missing '=' in 'plugin file' (expected key = value)" \
    "$veil" config check "$tmp/c1.conf"
printf '[node]\nqueue_limit = 0\n' >"$tmp/c2.conf"
run 1 "veil: config check: $tmp/c2.conf:2: [node] queue_limit = '0': expected an integer from 1 to 1073741824" \
    "$veil" config check "$tmp/c2.conf"
printf '# ok\n[secure_channel]\nrekey_interval = 1000\nrekey = 5\n' >"$tmp/c3.conf"
run 1 "veil: config check: $tmp/c3.conf:4: unknown key 'rekey' in [secure_channel] (accepted: rekey_interval, handshake_timeout_ms, max_message, max_pending_handshakes, max_pending_handshakes_per_listener, cookie_threshold, allowed_workers, max_opening_handshakes, resilient, ping_interval_ms, dead_after_ms, reconnect_min_ms, reconnect_max_ms, reconnect_attempts, peer_silence_max_ms)" \
    "$veil" config check "$tmp/c3.conf"
printf '[identity]\nclock_skew = 1y\n' >"$tmp/c4.conf"
run 1 "veil: config check: $tmp/c4.conf:2: [identity] clock_skew = '1y': expected an integer with optional suffix k, m or g (x1024, x1024^2, x1024^3)" \
    "$veil" config check "$tmp/c4.conf"
printf '[outlet.web]\nto = 127.0.0.1:80\nallow = everyone\nmax_window = 100k\n' >"$tmp/c4w.conf"
run 1 "veil: config check: $tmp/c4w.conf:4: [outlet.web] max_window = '100k': expected an integer from 262144 to 4194304" \
    "$veil" config check "$tmp/c4w.conf"
printf '[outlet.web]\nto = 127.0.0.1:80\nallow = everyone\nmax_window = 1m\nwindow_budget = 0\n' >"$tmp/c4b.conf"
run 1 "veil: config check: $tmp/c4b.conf:5: [outlet.web] window_budget = '0': expected an integer from 1 to 4294967295" \
    "$veil" config check "$tmp/c4b.conf"
printf '[vault]\nplugin = file\npath = %s/new.vault\npassphrase_env = PW\nkdf_n = 3000\n' "$tmp" >"$tmp/c5.conf"
run 1 "veil: config check: opening vault 'file': $tmp/c5.conf:5: kdf_n = 3000 is not a power of two" \
    "$veil" config check "$tmp/c5.conf"
printf '[vault]\nplugin = file\npath = %s/new.vault\npassphrase_env = PW\n' "$tmp" >"$tmp/c6.conf"
run 0 "" "$veil" config check "$tmp/c6.conf"
check "config check notes a vault file still to be made, and makes none" sh -c "grep -qx '$tmp/c6.conf: \[vault\]: note: vault file $tmp/new.vault does not exist yet (a node makes it when it first opens it)' '$tmp/out' && test ! -e '$tmp/new.vault'"
if have policies; then
    printf '[policy.friends]\nplugin = identifier\nidentifiers = Pxyz\n' >"$tmp/c7.conf"
    run 1 "veil: config check: policy 'identifier' ([policy.friends]) refused its configuration: $tmp/c7.conf:3: [policy.friends] identifiers: entry 1 is not an identifier: identifier 'Pxyz' is not 65 characters (expected P followed by 64 hex digits)" \
        "$veil" config check "$tmp/c7.conf"
else
    ok "# SKIP the policy plugins are configured out"
fi
if have noise; then
    printf '[key_agreement]\nplugin = noise\nprotocol = Noise_QQ_25519_AESGCM_SHA256\n' >"$tmp/c9.conf"
    run 1 "veil: config check: secure channel: key agreement instance for [key_agreement]: $tmp/c9.conf:3: [key_agreement] protocol: noise: unknown handshake pattern 'QQ' (accepted: N K X NN NK NX KN KK KX XN XK XX IN IK IX NK1 NX1 X1N X1K XK1 X1K1 X1X XX1 X1X1 K1N K1K KK1 K1K1 K1X KX1 K1X1 I1N I1K IK1 I1K1 I1X IX1 I1X1)" \
        "$veil" config check "$tmp/c9.conf"
else
    ok "# SKIP the noise plugin is configured out"
fi
printf '[identiy]\nkey_lifetime = 5\n' >"$tmp/c8.conf"
run 1 "veil: config check: $tmp/c8.conf:1: unknown section [identiy]; did you mean [identity]? (accepted: [node], [vault], [vault.NAME], [log], [store], [store.NAME], [identity], [policy], [policy.NAME], [secure_channel], [key_agreement], [daemon], [control], [listener.NAME], [inlet.NAME], [outlet.NAME], [relay], [register.NAME], [key_agreement.NAME], [transport.NAME]; docs/CONFIG.md, \"Sections\")" \
    "$veil" config check "$tmp/c8.conf"
run 1 "veil: config check: cannot open config file '$tmp/none.conf': No such file or directory" \
    "$veil" config check "$tmp/none.conf"
run 2 "veil: config check: missing argument FILE\nTry 'veil config check --help'." "$veil" config check

# A file for an x3dh node ([key_agreement] and its [prekeys]) serves the
# vault and identity commands too ([prekeys] was refused as unknown there).
if have x3dh; then
    conf x
    printf '\n[key_agreement]\nplugin = x3dh\n\n[prekeys]\nopk_count = 10\n' >>"$tmp/x.conf"
    run 0 "" "$veil" config check "$tmp/x.conf"
    run 0 "" sh -c "'$veil' vault create -c '$tmp/x.conf' >/dev/null && '$veil' identity create -c '$tmp/x.conf' >/dev/null && '$veil' identity show -c '$tmp/x.conf' >/dev/null"
else
    ok "# SKIP the x3dh plugin is configured out"
    ok "# SKIP the x3dh plugin is configured out"
fi

# Requests that would not fit one control line are refused before any
# connection (they were cut silently before).
long=$(head -c 4100 /dev/zero | tr '\0' 'a')
run 2 "veil: secure-channel create: --to and --trust: at most 4032 bytes together\nTry 'veil secure-channel create --help'." \
    "$veil" secure-channel create --to "$long" --socket "$tmp/none.sock"
run 2 "veil: channel close: argument: at most 4032 bytes\nTry 'veil channel close --help'." \
    "$veil" channel close "$long" --socket "$tmp/none.sock"

echo "1..$n"
[ "$fails" -eq 0 ]
