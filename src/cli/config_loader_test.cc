#include "cli/config_loader.h"

#include <gtest/gtest.h>

#include <set>

#include "aggregate/trimmed_mean.h"
#include "engine/experiment_fields.h"
#include "engine/techniques/hetero_fl.h"
#include "privacy/privacy_spec.h"
#include "sim/byzantine.h"

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
  EXPECT_EQ(c.run.rounds, 3);
  EXPECT_EQ(c.run.clients_per_round, 2);
  EXPECT_EQ(c.data.partition.scheme, PartitionScheme::kDirichlet);
  EXPECT_DOUBLE_EQ(c.data.partition.alpha, 0.3);
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
  EXPECT_EQ(loaded->config.data.partition.scheme, PartitionScheme::kShards);
  EXPECT_EQ(loaded->config.run.name, "my run");
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

// Keys owned by techniques and single strategies land in their own sections, and a copied
// config does not share them with the original.
TEST(ConfigLoaderTest, PluginKeysLoadIntoTheirOwnSections) {
  auto loaded = ParseExperimentConfig(
      kMinimal, "test.toml",
      {"attack.fraction=0.2", "attack.kind=nan", "model.small_width=0.25",
       "strategy.name=trimmed_mean", "strategy.trim_ratio=0.25", "privacy.delta=1e-6"});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const ExperimentConfig& c = loaded->config;
  EXPECT_DOUBLE_EQ(c.plugins.Get<AttackSpec>().fraction, 0.2);
  EXPECT_EQ(c.plugins.Get<AttackSpec>().kind, "nan");  // a bare word, not the float
  EXPECT_DOUBLE_EQ(c.plugins.Get<HeteroFlOptions>().small_width, 0.25);
  EXPECT_DOUBLE_EQ(c.strategy.options.Get<TrimmedMeanOptions>().trim_ratio, 0.25);
  EXPECT_DOUBLE_EQ(c.plugins.Get<PrivacySpec>().delta, 1e-6);
  EXPECT_NE(loaded->resolved_toml.find("trim_ratio = 0.25"), std::string::npos);

  ExperimentConfig copy = c;
  copy.plugins.Mutable<AttackSpec>().fraction = 0.4;
  copy.strategy.options.Mutable<TrimmedMeanOptions>().trim_ratio = 0.1;
  EXPECT_DOUBLE_EQ(c.plugins.Get<AttackSpec>().fraction, 0.2);
  EXPECT_DOUBLE_EQ(c.strategy.options.Get<TrimmedMeanOptions>().trim_ratio, 0.25);
  // An unset section reads as its defaults.
  EXPECT_DOUBLE_EQ(ExperimentConfig().plugins.Get<AttackSpec>().fraction, 0.0);
}

TEST(ConfigLoaderTest, EveryKeyIsDeclaredOnceAndRoundTrips) {
  std::set<std::string> keys;
  for (const ExperimentField& f : ExperimentFields()) {
    EXPECT_TRUE(keys.insert(f.key).second) << "declared twice: " << f.key;
    ExperimentConfig defaults;
    const ConfigValue value = f.get(defaults);
    EXPECT_EQ(value.index(), static_cast<size_t>(f.type)) << f.key;
    ExperimentConfig copy;
    ASSERT_TRUE(f.set(value, copy).ok()) << f.key;
    EXPECT_EQ(f.get(copy), value) << f.key;
  }
  EXPECT_NE(FindExperimentField("privacy.mode"), nullptr);
  EXPECT_EQ(FindExperimentField("privacy.nosuch"), nullptr);
}

TEST(ConfigLoaderTest, ReferenceListsEveryKey) {
  const std::string reference = ConfigReference();
  for (const char* key :
       {"run.rounds", "data.alpha", "model.hidden", "train.lr", "compute.workers", "strategy.mu",
        "strategy.trim_ratio", "attack.fraction", "privacy.mode", "compress.bandwidth_aware"}) {
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
