#!/usr/bin/env bash
# CLI basics: --version, --help on every subcommand, unknown commands and
# options, and `dlp devices` exit codes (4 and a reason when there is no GPU).
set -u
fails=0; checks=0
check() { checks=$((checks + 1)); if ! eval "$1"; then fails=$((fails + 1)); echo "FAILED: $1" >&2; fi; }
dlp="$DLP_BIN"

out=$("$dlp" --version); check '[[ "$out" == dlp\ 0.* ]]'
"$dlp" --help > /dev/null; rc=$?; check "[ $rc -eq 0 ]"
"$dlp" > /dev/null 2>&1; rc=$?; check "[ $rc -eq 1 ]"
err=$("$dlp" frobnicate 2>&1); rc=$?
check '[ $rc -eq 1 ] && [[ "$err" == *"not a dlp command"* ]]'

# Every listed subcommand answers --help with a usage text and exit 0.
for command in $("$dlp" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1}'); do
  out=$("$dlp" "$command" --help); rc=$?
  check '[ $rc -eq 0 ] && [[ "$out" == Usage:\ dlp\ "$command"* ]]'
  "$dlp" "$command" --no-such-option > /dev/null 2>&1; rc=$?
  check '[ $rc -eq 1 ]'
done

# devices: 0 with at least one GPU, else 4 with the reason on stdout.
out=$("$dlp" devices); rc=$?
check '[ $rc -eq 0 ] || { [ $rc -eq 4 ] && [[ "$out" == *"no usable CUDA device: "* ]]; }'
json=$("$dlp" devices --json); rc=$?
check '[[ "$json" == "{\"built_with_cuda\":"* ]]'

echo "cli.basic: $checks checks, $fails failed"
[ $fails -eq 0 ]
