#!/usr/bin/env bash
# Runs the experiments listed in an experiments file (or only the names given after it) and
# prints the summary table. The file names its base config, output folder, round count, target
# accuracy and baseline run in `# key: value` lines (and `# report: time` for simulated time to
# the target instead of bytes; `# summary: privacy` for epsilon and accuracy, docs/privacy.md),
# then one run per line: name, then --set overrides. Results: <output>/<name>/ (metrics.jsonl, model.pt, resolved config.toml).
#   usage: scripts/run_experiments.sh configs/strategies/experiments.txt [name ...]
set -euo pipefail
cd "$(dirname "$0")/.."
list=${1:?usage: scripts/run_experiments.sh EXPERIMENTS_FILE [name ...]}
shift
setting() { sed -n "s/^# $1: *//p" "$list" | head -n 1; }
base=$(setting base)
out=$(setting output)
target=$(setting target)
baseline=$(setting baseline)
rounds=${ROUNDS:-$(setting rounds)}
summary_kind=$(setting summary)
if [ -z "$base" ] || [ -z "$out" ] || [ -z "$rounds" ] ||
   { [ "$summary_kind" != "privacy" ] && { [ -z "$target" ] || [ -z "$baseline" ]; }; }; then
  echo "$list: needs '# base:', '# output:', '# rounds:' lines, and '# target:' and" \
       "'# baseline:' unless '# summary: privacy'" >&2
  exit 2
fi
# TRIBUTARY: another binary (e.g. a copy, so that rebuilding does not change a long series).
binary=${TRIBUTARY:-build/release/tributary}
[ -x "$binary" ] || make build
while read -r name overrides; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  if [ $# -gt 0 ] && [[ ! " $* " == *" $name "* ]]; then continue; fi
  sets=(--set "run.rounds=$rounds")
  for o in $overrides; do sets+=(--set "$o"); done
  echo "== $name: ${overrides}"
  "$binary" simulate "$base" --out "$out/$name" --overwrite "${sets[@]}"
done < "$list"
if [ "$summary_kind" = "privacy" ]; then
  exec python3 scripts/summarize_privacy.py "$out"
fi
summary=(--target "$target" --baseline "$baseline")
[ "$(setting report)" = "time" ] && summary+=(--time)
python3 scripts/summarize_runs.py "$out" "${summary[@]}"
