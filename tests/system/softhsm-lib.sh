# Sourced by the test scripts that put an identity in a PKCS#11 token: a
# SoftHSM2 token in a directory of the test's own.
#
#   softhsm_token DIR LABEL   make DIR/tokens and DIR/softhsm2.conf, export
#                             SOFTHSM2_CONF and VEIL_TEST_PIN, and initialise
#                             a token labelled LABEL with that user PIN;
#                             status 1 (nothing made) when SoftHSM2 is not
#                             installed, 2 when softhsm2-util fails.
# $softhsm is the module's path, for the vault's `module` key.  Sanitizer
# builds: SoftHSM2 2.6.1 leaks 37 bytes per Ed25519 signature (see
# tests/support/softhsm.c), suppressed by the module's name for the
# programs these scripts start (with the slow unwinder, which finds the
# module's frames).
softhsm=/usr/lib/softhsm/libsofthsm2.so

softhsm_token() {
    [ -r "$softhsm" ] || return 1
    mkdir -p "$1/tokens"
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$1" \
        >"$1/softhsm2.conf"
    SOFTHSM2_CONF=$1/softhsm2.conf
    VEIL_TEST_PIN=918273
    LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$1/lsan.supp"
    printf 'leak:libsofthsm2.so\n' >"$1/lsan.supp"
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
    export SOFTHSM2_CONF VEIL_TEST_PIN LSAN_OPTIONS ASAN_OPTIONS
    softhsm2-util --init-token --free --label "$2" --pin "$VEIL_TEST_PIN" --so-pin 55667788 \
        >/dev/null 2>&1 || return 2
}
