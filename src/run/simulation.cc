#include "run/simulation.h"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <numeric>
#include <optional>

#include "absl/strings/str_cat.h"
#include "aggregate/sketched_fedavg.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "compress/error_feedback.h"
#include "compress/pipeline.h"
#include "run/client_side.h"
#include "run/downlink.h"
#include "run/experiment_data.h"
#include "run/local_layers.h"
#include "run/server_side.h"
#include "run/worker_pool.h"
#include "sim/system_model.h"
#include "tensor/model_slice.h"
#include "train/compute_threads.h"
#include "train/local_trainer.h"

namespace tributary {
namespace {

// Per-client evaluation spreads the clients over this many tasks.
constexpr int kEvalChunks = 8;

// What happened to one sampled client in a round.
struct ClientOutcome {
  bool small = false;          // trained a slice of the model (HeteroFL)
  double train_seconds = 0.0;  // wall time of its local training
  Availability availability = Availability::kAvailable;
  int64_t downloaded_bytes = 0;
  int64_t uploaded_bytes = 0;              // bytes of the payload sent, if training finished
  double finish_seconds = 0.0;             // virtual time its upload arrived
  bool straggler = false;                  // arrived after the deadline
  std::optional<LocalTrainResult> result;  // set when the update was aggregated
  std::string error;                       // why not, otherwise
};

}  // namespace

struct Simulation::State {
  ExperimentConfig config;
  std::shared_ptr<const TensorDataset> train_data;
  std::shared_ptr<const TensorDataset> test_data;
  std::unique_ptr<ClientPopulation> population;
  std::optional<ByzantineClients> byzantine;
  std::optional<SystemModel> system;
  ModelState global;
  std::unique_ptr<Strategy> strategy;
  std::vector<std::unique_ptr<LocalTrainer>> trainers;  // one per worker
  std::vector<ModelState> deltas;                       // one per worker, reused every round
  // SCAFFOLD: each client's control variate c_i (allocated on first use), per-worker scratch,
  // and the size of c sent down as fp32.
  std::vector<ModelState> client_controls;
  std::vector<ModelState> corrections, control_deltas;
  int64_t control_download_bytes = 0;
  // Partial personalization: the local tensors, each client's own copy of them (allocated when
  // it first trains), their initial values, and per-worker scratch for a client's model.
  std::optional<LocalLayers> local_layers;
  std::vector<std::vector<float>> client_local;
  std::vector<float> initial_local;
  std::vector<ModelState> personal;
  std::vector<ClientIndices> holdout;  // per client, when data.client_holdout > 0
  // HeteroFL: which clients are small, their slice of the model, per-worker trainers and
  // scratch for it.
  std::vector<bool> is_small;
  std::optional<ModelSlice> small_slice;
  std::vector<std::unique_ptr<LocalTrainer>> small_trainers;
  std::vector<ModelState> small_models, small_deltas;
  std::unique_ptr<WorkerPool> pool;
  std::unique_ptr<Pipeline> uplink;
  // Set when the uplink is a count sketch: tables are averaged, then unsketched once.
  std::unique_ptr<SketchedFedAvg> sketched;
  std::vector<CodecState> codec_states;  // per client; empty until its first error-fed upload
  std::vector<OptimizerState> optimizer_states;  // per client, when train.keep_optimizer_state
  std::unique_ptr<Downlink> downlink;            // the public model clients train from
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

  TRIB_ASSIGN_OR_RETURN(ExperimentData data, LoadExperimentData(state->config));
  std::vector<ClientIndices>& partitions = data.partitions;
  if (config.client_holdout > 0.0) {
    state->holdout = SplitHoldout(partitions, config.client_holdout, config.seed);
  }
  state->population = std::make_unique<ClientPopulation>(std::move(partitions));
  TRIB_ASSIGN_OR_RETURN(state->system,
                        SystemModel::Create(config.system, state->population->size(), config.seed));
  TRIB_ASSIGN_OR_RETURN(
      state->byzantine,
      ByzantineClients::Create(config.attack, state->population->size(), config.seed));
  state->train_data = std::move(data.train);
  state->test_data = std::move(data.test);

  TRIB_ASSIGN_OR_RETURN(state->global, InitialGlobalModel(state->config));
  TRIB_ASSIGN_OR_RETURN(state->local_layers,
                        LocalLayers::Create(state->global.specs(), config.local_layers));
  state->local_layers->GatherLocal(state->global.flat(), &state->initial_local);
  state->client_local.resize(state->population->size());
  StrategySpec strategy_spec = config.strategy;
  strategy_spec.population = static_cast<int64_t>(state->population->size());
  // Small clients cover only part of the model: average each coordinate over its holders.
  if (config.small_fraction > 0.0) strategy_spec.mask_aware = true;
  TRIB_ASSIGN_OR_RETURN(state->strategy, CreateStrategy(strategy_spec));

  if (config.strategy.name == "scaffold" && config.train.optimizer == OptimizerKind::kSgd &&
      config.train.momentum > 0.0) {
    std::fprintf(stderr,
                 "warning: SCAFFOLD with SGD momentum %.2f diverged in our runs "
                 "(docs/strategies.md); the paper uses train.momentum = 0\n",
                 config.train.momentum);
  }
  TrainOptions train_options = config.train;
  train_options.proximal_mu = state->strategy->proximal_mu();
  const int workers = config.ResolvedWorkers();
  ConfigureComputeThreads(config.ResolvedThreadsPerWorker());
  for (int w = 0; w < workers; ++w) {
    TRIB_ASSIGN_OR_RETURN(std::unique_ptr<LocalTrainer> trainer,
                          LocalTrainer::Create(state->config.model, train_options));
    state->trainers.push_back(std::move(trainer));
    state->deltas.push_back(state->global.ZerosLike());
    state->corrections.push_back(state->global.ZerosLike());
    state->personal.push_back(state->global);
    state->control_deltas.push_back(state->global.ZerosLike());
  }
  if (config.small_fraction > 0.0) {
    ModelSpec small_spec = state->config.model;
    small_spec.width = config.small_width;
    for (int w = 0; w < workers; ++w) {
      TRIB_ASSIGN_OR_RETURN(std::unique_ptr<LocalTrainer> trainer,
                            LocalTrainer::Create(small_spec, train_options));
      state->small_trainers.push_back(std::move(trainer));
    }
    TRIB_ASSIGN_OR_RETURN(
        state->small_slice,
        ModelSlice::Create(state->global.specs(), state->small_trainers[0]->layout()));
    TRIB_ASSIGN_OR_RETURN(ModelState small_zeros,
                          ModelState::Zeros(state->small_slice->narrow_layout()));
    state->small_models.assign(workers, small_zeros);
    state->small_deltas.assign(workers, small_zeros);
    state->is_small =
        ChooseSmallClients(state->population->size(), config.small_fraction, config.seed);
  }
  state->pool = std::make_unique<WorkerPool>(workers, nullptr);
  TRIB_ASSIGN_OR_RETURN(state->uplink, Pipeline::Parse(config.uplink_codec));
  if (const SketchCodec* sketch = state->uplink->sketch()) {
    state->sketched = std::make_unique<SketchedFedAvg>(*sketch);
  }
  state->codec_states.resize(state->population->size());
  if (config.train.keep_optimizer_state) {
    state->optimizer_states.resize(state->population->size());
  }
  state->client_controls.resize(state->population->size());
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<Pipeline> fp32, Pipeline::Parse("fp32"));
  state->control_download_bytes =
      static_cast<int64_t>(fp32->Encode(state->global.flat(), 0).size());
  TRIB_ASSIGN_OR_RETURN(state->downlink,
                        Downlink::Create(state->global, config.downlink_codec,
                                         config.downlink_history, state->population->size()));
  return std::unique_ptr<Simulation>(new Simulation(std::move(state)));
}

// Every client's model (the global model with its own local layers) on its own held-out
// examples; the unweighted mean over clients that hold any.
absl::StatusOr<double> Simulation::MeanClientAccuracy(State& s) {
  const size_t clients = s.holdout.size();
  std::vector<absl::StatusOr<EvalResult>> results(clients, EvalResult{});
  for (int chunk = 0; chunk < kEvalChunks; ++chunk) {
    s.pool->Submit([&, chunk](int worker) {
      for (size_t c = clients * chunk / kEvalChunks; c < clients * (chunk + 1) / kEvalChunks; ++c) {
        if (s.holdout[c].empty()) continue;
        const ModelState& model = s.local_layers->any()
                                      ? PersonalModel(s.global, *s.local_layers, s.client_local[c],
                                                      s.initial_local, s.personal[worker])
                                      : s.global;
        results[c] = s.trainers[worker]->EvaluateExamples(model, *s.train_data, s.holdout[c]);
      }
    });
  }
  s.pool->Wait();
  double sum = 0.0;
  int counted = 0;
  for (const auto& result : results) {
    TRIB_RETURN_IF_ERROR(result.status());
    if (result->count == 0) continue;
    sum += result->accuracy();
    ++counted;
  }
  return counted > 0 ? sum / counted : 0.0;
}

absl::Status Simulation::Run(const std::function<absl::Status(const RoundMetrics&)>& on_round) {
  State& s = *state_;
  const ExperimentConfig& config = s.config;
  const int64_t model_bytes = static_cast<int64_t>(s.global.num_bytes());
  int64_t bytes_up_total = 0, bytes_down_total = 0, examples_trained_total = 0;
  double sim_time = 0.0;

  if (config.eval_initial) {
    RoundMetrics initial;
    TRIB_ASSIGN_OR_RETURN(EvalResult total,
                          EvaluateInChunks(*s.pool, s.trainers, s.global, *s.test_data));
    RecordEvaluation(config, total, initial);
    if (config.dataset == "sotu") initial.tokens_trained_total = 0;
    TRIB_RETURN_IF_ERROR(on_round(initial));
  }

  for (int round = 1; round <= config.rounds; ++round) {
    const auto start = std::chrono::steady_clock::now();
    TRIB_ASSIGN_OR_RETURN(std::vector<uint32_t> sampled,
                          s.population->Sample(config.clients_per_round, config.seed, round));
    int64_t expected_examples = 0;
    for (uint32_t c : sampled) expected_examples += s.population->examples(c).size();
    int sampled_attackers = 0;
    for (uint32_t c : sampled) sampled_attackers += s.byzantine->is_attacker(c);
    TRIB_RETURN_IF_ERROR(s.sketched ? s.sketched->Init(expected_examples)
                                    : s.strategy->Init(s.global, expected_examples));
    RoundMetrics metrics;
    metrics.round = round;
    metrics.byzantine_clients = sampled_attackers;
    // Per sampled client, written by whichever worker trains it; read after Wait().
    std::vector<ClientOutcome> outcomes(sampled.size());
    for (size_t i = 0; i < sampled.size(); ++i) {
      outcomes[i].availability = s.system->Draw(sampled[i], round, config.seed);
      if (outcomes[i].availability == Availability::kDropsOut) continue;  // never connects
      const Downlink::Transfer transfer = s.downlink->SyncClient(sampled[i]);
      outcomes[i].downloaded_bytes = transfer.bytes;
      metrics.bytes_down += transfer.bytes;
      metrics.downlink_resyncs += transfer.full_resync;
      if (s.strategy->server_control() != nullptr) {
        outcomes[i].downloaded_bytes += s.control_download_bytes;  // SCAFFOLD's c, as fp32
        metrics.bytes_down += s.control_download_bytes;
      }
    }
    // Clients train from the public model; their deltas are applied to the global model.
    const ModelState& client_model = s.downlink->public_model();
    double mean_uplink = 0.0;
    int connected = 0;
    for (size_t i = 0; i < sampled.size(); ++i) {
      if (outcomes[i].availability == Availability::kDropsOut) continue;
      mean_uplink += s.system->client(sampled[i]).uplink_bps;
      ++connected;
    }
    mean_uplink /= std::max(connected, 1);

    std::mutex strategy_mutex;
    for (size_t i = 0; i < sampled.size(); ++i) {
      if (outcomes[i].availability == Availability::kDropsOut) continue;
      s.pool->Submit([&, i](int worker) {
        const uint32_t client = sampled[i];
        ModelState& delta = s.deltas[worker];
        const ModelState* server_control = s.strategy->server_control();
        if (server_control != nullptr) {
          PrepareControlCorrection(*server_control, s.client_controls[client],
                                   s.corrections[worker]);
        }
        // A small-capacity client trains its slice of the model (HeteroFL) and uploads that.
        const bool small = !s.is_small.empty() && s.is_small[client];
        ModelState& trained = small ? s.small_deltas[worker] : delta;
        const ModelState& start_model =
            small ? ExtractSlice(client_model, *s.small_slice, s.small_models[worker])
            : s.local_layers->any()
                ? PersonalModel(client_model, *s.local_layers, s.client_local[client],
                                s.initial_local, s.personal[worker])
                : client_model;
        LocalTrainer& trainer = small ? *s.small_trainers[worker] : *s.trainers[worker];
        const auto train_start = std::chrono::steady_clock::now();
        absl::StatusOr<LocalTrainResult> result =
            trainer.Train(start_model, *s.train_data, s.population->examples(client),
                          DeriveSeed(config.seed, round, client, RngPurpose::kLocalShuffle),
                          &trained, server_control != nullptr ? &s.corrections[worker] : nullptr,
                          s.optimizer_states.empty() ? nullptr : &s.optimizer_states[client]);
        ClientOutcome& outcome = outcomes[i];
        outcome.small = small;
        outcome.train_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - train_start).count();
        if (!result.ok()) {
          outcome.error = std::string(result.status().message());
          return;
        }
        if (s.byzantine->is_attacker(client)) {
          s.byzantine->Attack(trained.flat(),
                              DeriveSeed(config.seed, round, client, RngPurpose::kAttack));
        }
        // Only the shared part travels; a client keeps its trained local layers.
        std::span<const float> upload = trained.flat();
        std::span<const TensorSpec> upload_layout = trained.specs();
        std::vector<float> shared;
        if (s.local_layers->any()) {
          KeepLocalLayers(delta, *s.local_layers, s.initial_local, s.client_local[client]);
          s.local_layers->GatherShared(delta.flat(), &shared);
          upload = shared;
          upload_layout = s.local_layers->shared_layout();
        }
        // Client side: encode the delta; server side: validate and decode the payload.
        const CodecContext codec_context{
            .seed = DeriveSeed(config.seed, round, client, RngPurpose::kCodec),
            .layout = upload_layout,
            .state = &s.codec_states[client],
            .ratio_scale =
                config.bandwidth_aware ? s.system->client(client).uplink_bps / mean_uplink : 1.0};
        absl::StatusOr<Payload> payload =
            config.uplink_error_feedback
                ? EncodeWithErrorFeedback(*s.uplink, upload, codec_context)
                : absl::StatusOr<Payload>(s.uplink->Encode(upload, codec_context));
        if (!payload.ok()) {
          outcome.error = std::string(payload.status().message());
          return;
        }
        const int64_t payload_bytes = static_cast<int64_t>(payload->size());
        if (outcome.availability == Availability::kCrashesMidUpload) {
          outcome.uploaded_bytes = payload_bytes / 2;  // then the connection is gone
          return;
        }
        outcome.uploaded_bytes = payload_bytes;
        const ModelState* control_delta = nullptr;
        if (server_control != nullptr) {
          absl::StatusOr<int64_t> control_bytes = SendControlDelta(
              *s.uplink, *server_control, delta, result->steps, ScaffoldStepSize(config.train),
              DeriveSeed(config.seed, round, client, RngPurpose::kControlCodec),
              s.client_controls[client], s.control_deltas[worker]);
          if (!control_bytes.ok()) {
            outcome.error = std::string(control_bytes.status().message());
            return;
          }
          outcome.uploaded_bytes += *control_bytes;
          control_delta = &s.control_deltas[worker];
        }
        // A slice of width w costs about w^2 of the full model's compute.
        const double compute_scale = small ? config.small_width * config.small_width : 1.0;
        outcome.finish_seconds =
            s.system->RoundTrip(client, outcome.downloaded_bytes,
                                result->examples_processed * compute_scale, payload_bytes);
        if (s.system->deadline_seconds() > 0.0 &&
            outcome.finish_seconds > s.system->deadline_seconds()) {
          outcome.straggler = true;  // the server closed the round without it
          return;
        }
        // `delta` is reused as the decoded update's buffer.
        const ClientUpdate update{.client_id = client,
                                  .delta = &delta,
                                  .num_examples = result->num_examples,
                                  .control_delta = control_delta};
        absl::Status accepted =
            s.sketched ? AccumulateSketch(*s.uplink, *payload, update, *s.sketched, strategy_mutex)
                       : AccumulateUpdate(*s.uplink, *payload, update, *s.local_layers,
                                          small ? &*s.small_slice : nullptr, delta, *s.strategy,
                                          strategy_mutex);
        if (!accepted.ok()) {
          outcome.error = std::string(accepted.message());
          return;
        }
        outcome.result = *result;
      });
    }
    s.pool->Wait();

    double loss_sum = 0.0;
    int64_t examples = 0;
    int uploads = 0;
    double slowest = 0.0;
    for (size_t i = 0; i < sampled.size(); ++i) {
      const ClientOutcome& outcome = outcomes[i];
      metrics.bytes_up += outcome.uploaded_bytes;
      if (outcome.availability != Availability::kAvailable) {
        ++metrics.clients_dropped;
        continue;
      }
      uploads += outcome.uploaded_bytes > 0;
      if (outcome.uploaded_bytes > 0) {
        (outcome.small ? metrics.small_clients_trained : metrics.full_clients_trained)++;
        (outcome.small ? metrics.train_seconds_small : metrics.train_seconds_full) +=
            outcome.train_seconds;
        (outcome.small ? metrics.bytes_up_per_small_client : metrics.bytes_up_per_full_client) +=
            outcome.uploaded_bytes;
      }
      if (outcome.straggler) {
        ++metrics.stragglers;
        continue;
      }
      if (!outcome.result.has_value()) {
        ++metrics.clients_rejected;
        std::fprintf(stderr, "round %d: client %u rejected: %s\n", round, sampled[i],
                     outcome.error.c_str());
        continue;
      }
      ++metrics.clients;
      slowest = std::max(slowest, outcome.finish_seconds);
      loss_sum += outcome.result->mean_loss * outcome.result->num_examples;
      examples += outcome.result->num_examples;
      examples_trained_total += outcome.result->examples_processed;
    }
    if (metrics.full_clients_trained > 0) {
      metrics.train_seconds_full /= metrics.full_clients_trained;
      metrics.bytes_up_per_full_client /= metrics.full_clients_trained;
    }
    if (metrics.small_clients_trained > 0) {
      metrics.train_seconds_small /= metrics.small_clients_trained;
      metrics.bytes_up_per_small_client /= metrics.small_clients_trained;
    }
    // The round ends when its slowest accepted client is in, or at the deadline if it cut
    // anyone off.
    metrics.sim_seconds = metrics.stragglers > 0 ? s.system->deadline_seconds() : slowest;
    sim_time += metrics.sim_seconds;
    metrics.sim_time_seconds = sim_time;
    if (metrics.clients > 0) {
      TRIB_ASSIGN_OR_RETURN(s.global, s.sketched ? s.sketched->Finalize(std::move(s.global))
                                                 : s.strategy->Finalize());
    } else {
      std::fprintf(stderr, "round %d: no update arrived; the model is unchanged\n", round);
    }
    TRIB_RETURN_IF_ERROR(s.downlink->Publish(s.global, config.seed, round));
    metrics.train_loss = examples > 0 ? loss_sum / examples : 0.0;
    // Up: every payload sent, aggregated or not (a rejected update still crossed the wire).
    metrics.uplink_compression =
        metrics.bytes_up > 0 ? static_cast<double>(model_bytes * uploads) / metrics.bytes_up : 1.0;
    bytes_up_total += metrics.bytes_up;
    bytes_down_total += metrics.bytes_down;
    metrics.bytes_up_total = bytes_up_total;
    if (config.dataset == "sotu") {
      metrics.tokens_trained_total = examples_trained_total * config.model.context;
    }
    metrics.bytes_down_total = bytes_down_total;

    if (round % config.eval_every == 0 || round == config.rounds) {
      TRIB_ASSIGN_OR_RETURN(EvalResult total,
                            EvaluateInChunks(*s.pool, s.trainers, s.global, *s.test_data));
      RecordEvaluation(config, total, metrics);
      if (!s.holdout.empty()) {
        TRIB_ASSIGN_OR_RETURN(metrics.client_accuracy, MeanClientAccuracy(s));
      }
    }
    metrics.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    TRIB_RETURN_IF_ERROR(on_round(metrics));
  }
  return absl::OkStatus();
}

}  // namespace tributary
