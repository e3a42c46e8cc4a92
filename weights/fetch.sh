#!/usr/bin/env bash
# fetch.sh: downloads the official Keras ImageNet weights listed in MANIFEST,
# checks the MD5 Keras publishes, converts them with `dlp convert --model` to
# <dir>/<model>[_notop].safetensors and prints their SHA-256 (which pipelines pin).
set -u

usage() {
  cat <<'EOF'
Usage: weights/fetch.sh [MODEL...] [--dir DIR] [--top | --notop] [--from FILE] [--dlp PATH]

Downloads (curl or wget) the Keras weight files for each MODEL (default: all in
weights/MANIFEST: inception_v3 xception resnet50 vgg16 vgg19), checks each file's MD5
against MANIFEST, converts it with 'dlp convert --model MODEL' and prints its SHA-256.

  --dir DIR    where the .safetensors go (default: $DLP_WEIGHTS_DIR, else ~/.cache/dlp/weights,
               the places 'dlp models' looks); downloads are kept in DIR/downloads
  --top        only the files with the ImageNet top (1000-way classifier)
  --notop      only the featurizer files (_notop); default: both
  --from FILE  use FILE instead of downloading (one MODEL, with --top or --notop)
  --dlp PATH   the dlp binary (default: dlp on PATH, else build/dlp beside this script)

Environment: DLP_WEIGHTS_MANIFEST overrides the manifest file.
Exit codes: 0 ok, 1 usage, 2 download failed, 3 MD5 mismatch or conversion refused.
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
manifest=${DLP_WEIGHTS_MANIFEST:-$here/MANIFEST}
dir=${DLP_WEIGHTS_DIR:-${HOME:-.}/.cache/dlp/weights}
variants="top notop"; from=""; dlp=""; models=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --dir) [ $# -ge 2 ] || { echo "fetch.sh: --dir needs a directory" >&2; exit 1; }; dir=$2; shift ;;
    --top) variants="top" ;;
    --notop) variants="notop" ;;
    --from) [ $# -ge 2 ] || { echo "fetch.sh: --from needs a file" >&2; exit 1; }; from=$2; shift ;;
    --dlp) [ $# -ge 2 ] || { echo "fetch.sh: --dlp needs a path" >&2; exit 1; }; dlp=$2; shift ;;
    -*) echo "fetch.sh: unknown option '$1' (see --help)" >&2; exit 1 ;;
    *) models+=("$1") ;;
  esac
  shift
done
[ -r "$manifest" ] || { echo "fetch.sh: cannot read the manifest $manifest" >&2; exit 1; }
known=$(awk '!/^#/ && NF >= 4 {print $1}' "$manifest" | sort -u)
[ ${#models[@]} -gt 0 ] || models=($known)
for model in "${models[@]}"; do
  grep -qx "$model" <<< "$known" || { echo "fetch.sh: unknown model '$model'; known: $(echo $known)" >&2; exit 1; }
done
if [ -n "$from" ]; then
  [ ${#models[@]} -eq 1 ] && [ "$variants" != "top notop" ] ||
    { echo "fetch.sh: --from FILE needs exactly one MODEL and --top or --notop" >&2; exit 1; }
  [ -r "$from" ] || { echo "fetch.sh: cannot read $from" >&2; exit 2; }
fi
if [ -z "$dlp" ]; then
  if command -v dlp > /dev/null; then dlp=dlp; else dlp="$here/../build/dlp"; fi
fi
"$dlp" --version > /dev/null 2>&1 || { echo "fetch.sh: no working dlp binary ('$dlp'); use --dlp PATH" >&2; exit 1; }
mkdir -p "$dir/downloads" || exit 2

download() {  # download URL FILE
  if command -v curl > /dev/null; then curl -fL --retry 2 -o "$2" "$1"
  elif command -v wget > /dev/null; then wget -O "$2" "$1"
  else echo "fetch.sh: neither curl nor wget found" >&2; return 1; fi
}

for model in "${models[@]}"; do
  for variant in $variants; do
    read -r md5 url < <(awk -v m="$model" -v v="$variant" '!/^#/ && $1 == m && $2 == v {print $3, $4}' "$manifest")
    [ -n "${url:-}" ] || { echo "fetch.sh: no $variant entry for $model in $manifest" >&2; exit 1; }
    if [ -n "$from" ]; then
      file=$from
    else
      file="$dir/downloads/$(basename "$url")"
      if [ ! -s "$file" ] || [ "$(md5sum < "$file" | cut -d' ' -f1)" != "$md5" ]; then
        echo "fetch.sh: downloading $url" >&2
        download "$url" "$file.part" && mv "$file.part" "$file" ||
          { rm -f "$file.part"; echo "fetch.sh: download of $url failed" >&2; exit 2; }
      fi
    fi
    got=$(md5sum < "$file" | cut -d' ' -f1)
    if [ "$got" != "$md5" ]; then
      echo "fetch.sh: $file: MD5 $got, MANIFEST says $md5 for $model ($variant): refusing it" >&2
      [ -n "$from" ] || rm -f "$file"
      exit 3
    fi
    suffix=""; [ "$variant" = notop ] && suffix="_notop"
    out="$dir/$model$suffix.safetensors"
    "$dlp" convert --force --model "$model" "$file" "$out" >&2 ||
      { echo "fetch.sh: dlp convert refused $file" >&2; exit 3; }
    echo "$(sha256sum < "$file" | cut -d' ' -f1)  $(basename "$file")  -> $out"
  done
done
