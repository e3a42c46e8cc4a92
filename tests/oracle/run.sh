#!/usr/bin/env bash
# make oracle: regenerates the committed fixtures under tests/fixtures/ from the
# real references (TensorFlow/Keras, PySpark, scikit-learn, NumPy, safetensors),
# pinned in tests/oracle/requirements.txt and installed into a venv.
# Usage: tests/oracle/run.sh VENV_DIR [SCRIPT...]   (default: every *_oracle.py)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${1:?usage: run.sh VENV_DIR [SCRIPT...]}"
shift
# Debian's python3 (python3-venv), not whatever python3 is first on PATH.
python=/usr/bin/python3
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$root/tests/oracle/requirements.txt" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$venv/bin/pip" install -q -r "$root/tests/oracle/requirements.txt"
  echo "$want" > "$stamp"
fi
export DLP_SOURCE_DIR="$root" DLP_SHARED_DIR="${DLP_SHARED_DIR:-$root/../shared}" DLP_FIXTURES="$root/tests/fixtures"
export PYTHONHASHSEED=0 TF_CPP_MIN_LOG_LEVEL=2 CUDA_VISIBLE_DEVICES=""
scripts=("$@")
if [ ${#scripts[@]} -eq 0 ]; then
  mapfile -t scripts < <(cd "$root/tests/oracle" && ls *_oracle.py)
fi
for script in "${scripts[@]}"; do
  echo "oracle: $script"
  (cd "$root/tests/oracle" && "$venv/bin/python" "$script")
done
