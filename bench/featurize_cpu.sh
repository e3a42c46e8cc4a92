#!/usr/bin/env bash
# featurize_cpu.sh: dlp's CPU featurizer beside PyTorch and Keras, same models,
# batch sizes and thread count, interleaved in one run; appends a dated section
# to bench/RESULTS.md (machine, load, command, raw lines, medians, ratios, the
# FLOP-bound ceiling from OpenBLAS sgemm and the graph's FLOP count, and each
# process's peak resident memory).
#
#   bench/featurize_cpu.sh [--build DIR] [--threads 2] [--repeats 3] [--batches 1,16]
#                          [--warmup 1] [--runs 3] [--models "InceptionV3 ResNet50"]
#                          [--wait-policy passive|spin1000|default] [--no-append]
#
# Models default to InceptionV3 and ResNet50, each only if `dlp models` lists
# it. Every repeat runs each framework on each model once (its own process);
# the table gives the median over repeats of each process's median batch time.
# Needs: the build (bench/featurize_cpu, bench/sgemm_cpu, dlp), Debian's
# python3-torch and python3-torchvision (scripts/install-bench-deps.sh) and a
# venv with tensorflow and tf-keras (KERAS_PYTHON; default BUILD/oracle-venv
# from make oracle, else /work/venv).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build"
threads=2 repeats=3 batches=1,16 warmup=1 runs=3 models="" wait_policy=passive append=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$(cd "$2" && pwd)"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --wait-policy) wait_policy="$2"; shift 2 ;;
    --no-append) append=0; shift ;;
    *) echo "featurize_cpu.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
torch_python="${TORCH_PYTHON:-/usr/bin/python3}"
# The Keras peer runs in the oracle venv (make oracle builds $build/oracle-venv).
keras_python="${KERAS_PYTHON:-}"
for candidate in "$build/oracle-venv/bin/python" /work/venv/bin/python; do
  if [ -z "$keras_python" ] && [ -x "$candidate" ]; then keras_python="$candidate"; fi
done
# A peer that cannot be imported is left out (its columns read n/a), not fatal.
have_torch=1 have_keras=1
"$torch_python" -c 'import torch, torchvision' 2>/dev/null || {
  have_torch=0; echo "featurize_cpu.sh: no torch/torchvision for $torch_python (scripts/install-bench-deps.sh)" >&2; }
[ -n "$keras_python" ] && "$keras_python" -c 'import tf_keras' 2>/dev/null || {
  have_keras=0; echo "featurize_cpu.sh: no tf-keras venv (set KERAS_PYTHON or run make oracle)" >&2; }
for tool in "$build/bench/featurize_cpu" "$build/bench/sgemm_cpu" "$build/dlp"; do
  [ -x "$tool" ] || { echo "featurize_cpu.sh: $tool missing; build first (cmake --build $build)" >&2; exit 1; }
done
if [ -z "$models" ]; then
  for model in InceptionV3 ResNet50; do
    if "$build/dlp" models | awk 'NR > 1 {print $1}' | grep -qx "$model"; then models="$models $model"; fi
  done
fi
# On a machine shared with other jobs, OpenMP threads that spin while they wait
# steal the cores the working threads need (PyTorch at batch 1 went from 0.5 s
# to 9 s per image here); passive waiting, or libgomp's spin cut to 1000 turns
# (what the dlp CLI sets), is applied to all three alike (TensorFlow's own
# thread pool reads neither).
case "$wait_policy" in
  passive) export OMP_WAIT_POLICY=PASSIVE ;;
  spin1000) export GOMP_SPINCOUNT=1000 ;;
  default) ;;
  *) echo "featurize_cpu.sh: --wait-policy passive, spin1000 or default" >&2; exit 1 ;;
esac
export TF_CPP_MIN_LOG_LEVEL=2 CUDA_VISIBLE_DEVICES=""

raw="$(mktemp)"
trap 'rm -f "$raw"' EXIT
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
for model in $models; do
  "$build/bench/featurize_cpu" --model "$model" --flops | tee -a "$raw"
done
for repeat in $(seq 1 "$repeats"); do
  echo "== repeat $repeat/$repeats (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  "$build/bench/sgemm_cpu" --threads "$threads" --runs 3 | grep '^sgemm_peak' | tee -a "$raw"
  for model in $models; do
    common=(--model "$model" --batch "$batches" --threads "$threads" --warmup "$warmup" --runs "$runs")
    "$build/bench/featurize_cpu" "${common[@]}" | tee -a "$raw"
    if [ "$have_torch" = 1 ]; then
      # One process per layout, so that each has its own peak memory.
      for layout in nchw nhwc; do
        "$torch_python" "$root/bench/featurize_torch.py" "${common[@]}" --layouts "$layout" | tee -a "$raw"
      done
    fi
    if [ "$have_keras" = 1 ]; then
      "$keras_python" "$root/bench/featurize_keras.py" "${common[@]}" 2>/dev/null | tee -a "$raw"
    fi
  done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

section="$(python3 - "$raw" <<'EOF'
import re, statistics, sys
lines = [l.strip() for l in open(sys.argv[1]) if l.strip()]
def fields(line):
    return dict(kv.split("=", 1) for kv in line.split()[1:])
flops = {f["model"]: float(f["gflop_per_image"]) for l in lines if l.startswith("flops ") for f in [fields(l)]}
peaks = [float(fields(l)["gflops"]) for l in lines if l.startswith("sgemm_peak")]
core = next((fields(l).get("openblas_core", "?") for l in lines if l.startswith("sgemm_peak")), "?")
times = {}
for l in lines:
    kind = l.split()[0]
    if kind not in ("dlp", "torch", "keras"):
        continue
    f = fields(l)
    name = kind if kind != "torch" else f"torch-{f['layout']}"
    times.setdefault((f["model"], int(f["batch"])), {}).setdefault(name, []).append(float(f["median_ms"]))
peak = statistics.median(peaks) if peaks else float("nan")
print(f"sgemm peak (OpenBLAS core {core}): median {peak:.1f} GFLOP/s over {len(peaks)} repeats "
      f"(each the best size's median; all: {', '.join(f'{p:.0f}' for p in peaks)})\n")
print("| model | batch | dlp img/s | PyTorch NCHW | PyTorch channels_last | Keras | dlp/PyTorch (best layout) "
      "| dlp/Keras | FLOP-bound ceiling img/s | dlp % of ceiling |")
print("|---|---|---|---|---|---|---|---|---|---|")
for (model, batch), by in sorted(times.items()):
    rate = {k: batch * 1e3 / statistics.median(v) for k, v in by.items()}
    torch_best = max(rate.get("torch-nchw", 0), rate.get("torch-nhwc", 0))
    ceiling = peak / flops[model] if model in flops else float("nan")
    def cell(k):
        return f"{rate[k]:.2f}" if k in rate else "n/a"
    ratio_torch = f"{rate['dlp'] / torch_best:.2f}" if "dlp" in rate and torch_best else "n/a"
    ratio_keras = f"{rate['dlp'] / rate['keras']:.2f}" if "dlp" in rate and "keras" in rate else "n/a"
    share = f"{100 * rate['dlp'] / ceiling:.0f}%" if "dlp" in rate else "n/a"
    print(f"| {model} | {batch} | {cell('dlp')} | {cell('torch-nchw')} | {cell('torch-nhwc')} | {cell('keras')} "
          f"| {ratio_torch} | {ratio_keras} | {ceiling:.1f} | {share} |")
print("\nGFLOP per image (convolutions and dense, multiply-add = 2): "
      + ", ".join(f"{m} {g:.2f}" for m, g in sorted(flops.items())))
memory = {}
for l in lines:
    if l.startswith("memory "):
        f = fields(l)
        memory.setdefault(f["model"], {}).setdefault(f["tool"], []).append(float(f["peak_rss_mib"]))
if memory:
    print("\nPeak resident memory of each benchmark process, MiB (median over repeats; getrusage ru_maxrss: the "
          "libraries, the model and the largest batch's activations; Python's interpreter counts for the peers):\n")
    print("| model | dlp | PyTorch NCHW | PyTorch channels_last | Keras | dlp/PyTorch (best) | dlp/Keras |")
    print("|---|---|---|---|---|---|---|")
    for model, by in sorted(memory.items()):
        mib = {k: statistics.median(v) for k, v in by.items()}
        def cell(k):
            return f"{mib[k]:.0f}" if k in mib else "n/a"
        torch_best = min((mib[k] for k in ("torch-nchw", "torch-nhwc") if k in mib), default=0)
        ratio_torch = f"{mib['dlp'] / torch_best:.2f}" if "dlp" in mib and torch_best else "n/a"
        ratio_keras = f"{mib['dlp'] / mib['keras']:.2f}" if "dlp" in mib and "keras" in mib else "n/a"
        print(f"| {model} | {cell('dlp')} | {cell('torch-nchw')} | {cell('torch-nhwc')} | {cell('keras')} "
              f"| {ratio_torch} | {ratio_keras} |")
EOF
)"

cpu_model="$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
cores="$(nproc)"
{
  echo
  echo "## CPU featurization, $started (bench/featurize_cpu.sh)"
  echo
  echo "- Machine: $cpu_model, $cores cores visible ($(uname -m), $(grep -c ^processor /proc/cpuinfo) CPUs);" \
       "load average before $load_before, after $load_after. The machine is shared with other jobs: the figures" \
       "are noisy; each is the median over $repeats interleaved repeats."
  echo "- Versions: $("$build/dlp" --version 2>/dev/null | head -1 | tr -d '\n'); PyTorch" \
       "$("$torch_python" -c 'import torch, torchvision; print(torch.__version__, "/ torchvision", torchvision.__version__)' 2>/dev/null || echo absent);" \
       "TensorFlow/tf-keras $("${keras_python:-false}" -c 'import tensorflow as tf, tf_keras; print(tf.__version__, "/", tf_keras.__version__)' 2>/dev/null || echo absent)."
  echo "- Settings: fp32, $threads threads (dlp --threads; torch.set_num_threads + 1 inter-op thread; TF intra-op $threads," \
       "inter-op 1), batches $batches, $warmup warm-up + $runs timed batches per process, random/synthetic weights," \
       "OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-default}, GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-default}."
  echo "- Command: \`bench/featurize_cpu.sh --threads $threads --repeats $repeats --batches $batches --warmup $warmup" \
       "--runs $runs --models \"${models# }\" --wait-policy $wait_policy\`"
  echo
  echo "$section"
  echo
  echo "<details><summary>Raw lines</summary>"
  echo
  echo '```'
  cat "$raw"
  echo '```'
  echo
  echo "</details>"
} > "$raw.section"
cat "$raw.section"
if [ "$append" = 1 ]; then
  cat "$raw.section" >> "$root/bench/RESULTS.md"
  echo "featurize_cpu.sh: appended to $root/bench/RESULTS.md" >&2
fi
rm -f "$raw.section"
