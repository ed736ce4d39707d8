#!/bin/sh
# examples/05a-secure-channel-with-entity under every configuration that
# must work (TAP): each vault (software, file) x crypto backend (sodium,
# openssl), each key agreement protocol offered, and across backends in one
# process (Alice's vault on sodium, Bob's on openssl, via [vault.alice] and
# [vault.bob], which the example opens when present).  Each run must print
# exactly the line of the example's contract and exit 0.  Cases 13-17 use
# X3DH instead of Noise (each backend, a file vault, across backends).
# Cases 18-21 put Alice's identity in a PKCS#11 token (a SoftHSM2 token
# made here; skipped only without SoftHSM2) and Bob's in a file vault.  The plugin path is
# NOT exported here for one run: the example must find the build-tree
# plugins by itself (examples/example_env.h).
set -u
top=${VEIL_TOP_BUILDDIR:?VEIL_TOP_BUILDDIR must be set (run through make check)}
. "${VEIL_TOP_SRCDIR:?VEIL_TOP_SRCDIR must be set}/tests/system/features.sh"
. "$VEIL_TOP_SRCDIR/tests/system/softhsm-lib.sh"
ex=$top/examples/05a-secure-channel-with-entity
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-05a.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM
printf 'App Received: Hello Ockam!\n' >"$tmp/expected"
VEIL_TEST_PASSPHRASE=correct-horse-battery
export VEIL_TEST_PASSPHRASE
n=0
fails=0

# run NAME CONFIG_TEXT [env assignments...]
run() {
    name=$1
    conf=$2
    shift 2
    n=$((n + 1))
    if lack=$(missing_for "$conf"); then
        echo "ok $n - $name # SKIP this build has no $lack (configure --disable-...)"
        return
    fi
    if [ -n "$conf" ]; then
        printf '%s\n' "$conf" >"$tmp/conf.$n"
        set -- VEIL_CONF="$tmp/conf.$n" "$@"
    fi
    env "$@" "$ex" >"$tmp/out" 2>"$tmp/err"
    status=$?
    if [ "$status" -eq 0 ] && cmp -s "$tmp/expected" "$tmp/out"; then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name (exit $status)"
        sed 's/^/# stdout: /' "$tmp/out"
        sed 's/^/# stderr: /' "$tmp/err"
        fails=$((fails + 1))
    fi
}

file_vault() { # SECTION CRYPTO FILE
    printf '[%s]\nplugin = file\ncrypto = %s\npath = %s\npassphrase_env = VEIL_TEST_PASSPHRASE\n' \
        "$1" "$2" "$3"
}

echo "1..21"
run "defaults, plugin path found without VEIL_PLUGIN_PATH" "" -u VEIL_PLUGIN_PATH
for crypto in sodium openssl; do
    run "software vault, $crypto" "$(printf '[vault]\nplugin = software\ncrypto = %s\n' $crypto)"
    run "file vault, $crypto" "$(file_vault vault $crypto "$tmp/$crypto.vault")"
done
run "file vault re-opened (keys already in the file)" "$(file_vault vault openssl "$tmp/openssl.vault")"
run "across backends: Alice sodium, Bob openssl" \
    "$(printf '[vault.alice]\nplugin = software\ncrypto = sodium\n[vault.bob]\nplugin = software\ncrypto = openssl\n')"
run "across backends: Alice openssl, Bob sodium" \
    "$(printf '[vault.alice]\nplugin = software\ncrypto = openssl\n[vault.bob]\nplugin = software\ncrypto = sodium\n')"
run "across vaults: Alice file/sodium, Bob software/openssl" \
    "$(file_vault vault.alice sodium "$tmp/alice.vault"; printf '[vault.bob]\nplugin = software\ncrypto = openssl\n')"
for proto in Noise_XX_25519_ChaChaPoly_SHA256 Noise_XX_25519_AESGCM_BLAKE2b \
             Noise_XX_25519_ChaChaPoly_BLAKE2s; do
    run "key agreement $proto" "$(printf '[key_agreement]\nplugin = noise\nprotocol = %s\n' $proto)"
done
# X3DH ([key_agreement] plugin = x3dh): the listener serves its prekey
# bundles from the node's prekey service, the initiator fetches one first.
x3dh='[key_agreement]\nplugin = x3dh\n'
for crypto in sodium openssl; do
    run "x3dh, software vault, $crypto" "$(printf "$x3dh"'[vault]\nplugin = software\ncrypto = %s\n' $crypto)"
done
run "x3dh, file vault, sodium" "$(printf "$x3dh"; file_vault vault sodium "$tmp/x3dh.vault")"
run "x3dh across backends: Alice sodium, Bob openssl" \
    "$(printf "$x3dh"'[vault.alice]\nplugin = software\ncrypto = sodium\n[vault.bob]\nplugin = software\ncrypto = openssl\n')"
run "x3dh across backends: Alice openssl, Bob sodium" \
    "$(printf "$x3dh"'[vault.alice]\nplugin = software\ncrypto = openssl\n[vault.bob]\nplugin = software\ncrypto = sodium\n')"
# Alice's identity in a SoftHSM2 token ([vault.alice] plugin = pkcs11), Bob's
# in a file vault; the second run's vault also loads the first run's key.
token() { # CRYPTO
    printf '[vault.alice]\nplugin = pkcs11\ncrypto = %s\nmodule = %s\ntoken_label = veil-05a\npin_env = VEIL_TEST_PIN\n' \
        "$1" "$softhsm"
}
hsm=1
have vault-pkcs11 && { softhsm_token "$tmp" veil-05a; hsm=$?; }
[ "$hsm" -ne 2 ] || echo "# softhsm2-util --init-token failed"
if [ "$hsm" -ne 1 ]; then
    run "pkcs11: Alice in a SoftHSM2 token (openssl), Bob file/sodium" \
        "$(token openssl; file_vault vault.bob sodium "$tmp/bob-p11.vault")"
    run "pkcs11: a second run on the token (sodium; the first key loaded), Bob file/sodium" \
        "$(token sodium; file_vault vault.bob sodium "$tmp/bob-p11.vault")"
    run "pkcs11 x3dh: Alice in the token, Bob file/openssl" \
        "$(printf "$x3dh"; token openssl; file_vault vault.bob openssl "$tmp/bob-x3dh.vault")"
    # The three runs' identity keys are in the token, made there and never
    # extractable (what the token itself reports).
    pkcs11-tool --module "$softhsm" --login --pin "$VEIL_TEST_PIN" --list-objects --type privkey \
        >"$tmp/objects" 2>&1
    keys=$(grep -c '^ *label: *veil\.entity\..*\.key\.0$' "$tmp/objects")
    sealed=$(grep -c 'Access: .*sensitive.*never extractable, local' "$tmp/objects")
    if [ "$keys" -eq 3 ] && [ "$sealed" -eq 3 ]; then
        echo "ok 21 - the token holds the 3 identity keys, sensitive, never extractable, made there"
    else
        echo "not ok 21 - the token holds the 3 identity keys ($keys keys, $sealed sealed)"
        sed 's/^/# /' "$tmp/objects"
        fails=$((fails + 1))
    fi
else
    for c in 18 19 20 21; do
        echo "ok $c - pkcs11 # SKIP this build has no vault-pkcs11, or SoftHSM2 ($softhsm) is not installed"
    done
fi
[ "$fails" -eq 0 ]
