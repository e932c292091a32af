#!/usr/bin/env bash
# Runs every experiment in configs/compression/experiments.txt (or only the names given) and
# prints the summary table. Results: runs/compression/<name>/.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=build/release/tributary
[ -x "$binary" ] || make build
rounds=${ROUNDS:-50}
while read -r name overrides; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  if [ $# -gt 0 ] && [[ ! " $* " == *" $name "* ]]; then continue; fi
  sets=(--set "run.rounds=$rounds")
  for o in $overrides; do sets+=(--set "$o"); done
  echo "== $name: ${overrides}"
  "$binary" simulate configs/fmnist_fedavg_dirichlet.toml --out "runs/compression/$name" \
    --overwrite "${sets[@]}"
done < configs/compression/experiments.txt
python3 scripts/summarize_runs.py runs/compression --target 0.85 --baseline fp32
