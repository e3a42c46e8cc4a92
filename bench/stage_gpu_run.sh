#!/usr/bin/env bash
# stage_gpu_run.sh BUILD: puts what bench/gpu_prebuilt.sh needs into .devrun/
# (ignored by git, carried to the device): the CUDA binaries from BUILD, their
# non-system shared libraries (xz-compressed) and ../shared's model, oracle and digits.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
run="$root/.devrun"
rm -rf "$run" && mkdir -p "$run/bin" "$run/shared/models" "$run/shared/data"
bins="$build/dlp $build/tests/gpu_test_graph_cuda $build/tests/gpu_test_inception_v3_cuda $build/tests/gpu_test_logreg_gpu $build/tests/gpu_test_zoo_synth_cuda $build/tests/gpu_test_preprocess_cuda $build/tests/gpu_test_featurize_cuda $build/bench/featurize_gpu $build/bench/decode_rate $build/bench/synth_weights"
bins="$bins $build/tests/gpu_test_keras_model_cuda"
bins="$bins $build/bench/logreg/bench_logreg"
bins="$bins $build/tests/gpu_test_predictor_cuda"
bins="$bins $build/tests/gpu_test_zoo_half_cuda"
bins="$bins $build/tests/gpu_test_jpeg_cuda"
bins="$bins $build/bench/gemm_rate_gpu $build/bench/featurize_cpu $build/bench/cudnn_strided_probe"
bins="$bins $build/bench/stream_rate $build/bench/pinned_rate"
cp $bins "$run/bin/"
libs=$(mktemp -d)
mkdir -p "$libs/devlibs"
for b in $bins; do ldd "$b" | awk '$3 ~ /^\// {print $3}'; done | sort -u |
  grep -v -E '/lib(c|m|pthread|dl|rt)\.so|ld-linux|libstdc\+\+|libgcc_s|libcublas|libcudnn' |
  while read -r f; do cp -L "$f" "$libs/devlibs/"; done
tar -C "$libs" -cJf "$run/devlibs.tar.xz" devlibs
# The binaries stripped and compressed too: what travels is limited to 64 MiB.
strip "$run"/bin/* && tar -C "$run" -cJf "$run/bin.tar.xz" bin && rm -rf "$run/bin"
rm -rf "$libs"
shared="${DLP_SHARED_DIR:-$root/../shared}"
cp -r "$shared/models/nsfwjs-inception_v3" "$run/shared/models/"
cp -r "$shared/oracle" "$run/shared/"
cp -r "$shared/data/digits-500" "$run/shared/data/"
grep -qx '/.devrun/' "$root/.git/info/exclude" 2>/dev/null || echo '/.devrun/' >> "$(git -C "$root" rev-parse --git-common-dir)/info/exclude"
du -sh "$run"
