// The coordinator's side of the protocol without gRPC: what it accepts of what a client says.
#include "deploy/coordinator.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <thread>

#include "cli/config_loader.h"
#include "common/status_util.h"
#include "engine/experiment_data.h"
#include "engine/secure_aggregation.h"
#include "secagg/secagg_round.h"

namespace tributary {
namespace {

// Two clients, one round, fp32 uplink; the model's size from the data's shape.
struct OneRound {
  ExperimentConfig config;
  std::string toml;
  size_t model_size = 0;
};

OneRound LoopbackRound() {
  absl::StatusOr<LoadedConfig> loaded =
      LoadExperimentConfig(TRIBUTARY_SOURCE_DIR "/configs/deploy/loopback.toml",
                           {"run.rounds=1", "data.num_clients=2", "run.clients_per_round=2",
                            "compress.uplink=fp32", "compress.error_feedback=false"});
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  OneRound r{.config = loaded->config, .toml = loaded->resolved_toml};
  ExperimentConfig shaped = r.config;
  shaped.model = LoadExperimentData(shaped)->model;
  r.model_size = InitialGlobalModel(shaped)->num_elements();
  return r;
}

// A zero fp32 update of `client` for round 1, claiming `examples`.
ClientUpload ZeroUpload(const OneRound& setup, uint32_t client, int64_t examples) {
  ClientUpload upload{.report = {.client = client,
                                 .round = 1,
                                 .num_examples = examples,
                                 .mean_loss = 1.0,
                                 .examples_processed = 800}};
  upload.update = (*Pipeline::Parse("fp32"))->Encode(std::vector<float>(setup.model_size, 0.0f), 0);
  return upload;
}

// The coordinator's run on a thread of its own, keeping the last round's metrics.
class BackgroundRun {
 public:
  explicit BackgroundRun(Coordinator& coordinator)
      : thread_([this, &coordinator] {
          absl::Status status = coordinator.Run([this](const RoundMetrics& m, const Checkpoint&) {
            metrics_ = m;
            return absl::OkStatus();
          });
          EXPECT_TRUE(status.ok()) << status;
          finished_ = true;
        }) {}
  ~BackgroundRun() {
    if (thread_.joinable()) thread_.join();
  }
  // Whether the run ended within `timeout`.
  bool EndsWithin(std::chrono::seconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!finished_ && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return finished_;
  }
  // The last round's metrics, once the run ended.
  const RoundMetrics& Join() {
    thread_.join();
    return metrics_;
  }

 private:
  std::atomic<bool> finished_{false};
  RoundMetrics metrics_;
  std::thread thread_;  // last: it starts once the members it writes exist
};

TEST(CoordinatorTest, TheRegisteredExampleCountIsBoundedAndIsTheOnlyWeight) {
  const OneRound setup = LoopbackRound();
  std::unique_ptr<Coordinator> coordinator =
      *Coordinator::Create(setup.config, setup.toml, CoordinatorOptions{}, "");
  for (int64_t absurd :
       {int64_t{0}, int64_t{-5}, std::numeric_limits<int64_t>::max(), int64_t{1000000001}}) {
    EXPECT_FALSE(coordinator->Register(0, absurd, 0).ok()) << absurd;
  }
  ASSERT_TRUE(coordinator->Register(0, 800, 0).ok());
  ASSERT_TRUE(coordinator->Register(1, 800, 0).ok());

  absl::Status run_status;
  std::thread run([&] {
    run_status =
        coordinator->Run([](const RoundMetrics&, const Checkpoint&) { return absl::OkStatus(); });
  });
  std::vector<absl::Status> answers;
  for (uint32_t client : {0u, 1u}) {
    absl::StatusOr<std::optional<ClientTask>> task =
        coordinator->WaitForTask(client, 0, [] { return false; });
    ASSERT_TRUE(task.ok() && task->has_value()) << task.status();
    ASSERT_TRUE(coordinator->BeginUpload(client, 1).ok());
    // Client 0 registered 800 examples and claims 10^12 in its upload, to outweigh client 1.
    answers.push_back(
        coordinator->SubmitUpdate(ZeroUpload(setup, client, client == 0 ? 1000000000000 : 800)));
  }
  run.join();
  ASSERT_TRUE(run_status.ok()) << run_status;
  EXPECT_FALSE(answers[0].ok());
  EXPECT_NE(answers[0].message().find("registered 800"), std::string::npos) << answers[0];
  EXPECT_TRUE(answers[1].ok()) << answers[1];
  EXPECT_EQ(coordinator->counters().rejected(UploadRejection::kExamplesMismatch), 1);
}

// A client that stalls mid-upload (a partition, SIGSTOP) cannot hold the round past its
// deadline: the transfer is cut off, the client counts as a straggler, and what it sends later
// is not aggregated.
TEST(CoordinatorTest, TheDeadlineCutsOffUploadsInFlight) {
  const OneRound setup = LoopbackRound();
  CoordinatorOptions options;
  options.round_deadline_seconds = 1.0;
  std::unique_ptr<Coordinator> coordinator =
      *Coordinator::Create(setup.config, setup.toml, options, "");
  ASSERT_TRUE(coordinator->Register(0, 800, 0).ok());
  ASSERT_TRUE(coordinator->Register(1, 800, 0).ok());

  BackgroundRun run(*coordinator);
  std::atomic<int> cancelled{0};
  for (uint32_t client : {0u, 1u}) {
    ASSERT_TRUE(coordinator->WaitForTask(client, 0, [] { return false; }).ok());
  }
  ASSERT_TRUE(coordinator->BeginUpload(0, 1).ok());
  ASSERT_TRUE(coordinator->SubmitUpdate(ZeroUpload(setup, 0, 800)).ok());
  // Then it stalls. Cut off, its transfer breaks and the service reports the broken upload from
  // its own thread, as it would for a real stream: the client stays a straggler.
  std::thread broken;
  ASSERT_TRUE(coordinator
                  ->BeginUpload(1, 1,
                                [&] {
                                  cancelled++;
                                  broken = std::thread([&] {
                                    coordinator->ClientFailed(1, 1, 4096, "transfer incomplete");
                                  });
                                })
                  .ok());

  const bool ended = run.EndsWithin(std::chrono::seconds(30));
  EXPECT_TRUE(ended) << "the round waited past its deadline for the stalled upload";
  if (!ended) coordinator->ClientFailed(1, 1, 0, "the test gave up");
  const RoundMetrics metrics = run.Join();
  if (broken.joinable()) broken.join();
  EXPECT_EQ(cancelled.load(), 1);
  EXPECT_EQ(metrics.clients, 1);
  EXPECT_EQ(metrics.stragglers, 1);
  EXPECT_EQ(metrics.clients_dropped, 0);
  EXPECT_EQ(coordinator->counters().late_uploads.load(), 1);
  EXPECT_EQ(coordinator->counters().partial_uploads.load(), 0);
  // The stalled client's bytes arrive at last: refused, the model is not touched.
  absl::Status late = coordinator->SubmitUpdate(ZeroUpload(setup, 1, 800));
  EXPECT_EQ(late.code(), absl::StatusCode::kDeadlineExceeded) << late;
}

// A client that registered and then died between rounds (no poll, no upload for longer than
// the liveness timeout) is dropped at once when selected, instead of holding the round until its
// deadline (before: every round that sampled it lasted the full deadline).
TEST(CoordinatorTest, SilentClientsAreNotWaitedFor) {
  const OneRound setup = LoopbackRound();
  CoordinatorOptions options;
  options.round_deadline_seconds = 60.0;
  options.liveness_seconds = 0.5;
  std::unique_ptr<Coordinator> coordinator =
      *Coordinator::Create(setup.config, setup.toml, options, "");
  ASSERT_TRUE(coordinator->Register(0, 800, 0).ok());
  ASSERT_TRUE(coordinator->Register(1, 800, 0).ok());  // then never heard from again
  // Client 0 waits for its round (alive); client 1 has been silent past the timeout.
  absl::StatusOr<std::optional<ClientTask>> task;
  std::thread poll([&] { task = coordinator->WaitForTask(0, 0, [] { return false; }); });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));

  const auto start = std::chrono::steady_clock::now();
  BackgroundRun run(*coordinator);
  poll.join();
  ASSERT_TRUE(task.ok() && task->has_value()) << task.status();
  ASSERT_TRUE(coordinator->BeginUpload(0, 1).ok());
  EXPECT_TRUE(coordinator->SubmitUpdate(ZeroUpload(setup, 0, 800)).ok());
  const bool ended = run.EndsWithin(std::chrono::seconds(20));
  EXPECT_TRUE(ended) << "the round waited for a client that was gone";
  if (!ended) coordinator->ClientFailed(1, 1, 0, "the test gave up");
  const RoundMetrics metrics = run.Join();
  EXPECT_EQ(metrics.clients, 1);
  EXPECT_EQ(metrics.clients_dropped, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// Secure aggregation through the coordinator's stages, four clients in one round, each on a
// thread of its own as the protocol's calls block until their stage closes.
struct SecureRoundRun {
  RoundMetrics metrics;
  std::vector<absl::Status> outcomes;  // what each client's part ended with
  double seconds = 0.0;
  // The largest distance of a coordinate's change from the 0.01 every client sent: the
  // quantization step when the masks cancel, the clip range when they do not.
  double worst_error = 0.0;
};

// Client `delayed` pauses `delay` before its share message (share_late) or before its upload.
SecureRoundRun RunSecureRound(const CoordinatorOptions& options, uint32_t delayed,
                              std::chrono::milliseconds delay, bool share_late) {
  OneRound setup = LoopbackRound();
  setup.config.data.partition.num_clients = 4;
  setup.config.strategy.weighting = Weighting::kUniform;
  setup.config.plugins.Mutable<SecAggSpec>().enabled = true;
  setup.config.run.clients_per_round = options.over_selection > 0.0 ? 3 : 4;
  EXPECT_TRUE(setup.config.Validate().ok()) << setup.config.Validate();
  std::unique_ptr<Coordinator> coordinator =
      *Coordinator::Create(setup.config, setup.toml, options, "");
  for (uint32_t client : {0u, 1u, 2u, 3u}) EXPECT_TRUE(coordinator->Register(client, 800, 0).ok());
  SecureRoundRun result;
  result.outcomes.resize(4);
  const std::vector<float> before(coordinator->global_model().flat().begin(),
                                  coordinator->global_model().flat().end());
  BackgroundRun run(*coordinator);
  const auto start = std::chrono::steady_clock::now();
  const SecAggSpec& spec = setup.config.plugins.Get<SecAggSpec>();
  auto never = [] { return false; };
  auto take_part = [&](uint32_t client) -> absl::Status {
    TRIB_ASSIGN_OR_RETURN(std::optional<ClientTask> task,
                          coordinator->WaitForTask(client, 0, never));
    if (!task.has_value() || task->secagg_cohort != 4) {
      return absl::InternalError("no secure aggregation task for a cohort of 4");
    }
    TRIB_ASSIGN_OR_RETURN(
        SecAggRoundClient secure,
        SecAggRoundClient::Create(spec, 4, task->secagg_position, task->secagg_length,
                                  SecAggGraphSeed(setup.config.run.seed, 1)));
    TRIB_ASSIGN_OR_RETURN(const Bytes keys,
                          coordinator->SecureMessage(client, 1, 0, secure.Advertise(), {}, never));
    TRIB_ASSIGN_OR_RETURN(const Bytes my_shares, secure.Share(keys));
    if (client == delayed && share_late) std::this_thread::sleep_for(delay);
    TRIB_ASSIGN_OR_RETURN(const Bytes shares,
                          coordinator->SecureMessage(client, 1, 1, my_shares, {}, never));
    const std::vector<float> input(task->secagg_length, 0.01f);
    TRIB_ASSIGN_OR_RETURN(Bytes masked, secure.Mask(shares, input, SymmetricKey{}));
    ClientUpload upload = ZeroUpload(setup, client, 800);
    upload.update = std::move(masked);
    if (client == delayed && !share_late) std::this_thread::sleep_for(delay);
    TRIB_RETURN_IF_ERROR(coordinator->BeginUpload(client, 1));
    TRIB_RETURN_IF_ERROR(coordinator->SubmitUpdate(upload));
    TRIB_ASSIGN_OR_RETURN(const Bytes survivors,
                          coordinator->SecureMessage(client, 1, 2, {}, {}, never));
    TRIB_ASSIGN_OR_RETURN(const Bytes unmasking, secure.Unmask(survivors));
    const std::array<double, 4> seconds = {0.0, 0.1, 0.2, 0.3};  // what it reports
    return coordinator->SecureMessage(client, 1, 3, unmasking, seconds, never).status();
  };
  {
    std::vector<std::thread> clients;
    for (uint32_t c : {0u, 1u, 2u, 3u}) {
      clients.emplace_back([&, c] { result.outcomes[c] = take_part(c); });
    }
    for (std::thread& t : clients) t.join();
  }
  EXPECT_TRUE(run.EndsWithin(std::chrono::seconds(60)));
  result.metrics = run.Join();
  std::span<const float> after = coordinator->global_model().flat();
  for (size_t i = 0; i < before.size(); ++i) {
    result.worst_error = std::max(result.worst_error, std::fabs(after[i] - before[i] - 0.01));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

// A client that advertises its keys and then says nothing is left out when the share stage's
// deadline passes (not at the round's); the other three complete the protocol and their inputs
// are summed. Its late message is refused.
TEST(CoordinatorTest, ASilentSecureClientIsLeftOutAtTheStageDeadline) {
  CoordinatorOptions options;
  options.secagg_stage_seconds = 1.0;
  const SecureRoundRun r = RunSecureRound(options, 3, std::chrono::milliseconds(2500), true);
  for (int c = 0; c < 3; ++c) EXPECT_TRUE(r.outcomes[c].ok()) << r.outcomes[c];
  EXPECT_EQ(r.outcomes[3].code(), absl::StatusCode::kFailedPrecondition) << r.outcomes[3];
  ASSERT_TRUE(r.metrics.secagg.has_value());
  EXPECT_FALSE(r.metrics.secagg->abandoned);
  EXPECT_EQ(r.metrics.secagg->clients_summed, 3);
  EXPECT_EQ(r.metrics.clients, 3);
  EXPECT_EQ(r.metrics.clients_dropped, 1);
  // The clients' reports, by stage, averaged over the three that computed anything in it.
  for (int stage = 0; stage < 4; ++stage) {
    EXPECT_NEAR(r.metrics.secagg->client_seconds[stage], 0.1 * stage, 1e-12) << stage;
  }
  EXPECT_LT(r.seconds, 30.0);      // left out at the 1 s stage deadline, not at the round's 600 s
  EXPECT_LT(r.worst_error, 1e-5);  // the step is 0.1 / 65535
}

// Over-selection: 4 selected for K = 3. The masked-input stage closes once 3 inputs are in; the
// fourth client's upload is then refused, and the unmasking removes its pairwise masks from its
// neighbours' inputs (the sum of 3 unmasks).
TEST(CoordinatorTest, OverSelectedSecureRoundClosesWithKInputs) {
  CoordinatorOptions options;
  options.over_selection = 0.25;  // ceil(3 x 1.25) = 4
  const SecureRoundRun r = RunSecureRound(options, 2, std::chrono::milliseconds(1500), false);
  for (int c : {0, 1, 3}) EXPECT_TRUE(r.outcomes[c].ok()) << r.outcomes[c];
  EXPECT_EQ(r.outcomes[2].code(), absl::StatusCode::kFailedPrecondition) << r.outcomes[2];
  ASSERT_TRUE(r.metrics.secagg.has_value());
  EXPECT_FALSE(r.metrics.secagg->abandoned);
  EXPECT_EQ(r.metrics.secagg->clients_summed, 3);
  EXPECT_EQ(r.metrics.clients, 3);
  EXPECT_LT(r.worst_error, 1e-5);
}

}  // namespace
}  // namespace tributary
