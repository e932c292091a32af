#include "deploy/coordinator.h"

#include <xxhash.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "deploy/transfer.h"
#include "run/experiment_data.h"
#include "run/local_layers.h"
#include "run/server_side.h"
#include "run/worker_pool.h"
#include "sim/client_population.h"
#include "train/compute_threads.h"
#include "train/local_trainer.h"

namespace tributary {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

absl::Status CoordinatorOptions::Validate(const ExperimentConfig& config) const {
  if (quorum < 1 || quorum > config.clients_per_round) {
    return absl::InvalidArgumentError(absl::StrCat("--quorum must be in [1, clients_per_round = ",
                                                   config.clients_per_round, "], got ", quorum));
  }
  if (!(over_selection >= 0.0 && over_selection <= 10.0)) {
    return absl::InvalidArgumentError("--over-selection must be in [0, 10]");
  }
  if (!(round_deadline_seconds > 0.0)) {
    return absl::InvalidArgumentError("--round-deadline must be > 0 seconds");
  }
  if (wait_for_clients < 0 || wait_for_clients > config.partition.num_clients) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--wait-for-clients must be in [0, data.num_clients = ", config.partition.num_clients,
        "]"));
  }
  if (!(wait_timeout_seconds > 0.0)) {
    return absl::InvalidArgumentError("--wait-timeout must be > 0 seconds");
  }
  return absl::OkStatus();
}

absl::Status CheckDeployable(const ExperimentConfig& config) {
  std::vector<std::string> unsupported;
  if (config.strategy.name == "scaffold") unsupported.push_back("strategy.name = scaffold");
  if (!config.local_layers.empty()) unsupported.push_back("strategy.local_layers");
  if (config.small_fraction > 0.0) unsupported.push_back("model.small_fraction");
  if (config.client_holdout > 0.0) unsupported.push_back("data.client_holdout");
  if (config.attack.fraction > 0.0) unsupported.push_back("attack.fraction");
  if (config.bandwidth_aware) unsupported.push_back("compress.bandwidth_aware");
  if (config.uplink_codec.find("sketch") != std::string::npos) {
    unsupported.push_back("a sketch uplink codec");
  }
  if (unsupported.empty()) return absl::OkStatus();
  return absl::UnimplementedError(absl::StrCat("tributary server does not run ",
                                               absl::StrJoin(unsupported, ", "),
                                               " yet (simulation only; docs/deploy.md)"));
}

struct Coordinator::State {
  ModelState global;
  std::unique_ptr<Strategy> strategy;
  std::mutex strategy_mutex;
  std::unique_ptr<Pipeline> uplink;
  std::unique_ptr<Downlink> downlink;
  LocalLayers no_local_layers;
  uint64_t initial_checksum = 0;
  uint64_t config_fingerprint = 0;
  std::shared_ptr<const TensorDataset> test_data;
  std::vector<std::unique_ptr<LocalTrainer>> evaluators;  // one per pool worker
  std::unique_ptr<WorkerPool> pool;
};

Coordinator::Coordinator(const ExperimentConfig& config, std::string config_toml,
                         const CoordinatorOptions& options)
    : config_(config), config_toml_(std::move(config_toml)), options_(options) {}

Coordinator::~Coordinator() { Stop(); }

const ModelState& Coordinator::global_model() const { return state_->global; }

absl::StatusOr<std::unique_ptr<Coordinator>> Coordinator::Create(const ExperimentConfig& config,
                                                                 std::string config_toml,
                                                                 const CoordinatorOptions& options,
                                                                 const std::string& resume_from) {
  TRIB_RETURN_IF_ERROR(config.Validate());
  TRIB_RETURN_IF_ERROR(CheckDeployable(config));
  TRIB_RETURN_IF_ERROR(options.Validate(config));
  auto coordinator =
      std::unique_ptr<Coordinator>(new Coordinator(config, std::move(config_toml), options));
  auto state = std::make_unique<State>();
  // The server evaluates on the test set; the training images serve only the normalization
  // statistics every party computes alike.
  TRIB_ASSIGN_OR_RETURN(ExperimentData data, LoadExperimentData(coordinator->config_));
  state->test_data = std::move(data.test);
  const ExperimentConfig& resolved = coordinator->config_;
  TRIB_ASSIGN_OR_RETURN(state->global, InitialGlobalModel(resolved));
  state->initial_checksum = state->global.Checksum();
  state->config_fingerprint =
      XXH64(coordinator->config_toml_.data(), coordinator->config_toml_.size(), 0);
  TRIB_ASSIGN_OR_RETURN(state->no_local_layers, LocalLayers::Create(state->global.specs(), ""));
  StrategySpec strategy_spec = resolved.strategy;
  strategy_spec.population = resolved.partition.num_clients;
  TRIB_ASSIGN_OR_RETURN(state->strategy, CreateStrategy(strategy_spec));
  TRIB_ASSIGN_OR_RETURN(state->uplink, Pipeline::Parse(resolved.uplink_codec));
  TRIB_ASSIGN_OR_RETURN(
      state->downlink, Downlink::Create(state->global, resolved.downlink_codec,
                                        resolved.downlink_history, resolved.partition.num_clients));
  const int workers = resolved.ResolvedWorkers();
  ConfigureComputeThreads(resolved.ResolvedThreadsPerWorker());
  for (int w = 0; w < workers; ++w) {
    TRIB_ASSIGN_OR_RETURN(std::unique_ptr<LocalTrainer> trainer,
                          LocalTrainer::Create(resolved.model, resolved.train));
    state->evaluators.push_back(std::move(trainer));
  }
  state->pool = std::make_unique<WorkerPool>(workers, nullptr);
  coordinator->max_upload_bytes_ = MaxPayloadBytes(state->global.num_bytes());

  if (!resume_from.empty()) {
    TRIB_ASSIGN_OR_RETURN(Checkpoint checkpoint,
                          ReadCheckpoint(resume_from, state->global.specs()));
    Checkpoint* resume = &checkpoint;
    if (resume->config_fingerprint != state->config_fingerprint) {
      return absl::FailedPreconditionError(
          "the checkpoint belongs to another config; resume with the run's own config.toml");
    }
    if (resume->round >= resolved.rounds) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the checkpoint is after round ", resume->round, "; the run has ", resolved.rounds));
    }
    std::vector<std::vector<float>*> carried = state->strategy->carried_state();
    if (carried.size() != resume->strategy_state.size()) {
      return absl::FailedPreconditionError("the checkpoint's strategy state does not match");
    }
    for (size_t b = 0; b < carried.size(); ++b) *carried[b] = std::move(resume->strategy_state[b]);
    state->global = std::move(resume->global);
    TRIB_RETURN_IF_ERROR(state->downlink->Restore(resume->public_model, resume->public_version));
    coordinator->first_round_ = resume->round + 1;
    coordinator->resumed_ = true;
    coordinator->bytes_up_total_ = resume->bytes_up_total;
    coordinator->bytes_down_total_ = resume->bytes_down_total;
    coordinator->examples_trained_total_ = resume->examples_trained_total;
    coordinator->counters_.rounds_completed = resume->round;
  }
  coordinator->state_ = std::move(state);
  return coordinator;
}

absl::StatusOr<Coordinator::Registration> Coordinator::Register(uint32_t client,
                                                                int64_t num_examples) {
  if (client >= static_cast<uint32_t>(config_.partition.num_clients)) {
    return absl::InvalidArgumentError(absl::StrCat("client id ", client, " >= data.num_clients"));
  }
  if (num_examples < 1) {
    return absl::InvalidArgumentError("a client must hold at least one training example");
  }
  std::lock_guard lock(mu_);
  registered_[client] = num_examples;
  // A client registers again only after losing its connection, and with it the round's work.
  auto it = participants_.find(client);
  if (round_open_ && it != participants_.end() && it->second.stage == Stage::kTraining) {
    it->second.stage = Stage::kFailed;
    std::printf("round %d: client %u dropped: reconnected mid-round\n", round_, client);
    std::fflush(stdout);
  }
  counters_.registrations++;
  counters_.registered_clients = static_cast<int>(registered_.size());
  progress_.notify_all();
  return Registration{.initial_model_checksum = state_->initial_checksum,
                      .rounds_completed = static_cast<int>(counters_.rounds_completed)};
}

absl::StatusOr<std::optional<ClientTask>> Coordinator::WaitForTask(
    uint32_t client, int64_t held_version, const std::function<bool()>& cancelled) {
  std::unique_lock lock(mu_);
  if (!registered_.contains(client)) {
    return absl::FailedPreconditionError("register before asking for a round");
  }
  while (true) {
    if (finished_) return std::optional<ClientTask>();
    auto it = participants_.find(client);
    if (round_open_ && it != participants_.end() && it->second.stage == Stage::kSelected) {
      it->second.stage = Stage::kTraining;
      ClientTask task{.round = round_,
                      .download = state_->downlink->SyncClientFrom(client, held_version, true)};
      metrics_.bytes_down += task.download.bytes;
      metrics_.downlink_resyncs += task.download.full_resync;
      return std::optional<ClientTask>(std::move(task));
    }
    if (cancelled()) return absl::CancelledError("the client went away");
    round_opened_.wait_for(lock, std::chrono::milliseconds(100));
  }
}

absl::Status Coordinator::BeginUpload(uint32_t client, int round) {
  std::lock_guard lock(mu_);
  auto it = participants_.find(client);
  if (!round_open_ || round != round_ || it == participants_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no upload expected from client ", client, " for round ", round,
                     round_open_ ? absl::StrCat(" (round ", round_, " is open)")
                                 : std::string(" (no round is open)")));
  }
  if (it->second.stage != Stage::kTraining) {
    return absl::FailedPreconditionError(
        absl::StrCat("client ", client, " already answered round ", round));
  }
  it->second.stage = Stage::kUploading;
  ++in_flight_uploads_;
  return absl::OkStatus();
}

absl::Status Coordinator::SubmitUpdate(const ClientReport& report, const Payload& payload) {
  // BeginUpload() admitted this upload and the round waits for it before closing, so the
  // strategy is still collecting this round.
  ModelState scratch = state_->global.ZerosLike();
  const ClientUpdate update{
      .client_id = report.client, .delta = &scratch, .num_examples = report.num_examples};
  // Far above any honest round, and keeps the run's total from overflowing.
  constexpr int64_t kMaxExamplesProcessed = int64_t{1} << 32;
  absl::Status accepted =
      report.examples_processed < 0 || report.examples_processed > kMaxExamplesProcessed
          ? absl::InvalidArgumentError(
                absl::StrCat("examples_processed ", report.examples_processed, " out of range"))
          : AccumulateUpdate(*state_->uplink, payload, update, state_->no_local_layers, nullptr,
                             scratch, *state_->strategy, state_->strategy_mutex);
  std::lock_guard lock(mu_);
  Participant& participant = participants_[report.client];
  participant.uploaded_bytes = static_cast<int64_t>(payload.size());
  participant.report = report;
  participant.stage = accepted.ok() ? Stage::kAccepted : Stage::kRejected;
  metrics_.bytes_up += static_cast<int64_t>(payload.size());
  if (!accepted.ok()) {
    counters_.rejected_uploads++;
    std::fprintf(stderr, "round %d: client %u rejected: %s\n", report.round, report.client,
                 std::string(accepted.message()).c_str());
  }
  --in_flight_uploads_;
  progress_.notify_all();
  return accepted;
}

void Coordinator::ClientFailed(uint32_t client, int round, int64_t bytes,
                               const std::string& reason) {
  std::lock_guard lock(mu_);
  auto it = participants_.find(client);
  if (round != round_ || it == participants_.end()) return;
  if (it->second.stage == Stage::kUploading) {
    --in_flight_uploads_;
    counters_.partial_uploads++;
  }
  if (it->second.stage == Stage::kAccepted || it->second.stage == Stage::kRejected) return;
  it->second.stage = Stage::kFailed;
  metrics_.bytes_up += bytes;
  std::printf("round %d: client %u dropped: %s\n", round, client, reason.c_str());
  std::fflush(stdout);
  progress_.notify_all();
}

bool Coordinator::RoundSettled() const {
  int accepted = 0;
  bool all_answered = true;
  for (const auto& [client, p] : participants_) {
    accepted += p.stage == Stage::kAccepted;
    all_answered &=
        p.stage == Stage::kAccepted || p.stage == Stage::kRejected || p.stage == Stage::kFailed;
  }
  return all_answered || accepted >= config_.clients_per_round;
}

absl::Status Coordinator::WaitForClients() {
  const int wanted =
      options_.wait_for_clients > 0 ? options_.wait_for_clients : config_.clients_per_round;
  const auto until =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(options_.wait_timeout_seconds));
  std::unique_lock lock(mu_);
  std::printf("waiting for %d clients to register\n", wanted);
  std::fflush(stdout);
  while (static_cast<int>(registered_.size()) < wanted && !stop_requested_) {
    if (progress_.wait_until(lock, until) == std::cv_status::timeout &&
        static_cast<int>(registered_.size()) < wanted) {
      return absl::DeadlineExceededError(absl::StrCat("only ", registered_.size(), " of ", wanted,
                                                      " clients registered within ",
                                                      options_.wait_timeout_seconds, " s"));
    }
  }
  return absl::OkStatus();
}

absl::Status Coordinator::Evaluate(RoundMetrics& metrics) {
  State& s = *state_;
  TRIB_ASSIGN_OR_RETURN(EvalResult total,
                        EvaluateInChunks(*s.pool, s.evaluators, s.global, *s.test_data));
  RecordEvaluation(config_, total, metrics);
  counters_.last_test_accuracy = total.accuracy();
  return absl::OkStatus();
}

Checkpoint Coordinator::MakeCheckpoint(int round) const {
  Checkpoint checkpoint{.round = round,
                        .config_fingerprint = state_->config_fingerprint,
                        .bytes_up_total = bytes_up_total_,
                        .bytes_down_total = bytes_down_total_,
                        .examples_trained_total = examples_trained_total_,
                        .global = state_->global,
                        .public_model = state_->downlink->public_model(),
                        .public_version = state_->downlink->current_version()};
  for (const std::vector<float>* buffer : state_->strategy->carried_state()) {
    checkpoint.strategy_state.push_back(*buffer);
  }
  return checkpoint;
}

void Coordinator::Stop() {
  std::lock_guard lock(mu_);
  stop_requested_ = true;
  progress_.notify_all();
  round_opened_.notify_all();
}

absl::Status Coordinator::Run(
    const std::function<absl::Status(const RoundMetrics&, const Checkpoint&)>& on_round) {
  // However the run ends, waiting clients learn that it did.
  absl::Cleanup finish = [this] {
    std::lock_guard lock(mu_);
    finished_ = true;
    progress_.notify_all();
    round_opened_.notify_all();
  };
  TRIB_RETURN_IF_ERROR(WaitForClients());
  if (config_.eval_initial && !resumed_) {
    RoundMetrics initial;  // round 0: the starting model
    if (config_.dataset == "sotu") initial.tokens_trained_total = 0;
    TRIB_RETURN_IF_ERROR(Evaluate(initial));
    TRIB_RETURN_IF_ERROR(on_round(initial, MakeCheckpoint(0)));
  }
  State& s = *state_;
  const int64_t model_bytes = static_cast<int64_t>(s.global.num_bytes());
  const int population = config_.partition.num_clients;
  const int selected_count = std::min(
      population,
      static_cast<int>(std::ceil(config_.clients_per_round * (1.0 + options_.over_selection))));
  for (int round = first_round_; round <= config_.rounds; ++round) {
    const auto start = Clock::now();
    TRIB_ASSIGN_OR_RETURN(std::vector<uint32_t> sampled,
                          SampleClients(population, selected_count, config_.seed, round));
    RoundMetrics metrics;
    std::vector<uint32_t> absent;
    {
      std::unique_lock lock(mu_);
      if (stop_requested_) break;
      int64_t expected_examples = 0;
      participants_.clear();
      for (uint32_t c : sampled) {
        auto it = registered_.find(c);
        Participant& p = participants_[c];
        if (it == registered_.end()) {
          p.stage = Stage::kFailed;  // not connected: out of this round
          absent.push_back(c);
        } else {
          expected_examples += it->second;
        }
      }
      TRIB_RETURN_IF_ERROR(s.strategy->Init(s.global, std::max<int64_t>(expected_examples, 1)));
      metrics_ = RoundMetrics{};
      metrics_.round = round;
      round_ = round;
      round_open_ = true;
      counters_.current_round = round;
      round_opened_.notify_all();
      std::printf("round %d: selected %s%s\n", round, absl::StrJoin(sampled, " ").c_str(),
                  absent.empty()
                      ? ""
                      : absl::StrCat(" (not connected: ", absl::StrJoin(absent, " "), ")").c_str());
      std::fflush(stdout);
      const auto deadline =
          start + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(options_.round_deadline_seconds));
      bool timed_out = false;
      while (!RoundSettled() && !stop_requested_) {
        if (progress_.wait_until(lock, deadline) == std::cv_status::timeout) {
          timed_out = true;
          break;
        }
      }
      round_open_ = false;
      // Uploads already admitted finish (accepted or rejected) before the strategy closes.
      progress_.wait(lock, [&] { return in_flight_uploads_ == 0; });
      metrics = metrics_;
      double loss_sum = 0.0;
      int64_t examples = 0;
      std::vector<uint32_t> joined, dropped;
      for (auto& [client, p] : participants_) {
        switch (p.stage) {
          case Stage::kAccepted:
            ++metrics.clients;
            loss_sum += p.report.mean_loss * p.report.num_examples;
            examples += p.report.num_examples;
            examples_trained_total_ += p.report.examples_processed;
            joined.push_back(client);
            break;
          case Stage::kRejected:
            ++metrics.clients_rejected;
            break;
          case Stage::kFailed:
            ++metrics.clients_dropped;
            dropped.push_back(client);
            break;
          case Stage::kSelected:
          case Stage::kTraining:
          case Stage::kUploading:
            // Still working when the round closed (deadline, or enough updates in).
            ++metrics.stragglers;
            dropped.push_back(client);
            p.stage = Stage::kFailed;
            break;
        }
        if (p.stage == Stage::kAccepted || p.stage == Stage::kRejected) {
          ++metrics.full_clients_trained;
          metrics.train_seconds_full += p.report.train_seconds;
          metrics.bytes_up_per_full_client += p.uploaded_bytes;
        }
      }
      if (metrics.full_clients_trained > 0) {
        metrics.train_seconds_full /= metrics.full_clients_trained;
        metrics.bytes_up_per_full_client /= metrics.full_clients_trained;
      }
      metrics.train_loss = examples > 0 ? loss_sum / examples : 0.0;
      metrics.uplink_compression =
          metrics.bytes_up > 0
              ? static_cast<double>(model_bytes * metrics.full_clients_trained) / metrics.bytes_up
              : 1.0;
      std::printf("round %d: %d accepted [%s], %d dropped [%s]%s\n", round, metrics.clients,
                  absl::StrJoin(joined, " ").c_str(), metrics.clients_dropped + metrics.stragglers,
                  absl::StrJoin(dropped, " ").c_str(), timed_out ? " (deadline)" : "");
      std::fflush(stdout);
    }
    if (metrics.clients >= options_.quorum) {
      TRIB_ASSIGN_OR_RETURN(s.global, s.strategy->Finalize());
    } else {
      std::fprintf(stderr, "round %d: %d accepted updates, quorum %d: the model is unchanged\n",
                   round, metrics.clients, options_.quorum);
    }
    TRIB_RETURN_IF_ERROR(s.downlink->Publish(s.global, config_.seed, round));
    bytes_up_total_ += metrics.bytes_up;
    bytes_down_total_ += metrics.bytes_down;
    metrics.bytes_up_total = bytes_up_total_;
    metrics.bytes_down_total = bytes_down_total_;
    if (config_.dataset == "sotu") {
      metrics.tokens_trained_total = examples_trained_total_ * config_.model.context;
    }
    if (round % config_.eval_every == 0 || round == config_.rounds) {
      TRIB_RETURN_IF_ERROR(Evaluate(metrics));
    }
    metrics.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    counters_.rounds_completed = round;
    counters_.bytes_up_total = bytes_up_total_;
    counters_.bytes_down_total = bytes_down_total_;
    counters_.last_round_seconds = metrics.wall_seconds;
    TRIB_RETURN_IF_ERROR(on_round(metrics, MakeCheckpoint(round)));
  }
  return absl::OkStatus();
}

}  // namespace tributary
