#include "engine/client_step.h"

#include <gtest/gtest.h>

#include "cli/config_loader.h"
#include "engine/experiment_data.h"

namespace tributary {
namespace {

// A deployed client whose upload the server refuses (or never acknowledges) keeps the
// error-feedback residual it had before the round; an accepted upload keeps the new one.
TEST(ClientStepTest, ARefusedUploadLeavesNoErrorFeedbackBehind) {
  absl::StatusOr<LoadedConfig> loaded =
      LoadExperimentConfig(std::string(TRIBUTARY_SOURCE_DIR) + "/configs/deploy/loopback.toml", {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ExperimentConfig config = loaded->config;  // topk:ratio=0.1|fp16 with error feedback
  config.model.input_channels = 1;
  config.model.input_height = 28;
  config.model.input_width = 28;
  config.model.num_classes = 10;
  absl::StatusOr<ModelState> initial = InitialGlobalModel(config);
  ASSERT_TRUE(initial.ok()) << initial.status();
  auto step = ClientStep::Create(config, *initial);
  ASSERT_TRUE(step.ok()) << step.status();
  absl::StatusOr<ClientWorkspace> workspace = (*step)->NewWorkspace();
  ASSERT_TRUE(workspace.ok());
  int round = 0;
  workspace->external_train = [&](const ModelState&,
                                  ModelState* delta) -> absl::StatusOr<LocalTrainResult> {
    std::span<float> d = delta->flat();
    for (size_t i = 0; i < d.size(); ++i) d[i] = 0.001f * static_cast<float>((i * 7 + round) % 13);
    return LocalTrainResult{
        .num_examples = 10, .steps = 1, .examples_processed = 10, .mean_loss = 1.0};
  };
  ClientMemory memory;
  auto play = [&](bool accepted) {
    ++round;
    ClientMemory before = (*step)->CopyForRollback(memory);
    auto result = (*step)->Run(0, ClientTaskInputs{.round = round}, *initial, nullptr, {}, memory,
                               *workspace);
    ASSERT_TRUE(result.ok()) << result.status();
    (*step)->Settle(accepted, std::move(before), memory);
  };
  play(true);
  const std::vector<float> after_accepted = memory.codec.residual;
  ASSERT_EQ(after_accepted.size(), initial->num_elements());
  double norm = 0.0;
  for (float v : after_accepted) norm += static_cast<double>(v) * v;
  ASSERT_GT(norm, 0.0) << "top-k 10% leaves a residual";
  play(false);  // refused: the residual is the one from before the round
  EXPECT_EQ(memory.codec.residual, after_accepted);
  play(true);  // accepted: it moves on
  EXPECT_NE(memory.codec.residual, after_accepted);
}

}  // namespace
}  // namespace tributary
