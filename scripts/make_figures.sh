#!/usr/bin/env bash
# Regenerates the figures that docs/compression.md, docs/strategies.md and docs/llm.md argue
# from (docs/figures/*.svg), running every experiment a figure needs that has no finished run
# under runs/ yet (the same runs the docs' tables come from, with the same commands).
#   usage: scripts/make_figures.sh [--plot-only] [compression] [strategies] [llm]
# Without a group name, all three. --plot-only draws from the runs present and names the
# missing ones instead of running them. Time on this 2-core machine, one group at a time:
# compression about 3 h (25 runs, fourteen of them 80-120 rounds), strategies about 1.5 h (14 runs),
# llm about 6 h (31 runs).
# The figures are deterministic for a given build and machine; other CPUs (BLAS kernels) move
# the curves slightly (docs/determinism.md).
set -euo pipefail
cd "$(dirname "$0")/.."
plot_only=false
groups=()
for arg in "$@"; do
  case "$arg" in
    --plot-only) plot_only=true ;;
    compression | strategies | llm) groups+=("$arg") ;;
    *) echo "usage: scripts/make_figures.sh [--plot-only] [compression] [strategies] [llm]" >&2; exit 2 ;;
  esac
done
[ ${#groups[@]} -eq 0 ] && groups=(compression strategies llm)
binary=${TRIBUTARY:-build/release/tributary}
[ -x "$binary" ] || make build
figures=docs/figures
missing=()

finished() { [ -f "$1/run_state.json" ] && grep -q '"finished"' "$1/run_state.json"; }

# Runs the named experiments of an experiments file that have not finished yet.
ensure_experiments() {
  local list=$1 out=$2
  shift 2
  local todo=()
  for name in "$@"; do finished "$out/$name" || todo+=("$name"); done
  [ ${#todo[@]} -eq 0 ] && return 0
  if $plot_only; then
    missing+=("${todo[@]/#/$out/}")
    return 0
  fi
  TRIBUTARY=$binary scripts/run_experiments.sh "$list" "${todo[@]}"
}

# Runs configs/llm/NAME.toml into runs/llm/NAME for each name not finished yet.
ensure_llm() {
  for name in "$@"; do
    finished "runs/llm/$name" && continue
    if $plot_only; then missing+=("runs/llm/$name"); continue; fi
    "$binary" simulate "configs/llm/$name.toml" --out "runs/llm/$name" --overwrite
  done
}

# plot OUT.svg TITLE X Y [plot flags...] -- RUN...: skipped (and listed) when a run is missing.
plot() {
  local out=$1 title=$2 x=$3 y=$4
  shift 4
  local flags=()
  while [ "$1" != "--" ]; do flags+=("$1"); shift; done
  shift
  for run in "$@"; do [ -f "$run/metrics.jsonl" ] || { echo "skipped $out: no $run" >&2; return 0; }; done
  "$binary" plot "$@" --x "$x" --y "$y" --title "$title" --out "$figures/$out" "${flags[@]}"
}

compression() {
  local list=configs/compression/experiments.txt out=runs/compression
  local runs=(fp32 fp16 qsgd4 terngrad topk1 sign_ef powersgd4_ef sketch5x_k1
              topk1_q4_zstd_ef_down05_100r topk1_q4_zstd_ef_qdown05_100r
              topk1_q4_zstd_ef_qdown05_dgc_100r topk04_q4_zstd_ef_qdown02_80r
              topk02_q4_arith_ef_gdown02_120r)
  ensure_experiments "$list" "$out" "${runs[@]}"
  plot compression_accuracy_vs_total_bytes.svg \
    "Fashion-MNIST, Dirichlet 0.5, 100 clients: accuracy against uplink + downlink" \
    bytes_total test_accuracy --log-x -- "${runs[@]/#/$out/}"
  plot compression_accuracy_vs_uplink.svg \
    "Fashion-MNIST, Dirichlet 0.5, 100 clients: accuracy against uplink" \
    bytes_up test_accuracy --log-x -- "${runs[@]/#/$out/}"
  # The sparsest uplink with a 4-bit and a grid downlink, and with a lossless one.
  local grid=(topk04_q4_zstd_ef_qdown02_80r topk04_q4_zstd_ef_gdown02_80r
              topk04_q4_zstd_ef_gdown015_90r topk03_q4_zstd_ef_gdown02_90r topk04_q4_zstd_ef)
  ensure_experiments "$list" "$out" "${grid[@]}"
  plot compression_grid_downlink.svg \
    "Top-k 0.4% uplink: 4-bit increments against grid catch-ups on the downlink" \
    bytes_total test_accuracy --log-x -- "${grid[@]/#/$out/}"
  # Sparser uplinks with the 0.2% grid downlink: accuracy against uplink bytes.
  local sparse=(topk04_q4_zstd_ef_gdown02_80r topk03_q4_zstd_ef_gdown02_90r
                topk02_q4_zstd_ef_gdown02_120r topk015_q4_zstd_ef_gdown02_120r)
  ensure_experiments "$list" "$out" "${sparse[@]}"
  plot compression_sparse_uplinks.svg \
    "Top-k 0.4% to 0.15% uplinks with the 0.2% grid downlink: accuracy against uplink" \
    bytes_up test_accuracy --log-x -- "${sparse[@]/#/$out/}"
  # The same pipelines with arith in place of zstd: the same curves, shifted left.
  local arith=(topk02_q4_zstd_ef_gdown02_120r topk02_q4_arith_ef_gdown02_120r
               topk04_q4_zstd_ef_gdown015_90r topk04_q4_arith_ef_gdown015_90r)
  ensure_experiments "$list" "$out" "${arith[@]}"
  plot compression_arith.svg \
    "zstd against arith (same training): accuracy against uplink + downlink" \
    bytes_total test_accuracy --log-x -- "${arith[@]/#/$out/}"
}

strategies() {
  local list=configs/strategies/experiments.txt out=runs/strategies
  local clean=(fedavg fedprox fedadam fedavgm scaffold scaffold_momentum)
  local attacked=(attack_fedavg attack_median attack_trimmed attack_krum attack_multikrum
                  attack_median_nnm attack_trimmed_nnm attack_krum_nnm)
  ensure_experiments "$list" "$out" "${clean[@]}" "${attacked[@]}"
  plot strategies_accuracy.svg "Fashion-MNIST, Dirichlet 0.1, 100 clients, 10 per round" \
    round test_accuracy -- "${clean[@]/#/$out/}"
  plot strategies_byzantine.svg \
    "20% sign-flip attackers (-4x): robust aggregators against attack-free FedAvg" \
    round test_accuracy -- "$out/fedavg" "${attacked[@]/#/$out/}"
}

llm() {
  local diloco=(sotu_sync_h1 sotu_diloco_h50 sotu_diloco_h200 sotu_diloco_h50_q4 sotu_photon_h50
                sotu_diloco_h50_iid sotu_single_worker)
  local lora=(sotu_full_finetune sotu_lora_fedit sotu_lora_ffa sotu_lora_fedit_reset
              sotu_lora_exact sotu_lora_fedit_ternary sotu_lora_fedit_ternary25_q4down)
  local warm=(sotu_sync_h1_warmup sotu_diloco_h50_from_warm sotu_sync_h1_from_warm)
  local zeroth_order=(sotu_full_finetune sotu_lora_fedit sotu_zo_fedkseed)
  # DiLoCo at larger worker batches, Streaming DiLoCo: a 235k-parameter GPT from a common warm start (regime/warmup).
  local regime=(regime/h1_b128 regime/diloco_h50_b128 regime/diloco_h200_b128)
  local batches=(regime/h1_b8 regime/diloco_h50_b8 regime/h1_b32 regime/diloco_h50_b32
                 regime/h1_b128 regime/diloco_h50_b128)
  local outer=(regime/h1_b32 regime/diloco_h50_b32 regime/diloco_h50_b32_average
               regime/diloco_h50_b32_lr04 regime/diloco_h50_b32_lr1)
  local streaming=(regime/h1_b32 regime/diloco_h50_b32 regime/streaming_p5_b32
                   regime/streaming_p5_b32_q4_overlap regime/streaming_p10_b32_q4_overlap
                   regime/streaming_p25_b32_q4_overlap)
  # The fine-tuning runs start from sotu_pretrain_pre1933's model, the warm starts from
  # sotu_sync_h1_warmup's: those run first.
  ensure_llm "${diloco[@]}" sotu_pretrain_pre1933 "${lora[@]}" "${warm[@]}" sotu_zo_fedkseed \
    regime/warmup "${batches[@]}" "${regime[@]:2}" "${outer[@]:2}" "${streaming[@]:2}"
  plot llm_diloco_perplexity_vs_tokens.svg "SOTU, 5.3M-parameter GPT, 8 clients" \
    tokens test_perplexity --log-y -- "${diloco[@]/#/runs/llm/}"
  # The single worker communicates nothing: no point on a bytes axis.
  local communicating=("${diloco[@]:0:6}")
  plot llm_diloco_perplexity_vs_bytes.svg "SOTU, 5.3M-parameter GPT, 8 clients" \
    bytes_total test_perplexity --log-x --log-y -- "${communicating[@]/#/runs/llm/}"
  plot llm_lora_perplexity.svg "Fine-tuning on the presidents from 1933 on, 8 clients" \
    bytes_total test_perplexity --log-x -- "${lora[@]/#/runs/llm/}"
  plot llm_warm_start.svg "DiLoCo from a warm start" \
    tokens test_perplexity --log-y -- "${warm[@]/#/runs/llm/}"
  plot llm_zo_perplexity_vs_bytes.svg "Fine-tuning on the presidents from 1933 on, 8 clients" \
    bytes_total test_perplexity --log-x -- "${zeroth_order[@]/#/runs/llm/}"
  local title="235k-parameter GPT from a warm start, 8 workers"
  plot llm_regime_perplexity_vs_tokens.svg "$title of 128 windows per step" \
    tokens test_perplexity -- "${regime[@]/#/runs/llm/}"
  plot llm_regime_perplexity_vs_bytes.svg "$title of 128 windows per step" \
    bytes_total test_perplexity --log-x -- "${regime[@]/#/runs/llm/}"
  plot llm_regime_batch_sizes.svg "H = 1 against DiLoCo H = 50 at 8, 32 and 128 windows per worker" \
    tokens test_perplexity --log-x --log-y -- "${batches[@]/#/runs/llm/}"
  plot llm_regime_outer_lr.svg "$title of 32 windows per step: outer learning rates" \
    tokens test_perplexity -- "${outer[@]/#/runs/llm/}"
  plot llm_streaming_perplexity_vs_tokens.svg "$title of 32 windows per step: Streaming DiLoCo" \
    tokens test_perplexity -- "${streaming[@]/#/runs/llm/}"
  plot llm_streaming_perplexity_vs_bytes.svg "$title of 32 windows per step: Streaming DiLoCo" \
    bytes_total test_perplexity --log-x -- "${streaming[@]/#/runs/llm/}"
  plot llm_zo_perplexity_vs_passes.svg "Fine-tuning on the presidents from 1933 on, 8 clients" \
    passes test_perplexity -- "${zeroth_order[@]/#/runs/llm/}"
}

for group in "${groups[@]}"; do "$group"; done
if [ ${#missing[@]} -gt 0 ]; then
  echo "not run (--plot-only): ${missing[*]}" >&2
fi
