#!/usr/bin/env bash
# Examples per second of `tributary simulate` on 1 rank against 2 ranks (mpirun), the same
# rounds in one sitting, alternated PAIRS times; prints each run's training seconds and the
# ratio. Every rank has one worker with one thread, so R ranks use R cores. The runs must also
# agree bit for bit (metrics without wall-clock fields, model.pt); the script checks that.
#   bench/mpi_scaling.sh [BUILD_DIR] [ROUNDS] [PAIRS] [CLIENTS] [PER_ROUND]
# Setting: Fashion-MNIST CNN, CLIENTS IID clients (default 100, so 600 examples each, the demo's
# partition), PER_ROUND of them a round (default 20), 1 epoch, dense fp32 uploads. Its clients
# keep no state between rounds, so each round's cohort is split evenly between the ranks
# (docs/scale.md).
set -euo pipefail
build=${1:-build/release}
rounds=${2:-4}
pairs=${3:-2}
clients=${4:-100}
per_round=${5:-20}
root="$(cd "$(dirname "$0")/.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

run() {  # run RANKS NAME
  mpirun -n "$1" --oversubscribe --bind-to none "$build/tributary" simulate \
    "$root/configs/fmnist_fedavg_iid.toml" --out "$work/$2" --overwrite --quiet \
    --set "run.rounds=$rounds" --set run.eval_every=1000 --set "data.num_clients=$clients" \
    --set "run.clients_per_round=$per_round" --set train.epochs=1 \
    --set compute.workers=1 --set compute.threads_per_worker=1
}

for pair in $(seq "$pairs"); do
  run 1 "one_$pair"
  run 2 "two_$pair"
done

python3 - "$work" "$pairs" "$clients" <<'PY'
import filecmp, json, statistics, sys
work, pairs, clients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
WALL = ("wall_seconds", "eval_seconds", "train_seconds_full", "train_seconds_small")
def load(run):
    rows = [json.loads(line) for line in open(f"{work}/{run}/metrics.jsonl")]
    # Training time: each round's wall time less its evaluation (only the last is evaluated).
    seconds = sum(r["wall_seconds"] - r.get("eval_seconds", 0.0) for r in rows)
    # Every accepted client trains its whole IID share of the 60,000 examples once.
    examples = sum(r["clients"] for r in rows) * (60000 // clients)
    for r in rows:
        for key in WALL: r.pop(key, None)
    return rows, seconds, examples
ratios = []
for p in range(1, pairs + 1):
    one, t1, n = load(f"one_{p}")
    two, t2, _ = load(f"two_{p}")
    same = one == two and filecmp.cmp(f"{work}/one_{p}/model.pt", f"{work}/two_{p}/model.pt", False)
    if not same:
        sys.exit(f"pair {p}: 1 and 2 ranks disagree")
    ratios.append(t1 / t2)
    print(f"pair {p}: 1 rank {t1:.1f} s ({n / t1:.0f} examples/s), "
          f"2 ranks {t2:.1f} s ({n / t2:.0f} examples/s): {t1 / t2:.2f}x, results identical")
print(f"2 ranks / 1 rank, examples per second: {min(ratios):.2f}x to {max(ratios):.2f}x "
      f"(mean {statistics.mean(ratios):.2f}x over {pairs} pairs)")
PY
