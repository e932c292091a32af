// SCAFFOLD's server side through the technique hooks, on a two-coordinate model.
#include "engine/techniques/scaffold_control.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tributary {
namespace {

ModelState Filled(std::vector<float> values) {
  ModelState state = *ModelState::Zeros({{"w", {static_cast<int64_t>(values.size())}}});
  std::copy(values.begin(), values.end(), state.flat().begin());
  return state;
}

ClientUpload WithAttachment(uint32_t client, const Pipeline& fp32, std::vector<float> dc) {
  ClientUpload upload{.report = {.client = client}};
  upload.attachment = fp32.Encode(dc, 0);
  return upload;
}

TEST(ScaffoldControlTest, ServerControlMovesBySumOfAcceptedChangesOverPopulation) {
  ExperimentConfig config;
  config.strategy.name = "scaffold";
  config.data.partition.num_clients = 4;
  const ModelState global = Filled({1.0f, 1.0f});
  std::unique_ptr<Technique> scaffold = *CreateScaffoldControl(config, global);
  ASSERT_NE(scaffold, nullptr);
  std::unique_ptr<Pipeline> fp32 = *Pipeline::Parse("fp32");
  RoundMetrics metrics;
  const std::vector<uint32_t> cohort = {0, 1, 2};
  scaffold->OnRoundStart(cohort, metrics);
  ASSERT_NE(scaffold->ServerState(), nullptr);
  EXPECT_EQ(scaffold->ServerState()->flat()[0], 0.0f);

  ModelState buffer;
  EXPECT_FALSE(scaffold->DecodeAttachment(ClientUpload{}, *fp32, buffer).ok())
      << "no control variate change";
  EXPECT_FALSE(
      scaffold->DecodeAttachment(WithAttachment(2, *fp32, {2000.0f, 0.0f}), *fp32, buffer).ok())
      << "out of the exact sum's range";
  for (auto [client, dc] : {std::pair{0u, std::vector<float>{0.5f, -1.0f}},
                            std::pair{1u, std::vector<float>{1.5f, 3.0f}}}) {
    const ClientUpload upload = WithAttachment(client, *fp32, dc);
    ASSERT_TRUE(scaffold->DecodeAttachment(upload, *fp32, buffer).ok());
    ASSERT_TRUE(scaffold->OnAccepted(upload, buffer).ok());
  }
  scaffold->OnRoundEnd(/*stepped=*/true, metrics);
  // c += (dc_0 + dc_1) / N with N = 4.
  EXPECT_FLOAT_EQ(scaffold->ServerState()->flat()[0], 0.5f);
  EXPECT_FLOAT_EQ(scaffold->ServerState()->flat()[1], 0.5f);
  // A round below quorum leaves c alone.
  scaffold->OnRoundStart(cohort, metrics);
  const ClientUpload upload = WithAttachment(0, *fp32, {1.0f, 1.0f});
  ASSERT_TRUE(scaffold->DecodeAttachment(upload, *fp32, buffer).ok());
  ASSERT_TRUE(scaffold->OnAccepted(upload, buffer).ok());
  scaffold->OnRoundEnd(/*stepped=*/false, metrics);
  EXPECT_FLOAT_EQ(scaffold->ServerState()->flat()[0], 0.5f);
  // c is what a checkpoint carries.
  ASSERT_EQ(scaffold->carried_state().size(), 1u);
  EXPECT_EQ(*scaffold->carried_state()[0], (std::vector<float>{0.5f, 0.5f}));
}

TEST(ScaffoldControlTest, OnlyTheScaffoldStrategyEnablesIt) {
  ExperimentConfig config;
  config.strategy.name = "fedavg";
  EXPECT_EQ(*CreateScaffoldControl(config, Filled({0.0f})), nullptr);
}

}  // namespace
}  // namespace tributary
