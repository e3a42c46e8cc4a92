#!/usr/bin/env bash
# dlp inspect: images (the decode fixtures, whose colour type, depth and
# interlacing tests/oracle/image_oracle.py chose), safetensors (header read
# back by a stdlib-only Python reader), .npy (header parsed with Python's
# ast.literal_eval, as numpy.lib.format does), and refusals with exit code 2.
set -u
fails=0; checks=0
check() { checks=$((checks + 1)); if ! eval "$1"; then fails=$((fails + 1)); echo "FAILED: $1" >&2; return 1; fi; }
dlp="$DLP_BIN"
tmp="$DLP_TEST_TMP/inspect"
rm -rf "$tmp"; mkdir -p "$tmp"
command -v python3 > /dev/null || { echo "skipped: python3 not found"; exit 77; }
decode="$DLP_FIXTURES/decode"

# field JSON KEY: one top-level value of a JSON object, as Python prints it.
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# image FILE FORMAT WIDTH HEIGHT CHANNELS COLOR DEPTH PROGRESSIVE
image() {
  local out
  out="$("$dlp" inspect --json "$decode/$1")"
  shift
  check "[ \"\$(python3 -c 'import json,sys; o = json.loads(sys.argv[1]); print(o[\"type\"], o[\"format\"], o[\"width\"], o[\"height\"], o[\"channels\"], o[\"color\"], o[\"bit_depth\"], o[\"progressive\"])' \"\$out\")\" = \"image $*\" ]" ||
    echo "  got: $out" >&2
}
image rgb8.png png 13 7 3 rgb 8 False
image gray1_interlaced.png png 13 7 1 gray 1 True
image palette4.png png 13 7 3 palette 4 False
image gray_alpha16_interlaced.png png 13 7 2 gray+alpha 16 True
image rgba16.png png 13 7 4 rgba 16 False
image baseline_420.jpg jpeg 37 29 3 ycbcr 8 False
image progressive_420.jpg jpeg 37 29 3 ycbcr 8 True
image gray.jpg jpeg 37 29 1 gray 8 False
image cmyk_adobe.jpg jpeg 37 29 4 cmyk 8 False
image ycck.jpg jpeg 37 29 4 ycck 8 False
# The name does not matter: a PNG called .jpg is a PNG.
cp "$decode/rgb8.png" "$tmp/really_a_png.jpg"
check "\"$dlp\" inspect \"$tmp/really_a_png.jpg\" | grep -q 'png image'"
# A header over the limits is reported, with the refusal to come.
out="$("$dlp" inspect --json "$decode/huge_100000x100000.png")"
check "[ \"$(field "$out" width)/$(field "$out" within_limits)\" = 100000/False ]"
check "\"$dlp\" inspect \"$decode/huge_100000x100000.png\" | grep -q 'decoding will refuse it'"
text="$("$dlp" inspect "$decode/progressive_420.jpg")"
check "echo \"\$text\" | grep -q 'size  *37x29'"
check "echo \"\$text\" | grep -q 'progressive  *yes'"

# safetensors: every tensor's name, dtype and shape and the metadata, as the header says.
st="$DLP_FIXTURES/safetensors/reference.safetensors"
out="$("$dlp" inspect --json "$st")"
check "python3 - \"\$st\" \"\$out\" <<'PY'
import json, struct, sys
with open(sys.argv[1], 'rb') as f:
    header = json.loads(f.read(struct.unpack('<Q', f.read(8))[0]))
got = json.loads(sys.argv[2])
metadata = header.pop('__metadata__', {})
want = sorted((name, t['dtype'], t['shape']) for name, t in header.items())
have = sorted((t['name'], t['dtype'], t['shape']) for t in got['tensors'])
sys.exit(0 if got['type'] == 'safetensors' and want == have and got['metadata'] == metadata and want else 1)
PY"
check "\"$dlp\" inspect \"$st\" | grep -q 'safetensors, '"

# .npy: dtype, shape and order from the header dict.
for npy in f32_3x5 f32_3d f32_vector7 f64_4x3 fortran_2x3 int32_2x3 f32_v2_2x3 bigendian_2x3 f32_empty_0x4; do
  path="$DLP_FIXTURES/io/$npy.npy"
  out="$("$dlp" inspect --json "$path")"
  check "python3 - \"\$path\" \"\$out\" <<'PY'
import ast, json, struct, sys
data = open(sys.argv[1], 'rb').read()
major = data[6]
length = struct.unpack('<H', data[8:10])[0] if major == 1 else struct.unpack('<I', data[8:12])[0]
start = 10 if major == 1 else 12
header = ast.literal_eval(data[start:start + length].decode('latin1'))
got = json.loads(sys.argv[2])
ok = (got['type'] == 'npy' and got['dtype'] == header['descr'] and got['shape'] == list(header['shape'])
      and got['fortran_order'] == header['fortran_order'] and got['version'] == major)
sys.exit(0 if ok else 1)
PY" || echo "  $npy: $out" >&2
done

# Refusals: exit code 2 (input data), a message naming the file and the reason.
printf 'hello, not an image\n' > "$tmp/text.jpg"
: > "$tmp/empty.png"
head -c 20 "$decode/rgb8.png" > "$tmp/short.png"
"$dlp" inspect "$tmp/text.jpg" 2> "$tmp/err"; code=$?
check "[ $code -eq 2 ]"
check "grep -q 'text.jpg: not a JPEG, PNG, safetensors or .npy file' \"$tmp/err\""
"$dlp" inspect "$tmp/empty.png" 2> "$tmp/err"; code=$?
check "[ $code -eq 2 ] && grep -q 'empty.png: empty file' \"$tmp/err\""
"$dlp" inspect "$tmp/short.png" 2> "$tmp/err"; code=$?
check "[ $code -eq 2 ] && grep -q 'short.png' \"$tmp/err\""
"$dlp" inspect "$tmp/missing.png" 2> "$tmp/err"; code=$?
check "[ $code -eq 2 ] && grep -q 'missing.png: cannot open' \"$tmp/err\""
# Several files: every one is described, the exit code says one failed.
out="$("$dlp" inspect --json "$decode/rgb8.png" "$tmp/text.jpg" "$decode/gray.jpg" 2> /dev/null)"; code=$?
check "[ $code -eq 2 ] && [ \$(echo \"\$out\" | wc -l) -eq 2 ]"
"$dlp" inspect > /dev/null 2>&1; code=$?
check "[ $code -eq 1 ]"
check "\"$dlp\" inspect --help | grep -q 'Usage: dlp inspect'"

echo "inspect: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
