#!/usr/bin/env bash
# make demo: the brief's workflow end to end on ../shared/data/digits-500.
# Until `dlp fit` exists (issue 6) this shows what the build can do so far.
set -euo pipefail
build="${1:-build}"
dlp="$build/dlp"
"$dlp" --version
"$dlp" devices || true
echo
echo "dlp demo: the digits pipeline (dlp fit / evaluate / predict) is not built yet; see README.md, Status."
