#!/usr/bin/env bash
# Runs every libFuzzer target of a `TRIBUTARY_SANITIZE=fuzz` build for SECONDS each (make fuzz),
# two at a time, from its seeds (written by NAME_replay --write-seeds), the inputs kept under
# fuzz/regressions/NAME and what earlier runs added to BUILD/corpus/NAME. A crash leaves its
# input in BUILD/crashes/ and fails the run. Prints each target's executions and coverage.
#   [FUZZ_RUNS=N] scripts/run_fuzzers.sh BUILD_DIR SECONDS [TARGET ...]
# With FUZZ_RUNS a target also stops after N executions.
set -euo pipefail
build=${1:?build folder}
seconds=${2:?seconds per target}
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(codec_payload checkpoint client_tokens config protocol secagg_messages)
root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$build/crashes" "$build/logs"

run_one() {
  local name=$1
  local corpus="$build/corpus/$name"
  mkdir -p "$corpus"
  "$build/fuzz/${name}_replay" --write-seeds "$corpus/seeds" > /dev/null
  local dirs=("$corpus" "$corpus/seeds")
  [ -d "$root/fuzz/regressions/$name" ] && dirs+=("$root/fuzz/regressions/$name")
  # Leaks are checked per input; libtorch's and protobuf's process-lifetime allocations are not
  # leaks of an input.
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    "$build/fuzz/${name}_fuzz" "${dirs[@]}" -max_total_time="$seconds" -max_len=65536 \
    ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} \
    -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 \
    -artifact_prefix="$build/crashes/$name-" > "$build/logs/$name.log" 2>&1
}
export -f run_one
export build seconds root FUZZ_RUNS

status=0
printf '%s\n' "${targets[@]}" | xargs -P 2 -I{} bash -c 'run_one {}' || status=$?
printf '%-15s %15s %10s %10s %8s\n' target executions "exec/s" coverage crashes
for name in "${targets[@]}"; do
  log="$build/logs/$name.log"
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{print $2}' | tail -1 || true)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{print $2}' | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | awk '{print $2}' | tail -1 || true)
  crashes=$(ls "$build/crashes" | grep -c "^$name-" || true)
  printf '%-15s %15s %10s %10s %8s\n' "$name" "${runs:-?}" "${rate:-?}" "${cov:-?}" "$crashes"
done
if [ "$status" -ne 0 ] || [ -n "$(ls -A "$build/crashes")" ]; then
  echo "fuzz: crashes or sanitizer reports: see $build/logs and $build/crashes" >&2
  exit 1
fi
