#!/usr/bin/env bash
# dlp train / dlp evaluate end to end on the digits fixture (tests/fixtures/logreg,
# 1797 x 64): predictions must be Spark 3.5's (spark_logreg.json, regParam 0.1,
# converged), the metrics must match a recomputation from the predictions JSON
# Lines (awk and python3 stdlib, not dlp), LibSVM input must give the same model,
# and bad input must be refused with the row/column named and the documented exit codes.
set -u
fails=0; checks=0
check() { checks=$((checks + 1)); if ! eval "$1"; then fails=$((fails + 1)); echo "FAILED: $1" >&2; fi; }
dlp="$DLP_BIN"
command -v python3 > /dev/null || { echo "skipped: python3 is needed to write the .npy inputs"; exit 77; }
work="$DLP_TEST_TMP/cli_train"; rm -rf "$work"; mkdir -p "$work"; cd "$work" || exit 1
fixtures="$DLP_FIXTURES/logreg"

# The fixture's raw float32/float64 arrays as .npy (numpy format 1.0, written
# with the stdlib), plus variants carrying one defect each.
python3 - "$fixtures" <<'PY'
import struct, sys, json, math
d = sys.argv[1] + "/"
def npy(path, raw, dtype, shape):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (dtype, shape)
    header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + raw)
X = bytearray(open(d + "digits.features.f32", "rb").read())
y = list(struct.unpack("<1797d", open(d + "digits.labels.f64", "rb").read()))
def labels(values): return struct.pack("<%dd" % len(values), *values)
npy("X.npy", bytes(X), "<f4", "(1797, 64)")
npy("y.npy", labels(y), "<f8", "(1797,)")
Xnan = bytearray(X); Xnan[(5 * 64 + 7) * 4:(5 * 64 + 8) * 4] = struct.pack("<f", math.nan)
npy("X_nan.npy", bytes(Xnan), "<f4", "(1797, 64)")
Xinf = bytearray(X); Xinf[(9 * 64 + 0) * 4:(9 * 64 + 1) * 4] = struct.pack("<f", math.inf)
npy("X_inf.npy", bytes(Xinf), "<f4", "(1797, 64)")
npy("X_63.npy", b"".join(bytes(X[(r * 64) * 4:(r * 64 + 63) * 4]) for r in range(1797)), "<f4", "(1797, 63)")
npy("X_empty.npy", b"", "<f4", "(0, 64)")
npy("y_empty.npy", b"", "<f8", "(0,)")
npy("y_half.npy", labels([2.5 if i == 3 else v for i, v in enumerate(y)]), "<f8", "(1797,)")
npy("y_negative.npy", labels([-1.0 if i == 4 else v for i, v in enumerate(y)]), "<f8", "(1797,)")
npy("y_12.npy", labels([12.0 if i == 8 else v for i, v in enumerate(y)]), "<f8", "(1797,)")
npy("y_short.npy", labels(y[:100]), "<f8", "(100,)")
npy("y_constant.npy", labels([3.0] * 1797), "<f8", "(1797,)")
# LibSVM text as Spark writes it (1-based indices, zeros omitted, %.9g floats).
values = struct.unpack("<%df" % (1797 * 64), bytes(X))
with open("digits.libsvm", "w") as f:
    for r in range(1797):
        items = ["%d:%.9g" % (j + 1, values[r * 64 + j]) for j in range(64) if values[r * 64 + j] != 0]
        f.write("%d %s\n" % (int(y[r]), " ".join(items)))
# Spark's predictions for this configuration, one per line.
spark = json.load(open(d + "spark_logreg.json"))
case = [c for c in spark["cases"] if c["dataset"] == "digits" and c["reg_param"] == 0.1 and c["elastic_net_param"] == 0
        and c["standardization"] and c["fit_intercept"] and c["max_iter"] == 1000][0]
open("spark_predictions.txt", "w").write("".join("%d\n" % p for p in case["predictions"]))
open("labels.txt", "w").write("".join("%d\n" % v for v in y))
PY
check '[ -s X.npy ] && [ -s spark_predictions.txt ]'

spark_params="--reg 0.1 --elastic-net 0 --max-iter 1000 --tol 1e-10"
out=$("$dlp" train --features X.npy --labels y.npy $spark_params --threads 2 -o model); rc=$?
check '[ $rc -eq 0 ] && [ -f model/pipeline.json ] && [ -f model/logreg.safetensors ]'
check '[[ "$out" == *"objective: "*" after "*" iterations"* ]] && [[ "$out" == *"accuracy"* ]]'
json=$("$dlp" evaluate model --features X.npy --labels y.npy --predictions pred.jsonl --json); rc=$?
check '[ $rc -eq 0 ] && [ "$(wc -l < pred.jsonl)" -eq 1797 ]'

# Predictions, row by row, against Spark's.
python3 -c 'import json,sys; [print(int(json.loads(l)["prediction"])) for l in open("pred.jsonl")]' > ours.txt
mismatches=$(paste -d' ' ours.txt spark_predictions.txt | awk '$1 != $2' | wc -l)
check '[ "$mismatches" -eq 0 ]'

# Accuracy recomputed from the JSON Lines with awk, and from Spark's predictions.
awk_accuracy=$(awk -F'[:,]' '{ for (i = 1; i < NF; i++) { if ($i == "\"label\"") l = $(i+1); if ($i == "\"prediction\"") p = $(i+1) }
  n++; if (l == p) ok++ } END { printf "%.12f", ok / n }' pred.jsonl)
spark_accuracy=$(paste -d' ' labels.txt spark_predictions.txt | awk '{ n++; if ($1 == $2) ok++ } END { printf "%.12f", ok / n }')
our_accuracy=$(python3 -c 'import json,sys; print("%.12f" % json.loads(sys.argv[1])["accuracy"])' "$json")
check '[ "$our_accuracy" = "$awk_accuracy" ] && [ "$our_accuracy" = "$spark_accuracy" ]'
# Spark's f1 / weightedPrecision / weightedRecall (MulticlassMetrics) recomputed
# in Python from Spark's own predictions, to 1e-12.
python3 - "$json" <<'PY' > metric_check.txt
import json, sys
ours = json.loads(sys.argv[1])
y = [int(l) for l in open("labels.txt")]; p = [int(l) for l in open("spark_predictions.txt")]
n = len(y); classes = sorted(set(y))
tp = {c: sum(1 for a, b in zip(y, p) if a == c and b == c) for c in classes}
true_count = {c: y.count(c) for c in classes}; predicted_count = {c: p.count(c) for c in classes}
precision = {c: tp[c] / predicted_count[c] if predicted_count[c] else 0.0 for c in classes}
recall = {c: tp[c] / true_count[c] for c in classes}
f1 = {c: 2 * precision[c] * recall[c] / (precision[c] + recall[c]) if precision[c] + recall[c] else 0.0 for c in classes}
expected = {"f1": sum(true_count[c] / n * f1[c] for c in classes),
            "weightedPrecision": sum(true_count[c] / n * precision[c] for c in classes),
            "weightedRecall": sum(true_count[c] / n * recall[c] for c in classes)}
matrix_ok = all(ours["confusion_matrix"][i][j] == sum(1 for a, b in zip(y, p) if a == ci and b == cj)
                for i, ci in enumerate(classes) for j, cj in enumerate(classes))
bad = [k for k in expected if abs(ours[k] - expected[k]) > 1e-12]
print("ok" if not bad and matrix_ok else "mismatch %s matrix_ok=%s ours=%s expected=%s" % (bad, matrix_ok, ours, expected))
PY
check '[ "$(cat metric_check.txt)" = ok ]' || cat metric_check.txt >&2

# LibSVM input: the same data, the same predictions.
"$dlp" train --libsvm digits.libsvm $spark_params -o model_libsvm > /dev/null; rc=$?
check '[ $rc -eq 0 ]'
"$dlp" evaluate model_libsvm --libsvm digits.libsvm --predictions pred_libsvm.jsonl > /dev/null; rc=$?
check '[ $rc -eq 0 ] && cmp -s <(cut -d, -f3 pred.jsonl) <(cut -d, -f3 pred_libsvm.jsonl)'
# The text report carries the four metrics and the confusion matrix.
out=$("$dlp" evaluate model --features X.npy --labels y.npy); rc=$?
check '[ $rc -eq 0 ] && [[ "$out" == *f1*weightedPrecision*weightedRecall*accuracy*"confusion matrix"* ]]'

# Bad input: exit 2 with the file, row and column named.
expect_refusal() { # expected_rc needle command...
  local expected_rc=$1 needle=$2; shift 2
  local err; err=$("$@" 2>&1 > /dev/null); local rc=$?
  check "[ $rc -eq $expected_rc ]" || echo "  ($*: rc $rc, '$err')" >&2
  check '[[ "$err" == *"$needle"* ]]' || echo "  ($*: '$err' lacks '$needle')" >&2
}
expect_refusal 2 "X_nan.npy: row 5, column 7: feature is NaN" "$dlp" train --features X_nan.npy --labels y.npy -o bad
expect_refusal 2 "X_inf.npy: row 9, column 0: feature is infinite" "$dlp" train --features X_inf.npy --labels y.npy -o bad
expect_refusal 2 "y_half.npy: row 3: label 2.5 is not a non-negative integer" "$dlp" train --features X.npy --labels y_half.npy -o bad
expect_refusal 2 "y_negative.npy: row 4: label -1" "$dlp" train --features X.npy --labels y_negative.npy -o bad
expect_refusal 2 "X_empty.npy: no rows" "$dlp" train --features X_empty.npy --labels y_empty.npy -o bad
expect_refusal 2 "100 labels, but X.npy has 1797 rows" "$dlp" train --features X.npy --labels y_short.npy -o bad
expect_refusal 2 "y_12.npy: row 8: label 12 is outside the pipeline's classes 0..9" "$dlp" evaluate model --features X.npy --labels y_12.npy
expect_refusal 2 "X_63.npy: pipeline transform: features have 63 columns, the pipeline expects 64" "$dlp" evaluate model --features X_63.npy --labels y.npy
expect_refusal 2 "X_nan.npy: row 5, column 7" "$dlp" evaluate model --features X_nan.npy --labels y.npy
check '[ ! -e bad ]'

# A single class: Spark does not train (coefficients 0, intercept +inf for that
# class), every prediction is that class.
out=$("$dlp" train --features X.npy --labels y_constant.npy -o constant); rc=$?
check '[ $rc -eq 0 ] && [[ "$out" == *"every label is the same"* ]]'
json=$("$dlp" evaluate constant --features X.npy --labels y_constant.npy --json --predictions constant.jsonl); rc=$?
check '[ $rc -eq 0 ] && [[ "$json" == *"\"accuracy\":1,"* ]]'
check '[ "$(grep -c "\"prediction\":3," constant.jsonl)" -eq 1797 ]'

# A pipeline directory edited by hand is refused as a model (exit 3).
cp -r model edited
sed -i 's/"feature_dim": 64/"feature_dim": 65/' edited/pipeline.json
expect_refusal 3 "feature_dim: expected 64, found 65" "$dlp" evaluate edited --features X.npy --labels y.npy
# A coefficients file from another fit is refused by its sha256.
cp constant/logreg.safetensors model/logreg.safetensors
expect_refusal 3 "do not belong together" "$dlp" evaluate model --features X.npy --labels y.npy

# Usage errors: exit 1.
expect_refusal 1 "-o PIPELINE_DIR is required" "$dlp" train --features X.npy --labels y.npy
expect_refusal 1 "bad value for --reg: 'abc'" "$dlp" train --features X.npy --labels y.npy --reg abc -o bad
expect_refusal 1 "bad value for --family" "$dlp" train --features X.npy --labels y.npy --family trinomial -o bad
expect_refusal 1 "bad value for --standardization" "$dlp" train --features X.npy --labels y.npy --standardization yes -o bad
expect_refusal 1 "or --libsvm FILE" "$dlp" train --features X.npy --labels y.npy --libsvm digits.libsvm -o bad
expect_refusal 1 "expected one PIPELINE" "$dlp" evaluate --features X.npy --labels y.npy
expect_refusal 1 "or --libsvm FILE" "$dlp" evaluate model --features X.npy
# --device cuda: 0 where a GPU works, else 4 (no usable device).
"$dlp" train --features X.npy --labels y.npy --device cuda --max-iter 3 -o cuda_model > /dev/null 2>&1; rc=$?
check '[ $rc -eq 0 ] || [ $rc -eq 4 ]'

# Progress over the optimizer's iterations, drawn only on a terminal: under a pseudo-terminal the last drawing says
# the iteration and objective the summary reports; --quiet and a pipe (every other run above) draw nothing.
python3 - "$dlp" > progress.txt 2>&1 <<'PY'
import json, os, pty, subprocess, sys
def run(*extra):
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.argv[1], "train", "--features", "X.npy", "--labels", "y.npy", "--reg", "0.1",
                             "--max-iter", "20", "--json", "-o", "progress_model", *extra],
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    out = proc.communicate()[0]
    os.close(master)
    assert proc.returncode == 0, proc.returncode
    return json.loads(out), drawn.decode()
summary, drawn = run()
last = drawn.rstrip("\r\n").split("\r")[-1].replace("\x1b[K", "").strip()
print(repr(last))
it = summary["iterations"]
assert last.startswith("train [") and ("] %d/20 iterations" % it) in last, last
assert ("objective %.6g" % summary["objective_final"]) in last, (last, summary["objective_final"])
summary, drawn = run("--quiet")
assert drawn == "", repr(drawn)
print("ok")
PY
check "tail -1 progress.txt | grep -qx ok" || cat progress.txt >&2

echo "cli.train: $checks checks, $fails failed"
[ $fails -eq 0 ]
