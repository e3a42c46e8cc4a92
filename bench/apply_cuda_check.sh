#!/usr/bin/env bash
# apply_cuda_check.sh DLP SHARED [OUT.jsonl]: dlp apply --device cuda with nsfwjs as a user model on the three
# oracle photos (SHARED/oracle/inception_v3/*_299.png), each probability within 1e-4 (absolute) of TF.js'
# (SHARED/oracle/inception_v3/expected.json). A step of bench/gpu_prebuilt.sh.
set -eu
dlp=$1 shared=$2 out=${3:-/tmp/apply-cuda.jsonl}
photos=$(mktemp -d)
trap 'rm -rf "$photos"' EXIT
cp "$shared"/oracle/inception_v3/*_299.png "$photos"/
"$dlp" apply --device cuda --keras "$shared/models/nsfwjs-inception_v3/model.json" --images "$photos" \
  --preprocess tf -o "$out"
python3 - "$out" "$shared/oracle/inception_v3/expected.json" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
expected = {e["image"]: e["probs"] for e in json.load(open(sys.argv[2]))["results"]}
assert len(rows) == 3, len(rows)
for row in rows:
    name = row["origin"].split("/")[-1]
    worst = max(abs(a - b) for a, b in zip(row["output"], expected[name]))
    print(name, "max abs difference", worst)
    assert worst <= 1e-4, row
print("apply --device cuda: PASS")
PY
