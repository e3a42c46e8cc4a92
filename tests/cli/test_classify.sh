#!/usr/bin/env bash
# dlp classify: the ImageNet predictor's command line (its numbers against
# Keras' decode_predictions are checked by unit.predictor, which also runs
# this command on synthetic ResNet50 weights).
# - The shipped class list's MD5 equals the hash Keras pins for it
#   (decode_predictions' file_hash, recorded by tests/oracle/imagenet_oracle.py).
# - --help; usage errors exit 1 (no image, bad --top-k, bad output suffix,
#   --top-k with .npy, --top-k with --probabilities, unknown model).
# - Weights with another head (nsfwjs' InceptionV3, when ../shared is there)
#   are refused with exit 3, naming the ImageNet top's layer.
set -u
fails=0; checks=0
check() { checks=$((checks + 1)); if ! eval "$1"; then fails=$((fails + 1)); echo "FAILED: $1" >&2; return 1; fi; }
dlp="$DLP_BIN"
tmp="$DLP_TEST_TMP/classify"
rm -rf "$tmp"; mkdir -p "$tmp"
image="$DLP_FIXTURES/images/chelsea_224.png"

pinned=$(sed -n 's/.*"keras_pinned_md5": "\([0-9a-f]*\)".*/\1/p' "$DLP_FIXTURES/imagenet/decode_predictions.json")
actual=$(md5sum < "$DLP_SOURCE_DIR/data/imagenet_class_index.json" | cut -d' ' -f1)
echo "class index MD5 $actual, Keras pins $pinned"
check '[ -n "$pinned" ] && [ "$actual" = "$pinned" ]'

check '"$dlp" classify --help > "$tmp/help.txt"'
check 'grep -q -- "--top-k K" "$tmp/help.txt" && grep -q -- "--probabilities" "$tmp/help.txt"'
check '"$dlp" --help | grep -q "classify"'

usage() { "$dlp" classify "$@" > /dev/null 2> "$tmp/err.txt"; [ $? -eq 1 ]; }
check 'usage --model ResNet50 -o "$tmp/out.jsonl"'
check 'usage --model ResNet50 --top-k 0 -o "$tmp/out.jsonl" "$image"'
check 'usage --model ResNet50 --top-k 1001 -o "$tmp/out.jsonl" "$image"'
check 'usage --model ResNet50 -o "$tmp/out.txt" "$image"'
check 'usage --model ResNet50 --format csv -o "$tmp/out.jsonl" "$image" && grep -q "expected npy or jsonl" "$tmp/err.txt"'
check 'usage --model ResNet50 --top-k 3 -o "$tmp/out.npy" "$image" && grep -q "needs .jsonl" "$tmp/err.txt"'
check 'usage --model ResNet50 --top-k 3 --probabilities -o "$tmp/out.jsonl" "$image"'
check 'usage --model ResNet51 --weights /nonexistent.safetensors -o "$tmp/out.jsonl" "$image" && grep -q "not in the zoo" "$tmp/err.txt"'
check 'usage --model ResNet50 --bogus -o "$tmp/out.jsonl" "$image"'

nsfwjs="$DLP_SHARED_DIR/models/nsfwjs-inception_v3/model.json"
if [ -f "$nsfwjs" ]; then
  "$dlp" classify --model InceptionV3 --weights "$nsfwjs" --device cpu -o "$tmp/out.jsonl" "$image" 2> "$tmp/err.txt"
  code=$?
  check '[ $code -eq 3 ] && grep -q "last layer \"predictions\"" "$tmp/err.txt"'
  check '[ ! -e "$tmp/out.jsonl" ]'
else
  echo "nsfwjs refusal not checked: $nsfwjs not found"
fi

echo "cli.classify: $checks checks, $fails failed"
[ $fails -eq 0 ]
