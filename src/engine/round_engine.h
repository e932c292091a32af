// RoundEngine: the one round loop of Tributary, behind both `tributary simulate` and
// `tributary server`. A round: sample the cohort (with over-selection), start the strategy, let
// the client channel deliver the tasks and collect the uploads (each validated, decoded and
// folded into the strategy as it arrives, in any order), tally what became of every client,
// step the model when the quorum was met, publish the new public model for the downlink,
// evaluate, and report the round's metrics. The same config and seed give the same metrics and
// model whichever channel ran the clients, when every client answers.
//
// With compute.eval_threads > 0 a round's evaluation runs alongside the next round, and the
// metrics handed to `on_round` carry it as pending_evaluation (report them with a
// RoundReportQueue).
//
// Thread-safety: Run() from one thread; the RoundServer methods from any thread during a round.
#ifndef TRIBUTARY_ENGINE_ROUND_ENGINE_H_
#define TRIBUTARY_ENGINE_ROUND_ENGINE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregate/strategy.h"
#include "compress/pipeline.h"
#include "engine/checkpoint.h"
#include "engine/client_channel.h"
#include "engine/downlink.h"
#include "engine/experiment.h"
#include "engine/recorded_rounds.h"
#include "engine/technique.h"
#include "engine/worker_pool.h"
#include "report/round_metrics.h"
#include "secagg/secagg_round.h"
#include "train/local_trainer.h"
#include "train/tensor_dataset.h"

namespace tributary {

struct EngineOptions {
  int quorum = 1;               // accepted updates a round needs to change the model
  double over_selection = 0.0;  // select this much more than clients_per_round
  // Replay: each round's cohort is the recorded round's accepted clients (not a sample), and
  // its aggregation expects the recorded weight. Rounds missing from the record are an error.
  std::shared_ptr<const std::map<int, RecordedRound>> replay;
  // Whether to evaluate the global model on the test data; off on the ranks of a distributed
  // simulation other than the one that reports (their metrics then lack the test fields).
  bool evaluate_model = true;
};

class RoundEngine final : public RoundServer {
 public:
  // `config.model` has the data's input shape (ExperimentData::model); `test_data` is what
  // the global model is evaluated on.
  static absl::StatusOr<std::unique_ptr<RoundEngine>> Create(
      const ExperimentConfig& config, const EngineOptions& options,
      std::shared_ptr<const TensorDataset> test_data);
  ~RoundEngine() override;

  // Continues after the checkpoint's round. Requires: a checkpoint of this config.
  absl::Status Restore(Checkpoint checkpoint);
  // What the next round depends on, after `round`.
  Checkpoint MakeCheckpoint(int round) const;
  // What a simulated run adds to the checkpoint so that, resumed, it goes on exactly as if it
  // had never stopped (a deployed server's clients tell it which version they hold): the
  // downlink's whole history and each client's version, and the virtual clock. Restore first.
  std::vector<uint8_t> SaveSimulationState() const;
  absl::Status RestoreSimulationState(std::span<const uint8_t> bytes);

  // Runs the remaining rounds over `channel`; `on_round` sees each round's metrics (and round 0,
  // the starting model, with run.eval_initial) and may stop the run by returning an error.
  absl::Status Run(ClientChannel& channel,
                   const std::function<absl::Status(const RoundMetrics&)>& on_round);

  int first_round() const { return first_round_; }
  const ExperimentConfig& config() const { return config_; }
  const ModelState& global_model() const { return global_; }
  uint64_t initial_checksum() const { return initial_checksum_; }
  // During a round: the model clients train from.
  const ModelState& public_model() const { return downlink_->public_model(); }
  // The engine's workers (evaluation between rounds); a channel may train on them in a round.
  WorkerPool& pool() { return *pool_; }

  // Readies what uploads are decoded into, for a server that decodes them in memory of its own
  // (Submit without scratch): kept sets for up to `uploads` uploads at once (at most
  // kKeptSubmitBuffers), every page touched. The deployed server calls it while clients train,
  // so a large model's first uploads do not wait for the kernel to zero fresh pages. Safe
  // alongside Submit(); not alongside the end of a round (it reads the global model's shape).
  void PrepareSubmitBuffers(size_t uploads);
  // The bytes of an upload when the uplink sends every value losslessly (the fp32 payload of
  // the whole model; a byte stage may make it smaller); 0 when the uplink compresses.
  int64_t LosslessUploadBytes() const { return uplink_->lossless() ? server_state_bytes_ : 0; }

  // ServerState() as clients receive it: an fp32 pipeline payload, built once per round (its
  // size is counted with every download); null when no technique sends one.
  std::shared_ptr<const Payload> ServerStatePayload();

  // RoundServer
  Downlink::Transfer Download(uint32_t client, std::optional<int64_t> held,
                              bool with_payload) override;
  const ModelState* ServerState() const override;
  std::vector<double> RatioScales(int round, std::span<const double> uplink_bps) const override;
  double ClipNorm() const override;
  absl::Status Submit(const ClientUpload& upload, ModelState* scratch) override;
  SecAggRoundServer* secure_round() override { return secure_round_.get(); }

 private:
  RoundEngine() = default;
  bool IsSmallClient(uint32_t client) const;
  // The strategy's carried buffers, then the techniques'.
  std::vector<std::vector<float>*> CarriedState() const;
  // Fills the round's client counts, losses and byte figures from what the channel reported.
  void Tally(const RoundOutcome& outcome, RoundMetrics& metrics);
  absl::Status Evaluate(RoundMetrics& metrics);
  // compute.eval_threads > 0: evaluates a copy of the global model on the evaluation's own
  // workers while the next round trains; `metrics` gets the pending result. One evaluation at a
  // time, in round order.
  void StartEvaluation(RoundMetrics& metrics);
  // A client's weight in the round's mean (strategy.weighting), bounded by what the server
  // knows: its example count (checked against its registration) and the configured local work.
  absl::StatusOr<int64_t> WeightOf(const ClientReport& report) const;
  // The round's total weight were every one of `cohort_size` clients, with `examples` examples
  // in all, accepted: the strategy's normalizer.
  int64_t ExpectedWeight(size_t cohort_size, int64_t examples) const;
  // Secure aggregation: unmasks the round's sum and folds it into the strategy as one update
  // of the clients it holds; an abandoned round refuses every client it had accepted.
  absl::Status FinishSecureRound(RoundOutcome& outcome, RoundMetrics& metrics);

  ExperimentConfig config_;
  EngineOptions options_;
  ModelState global_;
  uint64_t initial_checksum_ = 0;
  std::unique_ptr<Strategy> strategy_;
  Weighting weighting_ = Weighting::kExamples;
  TechniqueSet techniques_;
  UploadAggregator* aggregator_ = nullptr;  // a technique's, in place of the strategy's
  std::unique_ptr<Pipeline> uplink_;
  std::unique_ptr<Downlink> downlink_;
  std::unique_ptr<Pipeline> fp32_;
  std::optional<SecAggSpec> secagg_;                 // when secagg.enabled
  std::unique_ptr<SecAggRoundServer> secure_round_;  // the open round's
  Update secure_pattern_;  // the coordinates the open secure round sums (SecureInputPattern)
  int64_t server_state_bytes_ = 0;  // the fp32 payload of a model-sized server state
  std::shared_ptr<const TensorDataset> test_data_;
  std::unique_ptr<WorkerPool> pool_;
  std::vector<std::unique_ptr<LocalTrainer>> evaluators_;  // one per pool worker
  // compute.eval_threads > 0: the evaluation's own workers, and the latest evaluation started.
  std::unique_ptr<WorkerPool> eval_pool_;
  std::vector<std::unique_ptr<LocalTrainer>> eval_trainers_;
  std::shared_future<absl::StatusOr<TestEvaluation>> last_evaluation_;

  int first_round_ = 1;
  int64_t bytes_up_total_ = 0, bytes_down_total_ = 0, examples_trained_total_ = 0;
  // Text runs: the tokens and model passes of the training so far, into `metrics`.
  void SetTrainingTotals(RoundMetrics& metrics) const;
  double sim_time_ = 0.0;

  std::mutex mu_;  // guards the downlink and the open round's download counts
  int64_t round_bytes_down_ = 0;
  int64_t round_largest_download_ = 0;
  int round_resyncs_ = 0;
  int round_increments_ = 0;
  int round_grid_catch_ups_ = 0;
  std::shared_ptr<const Payload> server_state_payload_;  // this round's, once asked for
  std::mutex strategy_mutex_;  // serializes Accumulate; decoding runs outside it
  // Submit without a caller's scratch (the deployed server) decodes into these, kept for the
  // next uploads (at most kKeptSubmitBuffers): a large model's buffers would otherwise be fresh
  // pages, zeroed by the kernel, for every upload.
  struct SubmitBuffers {
    ModelState delta;
    Update decoded;  // a sparse uplink's (a dense one decodes straight into delta)
  };
  static constexpr size_t kKeptSubmitBuffers = 2;
  SubmitBuffers TakeSubmitBuffers();  // a kept set (contents left from its last use) or a new one
  void KeepSubmitBuffers(SubmitBuffers buffers);
  std::mutex submit_buffers_mutex_;
  std::vector<SubmitBuffers> submit_buffers_;
};

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_ROUND_ENGINE_H_
