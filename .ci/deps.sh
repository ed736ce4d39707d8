#!/usr/bin/env bash
# Install everything veil needs to build and test on Debian/Ubuntu (run as root).
# abigail-tools: make abi-check; dpkg-dev, debhelper, lintian: the Debian
# packages (docs/PACKAGING.md).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    build-essential autoconf automake libtool pkg-config make \
    libsodium-dev libssl-dev libcmocka-dev libjansson-dev libevent-dev \
    clang libclang-rt-dev valgrind \
    python3 python3-dissononce python3-x3dh python3-xeddsa \
    iproute2 tcpdump nftables \
    abigail-tools dpkg-dev debhelper lintian \
    libsqlite3-dev sqlite3 libpq-dev postgresql >/dev/null
# The pkcs11 vault: p11-kit's pkcs11.h to build it (configure
# --disable-vault-pkcs11 does without); SoftHSM2 and pkcs11-tool (opensc)
# for its tests, which are skipped only without SoftHSM2.
apt-get install -y -qq --no-install-recommends libp11-kit-dev softhsm2 opensc >/dev/null
# Portals (issue #14): real clients and servers carried through them
# (tests/system/portal-*.sh) and stunnel4 to compare with (veil-bench portal).
apt-get install -y -qq --no-install-recommends curl redis-server redis-tools iperf3 stunnel4 >/dev/null
