#!/usr/bin/env bash
# examples/classify.c, built with the project: the real nsfwjs model loaded as
# a user's Keras model (TF.js model.json) classifies the three oracle photos
# with TensorFlow.js' top class and probability (expected.json, 1e-4 absolute);
# a file that is not an image gives an error line and exit code 5.
set -u
fails=0; checks=0
check() { checks=$((checks + 1)); if ! eval "$1"; then fails=$((fails + 1)); echo "FAILED: $1" >&2; return 1; fi; }
classify="$DLP_EXAMPLE_CLASSIFY"
tmp="$DLP_TEST_TMP/examples"
rm -rf "$tmp"; mkdir -p "$tmp"
command -v python3 > /dev/null || { echo "skipped: python3 not found"; exit 77; }
model="$DLP_SHARED_DIR/models/nsfwjs-inception_v3"
oracle="$DLP_SHARED_DIR/oracle/inception_v3"
[ -f "$model/model.json" ] || { echo "skipped: $model not found"; exit 77; }

"$classify" "$model/model.json" "$oracle"/astronaut_299.png "$oracle"/chelsea_299.png "$oracle"/coffee_299.png \
  > "$tmp/out.txt" 2> "$tmp/err.txt"; rc=$?
check "[ $rc -eq 0 ]" || cat "$tmp/err.txt" >&2
cat "$tmp/out.txt"
result=$(python3 - "$tmp/out.txt" "$oracle/expected.json" <<'PY'
import json, sys
lines = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
expected = {e["image"]: e["probs"] for e in json.load(open(sys.argv[2]))["results"]}
assert len(lines) == 3, lines
for path, best, probability in lines:
    probs = expected[path.split("/")[-1]]
    want = max(range(len(probs)), key=lambda c: probs[c])
    assert int(best) == want, (path, best, want)
    assert abs(float(probability) - probs[want]) <= 1e-4, (path, probability, probs[want])
print("ok")
PY
)
check '[ "$result" = ok ]' || echo "$result" >&2

echo "not an image" > "$tmp/text.png"
"$classify" "$model/model.json" "$tmp/text.png" "$oracle"/coffee_299.png > "$tmp/out2.txt" 2> /dev/null; rc=$?
check "[ $rc -eq 5 ]"
check "grep -q \"^$tmp/text.png	error	\" '$tmp/out2.txt'"
check "[ \"\$(grep -c coffee_299.png '$tmp/out2.txt')\" -eq 1 ]"
"$classify" "$tmp/text.png" > /dev/null 2>&1; check "[ $? -eq 1 ]"
"$classify" "$tmp/text.png" "$tmp/text.png" > /dev/null 2>&1; check "[ $? -eq 3 ]"
echo "cli.examples: $checks checks, $fails failed"
[ $fails -eq 0 ]
