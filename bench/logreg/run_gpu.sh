#!/usr/bin/env bash
# GPU logistic regression vs dlp's own CPU path on all cores (DESIGN.md §9), on a
# machine that has nothing but the bench_logreg binary: the data is generated in
# C (seed 42, same generator as run.sh), the CPU's converged objective (maxIter 200,
# tol 1e-6) is the target, and each device is timed to reach it within 1e-6.
# Prints bench_logreg's RESULT lines and one SUMMARY line per config:
#   SUMMARY rows=N cols=D classes=K reg=R elastic_net=A cpu_threads=T cpu_seconds=S cuda_seconds=S speedup=X
#   bench/logreg/run_gpu.sh [BENCH_BINARY] [--rows N] [--cols D] [--classes K]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench="$here/../../build/bench/logreg/bench_logreg"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then bench=$1; shift; fi
rows=100000 cols=2048 classes=10
while [ $# -gt 0 ]; do
  case $1 in --rows) rows=$2; shift 2;; --cols) cols=$2; shift 2;; --classes) classes=$2; shift 2;;
    *) echo "usage: $0 [BENCH_BINARY] [--rows N] [--cols D] [--classes K]" >&2; exit 1;; esac
done
[ -x "$bench" ] || { echo "no bench_logreg binary at $bench" >&2; exit 1; }
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) CPUs; $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"
for case in 0.03:0 0.03:0.5; do
  reg=${case%:*} alpha=${case#*:}
  "$bench" fit --rows "$rows" --cols "$cols" --classes "$classes" --seed 42 --reg "$reg" --elastic-net "$alpha" \
    --threads 0 --device both | tee /tmp/run_gpu_case.txt
  awk -v threads="$(nproc)" '$1 == "RESULT" { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      s[v["device"]] = v["seconds"]; r = v["rows"]; c = v["cols"]; k = v["classes"]; g = v["reg"]; a = v["elastic_net"] }
    END { printf "SUMMARY rows=%s cols=%s classes=%s reg=%s elastic_net=%s cpu_threads=%s cpu_seconds=%s cuda_seconds=%s speedup=%.2f\n",
          r, c, k, g, a, threads, s["cpu"], s["cuda"], (s["cuda"] > 0 ? s["cpu"] / s["cuda"] : 0) }' /tmp/run_gpu_case.txt
done
