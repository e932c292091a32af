// Streaming DiLoCo's worker side and server decoding on a 10-parameter model in 2 fragments,
// with hand-made "training" deltas: what each round uploads, what a worker merges and when.
#include "engine/techniques/streaming_fragments.h"

#include <gtest/gtest.h>

#include <numeric>

#include "compress/pipeline.h"

namespace tributary {
namespace {

ModelState Model(std::vector<float> values) {
  ModelState m = *ModelState::Zeros({{"w", {static_cast<int64_t>(values.size())}}});
  std::copy(values.begin(), values.end(), m.flat().begin());
  return m;
}

std::vector<float> Values(std::span<const float> s) { return {s.begin(), s.end()}; }

class StreamingFragmentsTest : public ::testing::Test {
 protected:
  void Create(bool overlap, double mixing = 0.5) {
    ExperimentConfig config;
    config.plugins.Mutable<StreamingOptions>() = {
        .fragments = 2, .overlap = overlap, .mixing = mixing};
    technique_ = *CreateStreaming(config, Model(std::vector<float>(10, 0.0f)));
    ASSERT_NE(technique_, nullptr);
    memory_ = technique_->NewClientState();
    scratch_ = *technique_->NewWorkerScratch(TrainOptions{});
  }

  // One worker round from `public_model`: trains by adding `step` to every parameter of the
  // model it starts from; returns the start model, leaves the upload in `upload_`.
  std::vector<float> Round(int round, const ModelState& public_model, float step) {
    ClientTaskInputs task{.round = round};
    ClientRound r{.task = &task, .public_model = &public_model};
    r.memory = memory_.get();
    r.scratch = scratch_.get();
    r.start_model = &public_model;
    EXPECT_TRUE(technique_->BeforeTrain(r).ok());
    const std::vector<float> start = Values(r.start_model->flat());
    delta_ = Model(std::vector<float>(10, step));
    r.trained = &delta_;
    r.upload = delta_.flat();
    r.upload_layout = delta_.specs();
    EXPECT_TRUE(technique_->AfterTrain(r).ok());
    upload_ = Values(r.upload);
    EXPECT_EQ(r.upload_layout.size(), 1u);
    EXPECT_EQ(r.upload_layout[0].NumElements(), 5);
    return start;
  }

  std::unique_ptr<Technique> technique_;
  std::unique_ptr<TechniqueState> memory_, scratch_;
  ModelState delta_;
  std::vector<float> upload_;
};

TEST_F(StreamingFragmentsTest, EachRoundUploadsOneFragmentAndMergesTheLastOneAtOnce) {
  Create(/*overlap=*/false);
  std::vector<float> g(10);
  std::iota(g.begin(), g.end(), 1.0f);  // 1..10
  ModelState global = Model(g);
  // Round 1 starts from the public model and uploads fragment 0's outer-gradient negation.
  EXPECT_EQ(Round(1, global, 0.5f), g);
  EXPECT_EQ(upload_, std::vector<float>(5, 0.5f));
  // The server moved fragment 0 (only) to 100. Round 2 starts from the worker's own model with
  // fragment 0 replaced by the global one, and uploads fragment 1 against its (unchanged)
  // global value: two rounds of steps.
  for (int i = 0; i < 5; ++i) global.flat()[i] = 100.0f;
  std::vector<float> expected = {100, 100, 100, 100, 100, 6.5, 7.5, 8.5, 9.5, 10.5};
  EXPECT_EQ(Round(2, global, 0.25f), expected);
  EXPECT_EQ(upload_, std::vector<float>(5, 0.75f));
  // Round 3 is fragment 0's again: 0.25 + 0.125 since its last merge.
  for (int i = 5; i < 10; ++i) global.flat()[i] = -1.0f;
  expected = {100.25, 100.25, 100.25, 100.25, 100.25, -1, -1, -1, -1, -1};
  EXPECT_EQ(Round(3, global, 0.125f), expected);
  EXPECT_EQ(upload_, std::vector<float>(5, 0.375f));
  // A worker that missed a round starts again from the public model.
  EXPECT_EQ(Round(5, global, 0.0f), Values(global.flat()));
}

TEST_F(StreamingFragmentsTest, WithOverlapAFragmentIsMixedInOneRoundLater) {
  Create(/*overlap=*/true, /*mixing=*/0.25);
  ModelState global = Model(std::vector<float>(10, 0.0f));
  Round(1, global, 1.0f);  // uploads fragment 0: 1
  for (int i = 0; i < 5; ++i) global.flat()[i] = 2.0f;
  // Round 2 trains on while fragment 0 travels: no merge yet.
  EXPECT_EQ(Round(2, global, 1.0f), std::vector<float>(10, 1.0f));
  EXPECT_EQ(upload_, std::vector<float>(5, 2.0f));  // fragment 1: 2 - 0
  // Round 3 merges fragment 0: 0.25 * 2 (own) + 0.75 * 2 (global) = 2; fragment 1 stays 2.
  for (int i = 5; i < 10; ++i) global.flat()[i] = 4.0f;
  std::vector<float> expected(10, 2.0f);
  EXPECT_EQ(Round(3, global, 0.0f), expected);
  // Round 4 merges fragment 1: 0.25 * 2 + 0.75 * 4 = 3.5.
  expected = {2, 2, 2, 2, 2, 3.5, 3.5, 3.5, 3.5, 3.5};
  EXPECT_EQ(Round(4, global, 0.0f), expected);
}

TEST_F(StreamingFragmentsTest, TheServerDecodesTheRoundsFragmentIntoItsCoordinatesOnly) {
  Create(/*overlap=*/false);
  std::unique_ptr<Pipeline> fp32 = *Pipeline::Parse("fp32");
  const std::vector<float> fragment = {1, 2, 3, 4, 5};
  const std::vector<TensorSpec> layout = {{"fragment", {5}}};
  const Payload payload = fp32->Encode(fragment, CodecContext{.layout = layout});
  RoundMetrics metrics;
  metrics.round = 2;  // fragment 1
  technique_->OnRoundStart({}, metrics);
  ModelState scratch = Model(std::vector<float>(10, 9.0f));
  std::vector<uint32_t> sent;
  ClientUpdate update;
  std::optional<absl::Status> status =
      technique_->DecodeUpdate(0, *fp32, payload, scratch, sent, update);
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(status->ok()) << *status;
  EXPECT_EQ(Values(scratch.flat()), (std::vector<float>{0, 0, 0, 0, 0, 1, 2, 3, 4, 5}));
  ASSERT_NE(update.sent, nullptr);
  EXPECT_EQ(*update.sent, (std::vector<uint32_t>{5, 6, 7, 8, 9}));
  StrategySpec spec;
  technique_->AdjustStrategy(spec);
  EXPECT_TRUE(spec.mask_aware);
  // A payload of the wrong size (another round's fragment of another length) is refused.
  const Payload wrong = fp32->Encode(std::vector<float>(6, 1.0f), CodecContext{});
  status = technique_->DecodeUpdate(0, *fp32, wrong, scratch, sent, update);
  ASSERT_TRUE(status.has_value());
  EXPECT_FALSE(status->ok());
}

}  // namespace
}  // namespace tributary
