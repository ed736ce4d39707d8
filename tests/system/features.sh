# Sourced by the test scripts: what this build has.  make check exports
# VEIL_FEATURES (configure's list: sodium openssl vault-software vault-file vault-pkcs11
# noise x3dh tcp policies, minus what --disable-* removed); run by hand
# without it, everything counts as present.

# have FEATURE...: true when the build has all of them.
have() {
    [ -z "${VEIL_FEATURES+x}" ] && return 0
    for f; do
        case " $VEIL_FEATURES " in *" $f "*) ;; *) return 1 ;; esac
    done
    return 0
}

# missing_for CONFIG_TEXT: prints the first feature that configuration text
# names and this build lacks (status 0), or nothing (status 1).
missing_for() {
    for pair in "crypto = sodium:sodium" "crypto = openssl:openssl" \
                "plugin = x3dh:x3dh" "plugin = noise:noise" "plugin = file:vault-file" "plugin = pkcs11:vault-pkcs11" \
                "plugin = software:vault-software" "plugin = tcp:tcp"; do
        pat=${pair%:*}
        f=${pair##*:}
        case $1 in *"$pat"*) have "$f" || { echo "$f"; return 0; } ;; esac
    done
    return 1
}
