#!/usr/bin/env bash
# Peak memory and seconds per round of `tributary simulate` against the number of registered
# clients and the cohort size (issue 17's table): the demo CNN on the generated
# synthetic_images dataset with one example per client (as many examples as clients), top-k 1%
# uplinks with error feedback (each client that trains keeps a model-sized residual, 738 kB),
# ROUNDS rounds, client state beyond BUDGET_MB spilled to a file (compute.client_state_mb).
#   bench/population_scale.sh [BUILD_DIR] [ROUNDS] [BUDGET_MB] [REGISTERED...]
# Environment: COHORTS (default "10 100 1000"), SKIP (rounds left out of the per-round figures,
# default 1: round 1 pays the start-up; more leaves out the rounds before the budget fills).
# A registered count may repeat (10000 100000 10000 100000) to alternate runs in one sitting.
set -euo pipefail
build=${1:-build/release}
rounds=${2:-12}
budget=${3:-4096}
shift $(( $# < 3 ? $# : 3 ))
registered_counts=("${@:-1000 10000 100000}")
cohorts=${COHORTS:-10 100 1000}
skip=${SKIP:-1}
root="$(cd "$(dirname "$0")/.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "| registered | per round | peak RSS | seconds per round (mean of rounds $((skip + 1))..$rounds) | rounds $((skip + 1))..$rounds (min-max) |"
echo "| ---: | ---: | ---: | ---: | ---: |"
for registered in ${registered_counts[*]}; do
  for cohort in $cohorts; do
    [ "$cohort" -gt "$registered" ] && continue
    out="$work/r${registered}_c${cohort}"
    /usr/bin/time -f "%M" -o "$work/rss" "$build/tributary" simulate \
      "$root/configs/fmnist_fedavg_iid.toml" --out "$out" --overwrite --quiet \
      --set data.dataset=synthetic_images --set "data.max_train_examples=$registered" \
      --set "data.num_clients=$registered" --set "run.clients_per_round=$cohort" \
      --set "run.rounds=$rounds" --set run.eval_every=1000 --set train.epochs=1 \
      --set "compress.uplink=topk:ratio=0.01" --set compress.error_feedback=true \
      --set "compute.client_state_mb=$budget" --set "compute.spill_dir=$work"
    python3 - "$out/metrics.jsonl" "$(cat "$work/rss")" "$registered" "$cohort" "$skip" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
# Round 1 pays the start-up (first touch of buffers); the last one the evaluation.
seconds = [r["wall_seconds"] - r.get("eval_seconds", 0.0) for r in rows][int(sys.argv[5]):]
print(f"| {int(sys.argv[3]):,} | {int(sys.argv[4]):,} | {int(sys.argv[2]) / 1024:,.0f} MiB | "
      f"{sum(seconds) / len(seconds):.2f} | {min(seconds):.2f}-{max(seconds):.2f} |", flush=True)
PY
  done
done
