#!/bin/sh
# Regenerate the build system (configure, Makefile.in, libtool, aux files).
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf -fi
