#include "cli/config_loader.h"

#include <gtest/gtest.h>

namespace tributary {
namespace {

constexpr char kMinimal[] = R"(
[run]
rounds = 3
clients_per_round = 2
[data]
partition = "dirichlet"
num_clients = 10
alpha = 0.3
[model]
name = "mlp"
)";

std::string ErrorOf(std::string_view text, std::vector<std::string> overrides = {}) {
  auto loaded = ParseExperimentConfig(text, "test.toml", overrides);
  return loaded.ok() ? "" : std::string(loaded.status().message());
}

TEST(ConfigLoaderTest, ReadsKeysAndFillsDefaults) {
  auto loaded = ParseExperimentConfig(kMinimal, "test.toml", {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const ExperimentConfig& c = loaded->config;
  EXPECT_EQ(c.rounds, 3);
  EXPECT_EQ(c.clients_per_round, 2);
  EXPECT_EQ(c.partition.scheme, PartitionScheme::kDirichlet);
  EXPECT_DOUBLE_EQ(c.partition.alpha, 0.3);
  EXPECT_EQ(c.model.name, "mlp");
  EXPECT_EQ(c.train.batch_size, TrainOptions{}.batch_size);
  // The resolved config lists defaults too, and parses back to the same values.
  EXPECT_NE(loaded->resolved_toml.find("batch_size"), std::string::npos);
  auto again = ParseExperimentConfig(loaded->resolved_toml, "resolved.toml", {});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->resolved_toml, loaded->resolved_toml);
}

TEST(ConfigLoaderTest, OverridesTakeTomlValuesAndBareWords) {
  auto loaded = ParseExperimentConfig(
      kMinimal, "test.toml",
      {"train.lr=0.2", "data.partition=shards", "run.name=my run", "train.steps=7"});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_DOUBLE_EQ(loaded->config.train.learning_rate, 0.2);
  EXPECT_EQ(loaded->config.partition.scheme, PartitionScheme::kShards);
  EXPECT_EQ(loaded->config.name, "my run");
  EXPECT_EQ(loaded->config.train.steps, 7);
}

TEST(ConfigLoaderTest, ClearErrorsForBadInput) {
  EXPECT_NE(ErrorOf("[run]\nrounds = 3\n").find("missing required config key"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kMinimal) + "[train]\nlearning_rate = 0.1\n")
                .find("unknown config key 'train.learning_rate'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(kMinimal, {"run.rounds=three"}).find("'run.rounds' must be an integer"),
            std::string::npos);
  EXPECT_NE(ErrorOf(kMinimal, {"model.name=resnet"}).find("unknown model 'resnet'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(kMinimal, {"run.clients_per_round=11"})
                .find("must be between 1 and data.num_clients"),
            std::string::npos);
  EXPECT_NE(ErrorOf(kMinimal, {"data.partition=random"}).find("unknown partition"),
            std::string::npos);
  EXPECT_NE(ErrorOf(kMinimal, {"train.lr=-1"}).find("train.lr"), std::string::npos);
  EXPECT_NE(ErrorOf(kMinimal, {"nosuch.key=1"}).find("unknown config key"), std::string::npos);
  EXPECT_NE(ErrorOf(kMinimal, {"novalue"}).find("key=value"), std::string::npos);
  EXPECT_NE(ErrorOf("[run\nrounds = 1").find("invalid TOML"), std::string::npos);
  EXPECT_NE(ErrorOf(kMinimal, {"run.rounds=0"}).find("run.rounds"), std::string::npos);
}

TEST(ConfigLoaderTest, ReferenceListsEveryKey) {
  const std::string reference = ConfigReference();
  for (const char* key :
       {"run.rounds", "data.alpha", "model.hidden", "train.lr", "compute.workers"}) {
    EXPECT_NE(reference.find(key), std::string::npos) << key;
  }
}

TEST(ConfigLoaderTest, ShippedConfigsAreValid) {
  for (const char* name : {"fmnist_fedavg_iid.toml", "fmnist_fedavg_dirichlet.toml"}) {
    auto loaded = LoadExperimentConfig(std::string(TRIBUTARY_SOURCE_DIR) + "/configs/" + name, {});
    EXPECT_TRUE(loaded.ok()) << name << ": " << loaded.status();
  }
}

}  // namespace
}  // namespace tributary
