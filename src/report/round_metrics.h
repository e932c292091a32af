// The figures recorded for one round; one line of metrics.jsonl.
#ifndef TRIBUTARY_REPORT_ROUND_METRICS_H_
#define TRIBUTARY_REPORT_ROUND_METRICS_H_

#include <array>
#include <cstdint>
#include <future>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"

namespace tributary {

// The test-set evaluation of one round's model.
struct TestEvaluation {
  double accuracy = 0.0;
  double loss = 0.0;
  std::optional<double> perplexity;  // language models
  double seconds = 0.0;              // the evaluation's own wall-clock time
};

// Secure aggregation's side of a round (docs/secure_aggregation.md). Its bytes are also in the
// round's bytes_up and bytes_down.
struct SecureAggregationMetrics {
  bool abandoned = false;    // too few clients at a stage: nothing revealed, the model unchanged
  int clients_summed = 0;    // clients whose update is in the unmasked sum
  int messages_refused = 0;  // malformed or unexpected protocol messages (their senders dropped)
  // By stage: advertise keys, share keys, masked input, unmasking.
  std::array<int64_t, 4> bytes_up{};
  // The server's replies after the first three stages: keys, shares, survivor list.
  std::array<int64_t, 3> bytes_down{};
  // By stage: the server's protocol computation, and a client's (mean over the clients that
  // computed anything in that stage).
  std::array<double, 4> server_seconds{};
  std::array<double, 4> client_seconds{};
};

struct RoundMetrics {
  int round = 0;              // 1-based
  int clients = 0;            // clients whose update was aggregated
  int clients_rejected = 0;   // sampled clients that failed or whose update was rejected
  int byzantine_clients = 0;  // sampled clients that sent an attack (simulation)
  int clients_dropped = 0;    // sampled clients that dropped out or crashed mid-upload
  int stragglers = 0;         // clients whose update arrived after the deadline
  // Per capacity group (HeteroFL: "small" clients train a slice of the model), over the clients
  // that finished training: how many, their mean local training wall time and upload bytes.
  int full_clients_trained = 0;
  int small_clients_trained = 0;
  double train_seconds_full = 0.0;
  double train_seconds_small = 0.0;
  double bytes_up_per_full_client = 0.0;
  double bytes_up_per_small_client = 0.0;
  double train_loss = 0.0;  // example-weighted mean local training loss of aggregated clients
  std::optional<double> test_accuracy;  // set on evaluation rounds
  std::optional<double> test_loss;
  // Language models: exp(test_loss) on evaluation rounds, and the tokens trained on by the
  // aggregated clients since the start.
  std::optional<double> test_perplexity;
  std::optional<int64_t> tokens_trained_total;
  // Language models: the windows the aggregated clients' training ran through the model since
  // the start, forward and backward counted apart (backpropagation: one of each per window;
  // train.optimizer = zo_sgd: two forward, no backward).
  std::optional<int64_t> forward_passes_total;
  std::optional<int64_t> backward_passes_total;
  // Mean over clients of each client's accuracy on its own held-out examples, with its own
  // local layers (set on evaluation rounds when data.client_holdout > 0).
  std::optional<double> client_accuracy;
  // Differential privacy: epsilon spent since the start (at privacy.delta) and the clip norm
  // clients used this round; set only when privacy is on.
  std::optional<double> dp_epsilon;
  std::optional<double> dp_clip_norm;
  std::optional<SecureAggregationMetrics> secagg;  // set only when secure aggregation is on
  int64_t bytes_up = 0;             // this round, client -> server: the encoded payloads' sizes
  int64_t bytes_down = 0;           // this round, server -> client
  double uplink_compression = 1.0;  // dense fp32 bytes of this round's uploads / bytes_up
  int downlink_resyncs = 0;         // clients sent the full model
  int downlink_increments = 0;      // clients sent the downlink codec's increments they missed
  int downlink_grid_catch_ups = 0;  // clients sent a grid catch-up (a grid downlink codec)
  // This round's largest download plus its largest upload of one client: what one link must
  // carry at a synchronization (Streaming DiLoCo lowers it by sending one fragment at a time).
  int64_t client_bytes_peak = 0;
  int64_t bytes_up_total = 0;
  int64_t bytes_down_total = 0;
  // The clients whose updates were aggregated, ascending, and the total weight the round's
  // aggregation expected (its normalizer): with the run's config and seed, what `tributary
  // simulate --replay` needs to recompute the run's model exactly.
  std::vector<uint32_t> accepted_clients;
  int64_t expected_weight = 0;
  double wall_seconds = 0.0;  // this round's wall-clock time
  // The test-set evaluation's wall-clock time (0: not evaluated): part of wall_seconds, unless
  // the evaluation ran alongside the next round (compute.eval_threads > 0).
  double eval_seconds = 0.0;
  double sim_seconds = 0.0;       // this round's virtual time (simulation's system model)
  double sim_time_seconds = 0.0;  // virtual time since the start
  // Set while this round's test evaluation still runs alongside the next round: the test fields
  // and eval_seconds are filled by AwaitEvaluation.
  std::shared_future<absl::StatusOr<TestEvaluation>> pending_evaluation;
};

// Fills the test fields from `evaluation`.
void RecordTestEvaluation(const TestEvaluation& evaluation, RoundMetrics& metrics);

// Waits for metrics.pending_evaluation, if any, and fills the test fields from it.
absl::Status AwaitEvaluation(RoundMetrics& metrics);

}  // namespace tributary

#endif  // TRIBUTARY_REPORT_ROUND_METRICS_H_
