#!/usr/bin/env bash
# The dashboard's cost to a run: the same simulation with and without `--dashboard` and a
# headless chromium showing its page (polling every 2 s, as a person would leave it open),
# alternated PAIRS times in one sitting; prints each run's wall time and the ratio of the means.
#   bench/dashboard_overhead.sh [BUILD_DIR] [ROUNDS] [PAIRS]
set -euo pipefail
build=${1:-build/release}
rounds=${2:-8}
pairs=${3:-3}
root="$(cd "$(dirname "$0")/.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() {  # run NAME WITH_DASHBOARD -> prints seconds
  local out="$work/$1" browser=""
  local args=("$root/configs/fmnist_fedavg_iid.toml" --out "$out" --overwrite --quiet
              --set "run.rounds=$rounds")
  [ "$2" = yes ] && args+=(--dashboard 0)
  local start end
  start=$(date +%s.%N)
  "$build/tributary" simulate "${args[@]}" &
  local sim=$!
  if [ "$2" = yes ]; then
    while [ ! -f "$out/dashboard.port" ] && kill -0 $sim 2>/dev/null; do sleep 0.1; done
    if [ -f "$out/dashboard.port" ]; then
      chromium --headless --no-sandbox --disable-gpu --remote-debugging-port=0 \
        --user-data-dir="$work/chromium" "http://127.0.0.1:$(cat "$out/dashboard.port")/" \
        > /dev/null 2>&1 &
      browser=$!
    fi
  fi
  wait $sim
  end=$(date +%s.%N)
  [ -n "$browser" ] && { kill $browser 2>/dev/null || true; wait $browser 2>/dev/null || true; }
  awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", b - a}'
}

without=() with=()
for i in $(seq 1 "$pairs"); do
  a=$(run "without$i" no); without+=("$a")
  b=$(run "with$i" yes); with+=("$b")
  printf 'pair %d: without %.1f s, with dashboard + browser %.1f s\n' "$i" "$a" "$b"
done
mean() { printf '%s\n' "$@" | awk '{s += $1} END {printf "%.2f", s / NR}'; }
ma=$(mean "${without[@]}") mb=$(mean "${with[@]}")
printf 'mean without %s s, with %s s: ratio %.3f (with / without; min %s..%s, %s..%s)\n' \
  "$ma" "$mb" "$(awk -v a="$ma" -v b="$mb" 'BEGIN {print b / a}')" \
  "$(printf '%s\n' "${without[@]}" | sort -n | head -1)" "$(printf '%s\n' "${without[@]}" | sort -n | tail -1)" \
  "$(printf '%s\n' "${with[@]}" | sort -n | head -1)" "$(printf '%s\n' "${with[@]}" | sort -n | tail -1)"
