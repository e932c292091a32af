#!/usr/bin/env bash
# Peak memory and seconds per round of `tributary simulate` against the number of registered
# clients and the cohort size (issue 17's table): the demo CNN on Fashion-MNIST, one example per
# client (data.max_train_examples = the registered count), top-k 1% uplinks with error
# feedback (each client that trains keeps a model-sized residual), ROUNDS rounds.
#   bench/population_scale.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
build=${1:-build/release}
rounds=${2:-3}
root="$(cd "$(dirname "$0")/.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "| registered | per round | peak RSS | seconds per round (training rounds, mean) |"
echo "| ---: | ---: | ---: | ---: |"
for registered in 1000 10000 60000; do
  for cohort in 10 100 1000; do
    [ "$cohort" -gt "$registered" ] && continue
    out="$work/r${registered}_c${cohort}"
    /usr/bin/time -f "%M" -o "$work/rss" "$build/tributary" simulate \
      "$root/configs/fmnist_fedavg_iid.toml" --out "$out" --overwrite --quiet \
      --set "run.rounds=$rounds" --set run.eval_every=1000 --set "data.num_clients=$registered" \
      --set "data.max_train_examples=$registered" --set "run.clients_per_round=$cohort" \
      --set train.epochs=1 --set "compress.uplink=topk:ratio=0.01" \
      --set compress.error_feedback=true
    python3 - "$out/metrics.jsonl" "$(cat "$work/rss")" "$registered" "$cohort" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
seconds = [r["wall_seconds"] - r.get("eval_seconds", 0.0) for r in rows]
print(f"| {int(sys.argv[3]):,} | {int(sys.argv[4]):,} | {int(sys.argv[2]) / 1024:.0f} MiB | "
      f"{sum(seconds) / len(seconds):.2f} |")
PY
  done
done
