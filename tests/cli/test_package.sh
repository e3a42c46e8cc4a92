#!/usr/bin/env bash
# Installs the built dlp into a scratch prefix, then builds an application
# against it twice: with CMake's find_package(dlp) and with pkg-config.
set -eu
build="$(dirname "$DLP_BIN")"
work="$DLP_TEST_TMP/package"
if grep -q '^DLP_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  echo "skipped: sanitizer build (an uninstrumented app cannot load an ASan libdlp); runs in the normal build"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$DLP_SOURCE_DIR/tests/package" -B "$work/app" -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log"
cmake --build "$work/app" > "$work/build.log"
LD_LIBRARY_PATH="$work/prefix/lib" "$work/app/app"
libdir="$(ls -d "$work"/prefix/lib*/pkgconfig | head -1)"
flags="$(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs dlp)"
cc -std=c11 -o "$work/app_pc" "$DLP_SOURCE_DIR/tests/package/main.c" $flags
LD_LIBRARY_PATH="$(dirname "$libdir")" "$work/app_pc"
echo "cli.package: 2 checks, 0 failed"
