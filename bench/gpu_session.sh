#!/usr/bin/env bash
# gpu_session.sh: one session on a GPU machine, in under 8 minutes on a
# 16-core H100/H200: Release build (sm_90 only), the gpu.* suites, the rest of
# ctest, the CUDA op suite under compute-sanitizer memcheck (when present),
# then the featurize_gpu benchmark for every zoo model. Logs go to $OUT
# (default ./gpu-session-out); summary.txt lists each step's exit status.
# Usage (from the repository root): OUT=/path bench/gpu_session.sh
# Env: DLP_SHARED_DIR (models/oracle; default ../shared), JOBS (16), BUILD (build-gpu),
#   CTEST_REST=0 skips the non-gpu suites, BENCH_BATCHES (1,32,256), BENCH_SECONDS (1),
#   DLP_DEPS_PREFIX: a folder made by bench/make_deps_bundle.sh, for images
#   without dlp's Debian build dependencies (pkg-config files are re-pointed).
# cuDNN is looked for in the toolkit, then in a Python wheel (nvidia/cudnn).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-session-out}
BUILD=${BUILD:-build-gpu}
JOBS=${JOBS:-16}
SHARED=${DLP_SHARED_DIR:-$PWD/../shared}
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
START=$SECONDS

# step NAME LIMIT_S COMMAND...: runs with a time limit, output to $OUT/NAME.log.
step() {
    local name=$1 limit=$2
    shift 2
    local begin=$SECONDS
    timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    echo "$name rc=$rc seconds=$((SECONDS - begin))" | tee -a "$SUMMARY"
    return $rc
}

CMAKE_EXTRA=()
if [ -n "${DLP_DEPS_PREFIX:-}" ]; then
    DEPS=$(cd "$DLP_DEPS_PREFIX" && pwd)
    PC=$(mktemp -d)
    for pc in $(find "$DEPS" -name '*.pc'); do sed "s#=/usr#=$DEPS/usr#g" "$pc" >"$PC/$(basename "$pc")"; done
    export PKG_CONFIG_PATH="$PC${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    export LD_LIBRARY_PATH="$DEPS/usr/lib/x86_64-linux-gnu:$DEPS/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
if [ ! -e /usr/local/cuda/include/cudnn.h ] && [ ! -e /usr/include/cudnn.h ] && [ ! -e /usr/include/x86_64-linux-gnu/cudnn.h ]; then
    header=$(find /opt /usr/local/lib /usr/lib/python3* /root -path '*nvidia/cudnn/include/cudnn.h' 2>/dev/null | head -1)
    if [ -n "$header" ]; then
        root=$(dirname "$(dirname "$header")")
        library=$(ls "$root"/lib/libcudnn.so* | head -1)
        CMAKE_EXTRA+=(-DCUDNN_INCLUDE_DIR="$root/include" -DCUDNN_LIBRARY="$library")
        export LD_LIBRARY_PATH="$root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
fi

{
    echo "date: $(date -u)"
    nvidia-smi 2>&1 | head -20
    nproc
    command -v nvcc && nvcc --version | tail -2
    echo "cmake extra: ${CMAKE_EXTRA[*]}"
    echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
} >"$OUT/machine.txt" 2>&1

step configure 120 cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DDLP_SHARED_DIR="$SHARED" "${CMAKE_EXTRA[@]}" || { echo "configure failed, see $OUT/configure.log" | tee -a "$SUMMARY"; exit 1; }
# -k 0 lists every error. A newer compiler than the dev machine's may warn
# where it did not: that is reported (build.log), then the build is redone
# without -Werror so that the tests still run.
if ! step build 300 cmake --build "$BUILD" -j "$JOBS" -- -k 0; then
    grep -E "error:|warning:" "$OUT/build.log" | sort -u | head -40 | tee -a "$SUMMARY"
    cmake -S . -B "$BUILD" -DDLP_WERROR=OFF >>"$OUT/configure.log" 2>&1
    step build-no-werror 300 cmake --build "$BUILD" -j "$JOBS" ||
        { echo "build failed, see $OUT/build-no-werror.log" | tee -a "$SUMMARY"; exit 1; }
fi

step ctest-gpu 150 ctest --test-dir "$BUILD" -L gpu --output-on-failure -V
# The rest of ctest (the gpu suites just ran); bounded so the session fits.
[ "${CTEST_REST:-1}" = 0 ] || step ctest-rest 150 ctest --test-dir "$BUILD" -LE gpu --output-on-failure -j "$JOBS"

if command -v compute-sanitizer >/dev/null && [ $((SECONDS - START)) -lt 300 ]; then
    ( cd "$BUILD/tests" && DLP_SHARED_DIR="$SHARED" DLP_SOURCE_DIR="$OLDPWD" \
        step memcheck 75 compute-sanitizer --tool memcheck --error-exitcode 9 ./gpu_test_graph_cuda )
else
    echo "memcheck skipped (no compute-sanitizer or no time left)" | tee -a "$SUMMARY"
fi

if [ -x "$BUILD/bench/featurize_gpu" ]; then
    left=$((460 - (SECONDS - START)))
    [ $left -lt 30 ] && left=30
    step featurize_gpu $left "$BUILD/bench/featurize_gpu" --batches "${BENCH_BATCHES:-1,32,256}" --precisions fp32,tf32 \
        --seconds "${BENCH_SECONDS:-1}"
    grep '^model=' "$OUT/featurize_gpu.log" >"$OUT/featurize_gpu.txt"
    cat "$OUT/featurize_gpu.txt"
fi
echo "total seconds=$((SECONDS - START))" | tee -a "$SUMMARY"
