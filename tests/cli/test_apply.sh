#!/usr/bin/env bash
# dlp apply: users' own Keras models from their model_config.
# - Arrays: the tf-keras fixtures (tests/oracle/keras_model_oracle.py) on their
#   .npy inputs, in batches of 2, equal Keras' outputs within relative L2 1e-5.
# - Images: the real nsfwjs InceptionV3 (TF.js model.json, its whole graph from
#   its config) on the three oracle photos with --preprocess tf gives
#   TensorFlow.js' probabilities (expected.json) within 1e-4; a file that is
#   not an image keeps its row (status error, null output) and the exit code is 5.
# - --preprocess scale:A,B equals the same affine map given as tf.
# - --device cpu|cuda|cuda:N|auto (cuda: within 1e-4 of the CPU where a GPU works, else exit 4).
# - Nested models (tests/oracle/keras_nested_oracle.py): a Functional and a
#   Sequential model used as layers, within relative L2 1e-5 of Keras.
# - N-D arrays: a conv model fed [N, 9, 9, 3] and a [T, F] model fed [N, 6, 4]
#   give outputs of the same nesting ([N, 3, 3, 5] .npy, nested JSON Lines
#   arrays) within 1e-5 of Keras; the same inputs flattened give flattened
#   outputs; JSON Lines inputs (nested, flat, {"input": ...}) equal the .npy's.
# - Errors: a weights-only .h5 (exit 3), wrong .npy shape (exit 2), a JSON
#   line of the wrong nesting (exit 2, line named), usage (exit 1).
set -u
fails=0; checks=0
check() { checks=$((checks + 1)); if ! eval "$1"; then fails=$((fails + 1)); echo "FAILED: $1" >&2; return 1; fi; }
dlp="$DLP_BIN"
tmp="$DLP_TEST_TMP/apply"
fixtures="$DLP_FIXTURES/keras_model"
rm -rf "$tmp"; mkdir -p "$tmp/images"
command -v python3 > /dev/null || { echo "skipped: python3 not found"; exit 77; }

cat > "$tmp/npy.py" <<'PY'
import array, math, sys
def read_npy(path):
    with open(path, "rb") as f:
        assert f.read(6) == b"\x93NUMPY"
        major = f.read(2)[0]
        n = int.from_bytes(f.read(2 if major == 1 else 4), "little")
        header = eval(f.read(n).decode("latin1"))
        assert header["descr"] == "<f4" and not header["fortran_order"], header
        data = array.array("f"); data.frombytes(f.read())
        return data, header["shape"]
ours, our_shape = read_npy(sys.argv[1])
want, want_shape = read_npy(sys.argv[2])
assert our_shape == want_shape, (our_shape, want_shape)
err = math.sqrt(sum((a - b) ** 2 for a, b in zip(ours, want)) / sum(b * b for b in want))
print("%s: shape %s, relative L2 %.3g" % (sys.argv[2].split("/")[-1], our_shape, err))
sys.exit(0 if err <= float(sys.argv[3]) else 1)
PY

{ echo 'import array'; sed -n '/^def read_npy/,/^        return data/p' "$tmp/npy.py"; } > "$tmp/npyread.py"

for stem in tensor_2d sequential nested_functional nested_sequential nd_conv nd_series; do
  "$dlp" apply --keras "$fixtures/$stem.h5" --npy "$fixtures/${stem}_x.npy" --batch 2 -o "$tmp/$stem.npy" 2> "$tmp/$stem.txt"
  check "[ $? -eq 0 ]" || cat "$tmp/$stem.txt" >&2
  check "python3 '$tmp/npy.py' '$tmp/$stem.npy' '$fixtures/${stem}_y0.npy' 1e-5"
done

# Rows are written as they are computed: arrays in chunks of DLP_FEATURIZE_CHUNK_BYTES of output (4 bytes here: one
# batch of 2 rows at a time) give the bytes of one chunk, in .npy and JSON Lines.
for stem in tensor_2d nd_conv nd_series; do
  for ext in npy jsonl; do
    "$dlp" apply --keras "$fixtures/$stem.h5" --npy "$fixtures/${stem}_x.npy" --batch 2 -o "$tmp/$stem.whole.$ext" \
      2> /dev/null
    DLP_FEATURIZE_CHUNK_BYTES=4 "$dlp" apply --keras "$fixtures/$stem.h5" --npy "$fixtures/${stem}_x.npy" --batch 2 \
      -o "$tmp/$stem.chunked.$ext" 2> "$tmp/chunked.txt"
    check "[ $? -eq 0 ] && cmp -s '$tmp/$stem.whole.$ext' '$tmp/$stem.chunked.$ext'" || cat "$tmp/chunked.txt" >&2
  done
done

# --preprocess scale:A,B is the affine map given: the same as tf (x/127.5 - 1)
# (on the committed 224x224 photos, so this part needs nothing from ../shared).
mkdir -p "$tmp/small" && cp "$DLP_FIXTURES"/images/*_224.png "$tmp/small/"
"$dlp" apply --keras "$fixtures/every_layer.h5" --images "$tmp/small" --preprocess tf -o "$tmp/tf.npy" 2> /dev/null
check "[ $? -eq 0 ]"
"$dlp" apply --keras "$fixtures/every_layer.h5" --images "$tmp/small" --preprocess scale:0.00784313725490196,-1 \
  -o "$tmp/scale.npy" 2> /dev/null
check "[ $? -eq 0 ]"
check "python3 '$tmp/npy.py' '$tmp/scale.npy' '$tmp/tf.npy' 1e-6"
# Images stream batch by batch, a file that cannot be read keeping its row: batches of 1 and of 3 (the last one short)
# give the same rows, in .npy (NaN for the bad file) and JSON Lines (null), exit 5 both times.
cp -r "$tmp/small" "$tmp/small_bad" && echo "not an image" > "$tmp/small_bad/b_text.png"
for batch in 1 3; do
  for ext in npy jsonl; do
    "$dlp" apply --keras "$fixtures/every_layer.h5" --images "$tmp/small_bad" --preprocess tf --batch $batch \
      -o "$tmp/bad_b$batch.$ext" 2> "$tmp/bad.txt"
    check "[ $? -eq 5 ]" || cat "$tmp/bad.txt" >&2
  done
done
python3 - "$tmp" <<'PY'
import math, sys
sys.path.insert(0, sys.argv[1])
from npyread import read_npy
a, a_shape = read_npy(sys.argv[1] + "/bad_b1.npy")
b, b_shape = read_npy(sys.argv[1] + "/bad_b3.npy")
assert a_shape == b_shape and len(a) == len(b), (a_shape, b_shape)
nan_rows = {i // (len(a) // a_shape[0]) for i, v in enumerate(a) if math.isnan(v)}
assert len(nan_rows) == 1 and all(math.isnan(x) == math.isnan(y) for x, y in zip(a, b)), nan_rows
pairs = [(x, y) for x, y in zip(a, b) if not math.isnan(x)]
err = math.sqrt(sum((x - y) ** 2 for x, y in pairs) / sum(y * y for x, y in pairs))
print("batches 1 and 3: relative L2 %.3g, the bad file's row NaN in both" % err)
sys.exit(0 if err <= 1e-6 else 1)
PY
check "[ $? -eq 0 ]"
check "python3 -c 'import json,sys; a,b=([json.loads(l) for l in open(p)] for p in sys.argv[1:]); assert len(a)==len(b)>=3 and [r[\"status\"] for r in a]==[r[\"status\"] for r in b] and sum(r[\"output\"] is None for r in a)==1' '$tmp/bad_b1.jsonl' '$tmp/bad_b3.jsonl'"

model="$DLP_SHARED_DIR/models/nsfwjs-inception_v3"
if [ -f "$model/model.json" ]; then
  for name in astronaut chelsea coffee; do cp "$DLP_SHARED_DIR/oracle/inception_v3/${name}_299.png" "$tmp/images/"; done
  echo "not an image" > "$tmp/images/zz_text.jpg"
  "$dlp" apply --keras "$model/model.json" --images "$tmp/images" --preprocess tf --batch 2 -o "$tmp/probs.jsonl" \
    2> "$tmp/nsfwjs.txt"
  rc=$?
  check "[ $rc -eq 5 ]" || cat "$tmp/nsfwjs.txt" >&2
  check "grep -q '4 rows x 5 values (output \"dense_3\"' '$tmp/nsfwjs.txt'"
  python3 - "$tmp/probs.jsonl" "$DLP_SHARED_DIR/oracle/inception_v3/expected.json" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
expected = {e["image"]: e["probs"] for e in json.load(open(sys.argv[2]))["results"]}
assert len(rows) == 4, len(rows)
for row in rows[:3]:
    name = row["origin"].split("/")[-1]
    worst = max(abs(a - b) for a, b in zip(row["output"], expected[name]))
    print("%s: max abs difference %.3g" % (name, worst))
    assert row["status"] == "ok" and worst <= 1e-4, row
assert rows[3]["status"] == "error" and rows[3]["output"] is None and "zz_text.jpg" in rows[3]["error"], rows[3]
PY
  check "[ $? -eq 0 ]"
else
  echo "nsfwjs: skipped, $model not found"
fi

# --device: cpu always; cuda where a GPU works (every_layer on the committed
# photos within relative L2 1e-4 of --device cpu, the issue's GPU tolerance),
# else exit 4 naming the cause; an unknown name is a usage error.
"$dlp" apply --device cpu --keras "$fixtures/tensor_2d.h5" --npy "$fixtures/tensor_2d_x.npy" -o "$tmp/cpu.npy" \
  2> "$tmp/device_cpu.txt"
check "[ $? -eq 0 ]"
check "grep -q 'on cpu (' '$tmp/device_cpu.txt'" || cat "$tmp/device_cpu.txt" >&2
check "python3 '$tmp/npy.py' '$tmp/cpu.npy' '$fixtures/tensor_2d_y0.npy' 1e-5"
"$dlp" apply --device gpu --keras "$fixtures/tensor_2d.h5" --npy "$fixtures/tensor_2d_x.npy" -o "$tmp/x.npy" 2> /dev/null
check "[ $? -eq 1 ]"
"$dlp" apply --device cpu --keras "$fixtures/every_layer.h5" --images "$tmp/small" --preprocess tf \
  -o "$tmp/tf_cpu.npy" 2> /dev/null
check "[ $? -eq 0 ]"
"$dlp" apply --device cuda --keras "$fixtures/every_layer.h5" --images "$tmp/small" --preprocess tf \
  -o "$tmp/cuda.npy" 2> "$tmp/device_cuda.txt"
rc=$?
if "$dlp" devices > /dev/null 2>&1; then
  check "[ $rc -eq 0 ]" || cat "$tmp/device_cuda.txt" >&2
  check "grep -q 'on cuda:0' '$tmp/device_cuda.txt'"
  check "python3 '$tmp/npy.py' '$tmp/cuda.npy' '$tmp/tf_cpu.npy' 1e-4"
else
  check "[ $rc -eq 4 ]"
  check "grep -q 'apply: cuda' '$tmp/device_cuda.txt'" || cat "$tmp/device_cuda.txt" >&2
fi

"$dlp" apply --keras "$DLP_FIXTURES/h5/small_cnn_weights.h5" --npy "$fixtures/sequential_x.npy" -o "$tmp/x.npy" \
  2> "$tmp/err1.txt"
check "[ $? -eq 3 ]"
check "grep -q 'model_config' '$tmp/err1.txt'" || cat "$tmp/err1.txt" >&2
# A model file that is there but refused is exit 3 (README's exit codes), naming the layer: an unsupported layer
# class, and sizes past dlp's limit of 2^31 - 1 elements per tensor.
python3 - "$fixtures/refuse_lstm.json" "$tmp/lstm_model.json" "$tmp/huge_model.json" <<'PY'
import json, sys
def tfjs(config, path):
    json.dump({"format": "layers-model", "modelTopology": {"model_config": config}, "weightsManifest": []},
              open(path, "w"))
tfjs(json.load(open(sys.argv[1])), sys.argv[2])
tfjs({"class_name": "Sequential", "config": {"name": "s", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 100000, 100000, 1000], "name": "in"}},
    {"class_name": "Dense", "config": {"name": "d", "units": 3}}]}}, sys.argv[3])
PY
"$dlp" apply --keras "$tmp/lstm_model.json" --npy "$fixtures/sequential_x.npy" -o "$tmp/x.npy" 2> "$tmp/err4.txt"
check "[ $? -eq 3 ] && grep -q '(LSTM)' '$tmp/err4.txt'" || cat "$tmp/err4.txt" >&2
"$dlp" apply --keras "$tmp/huge_model.json" --npy "$fixtures/sequential_x.npy" -o "$tmp/x.npy" 2> "$tmp/err5.txt"
check "[ $? -eq 3 ] && grep -q 'layer \"in\": output 100000x100000x1000 is more than 2147483647 elements' '$tmp/err5.txt'" ||
  cat "$tmp/err5.txt" >&2
"$dlp" apply --keras "$fixtures/tensor_2d.h5" --npy "$fixtures/sequential_x.npy" -o "$tmp/x.npy" 2> "$tmp/err2.txt"
check "[ $? -eq 2 ]"
check "grep -q 'shape \[3, 10\]; the model.s input \"series\" takes \[N, 6, 8\], or \[N, 48\] flattened' '$tmp/err2.txt'" || cat "$tmp/err2.txt" >&2
# N-D arrays: JSON Lines output nested as the output, JSON Lines inputs, flattened inputs.
python3 - "$fixtures" "$tmp" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
from npyread import read_npy
fixtures, tmp = sys.argv[1], sys.argv[2]
for stem, shape in (("nd_conv", (9, 9, 3)), ("nd_series", (6, 4))):
    data, full = read_npy("%s/%s_x.npy" % (fixtures, stem))
    per = len(data) // full[0]
    def nest(values, dims):
        if len(dims) == 1:
            return [float(v) for v in values]
        step = len(values) // dims[0]
        return [nest(values[i * step:(i + 1) * step], dims[1:]) for i in range(dims[0])]
    with open("%s/%s_nested.jsonl" % (tmp, stem), "w") as f:
        for i in range(full[0]):
            row = nest(data[i * per:(i + 1) * per], shape)
            f.write(json.dumps(row if i % 2 else {"input": row}) + "\n")
    with open("%s/%s_flat.jsonl" % (tmp, stem), "w") as f:
        for i in range(full[0]):
            f.write(json.dumps([float(v) for v in data[i * per:(i + 1) * per]]) + "\n")
    with open("%s/%s_bad.jsonl" % (tmp, stem), "w") as f:
        f.write(json.dumps(nest(data[:per], shape)) + "\n" + json.dumps([[1.0, 2.0]]) + "\n")
PY
check "[ $? -eq 0 ]"
for stem in nd_conv nd_series; do
  "$dlp" apply --keras "$fixtures/$stem.h5" --npy "$fixtures/${stem}_x.npy" -o "$tmp/$stem.jsonl" 2> /dev/null
  check "[ $? -eq 0 ]"
  "$dlp" apply --keras "$fixtures/$stem.h5" --jsonl "$tmp/${stem}_nested.jsonl" -o "$tmp/${stem}_from_jsonl.npy" 2> /dev/null
  check "[ $? -eq 0 ]"
  check "python3 '$tmp/npy.py' '$tmp/${stem}_from_jsonl.npy' '$fixtures/${stem}_y0.npy' 1e-5"
  "$dlp" apply --keras "$fixtures/$stem.h5" --jsonl "$tmp/${stem}_bad.jsonl" -o "$tmp/x.npy" 2> "$tmp/err3.txt"
  check "[ $? -eq 2 ] && grep -q 'line 2: expected an array of' '$tmp/err3.txt'" || cat "$tmp/err3.txt" >&2
  "$dlp" apply --keras "$fixtures/$stem.h5" --jsonl "$tmp/${stem}_flat.jsonl" -o "$tmp/${stem}_flat.npy" 2> /dev/null
  check "[ $? -eq 0 ]"
  python3 - "$tmp" "$stem" "$fixtures" <<'PY'
import json, math, sys
sys.path.insert(0, sys.argv[1])
from npyread import read_npy
tmp, stem, fixtures = sys.argv[1:4]
want, want_shape = read_npy("%s/%s_y0.npy" % (fixtures, stem))
rows = [json.loads(line)["output"] for line in open("%s/%s.jsonl" % (tmp, stem))]
def flatten(x):
    return [v for item in x for v in flatten(item)] if isinstance(x, list) else [x]
def shape(x):
    return [len(x)] + shape(x[0]) if isinstance(x, list) else []
assert [len(rows)] + shape(rows[0]) == list(want_shape), (shape(rows[0]), want_shape)
have = [v for row in rows for v in flatten(row)]
err = math.sqrt(sum((a - b) ** 2 for a, b in zip(have, want)) / sum(b * b for b in want))
flat, flat_shape = read_npy("%s/%s_flat.npy" % (tmp, stem))
assert list(flat_shape) == [want_shape[0], len(want) // want_shape[0]], flat_shape
flat_err = max(abs(a - b) for a, b in zip(flat, want))
print("%s: JSON Lines nested %s, relative L2 %.3g; flat input -> %s, max diff %.3g" % (stem, shape(rows[0]), err, flat_shape, flat_err))
sys.exit(0 if err <= 1e-5 and flat_err <= 1e-6 else 1)
PY
  check "[ $? -eq 0 ]"
done

"$dlp" apply --npy "$fixtures/sequential_x.npy" -o "$tmp/x.npy" 2> /dev/null
check "[ $? -eq 1 ]"
"$dlp" apply --keras "$fixtures/tensor_2d.h5" --npy "$fixtures/tensor_2d_x.npy" --images "$tmp/images" -o "$tmp/x.npy" \
  2> /dev/null
check "[ $? -eq 1 ]"
"$dlp" apply --help | grep -q -- '--preprocess'
check "[ $? -eq 0 ]"
# The output format: from -o's extension, else --format; anything else is a usage error, not a .npy by another name.
"$dlp" apply --keras "$fixtures/sequential.h5" --npy "$fixtures/sequential_x.npy" -o "$tmp/x.txt" 2> "$tmp/err.txt"
check "[ $? -eq 1 ] && grep -q 'expected a .npy or .jsonl file' '$tmp/err.txt' && [ ! -e '$tmp/x.txt' ]"
"$dlp" apply --keras "$fixtures/sequential.h5" --npy "$fixtures/sequential_x.npy" --format csv -o "$tmp/x.csv" 2> /dev/null
check "[ $? -eq 1 ]"
"$dlp" apply --keras "$fixtures/sequential.h5" --npy "$fixtures/sequential_x.npy" --format jsonl -o /dev/stdout \
  2> /dev/null > "$tmp/stdout.jsonl"
check "[ $? -eq 0 ] && python3 -c 'import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; assert rows and all(len(r[\"output\"]) == 4 for r in rows)' '$tmp/stdout.jsonl'"

# A run refused before its first row writes nothing to a target written in place (the .npy header waits for rows).
"$dlp" apply --keras "$fixtures/tensor_2d.h5" --images "$tmp/small" --format npy -o /dev/stdout 2> "$tmp/err.txt" \
  > "$tmp/refused_stdout.npy"
check "[ $? -eq 3 ] && [ ! -s '$tmp/refused_stdout.npy' ] && grep -q 'images need (height, width, 3)' '$tmp/err.txt'" ||
  cat "$tmp/err.txt" >&2

echo "cli.apply: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
