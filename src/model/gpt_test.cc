// The gpt model: causality, LoRA's neutral start, which tensors LoRA trains, and sampling.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>

#include "model/network.h"
#include "model/shared_base.h"
#include "model/text_sampler.h"

namespace tributary {
namespace {

ModelSpec TinyGpt() {
  ModelSpec spec;
  spec.name = "gpt";
  spec.layers = 2;
  spec.heads = 2;
  spec.embed = 16;
  spec.context = 8;
  spec.num_classes = 50;
  return spec;
}

torch::Tensor Logits(const ModelSpec& spec, const ModelState& state, torch::Tensor tokens) {
  auto network = Network::Create(spec);
  EXPECT_TRUE(network.ok()) << network.status();
  (*network)->LoadState(state);
  (*network)->SetTraining(false);
  torch::NoGradGuard no_grad;
  return (*network)->Forward(tokens);
}

class LoraTest : public ::testing::Test {
 protected:
  void SetUp() override {
    full_ = *InitialModelState(TinyGpt(), 1);
    ASSERT_TRUE(SaveModelState(full_, base_path_).ok());
  }
  void TearDown() override { std::filesystem::remove(base_path_); }

  ModelSpec LoraSpec(bool train_a) const {
    ModelSpec spec = TinyGpt();
    spec.lora_rank = 4;
    spec.base = base_path_;
    spec.lora_train_a = train_a;
    return spec;
  }

  ModelState full_;
  std::string base_path_ =
      (std::filesystem::temp_directory_path() / ("gpt_base_" + std::to_string(getpid()) + ".pt"))
          .string();
};

TEST(GptTest, OutputAtAPositionIgnoresLaterTokens) {
  const ModelSpec spec = TinyGpt();
  ModelState state = *InitialModelState(spec, 3);
  torch::Tensor tokens = torch::randint(0, 50, {2, 8}, torch::kInt64);
  torch::Tensor changed = tokens.clone();
  changed.index_put_({torch::indexing::Slice(), 5}, (tokens.select(1, 5) + 1) % 50);
  torch::Tensor a = Logits(spec, state, tokens), b = Logits(spec, state, changed);
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{2, 8, 50}));
  EXPECT_TRUE(torch::equal(a.slice(1, 0, 5), b.slice(1, 0, 5)));
  // The changed token and everything after it do see the change.
  for (int64_t t = 5; t < 8; ++t) {
    EXPECT_FALSE(torch::allclose(a.select(1, t), b.select(1, t))) << t;
  }
}

TEST(GptTest, RejectsSequencesLongerThanTheContext) {
  const ModelSpec spec = TinyGpt();
  auto network = *Network::Create(spec);
  EXPECT_THROW(network->Forward(torch::zeros({1, 9}, torch::kInt64)), std::exception);
}

TEST_F(LoraTest, ZeroBLeavesTheBaseModelsOutputUnchanged) {
  const ModelSpec lora = LoraSpec(true);
  ModelState adapters = *InitialModelState(lora, 2);
  torch::Tensor tokens = torch::randint(0, 50, {3, 8}, torch::kInt64);
  EXPECT_TRUE(torch::equal(Logits(TinyGpt(), full_, tokens), Logits(lora, adapters, tokens)));
  // A non-zero B changes the output.
  for (size_t t = 0; t < adapters.specs().size(); ++t) {
    if (adapters.specs()[t].name.ends_with("lora_B")) {
      for (float& v : adapters.tensor(t)) v = 0.1f;
    }
  }
  EXPECT_FALSE(torch::allclose(Logits(TinyGpt(), full_, tokens), Logits(lora, adapters, tokens)));
}

TEST_F(LoraTest, OnlyAdaptersAreTrainedAndFfaTrainsOnlyB) {
  ModelState fedit = *InitialModelState(LoraSpec(true), 2);
  ModelState ffa = *InitialModelState(LoraSpec(false), 2);
  // 2 blocks x 4 adapted linear layers (qkv, attn.proj, mlp.fc, mlp.proj).
  EXPECT_EQ(fedit.specs().size(), 16u);
  EXPECT_EQ(ffa.specs().size(), 8u);
  int64_t a_elements = 0, b_elements = 0;
  for (const TensorSpec& spec : fedit.specs()) {
    const bool is_a = spec.name.ends_with("lora_A"), is_b = spec.name.ends_with("lora_B");
    EXPECT_TRUE(is_a || is_b) << spec.name;
    (is_a ? a_elements : b_elements) += spec.NumElements();
  }
  for (const TensorSpec& spec : ffa.specs()) EXPECT_TRUE(spec.name.ends_with("lora_B"));
  EXPECT_EQ(static_cast<int64_t>(ffa.num_elements()), b_elements);
  EXPECT_LT(static_cast<int64_t>(fedit.num_elements()), static_cast<int64_t>(full_.num_elements()));
}

TEST_F(LoraTest, ReplicasShareOneCopyOfTheBase) {
  auto first = LoadSharedBase(base_path_);
  auto second = LoadSharedBase(base_path_);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->get(), second->get());
  EXPECT_EQ((*first)->specs(), full_.specs());
}

TEST_F(LoraTest, MissingOrMismatchedBaseIsAClearError) {
  ModelSpec spec = LoraSpec(true);
  spec.base = "/nonexistent/base.pt";
  EXPECT_FALSE(Network::Create(spec).ok());
  spec = LoraSpec(true);
  spec.embed = 32;  // the base was saved with 16
  absl::StatusOr<std::unique_ptr<Network>> network = Network::Create(spec);
  ASSERT_FALSE(network.ok());
  EXPECT_NE(network.status().message().find("shape"), std::string::npos) << network.status();
}

TEST(GptTest, SamplingIsSeededAndStaysInTheVocabulary) {
  const ModelSpec spec = TinyGpt();
  ModelState state = *InitialModelState(spec, 4);
  const std::vector<int32_t> prompt = {1, 2, 3};
  SamplingOptions options{.max_new_tokens = 20, .temperature = 1.0, .top_k = 10, .seed = 9};
  auto a = SampleTokens(spec, state, prompt, options);
  auto b = SampleTokens(spec, state, prompt, options);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->size(), 20u);
  EXPECT_EQ(*a, *b);
  for (int32_t id : *a) EXPECT_TRUE(id >= 0 && id < 50);
  EXPECT_FALSE(SampleTokens(spec, state, std::vector<int32_t>{77}, options).ok());
}

}  // namespace
}  // namespace tributary
