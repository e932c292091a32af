// Coordinator: the deployed server, independent of gRPC (the service in coordinator_service.h is
// a thin adapter): the round engine (engine/round_engine.h) with real clients as its channel.
// The engine samples, aggregates, publishes and evaluates exactly as in simulation, so a run
// whose clients all answer gives the simulator's metrics for the same config and seed.
//
// A round as this channel runs it: the engine samples ceil(K (1 + over_selection)) of the
// federation's ids; selected clients that are connected get their task when they poll; the
// round closes when every selected client has answered or failed, when K updates were accepted,
// or at the deadline. With fewer accepted updates than the quorum the model stays as it was. A
// checkpoint follows every round.
//
// Under secure aggregation the round runs the protocol's stages around it (secagg/secagg_round.h
// does the protocol; this channel carries its bytes and closes its stages): with its task a
// client learns its position in the cohort; it advertises its keys and shares them
// (SecureMessage, each answered when the stage closes: every client still in it has sent, or
// the stage deadline); its masked input is its upload, and that stage closes as a plain round
// does; the survivors then send their unmasking shares. A client that goes silent, breaks off or
// sends a malformed message is out of the protocol from then on; the round completes if
// secagg.threshold clients are left at every stage, else it is abandoned.
//
// Thread-safety: the protocol methods (Register ... UploadFailed) are called concurrently from
// RPC threads; Run() from one thread.
#ifndef TRIBUTARY_DEPLOY_COORDINATOR_H_
#define TRIBUTARY_DEPLOY_COORDINATOR_H_

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "deploy/protocol_checks.h"
#include "deploy/receive_buffers.h"
#include "engine/checkpoint.h"
#include "engine/client_channel.h"
#include "engine/downlink.h"
#include "engine/experiment.h"
#include "engine/round_engine.h"
#include "report/round_metrics.h"

namespace tributary {

struct CoordinatorOptions {
  int quorum = 1;               // accepted updates a round needs to change the model
  double over_selection = 0.0;  // select this much more than clients_per_round
  double round_deadline_seconds = 600.0;
  int wait_for_clients = 0;  // registered clients before round 1; 0: clients_per_round
  double wait_timeout_seconds = 600.0;
  // A registered client not heard from (heartbeat, poll, upload) for this long counts as gone:
  // not selected it is left out of the round, selected it is dropped at once instead of costing
  // the round its deadline. It is back as soon as it is heard again. Clients heartbeat 4 times
  // per period.
  double liveness_seconds = 60.0;
  double heartbeat_seconds() const { return liveness_seconds / 4.0; }
  // Secure aggregation: how long each stage without training (advertise keys, share keys,
  // unmasking) waits for its clients' messages; the masked inputs have the round's deadline.
  double secagg_stage_seconds = 60.0;

  absl::Status Validate(const ExperimentConfig& config) const;
};

// Refuses what the deployment does not run yet (per-client evaluation), naming it, rather than
// running something else than the config says.
absl::Status CheckDeployable(const ExperimentConfig& config);

struct ClientTask {
  int round = 0;
  Downlink::Transfer download;
  std::shared_ptr<const Payload> server_state;  // a technique's, sent after the model; or null
  double ratio_scale = 1.0;                     // bandwidth-aware top-k
  double clip_norm = 0.0;                       // differential privacy; 0: none
  // Secure aggregation: the cohort's size (0: none), the client's position in it, and the
  // length of the vector it masks.
  int secagg_cohort = 0;
  int secagg_position = 0;
  int64_t secagg_length = 0;
};

// Why a call was refused or cut off; each reason is a label of tributary_rejected_calls_total.
enum class CallRejection {
  kUnauthenticated,      // no credentials, unknown client id or wrong token
  kWrongClient,          // authenticated, but the message names another client
  kInvalid,              // a malformed or out-of-range request
  kClientBusy,           // the client holds ServerLimits::max_calls_per_client calls already
  kServerBusy,           // the server holds ServerLimits::MaxCallsTotal calls already
  kFirstMessageTimeout,  // an upload whose header did not come in time
  kStreamIdle,           // a transfer that stopped moving
  kCount
};
const char* CallRejectionName(CallRejection rejection);

// Why a complete upload was not aggregated; labels of tributary_rejected_uploads_total.
enum class UploadRejection {
  kNotExpected,       // no round open for it, not selected, already answered, or too late
  kExamplesMismatch,  // its example count differs from the registered one
  kInvalid,           // the engine refused it (undecodable, implausible report, ...)
  kCount
};
const char* UploadRejectionName(UploadRejection rejection);

// Counters for the metrics endpoint; monotonic, read without the coordinator's lock.
struct CoordinatorCounters {
  std::array<std::atomic<int64_t>, static_cast<size_t>(CallRejection::kCount)> rejected_calls{};
  std::array<std::atomic<int64_t>, static_cast<size_t>(UploadRejection::kCount)> rejected_uploads{};
  void Reject(CallRejection why) { rejected_calls[static_cast<size_t>(why)]++; }
  void Reject(UploadRejection why) { rejected_uploads[static_cast<size_t>(why)]++; }
  int64_t rejected(CallRejection why) const { return rejected_calls[static_cast<size_t>(why)]; }
  int64_t rejected(UploadRejection why) const { return rejected_uploads[static_cast<size_t>(why)]; }
  std::atomic<int64_t> partial_uploads{0};
  std::atomic<int64_t> late_uploads{0};  // still in flight at the deadline: cut off
  std::atomic<int64_t> registrations{0};
  std::atomic<int64_t> secagg_refused{0};    // malformed or unexpected protocol messages
  std::atomic<int64_t> secagg_abandoned{0};  // rounds abandoned with too few clients left
  std::atomic<int64_t> rounds_completed{0};
  std::atomic<int64_t> bytes_up_total{0};
  std::atomic<int64_t> bytes_down_total{0};
  std::atomic<int> current_round{0};
  std::atomic<int> registered_clients{0};
  std::atomic<double> last_round_seconds{0.0};
  std::atomic<double> last_test_accuracy{0.0};
  // The last complete upload: its size, the time from its header to its last byte, and the
  // time it took to validate, decode and aggregate.
  std::atomic<int64_t> last_upload_bytes{0};
  std::atomic<double> last_upload_receive_seconds{0.0};
  std::atomic<double> last_upload_submit_seconds{0.0};
};

class Coordinator final : public ClientChannel {
 public:
  // `config_toml` is sent to clients at registration. With a `resume_from` checkpoint path,
  // continues after the checkpoint's round.
  static absl::StatusOr<std::unique_ptr<Coordinator>> Create(const ExperimentConfig& config,
                                                             std::string config_toml,
                                                             const CoordinatorOptions& options,
                                                             const std::string& resume_from);
  int first_round() const { return engine_->first_round(); }
  // The global model; call when Run() has returned.
  const ModelState& global_model() const;
  ~Coordinator() override;

  // --- Protocol side ---
  struct Registration {
    uint64_t initial_model_checksum = 0;
    int rounds_completed = 0;
    double heartbeat_seconds = 0.0;
  };
  // `uplink_mbps`: the client's declared uplink bandwidth (0: unknown), for bandwidth-aware
  // compression.
  absl::StatusOr<Registration> Register(uint32_t client, int64_t num_examples, double uplink_mbps);
  // Blocks until `client` is selected in the open round (its task, with the download payload),
  // or the run ends (nullopt), or `cancelled()` turns true (Cancelled).
  absl::StatusOr<std::optional<ClientTask>> WaitForTask(uint32_t client, int64_t held_version,
                                                        const std::function<bool()>& cancelled);
  // The client is alive; NotFound when it is not registered (it should register again).
  absl::Status Heartbeat(uint32_t client);
  // Checks that `client` may upload for `round` now, before any byte is received. `cancel`
  // cuts the transfer off if the round closes before it ends (called under the coordinator's
  // lock: it must not call back into the coordinator).
  absl::Status BeginUpload(uint32_t client, int round, std::function<void()> cancel = {});
  // A complete, checksummed upload: decoded, validated and aggregated, or rejected.
  absl::Status SubmitUpdate(const ClientUpload& upload);
  // The client's download or upload broke off: it is out of this round. `bytes` were received.
  void ClientFailed(uint32_t client, int round, int64_t bytes, const std::string& reason);
  // Secure aggregation: `client`'s message for `stage` of `round`'s protocol (empty for the
  // masked-input stage, whose input came as its upload). Blocks until the stage closes, then
  // gives what the client needs next (its neighbours' keys, the shares addressed to it, the
  // survivor list; nothing after the unmasking). InvalidArgument: the message was refused and
  // the client is out; FailedPrecondition: it is not in the stage; Aborted: the round was
  // abandoned; Cancelled: `cancelled()` turned true.
  // `client_seconds`: what the client says its protocol computation took in each stage so far
  // (cost metrics only).
  absl::StatusOr<std::vector<uint8_t>> SecureMessage(uint32_t client, int round, int stage,
                                                     std::span<const uint8_t> message,
                                                     std::span<const double> client_seconds,
                                                     const std::function<bool()>& cancelled);

  // --- Engine side ---
  // Runs the remaining rounds; `on_round` sees each round's metrics and the checkpoint.
  absl::Status Run(
      const std::function<absl::Status(const RoundMetrics&, const Checkpoint&)>& on_round);
  // Ends the run early: pollers get RunFinished, Run() returns after the current round.
  void Stop();
  // For a server that reports a round, and writes its checkpoint, while the next one trains
  // (compute.eval_threads): from now on an upload of round r is acknowledged only once every
  // round before r is reported (ReportedRound). An acknowledged client has settled its state
  // (error feedback), so a server that dies and resumes from round r - 1's checkpoint must not
  // have acknowledged anything of round r. Call before Run().
  void HoldAcknowledgementsUntilReported();
  // Round `round`'s report (metrics line and checkpoint) is written.
  void ReportedRound(int round);
  // After Run(): waits until every registered client has been told that the run is over (it
  // asks for its next round once its last upload was answered), or `timeout_seconds`, so that
  // closing the port does not leave a client retrying a server that is gone.
  void WaitUntilClientsHeardTheEnd(double timeout_seconds);

  // --- ClientChannel, called by the engine ---
  std::optional<int64_t> PrepareRound(int round, std::span<const uint32_t> cohort) override;
  absl::StatusOr<RoundOutcome> RunRound(int round, RoundServer& server) override;

  // The run in progress as a dashboard shows it: the open round's participants by stage, and
  // the registered clients (connected: heard from within the liveness timeout).
  struct Progress {
    int round = 0;  // the open round, or the last one (0: none yet)
    bool round_open = false;
    int selected = 0;
    int training = 0;
    int uploading = 0;  // uploading, or uploaded and being aggregated
    int accepted = 0;
    int rejected = 0;
    int dropped = 0;  // failed, gave up, or cut off at the deadline
    int registered = 0;
    int connected = 0;
  };
  Progress CurrentProgress();

  const std::string& config_toml() const { return config_toml_; }
  const ExperimentConfig& config() const { return config_; }
  CoordinatorCounters& counters() { return counters_; }
  int64_t max_upload_bytes() const { return max_upload_bytes_; }
  // Where uploads are received; large ones are prepared as a round opens (RunRound).
  ReceiveBuffers& receive_buffers() { return receive_buffers_; }

 private:
  // kSubmitting: the whole upload arrived in time and is being decoded and aggregated.
  // kCutOff: its upload was still in flight when the round closed (a straggler).
  enum class Stage {
    kSelected,
    kTraining,
    kUploading,
    kSubmitting,
    kCutOff,
    kAccepted,
    kRejected,
    kFailed
  };
  struct Participant {
    Stage stage = Stage::kSelected;
    int64_t uploaded_bytes = 0;
    ClientReport report;
    std::string error;                    // why it was rejected
    double ratio_scale = 1.0;             // bandwidth-aware top-k
    std::function<void()> cancel_upload;  // while kUploading
    // Secure aggregation: its position in the cohort, and the stages whose message the
    // protocol took from it (0: none yet; 4: through the unmasking).
    int position = 0;
    int secure_stages = 0;
    std::array<double, kSecAggStages> protocol_seconds{};  // as it reported, bounded
    bool secure_gone = false;  // its input is in, but it can send no more (silent, reconnected)
  };
  struct Registered {
    int64_t examples = 0;     // declared
    double uplink_bps = 0.0;  // declared; 0: unknown
    int polling = 0;          // its NextRound calls waiting now
    std::chrono::steady_clock::time_point last_seen;
  };
  // With mu_ held: whether a registered client counts as connected (CoordinatorOptions::
  // liveness_seconds).
  bool Alive(const Registered& client) const;
  // With mu_ held: drops the open round's selected clients that went silent.
  void DropSilentParticipants();

  Coordinator(const ExperimentConfig& config, std::string config_toml,
              const CoordinatorOptions& options);
  absl::Status WaitForClients();
  bool RoundSettled() const;  // with mu_ held
  // Secure aggregation, with mu_ held through `lock`: collects `stage`'s messages until every
  // client still in the protocol has sent one, the stage deadline, or a stop; then closes the
  // stage. Those that sent none are out. Fails when the round is abandoned.
  absl::Status RunSecureStage(int stage, std::unique_lock<std::mutex>& lock);
  // With mu_ held: whether a participant is in the protocol's `stage` (has sent every earlier
  // stage's message and is not out).
  bool InSecureStage(const Participant& p, int stage) const;
  // With mu_ held: the round's protocol fails or is abandoned: every client still in it is out.
  void EndSecureRound(const absl::Status& why);
  Checkpoint MakeCheckpoint(int round) const;
  // A large model's upload memory (receive buffers, the engine's decode buffers) is made ready
  // before the uploads come: fresh pages cost the kernel about a second per GiB to zero, up to
  // 4 s per GiB when busy (deploy_bench), which the first uploads would otherwise wait for. Runs
  // in the background for `uploads` uploads at once (after the start-up preparation); no-op
  // below glibc's mmap threshold, where freed memory is reused anyway.
  std::shared_future<void> PrepareUploadMemory(int round, size_t uploads);

  ExperimentConfig config_;
  std::string config_toml_;
  CoordinatorOptions options_;
  int64_t max_upload_bytes_ = 0;
  ReceiveBuffers receive_buffers_{2};  // two uploads received at once keep their memory
  std::unique_ptr<RoundEngine> engine_;
  // Started with Run(), for its first round; engine-thread only.
  std::shared_future<void> startup_preparation_;
  uint64_t config_fingerprint_ = 0;
  CoordinatorCounters counters_;

  std::mutex mu_;
  // Pollers wait for a round to open (or the run to end); the engine for results to come in.
  std::condition_variable round_opened_;
  std::condition_variable progress_;
  std::map<uint32_t, Registered> registered_;
  int round_ = 0;
  bool round_open_ = false;
  bool finished_ = false;
  bool stop_requested_ = false;
  int submitting_ = 0;  // uploads being decoded and aggregated; the round waits for these only
  bool hold_acknowledgements_ = false;
  std::set<int> unreported_;      // rounds done but not reported yet, with hold_acknowledgements_
  std::vector<uint32_t> cohort_;  // the prepared round's selection
  std::set<uint32_t> told_finished_;  // clients that received RunFinished
  std::map<uint32_t, Participant> participants_;
  // Secure aggregation: the open round's protocol (owned by the engine), the stage whose
  // messages are being collected (-1: none), which stages have closed, and why the round was
  // abandoned (OK while it is not).
  SecAggRoundServer* secure_ = nullptr;
  int secure_stage_ = -1;
  int secure_closed_ = 0;  // stages 0 .. secure_closed_ - 1 have closed
  absl::Status secure_abandoned_;
  std::condition_variable stage_closed_;
};

}  // namespace tributary

#endif  // TRIBUTARY_DEPLOY_COORDINATOR_H_
