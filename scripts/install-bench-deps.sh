#!/usr/bin/env bash
# Installs what bench/featurize_cpu.sh compares dlp with: Debian's PyTorch and
# torchvision (the Keras peer uses the oracle venv's pinned tensorflow and
# tf-keras, tests/oracle/requirements.txt). Idempotent; run as root.
set -euo pipefail
"$(dirname "$0")/install-deps.sh"
packages=(python3-torch python3-torchvision)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-bench-deps: missing packages: ${missing[*]}; run this script as root (or install them)" >&2
  exit 1
fi
echo "install-bench-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y --no-install-recommends "${missing[@]}"
