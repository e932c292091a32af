#include "run/simulation.h"

#include <chrono>
#include <cstdio>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "run/worker_pool.h"
#include "train/compute_threads.h"
#include "train/local_trainer.h"

namespace tributary {
namespace {

absl::StatusOr<LabeledImages> LoadSplit(const ExperimentConfig& config, DatasetSplit split,
                                        int64_t limit) {
  TRIB_ASSIGN_OR_RETURN(LabeledImages images, LoadFashionMnist(config.data_dir, split));
  if (limit > 0 && static_cast<size_t>(limit) < images.size()) {
    images.labels.resize(limit);
    images.pixels.resize(limit * images.rows * images.cols);
  }
  return images;
}

// What happened to one sampled client in a round.
struct ClientOutcome {
  bool uploaded = false;                   // training finished and its update was sent
  std::optional<LocalTrainResult> result;  // set when the update was aggregated
  std::string error;                       // why not, otherwise
};

}  // namespace

struct Simulation::State {
  ExperimentConfig config;
  std::shared_ptr<const TensorDataset> train_data;
  std::shared_ptr<const TensorDataset> test_data;
  std::unique_ptr<ClientPopulation> population;
  ModelState global;
  std::unique_ptr<Strategy> strategy;
  std::vector<std::unique_ptr<LocalTrainer>> trainers;  // one per worker
  std::vector<ModelState> deltas;                       // one per worker, reused every round
  std::unique_ptr<WorkerPool> pool;
};

Simulation::Simulation(std::unique_ptr<State> state) : state_(std::move(state)) {}
Simulation::~Simulation() = default;

const ModelState& Simulation::global_model() const { return state_->global; }
const ClientPopulation& Simulation::population() const { return *state_->population; }
int Simulation::num_workers() const { return state_->pool->size(); }

absl::StatusOr<std::unique_ptr<Simulation>> Simulation::Create(const ExperimentConfig& config) {
  TRIB_RETURN_IF_ERROR(config.Validate());
  auto state = std::make_unique<State>();
  state->config = config;

  TRIB_ASSIGN_OR_RETURN(LabeledImages train_images,
                        LoadSplit(config, DatasetSplit::kTrain, config.max_train_examples));
  TRIB_ASSIGN_OR_RETURN(LabeledImages test_images,
                        LoadSplit(config, DatasetSplit::kTest, config.max_test_examples));
  TRIB_ASSIGN_OR_RETURN(std::vector<ClientIndices> partitions,
                        PartitionExamples(train_images.labels, train_images.num_classes,
                                          config.partition, config.seed));
  state->population = std::make_unique<ClientPopulation>(std::move(partitions));

  state->config.model.input_channels = 1;
  state->config.model.input_height = train_images.rows;
  state->config.model.input_width = train_images.cols;
  state->config.model.num_classes = train_images.num_classes;
  const TensorDataset::Normalization normalization =
      TensorDataset::ComputeNormalization(train_images);
  TRIB_ASSIGN_OR_RETURN(state->train_data, TensorDataset::FromImages(train_images, normalization));
  TRIB_ASSIGN_OR_RETURN(state->test_data, TensorDataset::FromImages(test_images, normalization));

  TRIB_ASSIGN_OR_RETURN(state->global, InitialModelState(state->config.model, config.seed));
  TRIB_ASSIGN_OR_RETURN(state->strategy, CreateStrategy(config.strategy));

  const int workers = config.ResolvedWorkers();
  ConfigureComputeThreads(config.ResolvedThreadsPerWorker());
  for (int w = 0; w < workers; ++w) {
    TRIB_ASSIGN_OR_RETURN(std::unique_ptr<LocalTrainer> trainer,
                          LocalTrainer::Create(state->config.model, config.train));
    state->trainers.push_back(std::move(trainer));
    state->deltas.push_back(state->global.ZerosLike());
  }
  state->pool = std::make_unique<WorkerPool>(workers, nullptr);
  return std::unique_ptr<Simulation>(new Simulation(std::move(state)));
}

absl::Status Simulation::Run(const std::function<absl::Status(const RoundMetrics&)>& on_round) {
  State& s = *state_;
  const ExperimentConfig& config = s.config;
  const int64_t model_bytes = static_cast<int64_t>(s.global.num_bytes());
  int64_t bytes_up_total = 0, bytes_down_total = 0;

  for (int round = 1; round <= config.rounds; ++round) {
    const auto start = std::chrono::steady_clock::now();
    TRIB_ASSIGN_OR_RETURN(std::vector<uint32_t> sampled,
                          s.population->Sample(config.clients_per_round, config.seed, round));
    int64_t expected_examples = 0;
    for (uint32_t c : sampled) expected_examples += s.population->examples(c).size();
    TRIB_RETURN_IF_ERROR(s.strategy->Init(s.global, expected_examples));

    // Per sampled client, written by whichever worker trains it; read after Wait().
    std::vector<ClientOutcome> outcomes(sampled.size());
    std::mutex strategy_mutex;
    for (size_t i = 0; i < sampled.size(); ++i) {
      s.pool->Submit([&, i](int worker) {
        const uint32_t client = sampled[i];
        ModelState& delta = s.deltas[worker];
        absl::StatusOr<LocalTrainResult> result = s.trainers[worker]->Train(
            s.global, *s.train_data, s.population->examples(client),
            DeriveSeed(config.seed, round, client, RngPurpose::kLocalShuffle), &delta);
        ClientOutcome& outcome = outcomes[i];
        if (!result.ok()) {
          outcome.error = std::string(result.status().message());
          return;
        }
        outcome.uploaded = true;
        absl::Status accepted;
        {
          std::lock_guard<std::mutex> lock(strategy_mutex);
          accepted = s.strategy->Accumulate({client, &delta, result->num_examples});
        }
        if (!accepted.ok()) {
          outcome.error = std::string(accepted.message());
          return;
        }
        outcome.result = *result;
      });
    }
    s.pool->Wait();

    RoundMetrics metrics;
    metrics.round = round;
    double loss_sum = 0.0;
    int64_t examples = 0;
    int uploads = 0;
    for (size_t i = 0; i < sampled.size(); ++i) {
      const ClientOutcome& outcome = outcomes[i];
      uploads += outcome.uploaded;
      if (!outcome.result.has_value()) {
        ++metrics.clients_rejected;
        std::fprintf(stderr, "round %d: client %u rejected: %s\n", round, sampled[i],
                     outcome.error.c_str());
        continue;
      }
      ++metrics.clients;
      loss_sum += outcome.result->mean_loss * outcome.result->num_examples;
      examples += outcome.result->num_examples;
    }
    TRIB_ASSIGN_OR_RETURN(s.global, s.strategy->Finalize());
    metrics.train_loss = examples > 0 ? loss_sum / examples : 0.0;
    // Dense fp32 both ways: the model to every sampled client, a delta from every client that
    // finished training (a rejected update still crossed the wire).
    metrics.bytes_down = model_bytes * static_cast<int64_t>(sampled.size());
    metrics.bytes_up = model_bytes * uploads;
    bytes_up_total += metrics.bytes_up;
    bytes_down_total += metrics.bytes_down;
    metrics.bytes_up_total = bytes_up_total;
    metrics.bytes_down_total = bytes_down_total;

    if (round % config.eval_every == 0 || round == config.rounds) {
      // Fixed chunks merged in chunk order, so the figures do not depend on scheduling.
      const int chunks = s.pool->size();
      const size_t n = s.test_data->size();
      std::vector<absl::StatusOr<EvalResult>> parts(chunks, EvalResult{});
      for (int c = 0; c < chunks; ++c) {
        s.pool->Submit([&, c](int worker) {
          parts[c] = s.trainers[worker]->Evaluate(s.global, *s.test_data, n * c / chunks,
                                                  n * (c + 1) / chunks);
        });
      }
      s.pool->Wait();
      EvalResult total;
      for (const auto& part : parts) {
        TRIB_RETURN_IF_ERROR(part.status());
        total.Merge(*part);
      }
      metrics.test_accuracy = total.accuracy();
      metrics.test_loss = total.mean_loss();
    }
    metrics.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    TRIB_RETURN_IF_ERROR(on_round(metrics));
  }
  return absl::OkStatus();
}

}  // namespace tributary
