#!/usr/bin/env bash
# dlp featurize: the real InceptionV3 (nsfwjs, TF.js) on the three oracle photos
# (299x299, so 'area' resizing is the identity) gives TensorFlow.js' flatten_1
# features (expected.json) within relative L2 1e-4; bad files mixed into the
# same folder become error rows (NaN features, manifest reasons) while the good
# rows are unchanged; exit code 5; a second run is served from the feature
# cache with identical bytes; avg and max rows pooled from a flatten run's cache entries, the bytes of computing
# them; JSON Lines and LibSVM outputs; usage errors;
# --precision refused on the CPU unless fp32 (which gives the same bytes); --cuda-graphs and --no-cuda-graphs accepted there.
set -u
fails=0; checks=0
check() { checks=$((checks + 1)); if ! eval "$1"; then fails=$((fails + 1)); echo "FAILED: $1" >&2; return 1; fi; }
dlp="$DLP_BIN"
tmp="$DLP_TEST_TMP/featurize"
rm -rf "$tmp"; mkdir -p "$tmp/images/photos" "$tmp/images/bad"
export HOME="$tmp/home" DLP_CACHE_DIR="$tmp/cache" DLP_WEIGHTS_DIR=""
command -v python3 > /dev/null || { echo "skipped: python3 not found"; exit 77; }
model="$DLP_SHARED_DIR/models/nsfwjs-inception_v3"
oracle="$DLP_SHARED_DIR/oracle/inception_v3"
[ -f "$model/model.json" ] || { echo "skipped: $model not found"; exit 77; }

for name in astronaut chelsea coffee; do cp "$oracle/${name}_299.png" "$tmp/images/photos/$name.png"; done
: > "$tmp/images/bad/empty.png"
echo "not an image" > "$tmp/images/bad/text.jpg"
head -c 3000 "$oracle/coffee_299.png" > "$tmp/images/bad/truncated.png"

run() { "$dlp" featurize --model InceptionV3 --weights "$model" --images "$tmp/images" --threads 2 "$@"; }

run -o "$tmp/f.npy" > "$tmp/out1.txt" 2>&1; rc=$?
check "[ $rc -eq 5 ]" || cat "$tmp/out1.txt" >&2
check "grep -q '6 rows x 2048 features' '$tmp/out1.txt'" || cat "$tmp/out1.txt" >&2
check "grep -q '3 computed, 0 from cache, 3 failed' '$tmp/out1.txt'"

# Rows are in byte order of paths: bad/empty, bad/text, bad/truncated, photos/astronaut, chelsea, coffee.
python3 - "$tmp/f.npy" "$tmp/f.csv" "$oracle/expected.json" > "$tmp/compare.txt" 2>&1 <<'PY'
import array, csv, json, math, sys
def read_npy(path):
    with open(path, "rb") as f:
        assert f.read(6) == b"\x93NUMPY"
        major = f.read(2)[0]
        n = int.from_bytes(f.read(2 if major == 1 else 4), "little")
        header = eval(f.read(n).decode("latin1"))
        assert header["descr"] == "<f4" and not header["fortran_order"]
        data = array.array("f"); data.frombytes(f.read())
        return data, header["shape"]
data, (rows, cols) = read_npy(sys.argv[1])
assert (rows, cols) == (6, 2048), (rows, cols)
manifest = list(csv.DictReader(open(sys.argv[2])))
assert len(manifest) == 6
for r in manifest[:3]:
    assert r["status"] != "ok" and r["origin"] in r["message"], r
for r in manifest[3:]:
    assert r["status"] == "ok" and r["message"] == "", r
expected = {e["image"].split("_")[0]: e["features"] for e in json.load(open(sys.argv[3]))["results"]}
for i in range(3):
    assert all(math.isnan(v) for v in data[i * cols:(i + 1) * cols]), "failed row %d not NaN" % i
worst = 0.0
for i, name in enumerate(["astronaut", "chelsea", "coffee"]):
    ours = data[(3 + i) * cols:(4 + i) * cols]
    want = expected[name]
    err = math.sqrt(sum((a - b) ** 2 for a, b in zip(ours, want)) / sum(b * b for b in want))
    print("%s: relative L2 %.3g" % (name, err))
    worst = max(worst, err)
assert worst <= 1e-4, worst
print("ok")
PY
check "tail -1 '$tmp/compare.txt' | grep -qx ok" ; cat "$tmp/compare.txt"

# Second run: every good row from the cache, byte-identical output.
cp "$tmp/f.npy" "$tmp/first.npy"
run -o "$tmp/f.npy" > "$tmp/out2.txt" 2>&1; rc=$?
check "[ $rc -eq 5 ]"
check "grep -q '0 computed, 3 from cache, 3 failed' '$tmp/out2.txt'" || cat "$tmp/out2.txt" >&2
check "cmp -s '$tmp/f.npy' '$tmp/first.npy'"

# JSON Lines: one line per row, null features and the reason for failed rows.
run -o "$tmp/f.jsonl" --manifest "$tmp/m2.csv" > /dev/null 2>&1
check "[ \"\$(wc -l < '$tmp/f.jsonl')\" -eq 6 ]"
check "python3 -c 'import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; assert [r[\"status\"] for r in rows]==[\"error\"]*3+[\"ok\"]*3; assert rows[0][\"features\"] is None and rows[0][\"error\"]; assert len(rows[3][\"features\"])==2048' '$tmp/f.jsonl'"

# --no-cache computes again; LibSVM output has 6 lines with labels (sub-folder names sorted: bad=0, photos=1).
run --no-cache -o "$tmp/f.libsvm" > "$tmp/out3.txt" 2>&1
check "grep -q '3 computed, 0 from cache' '$tmp/out3.txt'"
check "[ \"\$(cut -d' ' -f1 '$tmp/f.libsvm' | tr '\\n' ' ')\" = '0 0 0 1 1 1 ' ]"

# Rows written chunk by chunk (DLP_FEATURIZE_CHUNK_BYTES: here 2 rows of 2048 floats, 3 chunks) give the bytes of
# one chunk in every format, failed rows and labels included, and one progress total; "-" writes to stdout.
for f in npy jsonl libsvm; do
  run --no-cache -o "$tmp/whole.$f" > /dev/null 2>&1
  DLP_FEATURIZE_CHUNK_BYTES=16384 run --no-cache -o "$tmp/chunked.$f" > "$tmp/out6.txt" 2>&1; rc=$?
  check "[ $rc -eq 5 ] && grep -q '6 rows x 2048 features' '$tmp/out6.txt' && grep -q '3 computed' '$tmp/out6.txt'" ||
    cat "$tmp/out6.txt" >&2
  check "cmp -s '$tmp/whole.$f' '$tmp/chunked.$f'"
  DLP_FEATURIZE_CHUNK_BYTES=16384 run --no-cache --format $f -o - 2> /dev/null > "$tmp/stdout.$f"
  check "cmp -s '$tmp/whole.$f' '$tmp/stdout.$f'"
done
check "cmp -s '$tmp/whole.npy' '$tmp/f.npy'"
DLP_FEATURIZE_CHUNK_BYTES=2GB run -o "$tmp/x.npy" > "$tmp/err.txt" 2>&1; rc=$?
check "[ $rc -eq 1 ] && grep -q 'DLP_FEATURIZE_CHUNK_BYTES=2GB: expected a whole number of bytes' '$tmp/err.txt'" ||
  cat "$tmp/err.txt" >&2

# --precision: an unknown name is a usage error; anything but fp32 on the CPU is refused, naming why.
"$dlp" featurize --images "$tmp/images" -o "$tmp/x.npy" --precision half > "$tmp/err.txt" 2>&1; rc=$?
check "[ $rc -eq 1 ] && grep -q 'expected fp32, tf32, fp16 or bf16' '$tmp/err.txt'"
for p in fp16 bf16 tf32; do
  run --device cpu --precision $p -o "$tmp/x.npy" > "$tmp/err.txt" 2>&1; rc=$?
  check "[ $rc -eq 1 ] && grep -q 'precision $p needs a CUDA device' '$tmp/err.txt'" || cat "$tmp/err.txt" >&2
done
run --device cpu --no-cache -o "$tmp/cpu.npy" > "$tmp/out4.txt" 2>&1
run --device cpu --precision fp32 --no-cache -o "$tmp/fp32.npy" > "$tmp/out4.txt" 2>&1
check "cmp -s '$tmp/cpu.npy' '$tmp/fp32.npy'"
# --cuda-graphs (the default) and --no-cuda-graphs are GPU settings: accepted on the CPU, the same bytes.
run --device cpu --cuda-graphs --no-cache -o "$tmp/graphs.npy" > "$tmp/out4.txt" 2>&1
check "cmp -s '$tmp/cpu.npy' '$tmp/graphs.npy'"
run --device cpu --no-cuda-graphs --no-cache -o "$tmp/no_graphs.npy" > "$tmp/out4.txt" 2>&1
check "cmp -s '$tmp/cpu.npy' '$tmp/no_graphs.npy'"

# Avg and max rows pooled from flatten entries: after a flatten run fills a fresh cache, avg and max runs decode
# nothing and give the bytes of computing them (the CPU backend pools in the same order, in double).
DLP_CACHE_DIR="$tmp/cache2" run --device cpu --pooling flatten -o "$tmp/flat.npy" > "$tmp/out5.txt" 2>&1
check "grep -q '3 computed, 0 from cache, 3 failed' '$tmp/out5.txt'" || cat "$tmp/out5.txt" >&2
DLP_CACHE_DIR="$tmp/cache2" run --device cpu -o "$tmp/avg_derived.npy" > "$tmp/out5.txt" 2>&1
check "grep -q '0 computed, 3 from cache, 3 failed' '$tmp/out5.txt'" || cat "$tmp/out5.txt" >&2
check "cmp -s '$tmp/cpu.npy' '$tmp/avg_derived.npy'"
DLP_CACHE_DIR="$tmp/cache2" run --device cpu --pooling max -o "$tmp/max_derived.npy" > "$tmp/out5.txt" 2>&1
check "grep -q '0 computed, 3 from cache, 3 failed' '$tmp/out5.txt'" || cat "$tmp/out5.txt" >&2
run --device cpu --pooling max --no-cache -o "$tmp/max.npy" > "$tmp/out5.txt" 2>&1
check "cmp -s '$tmp/max.npy' '$tmp/max_derived.npy'"

# Usage errors (exit 1) and a model refused (exit 3).
"$dlp" featurize --images "$tmp/images" > /dev/null 2>&1; check "[ $? -eq 1 ]"
"$dlp" featurize --images "$tmp/images" -o "$tmp/x.bin" > /dev/null 2>&1; check "[ $? -eq 1 ]"
"$dlp" featurize --images "$tmp/images" -o "$tmp/x.npy" --pooling median > /dev/null 2>&1; check "[ $? -eq 1 ]"
"$dlp" featurize --model NoSuchNet --images "$tmp/images" -o "$tmp/x.npy" > "$tmp/err.txt" 2>&1; rc=$?
check "[ $rc -eq 1 ] && grep -q NoSuchNet '$tmp/err.txt'"
"$dlp" featurize --model ResNet50 --weights "$model" --images "$tmp/images" -o "$tmp/x.npy" > "$tmp/err.txt" 2>&1; rc=$?
check "[ $rc -eq 3 ]" || cat "$tmp/err.txt" >&2
"$dlp" featurize --images "$tmp/nowhere" -o "$tmp/x.npy" > "$tmp/err.txt" 2>&1; rc=$?
check "[ $rc -eq 2 ] && grep -q nowhere '$tmp/err.txt'"
# An output that cannot be written is refused before any image is decoded (exit 2, naming the folder).
"$dlp" featurize --model InceptionV3 --weights "$model" --images "$tmp/images" -o "$tmp/no/such/x.npy" > "$tmp/err.txt" 2>&1
rc=$?
check "[ $rc -eq 2 ] && grep -q 'cannot write in .*no/such' '$tmp/err.txt' && ! grep -q 'rows x' '$tmp/err.txt'" ||
  cat "$tmp/err.txt" >&2
mkdir -p "$tmp/folder.npy"
"$dlp" featurize --model InceptionV3 --weights "$model" --images "$tmp/images" -o "$tmp/folder.npy" > "$tmp/err.txt" 2>&1
rc=$?
check "[ $rc -eq 2 ] && grep -q 'is a folder' '$tmp/err.txt'" || cat "$tmp/err.txt" >&2
# An empty folder is 0 rows and exit 0 (new files may simply not be there yet), with a warning naming it.
mkdir -p "$tmp/empty"
"$dlp" featurize --model InceptionV3 --weights "$model" --images "$tmp/empty" -o "$tmp/empty.npy" > "$tmp/err.txt" 2>&1
rc=$?
check "[ $rc -eq 0 ] && grep -q 'warning: .*empty: no files under this folder' '$tmp/err.txt'" || cat "$tmp/err.txt" >&2
check "'$dlp' inspect '$tmp/empty.npy' | grep -q 'shape *(0, 2048)'"
echo "checks: $checks, failed: $fails"
[ $fails -eq 0 ]
