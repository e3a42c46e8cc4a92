#!/usr/bin/env bash
# Logistic-regression benchmark (DESIGN.md §9): dlp (CPU, 2 threads) vs Spark MLlib
# local[2] vs scikit-learn, each timed to reach Spark's converged objective within
# 1e-6 relative, on generated data (bench_logreg generate: seed 42, class means
# 0.15 N(0, I), unit noise), for the L2 case (regParam 0.03, elasticNet 0) and the
# elastic-net case (0.03, 0.5). Appends a dated section to bench/RESULTS.md with --append.
#   bench/logreg/run.sh [--rows N] [--cols D] [--classes K] [--venv DIR] [--build DIR] [--append]
#   bench/logreg/run.sh --features X.npy --labels y.npy [...]   real features instead (labels: int .npy)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
rows=100000 cols=2048 classes=10 venv=/work/venv build="$root/build" append=0 threads=2
while [ $# -gt 0 ]; do
  case $1 in
    --rows) rows=$2; shift 2;; --cols) cols=$2; shift 2;; --classes) classes=$2; shift 2;;
    --venv) venv=$2; shift 2;; --build) build=$2; shift 2;; --append) append=1; shift;;
    --features) features=$2; shift 2;; --labels) labels=$2; shift 2;;
    *) echo "usage: $0 [--rows N] [--cols D] [--classes K] [--features X.npy --labels y.npy] [--venv DIR] [--build DIR] [--append]" >&2; exit 1;;
  esac
done
bench="$build/bench/logreg/bench_logreg"
[ -x "$bench" ] || { echo "build first: cmake --build $build --target bench_logreg" >&2; exit 1; }
# Real features (e.g. dlp featurize's .npy with labels from its manifest) instead of generated ones.
if [ -n "${features:-}" ]; then
  data="$build/bench-logreg-data/$(basename "$features" .npy)"; mkdir -p "$data"
  cp "$features" "$data/X.npy" && cp "$labels" "$data/y.npy"
fi
data=${data:-"$build/bench-logreg-data/${rows}x${cols}x${classes}"}; mkdir -p "$data"
bytes=$((rows * cols * 4))
free_bytes=$(df -B1 --output=avail "$data" | tail -1)
[ "$free_bytes" -gt $((bytes * 3)) ] || { echo "not enough disk for $bytes bytes of features in $data" >&2; exit 1; }
if [ ! -s "$data/y.npy" ]; then
  "$bench" generate --rows "$rows" --cols "$cols" --classes "$classes" --seed 42 --features "$data/X.npy" --labels "$data/y.npy"
fi
results="$data/results.txt"; : > "$results"
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
cases="0.03:0 0.03:0.5"

# 1. Spark first: its converged objective is every tool's target.
"$venv/bin/python" "$here/peers.py" spark --features "$data/X.npy" --labels "$data/y.npy" \
  --cases "${cases// /,}" --master "local[$threads]" 2> "$data/spark.log" | tee -a "$results"
for case in $cases; do
  reg=${case%:*} alpha=${case#*:}
  target=$(awk -v r="$reg" -v a="$alpha" '$1 == "RESULT" {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      if (v["tool"] == "spark" && v["device"] == "cpu-converged" && v["reg"] + 0 == r + 0 && v["elastic_net"] + 0 == a + 0)
        print v["objective"] }' "$results")
  [ -n "$target" ] || { echo "no Spark objective for case $case (see $data/spark.log)" >&2; exit 1; }
  # 2. dlp on the CPU with the same threads, 3. scikit-learn.
  "$bench" fit --features "$data/X.npy" --labels "$data/y.npy" --reg "$reg" --elastic-net "$alpha" \
    --threads "$threads" --target "$target" 2>> "$data/dlp.log" | tee -a "$results"
  "$venv/bin/python" "$here/peers.py" sklearn --features "$data/X.npy" --labels "$data/y.npy" --reg "$reg" \
    --elastic-net "$alpha" --target "$target" 2>> "$data/sklearn.log" | tee -a "$results"
done

# Ratios: peer seconds / dlp seconds, per case (time to the common target).
summary=$(awk '$1 == "RESULT" && $3 == "device=cpu" {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    key = v["reg"] + 0 ":" v["elastic_net"] + 0; t[key, v["tool"]] = v["seconds"]; keys[key] = 1
    if (v["tool"] ~ /^sklearn/) sk[key] = v["tool"]; reached[key, v["tool"]] = v["reached"] }
  END { for (k in keys) printf "case regParam:elasticNet=%s  dlp %.2f s, spark %.2f s (%.2fx), %s %.2f s (%.2fx, reached=%s)\n",
        k, t[k, "dlp"], t[k, "spark"], t[k, "spark"] / t[k, "dlp"], sk[k], t[k, sk[k]], t[k, sk[k]] / t[k, "dlp"], reached[k, sk[k]] }' "$results")
echo "$summary"
if [ $append -eq 1 ]; then
  {
    echo; echo "## Logistic regression, $(date -u +%Y-%m-%d) (bench/logreg/run.sh)"; echo
    echo "- Machine: $(lscpu | awk -F: '/Model name/{gsub(/^ +/, "", $2); print $2}'), $(nproc) CPUs visible;" \
         "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (shared with other builds: timings are noisy)"
    if [ -n "${features:-}" ]; then
      echo "- Data: real features $features, labels $labels"
      echo "- Command: bench/logreg/run.sh --features $features --labels $labels ($threads threads each:" \
           "dlp --threads $threads, Spark local[$threads], sklearn with OMP/OPENBLAS_NUM_THREADS=$threads)"
    else
    echo "- Data: ${rows} x ${cols} float32, ${classes} classes, bench_logreg generate --seed 42"
    echo "- Command: bench/logreg/run.sh --rows $rows --cols $cols --classes $classes ($threads threads each:" \
         "dlp --threads $threads, Spark local[$threads], sklearn with OMP/OPENBLAS_NUM_THREADS=$threads)"
    fi
    echo "- Target: Spark's converged objective (maxIter 200, tol 1e-6); each tool timed to reach it within 1e-6 relative"
    echo "- Goals: >= 3x Spark, >= 1x scikit-learn"; echo; echo '```'; cat "$results"; echo; echo "$summary"; echo '```'
  } >> "$root/bench/RESULTS.md"
fi
