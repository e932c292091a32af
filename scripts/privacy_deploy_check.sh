#!/usr/bin/env bash
# Runs configs/privacy/deploy_dp.toml simulated and deployed (a server and 20 client processes on
# loopback), in central and distributed mode, and compares every round's metrics (all but wall
# and training times, and the virtual clock the server does not run) and the final model. Results: runs/privacy_deploy/<mode>/{sim,srv}/.
#   usage: scripts/privacy_deploy_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
binary=build/release/tributary
[ -x "$binary" ] || make build
config=configs/privacy/deploy_dp.toml
clients=20
root=runs/privacy_deploy
mkdir -p "$root"
tokens=$root/tokens.txt
: > "$tokens"
for ((i = 0; i < clients; i++)); do echo "$i token-of-client-$i-0123456789" >> "$tokens"; done
status=0
for mode in central distributed; do
  out=$root/$mode
  echo "== $mode: simulate"
  "$binary" simulate "$config" --set privacy.mode=$mode --out "$out/sim" --overwrite --quiet
  echo "== $mode: server and $clients clients"
  rm -rf "$out/srv"  # a stale server.port would send the clients to an old port
  "$binary" server "$config" --set privacy.mode=$mode --tokens "$tokens" --insecure \
    --listen 127.0.0.1:0 --out "$out/srv" --overwrite --wait-for-clients $clients --quiet &
  server=$!
  for _ in $(seq 100); do [ -s "$out/srv/server.port" ] && break; sleep 0.1; done
  port=$(head -n 1 "$out/srv/server.port")
  pids=()
  for ((i = 0; i < clients; i++)); do
    "$binary" client --server 127.0.0.1:$port --client-id $i --token token-of-client-$i-0123456789 \
      --data-config "$config" --insecure --quiet &
    pids+=($!)
  done
  wait $server
  for p in "${pids[@]}"; do wait "$p"; done
  python3 - "$out/sim/metrics.jsonl" "$out/srv/metrics.jsonl" <<'PY' || status=1
import json, sys
# The server runs on a real clock: no virtual time.
ignore = {"wall_seconds", "eval_seconds", "train_seconds_full", "train_seconds_small", "sim_seconds",
          "sim_time_seconds"}
sim, srv = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
diff = [(a["round"], k) for a, b in zip(sim, srv) for k in a if k not in ignore and a[k] != b.get(k)]
last = srv[-1]
print(f"{len(srv)} rounds deployed, {len(sim)} simulated; differing figures: {diff or 'none'}; "
      f"final accuracy {last['test_accuracy']:.4f}, epsilon {last['dp_epsilon']:.3f}")
sys.exit(1 if diff or len(sim) != len(srv) else 0)
PY
  if cmp -s "$out/sim/model.pt" "$out/srv/model.pt"; then echo "model.pt identical"
  else echo "model.pt differs"; status=1; fi
done
exit $status
