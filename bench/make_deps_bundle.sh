#!/usr/bin/env bash
# make_deps_bundle.sh PREFIX: copies the headers, shared libraries and
# pkg-config files of dlp's Debian build dependencies that a bare GPU image
# lacks (libjpeg-turbo, spng, zlib, jansson, OpenBLAS + its Fortran runtime) into
# PREFIX, paths kept (PREFIX/usr/...), static archives left out. Carry PREFIX
# to the GPU machine and run bench/gpu_session.sh with DLP_DEPS_PREFIX=PREFIX.
set -eu
prefix=${1:?usage: make_deps_bundle.sh PREFIX}
mkdir -p "$prefix"
list=$(mktemp)
for package in libturbojpeg0-dev libturbojpeg0 libspng-dev libspng0 libjansson-dev libjansson4 \
    libopenblas-pthread-dev libopenblas0-pthread zlib1g-dev zlib1g; do
    dpkg -L "$package" | while read -r f; do
        case $f in
        *.a | */libblas.so* | */liblapack.so* | */openblas-pthread/cmake/*) ;;
        /usr/include/* | /usr/lib/*) if [ -f "$f" ] || [ -L "$f" ]; then echo "${f#/}"; fi ;;
        esac
    done
done >"$list"
for f in /usr/lib/x86_64-linux-gnu/libgfortran.so.5* /usr/lib/x86_64-linux-gnu/libquadmath.so.0*; do
    [ -e "$f" ] && echo "${f#/}" >>"$list"
done
tar -C / -cf - -T "$list" | tar -C "$prefix" -xf -
rm -f "$list"
du -sh "$prefix"
