// The round engine over a scripted channel: what the engine does with each kind of client
// outcome, independently of how a channel reaches its clients.
#include "engine/round_engine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "engine/experiment_data.h"

namespace tributary {
namespace {

ExperimentConfig TinyRun() {
  ExperimentConfig c;
  c.run.name = "engine";
  c.run.seed = 5;
  c.run.rounds = 1;
  c.run.clients_per_round = 4;
  c.data.max_train_examples = 400;
  c.data.max_test_examples = 200;
  c.data.partition = {.scheme = PartitionScheme::kIid, .num_clients = 4};
  c.model.name = "mlp";
  c.model.hidden = 8;
  c.compute.workers = 1;
  return c;
}

// A grid downlink keeps the public model on its grid, so the run starts there: every initial
// value snapped to the nearest multiple of the step, and a grid too fine for the model's values
// is refused with an error that says so.
TEST(InitialGlobalModelTest, AGridDownlinkStartsTheRunOnItsGrid) {
  ExperimentConfig config = TinyRun();
  config.model.input_channels = 1;
  config.model.input_height = 28;
  config.model.input_width = 28;
  config.model.num_classes = 10;
  const ModelState plain = *InitialGlobalModel(config);
  config.compress.downlink = "topk:ratio=0.1|grid:exp=8|zstd";
  const ModelState snapped = *InitialGlobalModel(config);
  size_t moved = 0;
  for (size_t i = 0; i < plain.num_elements(); ++i) {
    const float v = snapped.flat()[i];
    ASSERT_EQ(v, std::nearbyint(plain.flat()[i] * 256.0f) / 256.0f) << i;
    moved += v != plain.flat()[i];
  }
  EXPECT_GT(moved, plain.num_elements() / 2);
  config.compress.downlink = "topk:ratio=0.1|grid:exp=30";  // values up to 2^-6 only
  const absl::StatusOr<ModelState> too_fine = InitialGlobalModel(config);
  ASSERT_FALSE(too_fine.ok());
  EXPECT_NE(too_fine.status().message().find("grid"), std::string::npos);
}

// Client 0 uploads `delta` everywhere, client 1 drops mid-upload, client 2 is late, client 3
// uploads a NaN.
class ScriptedChannel : public ClientChannel {
 public:
  explicit ScriptedChannel(float delta, std::function<void(ClientReport&)> tweak_client0 = nullptr)
      : delta_(delta), tweak_client0_(std::move(tweak_client0)) {}
  std::optional<int64_t> PrepareRound(int round, std::span<const uint32_t> cohort) override {
    cohort_.assign(cohort.begin(), cohort.end());
    return 400;
  }
  absl::StatusOr<RoundOutcome> RunRound(int round, RoundServer& server) override {
    RoundOutcome outcome;
    std::unique_ptr<Pipeline> fp32 = *Pipeline::Parse("fp32");
    for (uint32_t client : cohort_) {
      const Downlink::Transfer download = server.Download(client, std::nullopt, false);
      bytes_down_ += download.bytes;
      const size_t n = model_size_;
      ClientRecord record{.client = client};
      ClientUpload upload;
      upload.report = {.client = client, .round = round, .num_examples = 100, .mean_loss = 1.0};
      if (client == 0 && tweak_client0_) tweak_client0_(upload.report);
      std::vector<float> values(n, client == 3 ? std::numeric_limits<float>::quiet_NaN() : delta_);
      upload.update = fp32->Encode(values, 0);
      if (client == 1) {
        record.fate = ClientFate::kDropped;
        record.bytes_up = 100;
      } else if (client == 2) {
        record.fate = ClientFate::kStraggler;
        record.uploaded = true;
        record.bytes_up = upload.bytes();
      } else {
        absl::Status accepted = server.Submit(upload, nullptr);
        record.fate = accepted.ok() ? ClientFate::kAccepted : ClientFate::kRejected;
        record.uploaded = true;
        record.bytes_up = upload.bytes();
        record.report = upload.report;
        record.error = std::string(accepted.message());
      }
      outcome.records.push_back(record);
    }
    return outcome;
  }
  size_t model_size_ = 0;
  int64_t bytes_down_ = 0;

 private:
  float delta_;
  std::function<void(ClientReport&)> tweak_client0_;
  std::vector<uint32_t> cohort_;
};

struct ScriptedRun {
  std::vector<RoundMetrics> rounds;
  ModelState initial, final_model;
  int64_t bytes_down = 0;
};

ScriptedRun RunScripted(const EngineOptions& options,
                        std::function<void(ClientReport&)> tweak_client0 = nullptr) {
  ExperimentConfig config = TinyRun();
  absl::StatusOr<ExperimentData> data = LoadExperimentData(config);
  EXPECT_TRUE(data.ok()) << data.status();
  config.model = data->model;
  absl::StatusOr<std::unique_ptr<RoundEngine>> engine =
      RoundEngine::Create(config, options, data->test);
  EXPECT_TRUE(engine.ok()) << engine.status();
  ScriptedRun run;
  run.initial = (*engine)->global_model();
  ScriptedChannel channel(0.25f, std::move(tweak_client0));
  channel.model_size_ = run.initial.num_elements();
  absl::Status status = (*engine)->Run(channel, [&](const RoundMetrics& m) {
    run.rounds.push_back(m);
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  run.final_model = (*engine)->global_model();
  run.bytes_down = channel.bytes_down_;
  return run;
}

TEST(RoundEngineTest, TalliesEveryOutcomeAndAppliesOnlyTheAcceptedUpdate) {
  const ScriptedRun run = RunScripted(EngineOptions{});
  ASSERT_EQ(run.rounds.size(), 1u);
  const RoundMetrics& m = run.rounds[0];
  EXPECT_EQ(m.clients, 1);
  EXPECT_EQ(m.clients_dropped, 1);
  EXPECT_EQ(m.stragglers, 1);
  EXPECT_EQ(m.clients_rejected, 1);
  // Uploads that were complete (accepted, rejected, late) count as trained; every byte counts.
  EXPECT_EQ(m.full_clients_trained, 3);
  const int64_t payload = m.bytes_up_per_full_client;
  EXPECT_EQ(m.bytes_up, 3 * payload + 100);
  EXPECT_EQ(m.bytes_down, run.bytes_down);
  EXPECT_DOUBLE_EQ(m.uplink_compression,
                   static_cast<double>(3 * run.initial.num_bytes()) / m.bytes_up);
  ASSERT_TRUE(m.test_accuracy.has_value());
  // FedAvg over the one accepted client: the model moved by its delta, nothing else.
  for (size_t i = 0; i < run.initial.num_elements(); ++i) {
    ASSERT_FLOAT_EQ(run.final_model.flat()[i], run.initial.flat()[i] + 0.25f) << i;
  }
}

// What a client reports about its training is bounded before it reaches the metrics.
TEST(RoundEngineTest, ImplausibleReportsAreRejected) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<std::function<void(ClientReport&)>> lies = {
      [&](ClientReport& r) { r.mean_loss = nan; },
      [&](ClientReport& r) { r.mean_loss = -1.0; },
      [&](ClientReport& r) { r.mean_loss = inf; },
      [&](ClientReport& r) { r.train_seconds = nan; },
      [&](ClientReport& r) { r.train_seconds = -3.0; },
      [&](ClientReport& r) { r.train_seconds = 1e12; },
      [&](ClientReport& r) { r.examples_processed = -1; },
  };
  for (size_t i = 0; i < lies.size(); ++i) {
    const ScriptedRun run = RunScripted(EngineOptions{}, lies[i]);
    ASSERT_EQ(run.rounds.size(), 1u);
    EXPECT_EQ(run.rounds[0].clients, 0) << "lie " << i;
    EXPECT_EQ(run.rounds[0].clients_rejected, 2) << "lie " << i;
    EXPECT_EQ(run.rounds[0].train_loss, 0.0) << "lie " << i;
  }
}

TEST(RoundEngineTest, BelowQuorumTheModelStaysAsItWas) {
  const ScriptedRun run = RunScripted(EngineOptions{.quorum = 2});
  ASSERT_EQ(run.rounds.size(), 1u);
  EXPECT_EQ(run.rounds[0].clients, 1);
  EXPECT_EQ(run.final_model.Checksum(), run.initial.Checksum());
}

// Two clients, both accepted: client 0 with 300 examples that trained on 10 sends a delta of 1
// everywhere, client 1 with 100 examples that trained on 30 a delta of 3.
class TwoClientChannel : public ClientChannel {
 public:
  std::optional<int64_t> PrepareRound(int round, std::span<const uint32_t> cohort) override {
    return 400;
  }
  absl::StatusOr<RoundOutcome> RunRound(int round, RoundServer& server) override {
    RoundOutcome outcome;
    std::unique_ptr<Pipeline> fp32 = *Pipeline::Parse("fp32");
    const int64_t examples[2] = {300, 100}, processed[2] = {10, processed_by_1};
    const float delta[2] = {1.0f, 3.0f};
    for (uint32_t client : {0u, 1u}) {
      ClientUpload upload;
      upload.report = {.client = client,
                       .round = round,
                       .num_examples = examples[client],
                       .mean_loss = 1.0,
                       .examples_processed = processed[client]};
      upload.update = fp32->Encode(std::vector<float>(model_size, delta[client]), 0);
      absl::Status accepted = server.Submit(upload, nullptr);
      outcome.records.push_back(
          {.client = client,
           .fate = accepted.ok() ? ClientFate::kAccepted : ClientFate::kRejected,
           .uploaded = true,
           .report = upload.report});
    }
    return outcome;
  }
  size_t model_size = 0;
  int64_t processed_by_1 = 30;
};

// The mean's weights follow strategy.weighting; each strategy's default is its paper's.
TEST(RoundEngineTest, WeightingChoosesEachUpdatesShareOfTheMean) {
  ExperimentConfig config = TinyRun();
  config.run.clients_per_round = 2;
  ExperimentData data = *LoadExperimentData(config);
  config.model = data.model;
  // Weights: examples 300 : 100, uniform 1 : 1, tokens 10 : 30.
  for (auto [weighting, expected] :
       {std::pair{Weighting::kDefault, 1.5f}, std::pair{Weighting::kExamples, 1.5f},
        std::pair{Weighting::kUniform, 2.0f}, std::pair{Weighting::kTokens, 2.5f}}) {
    config.strategy.weighting = weighting;
    auto engine = *RoundEngine::Create(config, EngineOptions{}, data.test);
    const ModelState initial = engine->global_model();
    TwoClientChannel channel;
    channel.model_size = initial.num_elements();
    ASSERT_TRUE(engine->Run(channel, [](const RoundMetrics&) { return absl::OkStatus(); }).ok());
    for (size_t i = 0; i < initial.num_elements(); ++i) {
      ASSERT_NEAR(engine->global_model().flat()[i], initial.flat()[i] + expected, 1e-5)
          << static_cast<int>(weighting) << " " << i;
    }
  }
  // A client claiming more training than one epoch of its examples is refused under tokens.
  config.strategy.weighting = Weighting::kTokens;
  auto engine = *RoundEngine::Create(config, EngineOptions{}, data.test);
  TwoClientChannel channel;
  channel.model_size = engine->global_model().num_elements();
  channel.processed_by_1 = 101;
  int rejected = 0;
  ASSERT_TRUE(engine
                  ->Run(channel,
                        [&](const RoundMetrics& m) {
                          rejected = m.clients_rejected;
                          return absl::OkStatus();
                        })
                  .ok());
  EXPECT_EQ(rejected, 1);

  StrategySpec spec;
  for (const char* name : {"fedavg", "fedprox", "fedavgm", "median", "lora_exact"}) {
    spec.name = name;
    EXPECT_EQ(spec.ResolvedWeighting(), Weighting::kExamples) << name;
  }
  for (const char* name : {"scaffold", "diloco", "fedadagrad", "fedadam", "fedyogi"}) {
    spec.name = name;
    EXPECT_EQ(spec.ResolvedWeighting(), Weighting::kUniform) << name;
  }
}

}  // namespace
}  // namespace tributary
