#!/usr/bin/env bash
# make demo: the brief's workflow end to end on ../shared/data/digits-500.
#   1. the brief's configuration: InceptionV3 features as sparkdl made them (flatten,
#      131072-d), LogisticRegression(maxIter=5, regParam=0.03, elasticNetParam=0.5),
#      8:2 random split with seed 42;
#   2. the recommended configuration: 2048-d average-pooled features and a converged
#      logistic regression (maxIter 100, regParam 0.01, L2), same split.
# Prints our four numbers beside the brief's. Uses the GPU when there is one
# (--device auto). Weights: the real InceptionV3 in ../shared/models, else
# weights/fetch.sh (needs internet).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-build}"
dlp="$build/dlp"
shared="${DLP_SHARED_DIR:-$root/../shared}"
digits="${DLP_DEMO_IMAGES:-$shared/data/digits-500}"
out="$build/demo"
mkdir -p "$out"

weights="$shared/models/nsfwjs-inception_v3"
if [ ! -f "$weights/model.json" ]; then
  # A user with internet: the official Keras ImageNet weights, converted once.
  "$root/weights/fetch.sh" inception_v3 --notop --dlp "$dlp" >&2 || {
    echo "demo: no InceptionV3 weights: $shared/models/nsfwjs-inception_v3 is absent and weights/fetch.sh failed" >&2
    exit 3
  }
  weights=""
fi
[ -d "$digits" ] || { echo "demo: $digits not found (set DLP_DEMO_IMAGES)" >&2; exit 2; }

"$dlp" --version
"$dlp" devices || true
echo
echo "== 1. The brief's configuration (flatten features, maxIter 5, regParam 0.03, elasticNetParam 0.5)"
"$dlp" fit ${weights:+--weights "$weights"} --images "$digits" --split 0.8 --seed 42 \
  --pooling flatten --max-iter 5 --reg 0.03 --elastic-net 0.5 -o "$out/brief"
echo
echo "== 2. Recommended (average-pooled features, converged L2 logistic regression)"
"$dlp" fit ${weights:+--weights "$weights"} --images "$digits" --split 0.8 --seed 42 \
  --pooling avg --max-iter 100 --reg 0.01 -o "$out/recommended"
echo
python3 - "$out/brief/report.json" "$out/recommended/report.json" <<'PY'
import json, sys
brief_paper = {"f1": 0.8112, "weightedPrecision": 0.8422, "weightedRecall": 0.8091, "accuracy": 0.8091}
ours = [json.load(open(p)) for p in sys.argv[1:3]]
print("%-18s %10s %14s %14s" % ("metric", "brief", "dlp (brief)", "dlp (recomm.)"))
for k, v in brief_paper.items():
    print("%-18s %10.4f %14.4f %14.4f" % (k, v, ours[0]["metrics"][k], ours[1]["metrics"][k]))
for name, r in zip(("brief", "recommended"), ours):
    t = r["train"]; s = r["test"]
    secs = t["featurize_seconds"] + s["featurize_seconds"]
    n = t["computed"] + s["computed"]
    rate = ("%.1f images/s" % (n / secs)) if n and secs > 0 else "from cache"
    print("%s: %d features, device %s, featurize %.1fs (%s), train %.2fs" % (
        name, r["feature_dim"], r["device"], secs, rate, r["fit_seconds"]))
PY
