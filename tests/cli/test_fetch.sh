#!/usr/bin/env bash
# weights/fetch.sh offline: argument handling, the MD5 check (a --from file and
# a file:// download that do not match MANIFEST are refused, exit 3), and a
# matching file handed on to `dlp convert --model` (refused there: the fixture
# is a small CNN, not InceptionV3).
set -u
fails=0; checks=0
check() { checks=$((checks + 1)); if ! eval "$1"; then fails=$((fails + 1)); echo "FAILED: $1" >&2; return 1; fi; }
fetch="$DLP_SOURCE_DIR/weights/fetch.sh"
tmp="$DLP_TEST_TMP/fetch"
rm -rf "$tmp"; mkdir -p "$tmp"
export HOME="$tmp/home"; unset DLP_WEIGHTS_DIR DLP_WEIGHTS_MANIFEST
fixture="$DLP_FIXTURES/h5/small_cnn_weights.h5"
run() { bash "$fetch" --dlp "$DLP_BIN" --dir "$tmp/w" "$@"; }

out=$(run --help); rc=$?; check '[ $rc -eq 0 ] && [[ "$out" == Usage:* ]]'
err=$(run no_such_model 2>&1); rc=$?; check '[ $rc -eq 1 ] && [[ "$err" == *"unknown model"*inception_v3* ]]'
err=$(run --frobnicate 2>&1); rc=$?; check '[ $rc -eq 1 ] && [[ "$err" == *"unknown option"* ]]'
err=$(run --dir 2>&1); rc=$?; check '[ $rc -eq 1 ]'
err=$(run --from "$fixture" inception_v3 2>&1); rc=$?; check '[ $rc -eq 1 ] && [[ "$err" == *"--top or --notop"* ]]'
err=$(run --from "$fixture" --notop inception_v3 vgg16 2>&1); rc=$?; check '[ $rc -eq 1 ]'
err=$(run --from "$tmp/absent.h5" --notop inception_v3 2>&1); rc=$?; check '[ $rc -eq 2 ]'
err=$(bash "$fetch" --dlp "$tmp/no-dlp" --notop inception_v3 2>&1); rc=$?; check '[ $rc -eq 1 ] && [[ "$err" == *"no working dlp"* ]]'

# MD5 mismatch: the fixture is not Keras' InceptionV3 file.
err=$(run --from "$fixture" --notop inception_v3 2>&1); rc=$?
check '[ $rc -eq 3 ] && [[ "$err" == *MD5*bcbd6486424b2319ff4ef7d526e38f63* ]] && [ ! -e "$tmp/w/inception_v3_notop.safetensors" ]'
check '[ -e "$fixture" ]'   # --from files are never deleted

# A manifest pointing at file:// URLs: one with a wrong MD5 (downloaded, refused, removed),
# one with the right MD5 (downloaded, handed to dlp convert --model, refused there: exit 3).
if command -v curl > /dev/null || command -v wget > /dev/null; then
  md5=$(md5sum < "$fixture" | cut -d' ' -f1)
  cp "$fixture" "$tmp/small_cnn_weights.h5"
  printf '# test\ninception_v3 top 00000000000000000000000000000000 file://%s\ninception_v3 notop %s file://%s\n' \
    "$tmp/small_cnn_weights.h5" "$md5" "$tmp/small_cnn_weights.h5" > "$tmp/MANIFEST"
  err=$(DLP_WEIGHTS_MANIFEST="$tmp/MANIFEST" run --top inception_v3 2>&1); rc=$?
  check '[ $rc -eq 3 ] && [[ "$err" == *"MD5 $md5"* ]] && [ ! -e "$tmp/w/downloads/small_cnn_weights.h5" ]'
  err=$(DLP_WEIGHTS_MANIFEST="$tmp/MANIFEST" run --notop inception_v3 2>&1); rc=$?
  check '[ $rc -eq 3 ] && [[ "$err" == *"dlp convert"*InceptionV3* ]] && [ -e "$tmp/w/downloads/small_cnn_weights.h5" ]'
  check '[ ! -e "$tmp/w/inception_v3_notop.safetensors" ]'
else
  echo "NOTE: neither curl nor wget: file:// download not checked"
fi

echo "cli.fetch: $checks checks, $fails failed"
[ $fails -eq 0 ]
