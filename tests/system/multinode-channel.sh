#!/bin/sh
# Three nodes, three processes (TAP): examples/06-secure-channel-many-hops-*
# — initiator → middle → responder over two TCP hops with an end-to-end
# secure channel, and a channel through another channel across nodes
# (--nested: outer channel initiator↔middle, inner initiator↔responder).
# Checked for each run, independently of the code under test where it can
# be: the initiator authenticated the identifier the responder printed for
# itself, the responder's echoer got the message through a channel from
# the identifier the initiator printed for itself, the reply came back, and
# the middle relayed frames in which neither the payload nor its hex form
# appears.  Runs over every vault (software, file) x crypto backend
# (sodium, openssl), across backends (each process its own), and another
# Noise protocol, and with the initiator's identity in a PKCS#11 token (a
# SoftHSM2 token made here; skipped only without SoftHSM2).
set -u
top=${VEIL_TOP_BUILDDIR:?VEIL_TOP_BUILDDIR must be set (run through make check)}
src=${VEIL_TOP_SRCDIR:?VEIL_TOP_SRCDIR must be set}
ex=$top/examples
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-mn-ch.XXXXXX") || { echo "Bail out! mktemp failed"; exit 1; }
. "$src/tests/system/multinode-lib.sh"
. "$src/tests/system/features.sh"
. "$src/tests/system/softhsm-lib.sh"
trap mn_cleanup EXIT
trap 'exit 1' INT TERM
unset VEIL_CONF
VEIL_TEST_PASSPHRASE=correct-horse-battery
export VEIL_TEST_PASSPHRASE
msg='Hello Ockam!'
msg_hex=$(printf '%s' "$msg" | od -An -tx1 | tr -d ' \n')

soft() { printf '[vault]\nplugin = software\ncrypto = %s\n' "$1"; }
# Low scrypt cost: these files live for one test.
file() {
    printf '[vault]\nplugin = file\ncrypto = %s\npath = %s\n' "$1" "$tmp/$2.vault"
    printf 'passphrase_env = VEIL_TEST_PASSPHRASE\nkdf_n = 1024\n'
}

# run LABEL MODE CONF_RESPONDER CONF_MIDDLE CONF_INITIATOR  (MODE: plain|nested|preconnect)
run() {
    label=$1 mode=$2
    if lack=$(missing_for "$3$4$5"); then
        n=$((n + 1))
        echo "ok $n - $label # SKIP this build has no $lack (configure --disable-...)"
        return
    fi
    printf '%s\n' "$3" >"$tmp/resp.conf"
    printf '%s\n' "$4" >"$tmp/mid.conf"
    printf '%s\n' "$5" >"$tmp/init.conf"
    rm -f "$tmp"/*.vault
    mn_start resp env VEIL_CONF="$tmp/resp.conf" "$ex/06-secure-channel-many-hops-responder" 127.0.0.1:0
    r=$(mn_wait_listen resp) || r=""
    # preconnect: the middle connects to the responder first (Ockam's
    # middle does); otherwise its transport dials on the first message.
    pre=""
    [ "$mode" = preconnect ] && pre=$r
    mn_start mid env VEIL_CONF="$tmp/mid.conf" "$ex/06-secure-channel-many-hops-middle" 127.0.0.1:0 $pre
    if [ -z "$r" ] || ! m=$(mn_wait_listen mid); then
        mn_not_ok "$label: responder and middle listen"
        mn_dump "$tmp/resp.err" "responder stderr"
        mn_dump "$tmp/mid.err" "middle stderr"
        mn_stop resp; mn_stop mid
        return
    fi
    rid=$(mn_field resp 'Responder identifier: ')
    midid=$(mn_field mid 'Middle identifier: ')
    flag=""
    [ "$mode" = nested ] && flag=--nested
    VEIL_CONF=$tmp/init.conf "$ex/06-secure-channel-many-hops-initiator" $flag "$m" "$r" \
        "$rid" "$midid" >"$tmp/init.out" 2>"$tmp/init.err"
    st=$?
    # Let the echoer's line reach the file before stopping.
    mn_stop resp
    rst=$?
    mn_stop mid
    mst=$?
    iid=$(mn_field init 'Initiator identifier: ')
    why=""
    [ $st -eq 0 ] || why="$why initiator exit $st;"
    [ $rst -eq 0 ] || why="$why responder exit $rst;"
    [ $mst -eq 0 ] || why="$why middle exit $mst;"
    case $rid in P????????????????????????????????????????????????????????????????) ;;
        *) why="$why responder identifier '$rid';" ;; esac
    grep -qx "Responder authenticated as: $rid" "$tmp/init.out" ||
        why="$why initiator did not authenticate $rid;"
    if [ "$mode" = nested ]; then
        grep -qx "Middle authenticated as: $midid" "$tmp/init.out" ||
            why="$why outer channel did not authenticate the middle $midid;"
    fi
    grep -qx "App Received: $msg" "$tmp/init.out" || why="$why no reply;"
    grep -qx "Echoer received: $msg (through a secure channel from $iid)" "$tmp/resp.out" ||
        why="$why responder's echoer did not get it through a channel from '$iid';"
    # The middle relayed the handshake (3), the accept, the data and the
    # reply: at least 6 frames, none holding the payload in clear.
    relayed=$(grep -c '^Middle relayed [0-9]* bytes: ' "$tmp/mid.out")
    [ "$relayed" -ge 6 ] || why="$why middle relayed $relayed frames (expected >= 6);"
    if grep -q "$msg" "$tmp/mid.out" || grep -qi "$msg_hex" "$tmp/mid.out"; then
        why="$why the middle saw the plaintext;"
    fi
    if [ -z "$why" ]; then
        mn_ok "$label"
    else
        mn_not_ok "$label:$why"
        for f in init resp mid; do
            mn_dump "$tmp/$f.out" "$f stdout" | cut -c1-200
            mn_dump "$tmp/$f.err" "$f stderr"
        done
    fi
}

echo "1..15"
for mode in plain nested preconnect; do
    run "$mode, defaults (software vault)" $mode "" "" ""
done
for c in sodium openssl; do
    run "plain, software vault, $c" plain "$(soft $c)" "$(soft $c)" "$(soft $c)"
    run "plain, file vault, $c" plain "$(file $c resp)" "$(file $c mid)" "$(file $c init)"
done
run "plain, across backends: initiator sodium, middle file/openssl, responder openssl" plain \
    "$(soft openssl)" "$(file openssl mid)" "$(soft sodium)"
run "nested, across vaults: initiator file/sodium, middle software/openssl, responder file/openssl" \
    nested "$(file openssl resp)" "$(soft openssl)" "$(file sodium init)"
proto='[key_agreement]
plugin = noise
protocol = Noise_XX_25519_ChaChaPoly_BLAKE2s'
run "plain, key agreement Noise_XX_25519_ChaChaPoly_BLAKE2s" plain "$proto" "$proto" "$proto"
run "nested, key agreement Noise_XX_25519_ChaChaPoly_BLAKE2s" nested "$proto" "$proto" "$proto"
# X3DH: the initiator fetches the responder's bundle from the prekey service
# on the responder's node, along the same two TCP hops (and, nested, through
# the outer channel) before message 1.
x3dh='[key_agreement]
plugin = x3dh'
run "plain, key agreement x3dh, across backends" plain \
    "$x3dh
$(soft openssl)" "$x3dh" "$x3dh
$(soft sodium)"
run "nested, key agreement x3dh" nested "$x3dh" "$x3dh" "$x3dh"
# The initiator's identity in a SoftHSM2 token ([vault] plugin = pkcs11).
hsm=1
have vault-pkcs11 && { softhsm_token "$tmp" veil-mn; hsm=$?; }
[ "$hsm" -ne 2 ] || echo "# softhsm2-util --init-token failed"
if [ "$hsm" -ne 1 ]; then
    token=$(printf '[vault]\nplugin = pkcs11\ncrypto = openssl\nmodule = %s\ntoken_label = veil-mn\npin_env = VEIL_TEST_PIN' \
        "$softhsm")
    run "plain, initiator's identity in a SoftHSM2 token, responder file/sodium" plain \
        "$(file sodium resp)" "$(soft openssl)" "$token"
    run "nested, initiator's identity in a SoftHSM2 token, responder file/openssl" nested \
        "$(file openssl resp)" "$(soft sodium)" "$token"
else
    for c in 14 15; do
        echo "ok $c - pkcs11 # SKIP this build has no vault-pkcs11, or SoftHSM2 ($softhsm) is not installed"
    done
fi
[ "$fails" -eq 0 ]
