#!/usr/bin/env bash
# GPU logistic regression vs dlp's own CPU path on all cores (DESIGN.md §9), on a
# machine that has nothing but the bench_logreg binary: the data is generated in
# C (seed 42, same generator as run.sh); per case (regParam 0.03 with elasticNet 0
# and 0.5) the CPU's converged objective (maxIter 200, tol 1e-6) is the target and
# each path is timed to reach it within 1e-6: CPU, CUDA from host features (upload
# included), CUDA on features resident on the device (uploaded once; first and
# second fit). Prints bench_logreg's RESULT lines and one SUMMARY line per case:
#   SUMMARY rows=N cols=D classes=K reg=R elastic_net=A target=F cpu_threads=T cpu_seconds=S ...
#     cuda_seconds=S upload_seconds=S resident_first_seconds=S resident_second_seconds=S speedup_...=X
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
"$bench" gpu --rows "$rows" --cols "$cols" --classes "$classes" --seed 42 --cases 0.03:0,0.03:0.5
