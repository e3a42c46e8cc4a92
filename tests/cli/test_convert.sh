#!/usr/bin/env bash
# dlp convert and dlp models: Keras-written .h5 fixtures and the real TF.js
# InceptionV3 to safetensors; metadata read back by a stdlib-only Python
# reader of the safetensors header; tensors compared with what Keras recorded
# (tests/fixtures/h5/small_cnn.json) and with the TF.js shards dequantized
# independently in Python; --model checks; refusals of damaged TF.js models.
set -u
fails=0; checks=0
check() { checks=$((checks + 1)); if ! eval "$1"; then fails=$((fails + 1)); echo "FAILED: $1" >&2; return 1; fi; }
dlp="$DLP_BIN"
tmp="$DLP_TEST_TMP/convert"
rm -rf "$tmp"; mkdir -p "$tmp"
export HOME="$tmp/home" DLP_WEIGHTS_DIR=""   # no user weights leak into `dlp models`
command -v python3 > /dev/null || { echo "skipped: python3 not found"; exit 77; }

# meta FILE KEY: a metadata value ("" when absent).
meta() {
  python3 - "$1" "$2" <<'EOF'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
print(header.get("__metadata__", {}).get(sys.argv[2], ""))
EOF
}

# compare_h5 OUT FIXTURE_NAME: every tensor's name, order, shape, sum and sum of
# squares against what tf-keras recorded when it wrote the .h5 (rel 1e-5).
compare_h5() {
  python3 - "$1" "$DLP_FIXTURES/h5/small_cnn.json" "$2" <<'EOF'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
expected = json.load(open(sys.argv[2]))["files"][sys.argv[3]]["tensors"]
tensors = sorted(((v["data_offsets"][0], k, v) for k, v in header.items() if k != "__metadata__"))
bad = []
if [k for _, k, _ in tensors] != [t["name"] for t in expected]:
    bad.append("order %s" % [k for _, k, _ in tensors])
for (_, name, entry), want in zip(tensors, expected):
    begin, end = entry["data_offsets"]
    values = struct.unpack("<%df" % ((end - begin) // 4), data[begin:end])
    s, s2 = sum(values), sum(v * v for v in values)
    if entry["dtype"] != "F32" or entry["shape"] != want["shape"]:
        bad.append("%s: %s %s" % (name, entry["dtype"], entry["shape"]))
    if abs(s - want["sum"]) > 1e-5 * max(1, abs(want["sum"])) or abs(s2 - want["sum_squares"]) > 1e-5 * max(1, want["sum_squares"]):
        bad.append("%s: sum %r / %r, expected %r / %r" % (name, s, s2, want["sum"], want["sum_squares"]))
print("\n".join(bad) if bad else "ok")
EOF
}

# --- Keras-written .h5 fixtures ---
for name in small_cnn_weights small_cnn_model; do
  src="$DLP_FIXTURES/h5/$name.h5"; out="$tmp/$name.safetensors"
  "$dlp" convert "$src" "$out" > "$tmp/out.txt" 2>&1; rc=$?
  check "[ $rc -eq 0 ]"
  check '[ "$(compare_h5 "$out" "$name.h5")" = ok ]'
  check '[ "$(meta "$out" format)" = dlp-weights-v1 ] && [ "$(meta "$out" architecture)" = unknown ]'
  check '[ "$(meta "$out" source)" = "$name.h5" ] && [ "$(meta "$out" layout)" = keras ]'
  check '[ "$(meta "$out" source_format)" = keras-h5 ] && [ -n "$(meta "$out" keras_version)" ]'
  check '[ -n "$(meta "$out" dlp_version)" ] && [ -z "$(meta "$out" preprocessing)" ]'
  check '[ "$(meta "$out" source_sha256)" = "$(sha256sum "$src" | cut -d" " -f1)" ]'
done
check '[ -z "$(meta "$tmp/small_cnn_weights.safetensors" model_config)" ]'
check '[[ "$(meta "$tmp/small_cnn_model.safetensors" model_config)" == *"\"class_name\""* ]]'

# OUT exists: refused (usage), kept; --force replaces it.
before=$(stat -c %Y%s "$tmp/small_cnn_model.safetensors")
err=$("$dlp" convert "$DLP_FIXTURES/h5/small_cnn_weights.h5" "$tmp/small_cnn_model.safetensors" 2>&1); rc=$?
check '[ $rc -eq 1 ] && [[ "$err" == *"exists"*"--force"* ]]'
"$dlp" convert --force "$DLP_FIXTURES/h5/small_cnn_weights.h5" "$tmp/small_cnn_model.safetensors" > /dev/null; rc=$?
check '[ $rc -eq 0 ] && [ "$(compare_h5 "$tmp/small_cnn_model.safetensors" small_cnn_weights.h5)" = ok ]'
# A small CNN is not InceptionV3: refused (3), nothing written.
err=$("$dlp" convert --model inception_v3 "$DLP_FIXTURES/h5/small_cnn_weights.h5" "$tmp/no.safetensors" 2>&1); rc=$?
check '[ $rc -eq 3 ] && [[ "$err" == *InceptionV3* ]] && [ ! -e "$tmp/no.safetensors" ]'
# Usage errors and unreadable input.
"$dlp" convert "$DLP_FIXTURES/h5/small_cnn_weights.h5" > /dev/null 2>&1; rc=$?; check "[ $rc -eq 1 ]"
"$dlp" convert --model no_such_net "$DLP_FIXTURES/h5/small_cnn_weights.h5" "$tmp/x.safetensors" > /dev/null 2>&1; rc=$?
check "[ $rc -eq 1 ]"
err=$("$dlp" convert "$tmp/absent.h5" "$tmp/x.safetensors" 2>&1); rc=$?
check '[ $rc -eq 2 ] && [[ "$err" == *absent.h5* ]]'
err=$("$dlp" convert "$DLP_FIXTURES/h5/small_cnn.json" "$tmp/x.safetensors" 2>&1); rc=$?
check '[ $rc -eq 3 ] && [[ "$err" == *small_cnn.json* ]]'
err=$("$dlp" convert "$DLP_FIXTURES/h5/bad_missing_dataset.h5" "$tmp/x.safetensors" 2>&1); rc=$?
check '[ $rc -eq 3 ] && [[ "$err" == *bad_missing_dataset.h5* ]] && [[ "$err" == *dense/bias* ]]'

# --- dlp models ---
out=$("$dlp" models); rc=$?
check '[ $rc -eq 0 ] && [[ "$out" == *InceptionV3*299x299*mixed10*2048*131072*"not found (weights/fetch.sh"* ]]'
json=$("$dlp" models --json); rc=$?
check '[ $rc -eq 0 ] && python3 -c "import json,sys; m=json.loads(sys.argv[1])[\"models\"]; i=[x for x in m if x[\"name\"]==\"InceptionV3\"][0]; assert i[\"dims\"]=={\"avg\":2048,\"max\":2048,\"flatten\":131072} and i[\"preprocessing\"]==\"tf\" and i[\"weights\"] is None" "$json"'
# All five zoo models with DESIGN.md section 3's input, preprocessing, featurizer layer and dims.
check '[ $rc -eq 0 ] && python3 -c "
import json, sys
m = {x[\"name\"]: x for x in json.loads(sys.argv[1])[\"models\"]}
want = {\"InceptionV3\": (299, \"tf\", \"mixed10\", 2048, 131072), \"Xception\": (299, \"tf\", \"block14_sepconv2_act\", 2048, 204800),
        \"ResNet50\": (224, \"caffe\", \"conv5_block3_out\", 2048, 100352), \"VGG16\": (224, \"caffe\", \"block5_pool\", 512, 25088),
        \"VGG19\": (224, \"caffe\", \"block5_pool\", 512, 25088)}
assert sorted(m) == sorted(want), sorted(m)
for name, (side, prep, layer, pooled, flat) in want.items():
    x = m[name]
    assert (x[\"input\"], x[\"preprocessing\"], x[\"feature_layer\"]) == ([side, side, 3], prep, layer), x
    assert x[\"dims\"] == {\"avg\": pooled, \"max\": pooled, \"flatten\": flat}, x
" "$json"'
mkdir -p "$tmp/wdir" "$tmp/envdir"
cp "$tmp/small_cnn_weights.safetensors" "$tmp/wdir/inception_v3_notop.safetensors"
cp "$tmp/small_cnn_weights.safetensors" "$tmp/envdir/InceptionV3.safetensors"
out=$("$dlp" models --weights-dir "$tmp/wdir"); check '[[ "$out" == *"$tmp/wdir/inception_v3_notop.safetensors"* ]]'
out=$(DLP_WEIGHTS_DIR="$tmp/envdir" "$dlp" models --weights-dir "$tmp/wdir" --json)
check '[[ "$out" == *"\"weights\":\"$tmp/envdir/InceptionV3.safetensors\",\"weights_notop\":\"$tmp/wdir/inception_v3_notop.safetensors\""* ]]'
"$dlp" models extra > /dev/null 2>&1; rc=$?; check "[ $rc -eq 1 ]"

# --- the real TF.js InceptionV3 (nsfwjs) ---
model_dir="$DLP_SHARED_DIR/models/nsfwjs-inception_v3"
if [ ! -r "$model_dir/model.json" ]; then
  echo "cli.convert: $checks checks, $fails failed (real model skipped: $model_dir/model.json not readable)"
  [ $fails -eq 0 ]; exit $?
fi
out=$("$dlp" models --weights-dir "$DLP_SHARED_DIR/models" --json)
check '[[ "$out" == *"\"weights\":\"$DLP_SHARED_DIR/models/nsfwjs-inception_v3/model.json\""* ]]'

real="$tmp/inception_v3.safetensors"
"$dlp" convert --model inception_v3 "$model_dir/model.json" "$real" > "$tmp/out.txt" 2>&1; rc=$?
check "[ $rc -eq 0 ]" || cat "$tmp/out.txt" >&2
check '[ "$(meta "$real" architecture)" = InceptionV3 ] && [ "$(meta "$real" preprocessing)" = tf ]'
check '[ "$(meta "$real" source)" = model.json ] && [ "$(meta "$real" keras_version)" = 2.2.4 ]'
check '[ "$(meta "$real" source_format)" = layers-model ] && [ "$(meta "$real" layout)" = keras ]'
check '[ "$(meta "$real" source_sha256)" = "$(sha256sum "$model_dir/model.json" | cut -d" " -f1)" ]'
shard_sha=$(sha256sum "$model_dir/group1-shard3of6.bin" | cut -d" " -f1)
check '[[ "$(meta "$real" shards_sha256)" == *"\"group1-shard3of6.bin\":\"$shard_sha\""* ]]'
# Round trip: every tensor equals the shards dequantized here (q*scale + min,
# tfjs-core io_utils.ts), in manifest order, float32.
result=$(python3 - "$real" "$model_dir" <<'EOF'
import json, struct, sys, os
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
model = json.load(open(os.path.join(sys.argv[2], "model.json")))
bad = []
tensors = sorted(((v["data_offsets"][0], k, v) for k, v in header.items() if k != "__metadata__"))
for group in model["weightsManifest"]:
    raw = b"".join(open(os.path.join(sys.argv[2], p), "rb").read() for p in group["paths"])
    offset = 0
    weights = group["weights"]
    if [k for _, k, _ in tensors] != [w["name"] for w in weights]:
        bad.append("names or order differ")
    for (_, name, entry), w in zip(tensors, weights):
        count = 1
        for d in w["shape"]: count *= d
        q = w["quantization"]
        assert q["dtype"] == "uint8"
        expected = struct.pack("<%df" % count, *(b * q["scale"] + q["min"] for b in raw[offset:offset + count]))
        offset += count
        begin, end = entry["data_offsets"]
        if entry["shape"] != w["shape"] or data[begin:end] != expected:
            bad.append(name)
print("ok" if not bad else " ".join(bad[:5]))
EOF
)
check '[ "$result" = ok ]' || echo "round trip: $result" >&2

# ResNet50 is not InceptionV3: refused naming a layer and shapes (when the zoo has ResNet50).
if "$dlp" models --json | grep -q '"name":"ResNet50"'; then
  err=$("$dlp" convert --model resnet50 "$model_dir/model.json" "$tmp/r.safetensors" 2>&1); rc=$?
  check '[ $rc -eq 3 ] && [[ "$err" == *ResNet50* ]] && [[ "$err" =~ \[[0-9,\ x]+\] ]] && [ ! -e "$tmp/r.safetensors" ]'
else
  echo "NOTE: ResNet50 not in this build's zoo: --model resnet50 refusal not checked"
fi

# Damaged copies of the model (shards hard-linked unless the case edits them).
damaged() {  # damaged NAME: a fresh copy in $tmp/NAME
  rm -rf "$tmp/$1"; mkdir -p "$tmp/$1"
  cp "$model_dir/model.json" "$tmp/$1/"
  cp -l "$model_dir"/group1-shard*.bin "$tmp/$1/" 2> /dev/null || cp "$model_dir"/group1-shard*.bin "$tmp/$1/"
}
edit_json() {  # edit_json NAME PYTHON: runs PYTHON on the manifest's weights list `w` and the topology `m`
  python3 - "$tmp/$1/model.json" "$2" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1])); w = m["weightsManifest"][0]["weights"]
exec(sys.argv[2])
json.dump(m, open(sys.argv[1], "w"))
EOF
}
refused() {  # refused NAME PATTERN...: convert (with --model) exits 3 naming model.json and each PATTERN
  local err rc
  err=$("$dlp" convert --model inception_v3 "$tmp/$1/model.json" "$tmp/$1.safetensors" 2>&1); rc=$?
  check "[ $rc -eq 3 ] && [ ! -e '$tmp/$1.safetensors' ]" || echo "$1: rc $rc: $err" >&2
  shift
  for pattern in "$@"; do check '[[ "$err" == *"$pattern"* ]]' || echo "  missing '$pattern' in: $err" >&2; done
}
damaged truncated
rm "$tmp/truncated/group1-shard6of6.bin"
head -c 1000000 "$model_dir/group1-shard6of6.bin" > "$tmp/truncated/group1-shard6of6.bin"
refused truncated "truncated/model.json" "truncated or missing" "weight \""
damaged missing_shard
rm "$tmp/missing_shard/group1-shard2of6.bin"
refused missing_shard "missing_shard/model.json" "group1-shard2of6.bin" "batch_normalization_1/beta"
damaged transposed
edit_json transposed 'k = [x for x in w if x["name"] == "conv2d_5/kernel"][0]; k["shape"][2], k["shape"][3] = k["shape"][3], k["shape"][2]'
refused transposed "conv2d_5" "kernel" "[3, 3, 80, 192]" "[3, 3, 192, 80]"
damaged scale_string
edit_json scale_string 'w[3]["quantization"]["scale"] = str(w[3]["quantization"]["scale"])'
name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["weightsManifest"][0]["weights"][3]["name"])' "$model_dir/model.json")
refused scale_string "scale_string/model.json" "$name" "scale"
damaged no_min
edit_json no_min 'del w[7]["quantization"]["min"]'
name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["weightsManifest"][0]["weights"][7]["name"])' "$model_dir/model.json")
refused no_min "no_min/model.json" "$name" "min"
damaged missing_layer
edit_json missing_layer 'del w[[x["name"] for x in w].index("conv2d_9/kernel")]'
refused missing_layer "missing_layer/model.json" "group1-shard6of6.bin" "weights take only"

echo "cli.convert: $checks checks, $fails failed"
[ $fails -eq 0 ]
