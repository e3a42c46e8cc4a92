#!/usr/bin/env bash
# gpu_prebuilt.sh: one short device session with binaries built on the dev
# machine (bench/stage_gpu_run.sh puts them, their shared libraries and the
# shared/ data into .devrun/), so no device time goes to compiling:
#   1. the gpu.* suites (each CUDA op vs the CPU backend, real InceptionV3 vs
#      the TF.js oracle, logistic-regression objective vs the CPU, users' Keras
#      models: their extra ops vs the CPU twins, the fixtures and nsfwjs vs Keras/TF.js);
#   2. the op suite once under compute-sanitizer memcheck;
#   3. compute-only featurization, dlp (fp32, tf32; fp16, bf16 fused; fp32 FFT/Winograd and workspace) vs
#      PyTorch (torchvision/timm, channels_last, autocast; torch.compile for
#      ResNet50 fp16), same GPU, same run; the matrix rate (gemm_rate) and FLOP ceiling of each model; the
#      compute_table_* steps and compute_summary: issue 4's table of all five models x fp32/fp16/bf16 x
#      batches 1/32/256, dlp as the featurizer ships it vs PyTorch, with the ceiling (bench/compute_table.py);
#   4. dlp fit on digits-500 with --device cuda (the brief's workflow end to end);
#   5. end to end JPEG files -> features, dlp vs a PyTorch DataLoader + PIL, and the steady state
#      (16,000 rows) against the decode ceiling, with the CPU half alone (stream_rate);
#   6. logistic regression, dlp CPU (all cores) vs dlp CUDA (bench_logreg gpu).
# Every step has a time limit. Logs go to $LOGS (default /tmp/gpu-logs) as they
# are written, and after each step into $OUT/logs.tgz (the device tool brings
# back at most 8 files), beside $OUT/summary.txt and $OUT/machine.txt.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
run="$root/.devrun"
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
summary="$OUT/summary.txt"
LOGS=${LOGS:-/tmp/gpu-logs}
mkdir -p "$LOGS"
start=$SECONDS
step() {  # step NAME LIMIT COMMAND...
  local name=$1 limit=$2; shift 2
  # ONLY="name1 name2": run just those steps (a short check of one piece).
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return 1; fi
  if [ $((SECONDS - start + 5)) -gt "${BUDGET:-300}" ]; then echo "$name skipped (budget)" >> "$summary"; return 1; fi
  local begin=$SECONDS
  timeout --kill-after=5 "$limit" "$@" > "$LOGS/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc seconds=$((SECONDS - begin))" >> "$summary"
  tar -C "$LOGS" -czf "$OUT/logs.tgz" . 2> /dev/null
  return $rc
}

mkdir -p /tmp/devlibs && tar -C /tmp -xJf "$run/devlibs.tar.xz"
cudnn=$(python3 -c 'import nvidia.cudnn, os; print(os.path.join(list(nvidia.cudnn.__path__)[0], "lib"))' 2>/dev/null)
cublas=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null)
export LD_LIBRARY_PATH="/tmp/devlibs:${cudnn:+$cudnn:}/usr/local/cuda/lib64:${cublas:+$cublas:}${LD_LIBRARY_PATH:-}"
export DLP_SHARED_DIR="$run/shared" DLP_SOURCE_DIR="$root" DLP_FIXTURES="$root/tests/fixtures" DLP_TEST_TMP=/tmp/dlp-test
export DLP_CACHE_DIR=/tmp/dlp-cache
mkdir -p "$DLP_TEST_TMP"
[ -d "$run/bin" ] || tar -C "$run" -xJf "$run/bin.tar.xz"
bin="$run/bin"
{
  date -u; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; nproc
  echo "cudnn=$cudnn cublas=$cublas"; ldd "$bin/dlp" | grep -E "not found|cudnn|cublas"
  "$bin/dlp" --version; "$bin/dlp" devices
} > "$OUT/machine.txt" 2>&1

step gpu_graph_cuda 260 "$bin/gpu_test_graph_cuda"
step gpu_inception_v3_cuda 40 "$bin/gpu_test_inception_v3_cuda"
step gpu_logreg_gpu 30 "$bin/gpu_test_logreg_gpu"
step gpu_zoo_synth_cuda 45 "$bin/gpu_test_zoo_synth_cuda"
step gpu_zoo_half_cuda 150 "$bin/gpu_test_zoo_half_cuda"
step gpu_preprocess_cuda 30 "$bin/gpu_test_preprocess_cuda"
# The JPEG split's GPU half (kernels/jpeg.cu) against TurboJPEG, byte for byte.
step gpu_jpeg_cuda 30 "$bin/gpu_test_jpeg_cuda"
step gpu_featurize_cuda 90 "$bin/gpu_test_featurize_cuda"
# Short checks of one piece each: concatenation inputs written in place (the -slices modes, every case; then
# InceptionV3 in fp16/fp32 vs the CPU; the -packed-slices modes: the fallback for convs cuDNN will not write
# strided, which the logs count as "slices written packed and copied"), and the large-photo budget (rows resized
# on the CPU copied over the kernel's).
slices_modes=fp32-slices,fp32-timed-fused-slices,fp16-timed-fused-slices,bf16-slices,fp16-timed-fused-graphs-slices
DLP_GRAPH_CUDA_MODES=$slices_modes,fp32-packed-slices,fp16-timed-fused-graphs-packed-slices \
  step gpu_graph_cuda_slices 100 "$bin/gpu_test_graph_cuda"
DLP_ZOO_MODELS=inception_v3 DLP_ZOO_HALF_MODES=fp16-timed-fused,fp16-timed-fused-slices,fp32-timed-fused-slices \
  step gpu_zoo_half_slices 40 "$bin/gpu_test_zoo_half_cuda"
DLP_FEATURIZE_CUDA_ONLY=packed_budget step gpu_featurize_budget 40 "$bin/gpu_test_featurize_cuda"
step gpu_keras_model_cuda 30 "$bin/gpu_test_keras_model_cuda"
# dlp apply --device cuda: nsfwjs as a user model on the three oracle photos vs TF.js' probs (1e-4 absolute).
step apply_cuda 30 bash "$root/bench/apply_cuda_check.sh" "$bin/dlp" "$run/shared"
DLP_BIN="$bin/dlp" step gpu_predictor_cuda 60 "$bin/gpu_test_predictor_cuda"

step featurize_gpu 50 "$bin/featurize_gpu" --batches 1,32,256 --precisions fp32,tf32 --seconds 0.4
# fp16/bf16 as the featurizer runs them without graphs (timed algorithms, fused conv+bias+activation), ResNet50 first (the goal:
# >= 25,000 images/s fp16), then ResNet50 fp16's search x fuse settings at batch 256 and CUDA graphs at 1 and 32;
# --profile prints where the time goes ("# profile" lines: per op kind and the slowest steps).
step featurize_gpu_resnet50_half 30 "$bin/featurize_gpu" --models ResNet50 --batches 256,32,1 --precisions fp16,bf16 \
  --search timed --fuse on --seconds 0.4 --profile 12
step featurize_gpu_ablation 25 "$bin/featurize_gpu" --models ResNet50 --batches 256 --precisions fp16 \
  --search heuristic,timed --fuse off,on --seconds 0.4 --profile 8
# The stem speed-ups off and on (ZeroPadding2D folded into conv1 / pool1, conv1 on 8 zero-padded channels in
# half), each alone too: 4 lines, pad_fold=off / channel_pad=off named where off.
step featurize_gpu_stem_ablation 30 "$bin/featurize_gpu" --models ResNet50 --batches 256 --precisions fp16 \
  --search timed --fuse on --pad-fold off,on --channel-pad off,on --seconds 0.3 --profile 8
step featurize_gpu_graphs_resnet50_small 20 "$bin/featurize_gpu" --models ResNet50 --batches 1,32 --precisions fp16 \
  --search timed --fuse on --graphs off,on --seconds 0.4
step featurize_gpu_half 60 "$bin/featurize_gpu" --models InceptionV3,Xception,VGG16,VGG19 --batches 256,32,1 \
  --precisions fp16,bf16 --search timed --fuse on --seconds 0.3
# Where InceptionV3's and Xception's fp16 time goes at batch 256, as the featurizer runs them (Xception: 5,727 img/s
# in the 16:23 run, 13-15% of its FLOP ceiling and 0.93x PyTorch; its depthwise kernel is dlp's own, with 32-bit index
# math since then). Each cuDNN conv's line names its algorithm (describe_step).
step featurize_gpu_profile_half 30 "$bin/featurize_gpu" --models InceptionV3,Xception --batches 256 --precisions fp16 \
  --search heuristic --fuse on --seconds 0.3 --profile 12
# The unrolled 3x3 kernels (DLP_CUDA_UNROLLED_3X3, on: Xception's depthwise convs, two output pixels per thread, and
# every 3x3 pooling) against the general vector kernels (0), Xception and InceptionV3 as the featurizer ships each
# precision (graphs on; fp32 unfused), then profiled (graphs off): compare the "op DepthwiseConv2D" and pooling lines.
# Since the 16:23 run Xception's 11 standalone ReLUs also fold into its depthwise convs, and its 8 middle-flow
# conv -> add endings run as one fused cuDNN call in fp16/bf16 (baselines: Xception fp16 b256 5,727, InceptionV3
# 23,333).
for u in 0 1; do
  DLP_CUDA_UNROLLED_3X3=$u step unrolled_3x3_$u 60 bash -c '
    "$1" --models Xception,InceptionV3 --batches 32,256 --precisions fp16,bf16 --search heuristic --fuse on \
      --graphs on --seconds 0.3
    a=$?
    "$1" --models Xception,InceptionV3 --batches 32,256 --precisions fp32 --search heuristic --fuse off --graphs on \
      --seconds 0.3
    exit $((a | $?))' _ "$bin/featurize_gpu"
  DLP_CUDA_UNROLLED_3X3=$u step unrolled_3x3_profile_$u 30 "$bin/featurize_gpu" --models Xception,InceptionV3 \
    --batches 256 --precisions fp16 --search heuristic --fuse on --seconds 0.3 --profile 8
done
# Concatenation inputs written in place (concat_slices) against copied, InceptionV3 fp16/fp32, side by side.
step featurize_gpu_concat_slices 30 "$bin/featurize_gpu" --models InceptionV3 --batches 256,32 --precisions fp16,fp32 \
  --search timed --fuse on --graphs on --seconds 0.4 --concat-slices off,on
# The cuDNN workspace cap (256 MiB by default) against bigger ones, InceptionV3 fp16 batch 256.
for mib in 1024 4096; do
  step featurize_gpu_workspace_$mib 25 "$bin/featurize_gpu" --models InceptionV3,ResNet50 --batches 256 \
    --precisions fp16 --search timed --fuse on --seconds 0.3 --workspace-mib $mib
done
# One step per model: a single step for all five ran out of its limit after ResNet50 and InceptionV3 (04:14 run).
for model in ResNet50 InceptionV3 Xception VGG16 VGG19; do
  PYTHONUNBUFFERED=1 step featurize_torch_$model 45 python3 "$root/bench/featurize_torch_gpu.py" --batches 256,32,1 \
    --models $model --precisions fp16,bf16,fp32 --seconds 0.3
done
# The peers for the ResNet50 goal alone (fp16/bf16 at batch 256), when the full line above is too long for a session.
PYTHONUNBUFFERED=1 step featurize_torch_resnet50 40 python3 "$root/bench/featurize_torch_gpu.py" --batches 256 \
  --models ResNet50 --precisions fp16,bf16 --seconds 0.4

digits="$run/shared/data/digits-500" weights="$run/shared/models/nsfwjs-inception_v3"
step fit_cuda 40 "$bin/dlp" fit --device cuda --weights "$weights" --images "$digits" --max-iter 5 --reg 0.03 \
  --elastic-net 0.5 --split 0.8 --seed 42 -o /tmp/fit-cuda
cp /tmp/fit-cuda/report.json "$LOGS/fit_cuda_report.json" 2> /dev/null

# End to end: 4000 JPEGs (quality 90, 500x375, from the three oracle photos) -> features.
step make_jpegs 20 python3 -c '
import sys, os
from PIL import Image
src = sys.argv[1]; dst = sys.argv[2]; os.makedirs(dst + "/a", exist_ok=True)
imgs = [Image.open(os.path.join(src, n)).convert("RGB").resize((500, 375)) for n in sorted(os.listdir(src)) if n.endswith(".png")]
for i in range(4000):
    imgs[i % 3].rotate(i % 17).save("%s/a/%05d.jpg" % (dst, i), quality=90)
' "$run/shared/oracle/inception_v3" /tmp/jpegs
# The decode ceiling: one core's read + decode rate of these files x the cores.
step decode_rate 20 "$bin/decode_rate" /tmp/jpegs --seconds 4
for t in 1 4 16; do
  step e2e_dlp_t$t 40 "$bin/dlp" featurize --device cuda --no-cache --threads $t --batch-size 64 \
    --model InceptionV3 --weights "$weights" --images /tmp/jpegs -o /tmp/e2e.npy
done
step e2e_dlp_t16_cpu_preprocess 30 "$bin/dlp" featurize --device cuda --no-cache --threads 16 --batch-size 64 \
  --cpu-preprocess --model InceptionV3 --weights "$weights" --images /tmp/jpegs -o /tmp/e2e_cpu.npy
step e2e_same_features 20 python3 -c '
import numpy as np
a, b = np.load("/tmp/e2e.npy"), np.load("/tmp/e2e_cpu.npy")
print("e2e features, GPU vs CPU preprocessing: shape", a.shape, "max abs difference", float(np.abs(a - b).max()))'
PYTHONUNBUFFERED=1 step e2e_torch 120 python3 "$root/bench/e2e_torch_gpu.py" /tmp/jpegs --model inception_v3 \
  --workers 1,4,16
# ResNet50 (synthetic weights; the real ones are not on the machine) at 16 threads, dlp vs the DataLoader.
step synth_resnet50 20 "$bin/synth_weights" ResNet50 /tmp/resnet50.safetensors
step e2e_dlp_resnet50_t16 40 "$bin/dlp" featurize --device cuda --no-cache --threads 16 --batch-size 64 \
  --model ResNet50 --weights /tmp/resnet50.safetensors --images /tmp/jpegs -o /tmp/e2e_r50.npy
PYTHONUNBUFFERED=1 step e2e_torch_resnet50 60 python3 "$root/bench/e2e_torch_gpu.py" /tmp/jpegs --model resnet50 \
  --workers 16
# fp16 end to end (batch 256): dlp's featurizer (timed + fused) vs the DataLoader with autocast fp16.
step e2e_dlp_fp16_t16 40 "$bin/dlp" featurize --device cuda --precision fp16 --no-cache --threads 16 \
  --batch-size 256 --model InceptionV3 --weights "$weights" --images /tmp/jpegs -o /tmp/e2e16.npy
step e2e_dlp_resnet50_fp16_t16 40 "$bin/dlp" featurize --device cuda --precision fp16 --no-cache --threads 16 \
  --batch-size 256 --model ResNet50 --weights /tmp/resnet50.safetensors --images /tmp/jpegs -o /tmp/e2e16_r50.npy
PYTHONUNBUFFERED=1 step e2e_torch_fp16 90 bash -c 'python3 "$1" /tmp/jpegs --model inception_v3 --workers 16 \
  --precision fp16 --batch 256 && python3 "$1" /tmp/jpegs --model resnet50 --workers 16 --precision fp16 --batch 256' \
  _ "$root/bench/e2e_torch_gpu.py"
# dlp apply on images through the batch runner with a user's model (nsfwjs from its model.json) on 64 of the
# 500x375 JPEGs: the device's resizing (tf) and the CPU's (scale:A,B, the same map) against --device cpu, 1e-4.
step apply_cuda_resize 60 bash -c 'ls -d /tmp/jpegs/a/* | head -64 > /tmp/apply64.txt
  for run in "cuda tf" "cuda scale:0.00784313725490196,-1" "cpu tf"; do set -- "$1" "$2" $run
    "$1" apply --device $3 --keras "$2/model.json" --images /tmp/apply64.txt --preprocess $4 --quiet \
      -o /tmp/apply_$3_${4%%:*}.npy || exit 1; set -- "$1" "$2"; done
  python3 -c "
import numpy as np
c = np.load(\"/tmp/apply_cpu_tf.npy\")
for name in (\"cuda_tf\", \"cuda_scale\"):
    d = float(np.abs(np.load(\"/tmp/apply_%s.npy\" % name) - c).max())
    print(\"apply %s vs cpu: max abs difference %.3g\" % (name, d)); assert d <= 1e-4"' _ "$bin/dlp" "$weights"
# dlp predict with fit_cuda's pipeline on the 4000 files (fp32, batch 64): FILE mode (chunks of about 2 s, each one
# featurizer run, decoding beside the network) against --stdin with the paths all there (one featurizer run per
# 64-path micro-batch: how FILE mode ran before the chunks). rows/s = 4000 / the "seconds" each step prints.
for mode in files stdin; do
  step predict_${mode}_gpu 60 bash -c 'TIMEFORMAT="predict seconds=%R"; ls -d /tmp/jpegs/a/* > /tmp/jpeg_paths.txt
    if [ "$2" = files ]; then time "$1" predict /tmp/fit-cuda --device cuda --no-cache --threads 16 --quiet \
      --images /tmp/jpeg_paths.txt -o /tmp/predict_files.jsonl
    else time "$1" predict /tmp/fit-cuda --device cuda --no-cache --threads 16 --quiet --stdin --max-latency-ms 1000 \
      -o /tmp/predict_stdin.jsonl < /tmp/jpeg_paths.txt; fi' _ "$bin/dlp" $mode
done
step predict_same 10 bash -c 'cmp /tmp/predict_files.jsonl /tmp/predict_stdin.jsonl && echo "predict files = stdin"'
# The steady state against the >= 90% goal. stream_rate: the featurizer's CPU half alone (its decode stream with an
# infinitely fast consumer) vs the ceiling measured in the same process (one core's read + decode x threads, and
# plain parallel decoding), and the previous per-batch loop's CPU side. Then end to end on the 4000 files listed
# four times (16,000 rows; after the first pass from the page cache), fp16, batch 256, every core; then the
# default configuration (feature cache on): cold (every row computed and its file written), warm (all from cache).
for i in 1 2 3 4; do ls /tmp/jpegs/a/*.jpg; done > /tmp/jpegs16k.txt
step stream_rate 40 "$bin/stream_rate" /tmp/jpegs --batch 256 --rows 16000 --seconds 2 --pinned 0
[ -f /tmp/resnet50.safetensors ] || step synth_resnet50 20 "$bin/synth_weights" ResNet50 /tmp/resnet50.safetensors
# e2e_fp16 PREFIX LIMIT LIST [OPTION...]: steps PREFIX_fp16_ResNet50 and PREFIX_fp16_InceptionV3, featurizing the
# files of LIST in fp16, batch 256, without the cache, every core.
e2e_fp16() {
  local prefix=$1 limit=$2 list=$3 m w
  shift 3
  for m in ResNet50 InceptionV3; do
    w=$weights; [ $m = ResNet50 ] && w=/tmp/resnet50.safetensors
    step ${prefix}_fp16_$m "$limit" "$bin/dlp" featurize --device cuda --precision fp16 --no-cache --batch-size 256 \
      "$@" --model $m --weights "$w" --images "$list" -o "/tmp/$prefix.npy"
  done
}
e2e_fp16 e2e_steady 40 /tmp/jpegs16k.txt
for pass in cold warm; do
  step e2e_steady_cache_$pass 40 "$bin/dlp" featurize --device cuda --precision fp16 --cache-dir /tmp/e2e-cache \
    --batch-size 256 --model ResNet50 --weights /tmp/resnet50.safetensors --images /tmp/jpegs16k.txt -o /tmp/e2e_c.npy
done
# The DataLoader peer on the same 16,000 rows (fp16, batch 256, 16 workers: 62 batches, so its workers pipeline).
PYTHONUNBUFFERED=1 step e2e_steady_torch 90 bash -c 'python3 "$1" /tmp/jpegs --model resnet50 --workers 16 \
  --precision fp16 --batch 256 --repeat 4 && python3 "$1" /tmp/jpegs --model inception_v3 --workers 16 \
  --precision fp16 --batch 256 --repeat 4' _ "$root/bench/e2e_torch_gpu.py"
# Longer runs (64,000 rows, the 4000 files 16 times), so one-time costs (the pinned ring buffers, the timed search)
# weigh less: pinned_rate times the ways of getting page-locked memory for one ring buffer (a batch of 256 full-size
# 500x375 images + 25%); stream_rate pinned as the featurizer has it and pageable; then end to end.
for i in $(seq 16); do ls /tmp/jpegs/a/*.jpg; done > /tmp/jpegs64k.txt
step pinned_rate 20 "$bin/pinned_rate" 180
step stream_rate_64k 60 "$bin/stream_rate" /tmp/jpegs --batch 256 --rows 64000 --seconds 1 --pinned 0
step stream_rate_64k_pageable 60 "$bin/stream_rate" /tmp/jpegs --batch 256 --rows 64000 --seconds 1 --pinned -1
e2e_fp16 e2e_long 40 /tmp/jpegs64k.txt
# And 256,000 rows (the files 64 times, about 15 s each), where the one-time start is a few percent.
for i in $(seq 4); do cat /tmp/jpegs64k.txt; done > /tmp/jpegs256k.txt
# (Without graphs: they are the featurizer's default since 2026-11-26 11:30 UTC.)
e2e_fp16 e2e_huge 60 /tmp/jpegs256k.txt --no-cuda-graphs
# The same with the network replayed from a CUDA graph (--cuda-graphs): one launch per batch from a consumer
# thread that shares the cores with 16 decoding threads.
e2e_fp16 e2e_huge_graphs 60 /tmp/jpegs256k.txt --cuda-graphs
# The JPEG split (the featurizer's default on a GPU since 2026-11-27 06:40 UTC; DLP_JPEG_SPLIT=0 turns it off): the
# CPU reads each JPEG only as far as its DCT coefficients and the image stage finishes it on the GPU (kernels/jpeg.cu's
# batch kernels: IDCT, upsampling, colour) before resizing. split_same: the 4000 files' InceptionV3 features (fp32,
# batch 64) with and without it, the same pixels, so features equal to cuDNN's run-to-run agreement (bound 1e-5; the
# GPU's JPEG kernels are exact); then 256,000 rows end to end without it, beside e2e_huge_graphs (stream_rate_64k's
# split= figure is the CPU half alone).
step split_same 60 bash -c 'for s in 0 1; do DLP_JPEG_SPLIT=$s "$1" featurize --device cuda --no-cache --threads 16 \
    --batch-size 64 --model InceptionV3 --weights "$2" --images /tmp/jpegs --quiet -o /tmp/split_$s.npy || exit 1; done
  python3 -c "
import numpy as np
a, b = np.load(\"/tmp/split_0.npy\"), np.load(\"/tmp/split_1.npy\")
d = float(np.abs(a - b).max())
print(\"features with and without the JPEG split:\", a.shape, \"max abs difference\", d)
assert a.shape == b.shape and d <= 1e-5"' \
  _ "$bin/dlp" "$weights"
DLP_JPEG_SPLIT=0 e2e_fp16 e2e_nosplit_huge 60 /tmp/jpegs256k.txt --cuda-graphs
grep -h "pinned_rate\|rows/s\|stream_rate\|JPEG split" "$LOGS"/pinned_rate.log "$LOGS"/stream_rate_64k*.log \
  "$LOGS"/e2e_long_*.log \
  "$LOGS"/e2e_huge_*.log "$LOGS"/e2e_nosplit_huge_*.log "$LOGS"/split_same.log >> "$summary" 2> /dev/null
grep -h "rows/s\|stream_rate\|peer=" "$LOGS"/stream_rate.log "$LOGS"/e2e_steady_*.log >> "$summary" 2> /dev/null
# Logistic regression 100k x 2048 x 10: dlp CPU on all cores vs dlp CUDA (upload included, and
# resident features: first and second fit), time to the CPU's converged objective (SUMMARY lines).
step logreg_gpu_bench 60 "$bin/bench_logreg" gpu --rows 100000 --cols 2048 --classes 10 --seed 42
grep -h SUMMARY "$LOGS/logreg_gpu_bench.log" >> "$summary" 2> /dev/null
# compute-sanitizer memcheck (MEMCHECK=1): the op suite in fp32 and fp16 (MEMCHECK_MODES; MEMCHECK_CASES: parts of
# case labels, e.g. "pad,stem,pool", all if empty), the user-model ops, the preprocessing kernel and the featurizer.
[ "${MEMCHECK:-0}" = 1 ] && command -v compute-sanitizer > /dev/null && DLP_GRAPH_CUDA_MODES=${MEMCHECK_MODES:-fp32,fp16} \
  DLP_GRAPH_CUDA_CASES=${MEMCHECK_CASES:-} step memcheck 120 compute-sanitizer --tool memcheck --error-exitcode 9 "$bin/gpu_test_graph_cuda"
[ "${MEMCHECK:-0}" = 1 ] && command -v compute-sanitizer > /dev/null && DLP_KERAS_CUDA_OPS_ONLY=1 \
  step memcheck_keras_ops 40 compute-sanitizer --tool memcheck --error-exitcode 9 "$bin/gpu_test_keras_model_cuda"
[ "${MEMCHECK:-0}" = 1 ] && command -v compute-sanitizer > /dev/null &&
  step memcheck_preprocess 40 compute-sanitizer --tool memcheck --error-exitcode 9 "$bin/gpu_test_preprocess_cuda"
[ "${MEMCHECK:-0}" = 1 ] && command -v compute-sanitizer > /dev/null &&
  step memcheck_jpeg 40 compute-sanitizer --tool memcheck --error-exitcode 9 "$bin/gpu_test_jpeg_cuda"
# The featurizer's GPU loop (staging slots, async downloads, two batches in flight, fp16 whole batches).
[ "${MEMCHECK:-0}" = 1 ] && command -v compute-sanitizer > /dev/null &&
  step memcheck_featurize 150 compute-sanitizer --tool memcheck --error-exitcode 9 "$bin/gpu_test_featurize_cuda"
# The JPEG split in the featurizer alone (records staged, the batch kernels, then the resize), a shorter run.
[ "${MEMCHECK:-0}" = 1 ] && command -v compute-sanitizer > /dev/null && DLP_FEATURIZE_CUDA_ONLY=jpeg_split \
  step memcheck_featurize_split 90 compute-sanitizer --tool memcheck --error-exitcode 9 "$bin/gpu_test_featurize_cuda"
# The strided writes of concat_slices under memcheck: the concat and mixed-block cases in three slices modes.
[ "${MEMCHECK:-0}" = 1 ] && command -v compute-sanitizer > /dev/null && \
  DLP_GRAPH_CUDA_MODES=fp32-slices,fp16-timed-fused-slices,fp32-packed-slices DLP_GRAPH_CUDA_CASES=concat,mixed \
  step memcheck_slices 90 compute-sanitizer --tool memcheck --error-exitcode 9 "$bin/gpu_test_graph_cuda"
# The compute ceiling: FLOPs per image (featurize_cpu --flops, the graph's multiply-adds x 2) / the measured
# bf16 matrix rate (cublasGemmEx, fp32 accumulation): images/s no implementation can pass on this GPU.
step gemm_rate 20 "$bin/gemm_rate_gpu" 8192 --seconds 1
# Whether cuDNN's graph API writes a conv's output into a concatenation slice (the legacy API refuses every one
# of InceptionV3's 44): five InceptionV3-like shapes x fp32/fp16/bf16, each engine checked (bench/cudnn_strided_probe.c).
step strided_probe 30 "$bin/cudnn_strided_probe"
grep -h "^strided_probe" "$LOGS/strided_probe.log" >> "$summary" 2> /dev/null
# Each model's GFLOP per image over each measured matrix rate (bench/compute_table.py --ceilings).
step flop_ceiling 20 bash -c 'for m in InceptionV3 Xception ResNet50 VGG16 VGG19; do "$1" --model $m --flops || exit 1
  done > "$3" && cat "$3" && python3 "$4" --ceilings "$2" "$3"' _ "$bin/featurize_cpu" "$LOGS/gemm_rate.log" \
  /tmp/flops.txt "$root/bench/compute_table.py"
# Issue 4's benchmark (a) in one run: compute only, all five models, batches 1/32/256, fp32/fp16/bf16. dlp as the
# featurizer ships it (fp32: heuristic search, unfused; fp16/bf16: heuristic search, fused; CUDA graphs on), fp32 fused
# beside it, then PyTorch eager on the same GPU (Xception: timm's, else the Keras architecture written in
# featurize_torch_gpu.py), one step per model; torch.compile is featurize_torch_compile*; compute_summary (last)
# joins them with flop_ceiling into one table (bench/compute_table.py).
for model in ResNet50 InceptionV3 Xception VGG16 VGG19; do
  PYTHONUNBUFFERED=1 step compute_table_$model 90 bash -c '
    "$1" --models "$3" --batches 1,32,256 --precisions fp32 --search heuristic --fuse off,on --graphs on --seconds 0.3
    a=$?
    "$1" --models "$3" --batches 1,32,256 --precisions fp16,bf16 --search heuristic --fuse on --graphs on --seconds 0.3
    b=$?
    python3 "$2" --models "$3" --batches 1,32,256 --precisions fp32,fp16,bf16 --seconds 0.3
    exit $((a | b | $?))' _ "$bin/featurize_gpu" "$root/bench/featurize_torch_gpu.py" $model
done
# fp32 behind PyTorch at batches 32-256 (16:23 run: VGG16 b256 419 img/s against 1,615, 97% of the fp32 matrix rate,
# which takes FFT/Winograd-class algorithms). dlp's full fp32 passes over cuDNN's FFT and Winograd (accuracy:
# algorithm_preferred); DLP_CUDA_FP32_TRANSFORMS=1 lets them in. Speed with and without, at the former default 256 MiB
# workspace cap and at 16 GiB (fp32's default since 2026-11-27: a quarter of free memory), each conv's algorithm on the --profile lines (graphs off for the profile); accuracy with
# them in: the five models against Keras (gpu.zoo_synth_cuda, bound 1e-4, each error printed).
for t in 0 1; do
  for mib in 256 16384; do
    DLP_CUDA_FP32_TRANSFORMS=$t step fp32_algos_t${t}_ws$mib 40 "$bin/featurize_gpu" --models VGG16,ResNet50,InceptionV3 \
      --batches 32,256 --precisions fp32 --search heuristic --fuse off --seconds 0.3 --workspace-mib $mib --profile 6
  done
done
DLP_CUDA_FP32_TRANSFORMS=1 step fp32_transforms_zoo_synth 45 "$bin/gpu_test_zoo_synth_cuda"
# The heuristic search never offers FFT/Winograd for these convs (the t0 and t1 steps above pick the same algorithms),
# so the switch matters only under the timed search: fp32 timed with and without, PyTorch fp32 (cudnn.benchmark, TF32
# off) beside them, and the five models against Keras with the timed search and the transforms in.
for t in 0 1; do
  DLP_CUDA_FP32_TRANSFORMS=$t step fp32_timed_t$t 60 "$bin/featurize_gpu" --models VGG16,VGG19,ResNet50,InceptionV3 \
    --batches 32,256 --precisions fp32 --search timed --fuse off --graphs on --seconds 0.3
done
PYTHONUNBUFFERED=1 step fp32_torch 90 python3 "$root/bench/featurize_torch_gpu.py" --models VGG16,VGG19,ResNet50,InceptionV3 \
  --batches 32,256 --precisions fp32 --seconds 0.5
DLP_CUDA_SEARCH=timed DLP_CUDA_FP32_TRANSFORMS=1 step fp32_timed_transforms_zoo_synth 60 "$bin/gpu_test_zoo_synth_cuda"
# The candidate defaults: every GPU path that ships with CUDA graphs and concatenation slices on (the environment
# overrides dlp_cuda_options for every plan: README "Environment"), before either becomes the default. The real
# InceptionV3 vs TF.js, the zoo vs the CPU, the featurizer, the predictor, users' Keras models, dlp apply and
# dlp fit (its report beside fit_cuda's), and fp16 end to end on 256,000 rows (beside e2e_huge_graphs; needs the
# make_jpegs and synth_resnet50 steps).
candidate() {  # candidate FUNCTION ARGS...: step or e2e_fp16 under DLP_CUDA_GRAPHS=1 DLP_CUDA_CONCAT_SLICES=1
  DLP_CUDA_GRAPHS=1 DLP_CUDA_CONCAT_SLICES=1 "$@"
}
candidate step cand_gpu_inception_v3_cuda 40 "$bin/gpu_test_inception_v3_cuda"
candidate step cand_gpu_zoo_synth_cuda 45 "$bin/gpu_test_zoo_synth_cuda"
candidate step cand_gpu_featurize_cuda 90 "$bin/gpu_test_featurize_cuda"
DLP_BIN="$bin/dlp" candidate step cand_gpu_predictor_cuda 60 "$bin/gpu_test_predictor_cuda"
candidate step cand_gpu_keras_model_cuda 30 "$bin/gpu_test_keras_model_cuda"
candidate step cand_apply_cuda 30 bash "$root/bench/apply_cuda_check.sh" "$bin/dlp" "$run/shared" /tmp/apply-cand.jsonl
# Its own feature cache: with the shared one it would read fit_cuda's features instead of computing them.
DLP_CACHE_DIR=/tmp/dlp-cache-cand candidate step cand_fit_cuda 40 "$bin/dlp" fit --device cuda --weights "$weights" --images "$digits" --max-iter 5 \
  --reg 0.03 --elastic-net 0.5 --split 0.8 --seed 42 -o /tmp/fit-cand
cp /tmp/fit-cand/report.json "$LOGS/cand_fit_cuda_report.json" 2> /dev/null
candidate e2e_fp16 cand_e2e_huge 60 /tmp/jpegs256k.txt
grep -h "rows/s" "$LOGS"/cand_e2e_huge_*.log >> "$summary" 2> /dev/null
# Where CUDA graphs replay and where a capture was abandoned (why), and cuDNN's heuristic algorithm choice against
# the timed one (cudnnFind times calls as the host launches them: with graphs the heuristic's picks measured faster at
# batches 32 and 1, 11:06 run): compute only, fp16, with and without graphs.
step featurize_gpu_graphs 100 "$bin/featurize_gpu" --models InceptionV3,ResNet50 --batches 256,64,32,1 \
  --precisions fp16 --search heuristic,timed --fuse on --graphs off,on --seconds 0.25
# The same question end to end, for the featurizer's search (heuristic with graphs since the 16:23 run, where it was
# ahead in all four pairs): 256,000 rows at batch 256 and 64,000 at batch 64 (the default GPU batch), each search
# named explicitly (graphs on in both).
DLP_CUDA_SEARCH=timed e2e_fp16 e2e_search_timed_b256 60 /tmp/jpegs256k.txt
DLP_CUDA_SEARCH=heuristic e2e_fp16 e2e_search_heuristic_b256 60 /tmp/jpegs256k.txt
DLP_CUDA_SEARCH=timed e2e_fp16 e2e_search_timed_b64 40 /tmp/jpegs64k.txt --batch-size 64
DLP_CUDA_SEARCH=heuristic e2e_fp16 e2e_search_heuristic_b64 40 /tmp/jpegs64k.txt --batch-size 64
grep -h "rows/s" "$LOGS"/e2e_search_*.log >> "$summary" 2> /dev/null
# End to end by decoding threads, fp16 with --cuda-graphs, batch 64, the 4000 JPEGs, beside the DataLoader + PIL
# peer with as many workers (same batch, precision and files; needs make_jpegs and synth_resnet50).
for t in 1 4 16; do
  for m in ResNet50 InceptionV3; do
    w=$weights; [ $m = ResNet50 ] && w=/tmp/resnet50.safetensors
    step e2e_threads_fp16_${m}_t$t 40 "$bin/dlp" featurize --device cuda --precision fp16 --cuda-graphs --no-cache \
      --threads $t --batch-size 64 --model $m --weights "$w" --images /tmp/jpegs -o /tmp/e2e_threads.npy
  done
done
for m in resnet50 inception_v3; do
  PYTHONUNBUFFERED=1 step e2e_threads_torch_$m 90 python3 "$root/bench/e2e_torch_gpu.py" /tmp/jpegs --model $m \
    --workers 1,4,16 --precision fp16 --batch 64
done
grep -h "rows/s\|peer=" "$LOGS"/e2e_threads_*.log >> "$summary" 2> /dev/null
# Last, as it is the first thing to drop when the budget runs out:
# torch.compile, ResNet50 fp16 batch 256 only: the child process is killed at 45 s (a failed= line then).
PYTHONUNBUFFERED=1 step featurize_torch_compile 50 python3 "$root/bench/featurize_torch_gpu.py" --models ResNet50 \
  --batches 256 --precisions fp16 --seconds 0.3 --compile-only --compile-seconds 45
PYTHONUNBUFFERED=1 step featurize_torch_compile_inception_v3 65 python3 "$root/bench/featurize_torch_gpu.py" \
  --models InceptionV3 --batches 256 --precisions fp16 --seconds 0.3 --compile-only --compile-seconds 60
step compute_summary 10 python3 "$root/bench/compute_table.py" "$LOGS"/compute_table_*.log \
  "$LOGS"/featurize_torch_compile*.log "$LOGS/gemm_rate.log" "$LOGS/flop_ceiling.log"
cat "$LOGS/compute_summary.log" >> "$summary" 2> /dev/null
echo "total seconds=$((SECONDS - start))" >> "$summary"
cat "$summary"
