// Coordinator: the deployed server's round engine, independent of gRPC (the service in
// coordinator_service.h is a thin adapter). It runs the simulator's rounds with real clients:
// the same client sampling, downlink (catch-up or resync), strategy and test evaluation, so a run
// whose clients all answer gives the simulator's metrics for the same config and seed.
//
// A round: sample ceil(K (1 + over_selection)) of the federation's ids; selected clients that
// are connected get their task when they poll; the round closes when every selected client has
// answered or failed, when K updates were accepted, or at the deadline. With fewer accepted
// updates than the quorum the model stays as it was. A checkpoint follows every round.
//
// Thread-safety: the protocol methods (Register ... UploadFailed) are called concurrently from
// RPC threads; Run() from one thread.
#ifndef TRIBUTARY_DEPLOY_COORDINATOR_H_
#define TRIBUTARY_DEPLOY_COORDINATOR_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregate/strategy.h"
#include "compress/pipeline.h"
#include "deploy/checkpoint.h"
#include "report/round_metrics.h"
#include "run/downlink.h"
#include "run/experiment.h"

namespace tributary {

struct CoordinatorOptions {
  int quorum = 1;               // accepted updates a round needs to change the model
  double over_selection = 0.0;  // select this much more than clients_per_round
  double round_deadline_seconds = 600.0;
  int wait_for_clients = 0;  // registered clients before round 1; 0: clients_per_round
  double wait_timeout_seconds = 600.0;

  absl::Status Validate(const ExperimentConfig& config) const;
};

// Refuses the techniques the deployment does not run yet, naming them, rather than running
// something else than the config says.
absl::Status CheckDeployable(const ExperimentConfig& config);

// What a client reports with its upload.
struct ClientReport {
  uint32_t client = 0;
  int round = 0;
  int64_t num_examples = 0;
  double mean_loss = 0.0;
  double train_seconds = 0.0;
  int64_t examples_processed = 0;  // examples in all the batches trained on (tokens, for text)
};

struct ClientTask {
  int round = 0;
  Downlink::Transfer download;
};

// Counters for the metrics endpoint; monotonic, read without the coordinator's lock.
struct CoordinatorCounters {
  std::atomic<int64_t> rejected_calls_unauthenticated{0};
  std::atomic<int64_t> rejected_calls_invalid{0};
  std::atomic<int64_t> rejected_uploads{0};
  std::atomic<int64_t> partial_uploads{0};
  std::atomic<int64_t> registrations{0};
  std::atomic<int64_t> rounds_completed{0};
  std::atomic<int64_t> bytes_up_total{0};
  std::atomic<int64_t> bytes_down_total{0};
  std::atomic<int> current_round{0};
  std::atomic<int> registered_clients{0};
  std::atomic<double> last_round_seconds{0.0};
  std::atomic<double> last_test_accuracy{0.0};
  // The last complete upload: its size and the time from its header to its last byte.
  std::atomic<int64_t> last_upload_bytes{0};
  std::atomic<double> last_upload_receive_seconds{0.0};
};

class Coordinator {
 public:
  // `config_toml` is sent to clients at registration. With a `resume_from` checkpoint path,
  // continues after the checkpoint's round.
  static absl::StatusOr<std::unique_ptr<Coordinator>> Create(const ExperimentConfig& config,
                                                             std::string config_toml,
                                                             const CoordinatorOptions& options,
                                                             const std::string& resume_from);
  int first_round() const { return first_round_; }
  // The global model; call when Run() has returned.
  const ModelState& global_model() const;
  ~Coordinator();

  // --- Protocol side ---
  struct Registration {
    uint64_t initial_model_checksum = 0;
    int rounds_completed = 0;
  };
  absl::StatusOr<Registration> Register(uint32_t client, int64_t num_examples);
  // Blocks until `client` is selected in the open round (its task, with the download payload),
  // or the run ends (nullopt), or `cancelled()` turns true (Cancelled).
  absl::StatusOr<std::optional<ClientTask>> WaitForTask(uint32_t client, int64_t held_version,
                                                        const std::function<bool()>& cancelled);
  // Checks that `client` may upload for `round` now, before any byte is received.
  absl::Status BeginUpload(uint32_t client, int round);
  // A complete, checksummed upload: decoded, validated and aggregated, or rejected.
  absl::Status SubmitUpdate(const ClientReport& report, const Payload& payload);
  // The client's download or upload broke off: it is out of this round. `bytes` were received.
  void ClientFailed(uint32_t client, int round, int64_t bytes, const std::string& reason);

  // --- Engine side ---
  // Runs the remaining rounds; `on_round` sees each round's metrics and the checkpoint.
  absl::Status Run(
      const std::function<absl::Status(const RoundMetrics&, const Checkpoint&)>& on_round);
  // Ends the run early: pollers get RunFinished, Run() returns after the current round.
  void Stop();

  const std::string& config_toml() const { return config_toml_; }
  const ExperimentConfig& config() const { return config_; }
  CoordinatorCounters& counters() { return counters_; }
  int64_t max_upload_bytes() const { return max_upload_bytes_; }

 private:
  enum class Stage { kSelected, kTraining, kUploading, kAccepted, kRejected, kFailed };
  struct Participant {
    Stage stage = Stage::kSelected;
    int64_t uploaded_bytes = 0;
    ClientReport report;
  };
  struct State;

  Coordinator(const ExperimentConfig& config, std::string config_toml,
              const CoordinatorOptions& options);
  absl::Status WaitForClients();
  bool RoundSettled() const;  // with mu_ held
  // Evaluates the global model on the test set into `metrics` (perplexity too, for text).
  absl::Status Evaluate(RoundMetrics& metrics);
  Checkpoint MakeCheckpoint(int round) const;

  ExperimentConfig config_;
  std::string config_toml_;
  CoordinatorOptions options_;
  int64_t max_upload_bytes_ = 0;
  std::unique_ptr<State> state_;  // models, strategy, evaluation
  CoordinatorCounters counters_;

  std::mutex mu_;
  // Pollers wait for a round to open (or the run to end); the engine for results to come in.
  std::condition_variable round_opened_;
  std::condition_variable progress_;
  std::map<uint32_t, int64_t> registered_;  // client -> declared examples
  int round_ = 0;
  bool round_open_ = false;
  bool finished_ = false;
  bool stop_requested_ = false;
  int in_flight_uploads_ = 0;
  std::map<uint32_t, Participant> participants_;
  RoundMetrics metrics_;  // the open round's counts
  int first_round_ = 1;
  int64_t bytes_up_total_ = 0, bytes_down_total_ = 0, examples_trained_total_ = 0;
  bool resumed_ = false;
};

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_COORDINATOR_H_
