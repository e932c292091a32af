// The coordinator's side of the protocol without gRPC: what it accepts of what a client says.
#include "deploy/coordinator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <thread>

#include "cli/config_loader.h"
#include "engine/experiment_data.h"

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
  std::unique_ptr<Pipeline> fp32 = *Pipeline::Parse("fp32");
  const std::vector<float> zeros(setup.model_size, 0.0f);
  std::vector<absl::Status> answers;
  for (uint32_t client : {0u, 1u}) {
    absl::StatusOr<std::optional<ClientTask>> task =
        coordinator->WaitForTask(client, 0, [] { return false; });
    ASSERT_TRUE(task.ok() && task->has_value()) << task.status();
    ASSERT_TRUE(coordinator->BeginUpload(client, 1).ok());
    // Client 0 registered 800 examples and claims 10^12 in its upload, to outweigh client 1.
    ClientUpload upload{.report = {.client = client,
                                   .round = 1,
                                   .num_examples = client == 0 ? 1000000000000 : 800,
                                   .mean_loss = 1.0,
                                   .examples_processed = 800}};
    upload.update = fp32->Encode(zeros, 0);
    answers.push_back(coordinator->SubmitUpdate(upload));
  }
  run.join();
  ASSERT_TRUE(run_status.ok()) << run_status;
  EXPECT_FALSE(answers[0].ok());
  EXPECT_NE(answers[0].message().find("registered 800"), std::string::npos) << answers[0];
  EXPECT_TRUE(answers[1].ok()) << answers[1];
  EXPECT_EQ(coordinator->counters().rejected_uploads.load(), 1);
}

}  // namespace
}  // namespace tributary
