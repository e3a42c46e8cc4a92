#!/usr/bin/env bash
# Installs every Debian package dlp's build and tests need. Idempotent; run as root.
# Packages already present are not reinstalled, and apt-get update runs only when
# something is missing, so a second run costs a second.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config   # toolchain
  clang libclang-rt-dev                          # libFuzzer targets (tests/fuzz)
  libturbojpeg0-dev                              # JPEG decoding (TurboJPEG API)
  libjpeg62-turbo-dev                            # JPEG DCT coefficients (libjpeg API of libjpeg-turbo)
  libspng-dev                                    # PNG decoding
  libjansson-dev                                 # JSON: safetensors headers, model.json, pipeline.json
  libhdf5-dev                                    # Keras .h5 weight files
  libopenblas-dev                                # sgemm for the CPU backend and logistic regression
  python3 python3-venv                           # test oracles run from a venv under build/
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run this script as root (or install them)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y --no-install-recommends "${missing[@]}"
