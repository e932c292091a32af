#include "engine/round_engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "aggregate/strategy_registry.h"
#include "common/log.h"
#include "common/status_util.h"
#include "compress/byte_stream.h"
#include "engine/experiment_data.h"
#include "engine/secure_aggregation.h"
#include "engine/technique_registry.h"
#include "sim/client_population.h"
#include "train/compute_threads.h"

namespace tributary {

RoundEngine::~RoundEngine() {
  // The evaluation in flight uses the engine's workers and test data.
  if (last_evaluation_.valid()) last_evaluation_.wait();
}

absl::StatusOr<std::unique_ptr<RoundEngine>> RoundEngine::Create(
    const ExperimentConfig& config, const EngineOptions& options,
    std::shared_ptr<const TensorDataset> test_data) {
  TRIB_RETURN_IF_ERROR(config.Validate());
  auto engine = std::unique_ptr<RoundEngine>(new RoundEngine());
  RoundEngine& e = *engine;
  e.config_ = config;
  e.options_ = options;
  e.test_data_ = std::move(test_data);
  TRIB_ASSIGN_OR_RETURN(e.global_, InitialGlobalModel(config));
  e.initial_checksum_ = e.global_.Checksum();
  TRIB_ASSIGN_OR_RETURN(e.techniques_, CreateTechniques(config, e.global_));
  StrategySpec strategy_spec = config.strategy;
  for (const auto& technique : e.techniques_) technique->AdjustStrategy(strategy_spec);
  TRIB_ASSIGN_OR_RETURN(e.strategy_, CreateStrategy(strategy_spec));
  e.weighting_ = strategy_spec.ResolvedWeighting();
  for (const auto& technique : e.techniques_) {
    e.strategy_ = technique->WrapStrategy(std::move(e.strategy_));
  }
  if (config.ResolvedSampling() == ClientSampling::kPoisson && options.over_selection > 0.0) {
    return absl::InvalidArgumentError(
        "over-selection drops clients from a Poisson-sampled cohort, which changes the sampling "
        "the privacy accountant assumes; use no over-selection with run.sampling = poisson");
  }
  for (const auto& technique : e.techniques_) {
    if (e.aggregator_ == nullptr) e.aggregator_ = technique->aggregator();
  }
  if (const SecAggSpec& secagg = config.plugins.Get<SecAggSpec>(); secagg.enabled) {
    TRIB_RETURN_IF_ERROR(CheckSecureAggregationTechniques(e.techniques_));
    // Over-selection enlarges the cohort past what the config was checked for.
    const int largest = config.ResolvedSampling() == ClientSampling::kPoisson
                            ? config.data.partition.num_clients
                            : std::min(config.data.partition.num_clients,
                                       static_cast<int>(std::ceil(config.run.clients_per_round *
                                                                  (1.0 + options.over_selection))));
    TRIB_RETURN_IF_ERROR(
        ResolveSecAggParams(secagg, largest, e.global_.num_elements(), 0).status());
    e.secagg_ = secagg;
  }
  const int workers = config.ResolvedWorkers();
  ConfigureComputeThreads(config.ResolvedThreadsPerWorker());
  for (int w = 0; w < workers; ++w) {
    TRIB_ASSIGN_OR_RETURN(std::unique_ptr<LocalTrainer> trainer,
                          LocalTrainer::Create(config.model, config.train));
    e.evaluators_.push_back(std::move(trainer));
  }
  e.pool_ = std::make_unique<WorkerPool>(workers, nullptr);
  if (config.compute.eval_threads > 0 && options.evaluate_model) {
    for (int w = 0; w < config.compute.eval_threads; ++w) {
      TRIB_ASSIGN_OR_RETURN(std::unique_ptr<LocalTrainer> trainer,
                            LocalTrainer::Create(config.model, config.train));
      e.eval_trainers_.push_back(std::move(trainer));
    }
    e.eval_pool_ = std::make_unique<WorkerPool>(config.compute.eval_threads, nullptr);
  }
  TRIB_ASSIGN_OR_RETURN(e.uplink_, Pipeline::Parse(config.compress.uplink));
  TRIB_ASSIGN_OR_RETURN(e.fp32_, Pipeline::Parse("fp32"));
  e.server_state_bytes_ = static_cast<int64_t>(e.fp32_->Encode(e.global_.flat(), 0).size());
  TRIB_ASSIGN_OR_RETURN(
      e.downlink_,
      Downlink::Create(e.global_, config.compress.downlink, config.compress.downlink_history,
                       static_cast<size_t>(config.data.partition.num_clients)));
  return engine;
}

std::vector<std::vector<float>*> RoundEngine::CarriedState() const {
  std::vector<std::vector<float>*> carried = strategy_->carried_state();
  for (const auto& technique : techniques_) {
    for (std::vector<float>* buffer : technique->carried_state()) carried.push_back(buffer);
  }
  return carried;
}

absl::Status RoundEngine::Restore(Checkpoint checkpoint) {
  if (checkpoint.round >= config_.run.rounds) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the checkpoint is after round ", checkpoint.round, "; the run has ", config_.run.rounds));
  }
  std::vector<std::vector<float>*> carried = CarriedState();
  if (carried.size() != checkpoint.strategy_state.size()) {
    return absl::FailedPreconditionError("the checkpoint's strategy state does not match");
  }
  for (size_t b = 0; b < carried.size(); ++b) *carried[b] = std::move(checkpoint.strategy_state[b]);
  global_ = std::move(checkpoint.global);
  TRIB_RETURN_IF_ERROR(downlink_->Restore(checkpoint.public_model, checkpoint.public_version));
  first_round_ = checkpoint.round + 1;
  bytes_up_total_ = checkpoint.bytes_up_total;
  bytes_down_total_ = checkpoint.bytes_down_total;
  examples_trained_total_ = checkpoint.examples_trained_total;
  return absl::OkStatus();
}

Checkpoint RoundEngine::MakeCheckpoint(int round) const {
  Checkpoint checkpoint{.round = round,
                        .bytes_up_total = bytes_up_total_,
                        .bytes_down_total = bytes_down_total_,
                        .examples_trained_total = examples_trained_total_,
                        .global = global_,
                        .public_model = downlink_->public_model(),
                        .public_version = downlink_->current_version()};
  for (const std::vector<float>* buffer : CarriedState()) {
    checkpoint.strategy_state.push_back(*buffer);
  }
  return checkpoint;
}

std::vector<uint8_t> RoundEngine::SaveSimulationState() const {
  std::vector<uint8_t> bytes;
  ByteWriter out(&bytes);
  out.Put<double>(sim_time_);
  out.PutBytes(downlink_->SaveState());
  return bytes;
}

absl::Status RoundEngine::RestoreSimulationState(std::span<const uint8_t> bytes) {
  ByteReader in(bytes);
  TRIB_ASSIGN_OR_RETURN(const double sim_time, in.Get<double>());
  if (!(sim_time >= 0.0)) return absl::DataLossError("checkpoint: bad virtual clock");
  TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> downlink, in.GetBytes(in.remaining()));
  TRIB_RETURN_IF_ERROR(downlink_->LoadState(downlink));
  sim_time_ = sim_time;
  return absl::OkStatus();
}

const ModelState* RoundEngine::ServerState() const {
  for (const auto& technique : techniques_) {
    if (const ModelState* state = technique->ServerState()) return state;
  }
  return nullptr;
}

std::vector<double> RoundEngine::RatioScales(int round, std::span<const double> uplink_bps) const {
  std::vector<double> scales(uplink_bps.size(), 1.0);
  for (const auto& technique : techniques_) technique->ScaleRatios(round, uplink_bps, scales);
  return scales;
}

double RoundEngine::ClipNorm() const {
  for (const auto& technique : techniques_) {
    if (std::optional<double> clip = technique->ClipNorm()) return *clip;
  }
  return 0.0;
}

bool RoundEngine::IsSmallClient(uint32_t client) const {
  for (const auto& technique : techniques_) {
    if (technique->IsSmallClient(client)) return true;
  }
  return false;
}

Downlink::Transfer RoundEngine::Download(uint32_t client, std::optional<int64_t> held,
                                         bool with_payload) {
  std::lock_guard lock(mu_);
  Downlink::Transfer transfer = held ? downlink_->SyncClientFrom(client, *held, with_payload)
                                     : downlink_->SyncClient(client, with_payload);
  round_resyncs_ += transfer.kind == Downlink::Kind::kFull;
  round_increments_ += transfer.kind == Downlink::Kind::kIncrements;
  round_grid_catch_ups_ += transfer.kind == Downlink::Kind::kGridCatchUp;
  if (ServerState() != nullptr) transfer.bytes += server_state_bytes_;
  round_bytes_down_ += transfer.bytes;
  round_largest_download_ = std::max(round_largest_download_, transfer.bytes);
  return transfer;
}

std::shared_ptr<const Payload> RoundEngine::ServerStatePayload() {
  const ModelState* state = ServerState();
  if (state == nullptr) return nullptr;
  std::lock_guard lock(mu_);
  if (!server_state_payload_) {
    server_state_payload_ = std::make_shared<const Payload>(fp32_->Encode(state->flat(), 0));
  }
  return server_state_payload_;
}

int64_t RoundEngine::ExpectedWeight(size_t cohort_size, int64_t examples) const {
  const int64_t clients = std::max<int64_t>(static_cast<int64_t>(cohort_size), 1);
  switch (weighting_) {
    case Weighting::kUniform:
      return clients;
    case Weighting::kTokens:
      return config_.train.steps > 0 ? clients * config_.train.steps * config_.train.batch_size
                                     : examples * config_.train.epochs;
    default:
      return examples;
  }
}

absl::StatusOr<int64_t> RoundEngine::WeightOf(const ClientReport& report) const {
  switch (weighting_) {
    case Weighting::kUniform:
      return 1;
    case Weighting::kTokens: {
      // At most what the configured local work allows: steps full batches, or every example
      // once per epoch.
      const int64_t most = config_.train.steps > 0
                               ? int64_t{config_.train.steps} * config_.train.batch_size
                               : report.num_examples * config_.train.epochs;
      if (report.examples_processed < 1 || report.examples_processed > most) {
        return absl::InvalidArgumentError(absl::StrCat("examples_processed ",
                                                       report.examples_processed, " outside [1, ",
                                                       most, "] (strategy.weighting = tokens)"));
      }
      return report.examples_processed;
    }
    default:
      return report.num_examples;
  }
}

RoundEngine::SubmitBuffers RoundEngine::TakeSubmitBuffers() {
  {
    std::lock_guard lock(submit_buffers_mutex_);
    if (!submit_buffers_.empty()) {
      SubmitBuffers kept = std::move(submit_buffers_.back());
      submit_buffers_.pop_back();
      return kept;
    }
  }
  return SubmitBuffers{.delta = global_.ZerosLike(), .decoded = {}};
}

void RoundEngine::KeepSubmitBuffers(SubmitBuffers buffers) {
  std::lock_guard lock(submit_buffers_mutex_);
  if (submit_buffers_.size() < kKeptSubmitBuffers) submit_buffers_.push_back(std::move(buffers));
}

void RoundEngine::PrepareSubmitBuffers(size_t uploads) {
  const size_t wanted = std::min(uploads, kKeptSubmitBuffers);
  for (size_t made = 0; made < wanted; ++made) {
    {
      std::lock_guard lock(submit_buffers_mutex_);
      if (submit_buffers_.size() >= wanted) return;
    }
    KeepSubmitBuffers(SubmitBuffers{.delta = global_.ZerosLike(), .decoded = {}});
  }
}

absl::Status RoundEngine::Submit(const ClientUpload& upload, ModelState* scratch) {
  const ClientReport& report = upload.report;
  TRIB_RETURN_IF_ERROR(CheckClientReport(report));
  bool attachment_expected = false;
  for (const auto& technique : techniques_) attachment_expected |= technique->reads_attachment();
  if (!attachment_expected && !upload.attachment.empty()) {
    return absl::InvalidArgumentError("an upload attachment no technique of this run expects");
  }
  TRIB_ASSIGN_OR_RETURN(const int64_t weight, WeightOf(report));
  if (aggregator_ != nullptr) {
    return aggregator_->Accumulate(upload, weight, global_.num_elements());
  }
  std::optional<SubmitBuffers> owned;
  Update decoded_here;
  Update* decoded = &decoded_here;
  if (scratch == nullptr) {
    owned = TakeSubmitBuffers();
    scratch = &owned->delta;
    decoded = &owned->decoded;
    // A technique decodes into a zeroed delta; the plain decode below zeroes it itself.
    if (!techniques_.empty()) std::fill(scratch->flat().begin(), scratch->flat().end(), 0.0f);
  }
  absl::Cleanup keep_buffers = [&] {
    if (owned.has_value()) KeepSubmitBuffers(*std::move(owned));
  };
  ClientUpdate update{.client_id = report.client, .delta = scratch, .num_examples = weight};
  // A technique that shapes this client's uploads decodes them; else they cover the whole model.
  std::vector<uint32_t> sent;
  std::optional<absl::Status> by_technique;
  for (const auto& technique : techniques_) {
    by_technique =
        technique->DecodeUpdate(report.client, *uplink_, upload.update, *scratch, sent, update);
    if (by_technique.has_value()) break;
  }
  if (by_technique.has_value()) {
    TRIB_RETURN_IF_ERROR(*by_technique);
  } else if (uplink_->dense()) {
    TRIB_RETURN_IF_ERROR(
        uplink_->DecodeDenseInto(upload.update, scratch->specs(), scratch->flat()));
  } else {
    TRIB_RETURN_IF_ERROR(
        uplink_->DecodeInto(upload.update, scratch->num_elements(), scratch->specs(), *decoded));
    std::fill(scratch->flat().begin(), scratch->flat().end(), 0.0f);
    decoded->AddTo(scratch->flat());
    if (decoded->sparse) update.sent = &decoded->indices;
  }
  ModelState attachment;
  for (const auto& technique : techniques_) {
    TRIB_RETURN_IF_ERROR(technique->DecodeAttachment(upload, *uplink_, attachment));
  }
  std::lock_guard lock(strategy_mutex_);
  TRIB_RETURN_IF_ERROR(strategy_->Accumulate(update));
  for (const auto& technique : techniques_) {
    TRIB_RETURN_IF_ERROR(technique->OnAccepted(upload, attachment));
  }
  return absl::OkStatus();
}

absl::Status RoundEngine::FinishSecureRound(RoundOutcome& outcome, RoundMetrics& metrics) {
  std::unique_ptr<SecAggRoundServer> protocol = std::move(secure_round_);
  absl::StatusOr<SecureSum> sum = protocol->Finish();
  const SecAggCosts costs = protocol->costs();
  SecureAggregationMetrics& m = metrics.secagg.emplace();
  m.messages_refused = costs.refused;
  m.bytes_up = costs.bytes_up;
  for (int s = 0; s < 3; ++s) m.bytes_down[s] = costs.bytes_down[s];
  m.server_seconds = costs.server_seconds;
  for (int s = 0; s < kSecAggStages; ++s) {
    int taking_part = 0;
    for (const ClientRecord& record : outcome.records) {
      if (record.protocol_seconds[s] <= 0.0) continue;
      m.client_seconds[s] += record.protocol_seconds[s];
      ++taking_part;
    }
    if (taking_part > 0) m.client_seconds[s] /= taking_part;
  }
  for (int64_t bytes : m.bytes_down) metrics.bytes_down += bytes;
  if (!sum.ok()) {
    m.abandoned = true;
    LogWarning("round %d: %s", metrics.round, std::string(sum.status().message()).c_str());
    for (ClientRecord& record : outcome.records) {
      if (record.fate != ClientFate::kAccepted) continue;
      record.fate = ClientFate::kRejected;
      record.error = std::string(sum.status().message());
    }
    return absl::OkStatus();
  }
  // The channel accepted exactly the clients whose masked input the protocol took (U3).
  std::vector<uint32_t> accepted;
  for (const ClientRecord& record : outcome.records) {
    if (record.fate == ClientFate::kAccepted) accepted.push_back(record.client);
  }
  std::sort(accepted.begin(), accepted.end());
  std::vector<uint32_t> summed = sum->clients;
  std::sort(summed.begin(), summed.end());
  if (accepted != summed) {
    return absl::InternalError(absl::StrCat("round ", metrics.round, ": the channel accepted ",
                                            accepted.size(), " clients, the secure sum holds ",
                                            summed.size()));
  }
  const int64_t count = static_cast<int64_t>(summed.size());
  m.clients_summed = static_cast<int>(count);
  const Update& pattern = secure_pattern_;
  if (sum->sum.size() != pattern.indices.size()) {
    return absl::InternalError(absl::StrCat("round ", metrics.round, ": a secure sum of ",
                                            sum->sum.size(), " values for ", pattern.indices.size(),
                                            " coordinates"));
  }
  // A sketch uplink's aggregator takes the mean table; a strategy, the mean update.
  if (aggregator_ != nullptr) {
    std::vector<float> mean_table(pattern.indices.size());
    for (size_t j = 0; j < mean_table.size(); ++j) {
      mean_table[j] = sum->sum[j] * pattern.values[j] / static_cast<float>(count);
    }
    return aggregator_->AccumulateSecureMean(mean_table, count);
  }
  ModelState mean = global_.ZerosLike();
  std::span<float> flat = mean.flat();
  for (size_t j = 0; j < pattern.indices.size(); ++j) {
    flat[pattern.indices[j]] = sum->sum[j] * pattern.values[j] / static_cast<float>(count);
  }
  std::lock_guard lock(strategy_mutex_);
  return strategy_->Accumulate(
      ClientUpdate{.client_id = 0, .delta = &mean, .num_examples = count, .summed = count});
}

void RoundEngine::Tally(const RoundOutcome& outcome, RoundMetrics& metrics) {
  double loss_sum = 0.0;
  int64_t examples = 0;
  int uploads = 0;
  int64_t largest_upload = 0;
  for (const ClientRecord& record : outcome.records) {
    metrics.bytes_up += record.bytes_up;
    largest_upload = std::max(largest_upload, record.bytes_up);
    if (record.uploaded) {
      ++uploads;
      const bool small = IsSmallClient(record.client);
      (small ? metrics.small_clients_trained : metrics.full_clients_trained)++;
      (small ? metrics.train_seconds_small : metrics.train_seconds_full) +=
          record.report.train_seconds;
      (small ? metrics.bytes_up_per_small_client : metrics.bytes_up_per_full_client) +=
          record.bytes_up;
    }
    switch (record.fate) {
      case ClientFate::kDropped:
        ++metrics.clients_dropped;
        break;
      case ClientFate::kStraggler:
        ++metrics.stragglers;
        break;
      case ClientFate::kRejected:
        ++metrics.clients_rejected;
        LogWarning("round %d: client %u rejected: %s", metrics.round, record.client,
                   record.error.c_str());
        break;
      case ClientFate::kAccepted:
        ++metrics.clients;
        metrics.accepted_clients.push_back(record.client);
        loss_sum += record.report.mean_loss * record.report.num_examples;
        examples += record.report.num_examples;
        examples_trained_total_ += record.report.examples_processed;
        break;
    }
  }
  std::sort(metrics.accepted_clients.begin(), metrics.accepted_clients.end());
  metrics.client_bytes_peak += largest_upload;
  if (metrics.full_clients_trained > 0) {
    metrics.train_seconds_full /= metrics.full_clients_trained;
    metrics.bytes_up_per_full_client /= metrics.full_clients_trained;
  }
  if (metrics.small_clients_trained > 0) {
    metrics.train_seconds_small /= metrics.small_clients_trained;
    metrics.bytes_up_per_small_client /= metrics.small_clients_trained;
  }
  metrics.train_loss = examples > 0 ? loss_sum / examples : 0.0;
  // Every payload sent counts, aggregated or not (a rejected update still crossed the wire).
  const int64_t model_bytes = static_cast<int64_t>(global_.num_bytes());
  metrics.uplink_compression =
      metrics.bytes_up > 0 ? static_cast<double>(model_bytes * uploads) / metrics.bytes_up : 1.0;
  metrics.sim_seconds = outcome.virtual_seconds;
  sim_time_ += outcome.virtual_seconds;
  metrics.sim_time_seconds = sim_time_;
}

absl::Status RoundEngine::Evaluate(RoundMetrics& metrics) {
  if (eval_pool_ != nullptr) {
    StartEvaluation(metrics);
    return absl::OkStatus();
  }
  const auto start = std::chrono::steady_clock::now();
  TRIB_ASSIGN_OR_RETURN(EvalResult total,
                        EvaluateInChunks(*pool_, evaluators_, global_, *test_data_));
  RecordTestEvaluation(
      ToTestEvaluation(
          config_, total,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()),
      metrics);
  return absl::OkStatus();
}

void RoundEngine::StartEvaluation(RoundMetrics& metrics) {
  auto model = std::make_shared<const ModelState>(global_);
  std::shared_future<absl::StatusOr<TestEvaluation>> previous = last_evaluation_;
  last_evaluation_ =
      std::async(
          std::launch::async,
          [this, model = std::move(model),
           previous = std::move(previous)]() -> absl::StatusOr<TestEvaluation> {
            if (previous.valid()) previous.wait();
            const auto start = std::chrono::steady_clock::now();
            TRIB_ASSIGN_OR_RETURN(EvalResult total, EvaluateInChunks(*eval_pool_, eval_trainers_,
                                                                     *model, *test_data_));
            return ToTestEvaluation(
                config_, total,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
          })
          .share();
  metrics.pending_evaluation = last_evaluation_;
}

void RoundEngine::SetTrainingTotals(RoundMetrics& metrics) const {
  const bool zeroth_order = config_.train.optimizer == OptimizerKind::kZerothOrder;
  metrics.tokens_trained_total = examples_trained_total_ * config_.model.context;
  metrics.forward_passes_total = examples_trained_total_ * (zeroth_order ? 2 : 1);
  metrics.backward_passes_total = zeroth_order ? 0 : examples_trained_total_;
}

absl::Status RoundEngine::Run(ClientChannel& channel,
                              const std::function<absl::Status(const RoundMetrics&)>& on_round) {
  if (config_.run.eval_initial && first_round_ == 1) {
    RoundMetrics initial;  // round 0: the starting model
    if (options_.evaluate_model) TRIB_RETURN_IF_ERROR(Evaluate(initial));
    if (IsTextRun(config_)) SetTrainingTotals(initial);
    TRIB_RETURN_IF_ERROR(on_round(initial));
  }
  const int population = config_.data.partition.num_clients;
  const int selected_count = std::min(
      population,
      static_cast<int>(std::ceil(config_.run.clients_per_round * (1.0 + options_.over_selection))));
  const bool poisson = config_.ResolvedSampling() == ClientSampling::kPoisson;
  auto stop_before = [&](int round) {
    std::optional<std::string> stop;
    for (const auto& technique : techniques_) {
      if (!stop) stop = technique->StopBefore(round);
    }
    return stop;
  };
  for (int round = first_round_; round <= config_.run.rounds; ++round) {
    const auto start = std::chrono::steady_clock::now();
    if (std::optional<std::string> stop = stop_before(round)) {
      LogWarning("%s", *stop);
      break;
    }
    std::vector<uint32_t> cohort;
    const RecordedRound* recorded = nullptr;
    if (options_.replay != nullptr) {
      auto it = options_.replay->find(round);
      if (it == options_.replay->end()) {
        return absl::NotFoundError(absl::StrCat("the replayed run has no round ", round));
      }
      recorded = &it->second;
      for (uint32_t client : recorded->accepted_clients) {
        if (client >= static_cast<uint32_t>(population)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "the replayed round ", round, " names client ", client, " of ", population));
        }
      }
      cohort = recorded->accepted_clients;
    } else if (poisson) {
      cohort = SamplePoisson(population, config_.SamplingRate(), config_.run.seed, round);
    } else {
      TRIB_ASSIGN_OR_RETURN(cohort,
                            SampleClients(population, selected_count, config_.run.seed, round));
    }
    const std::optional<int64_t> expected_examples = channel.PrepareRound(round, cohort);
    if (!expected_examples.has_value()) break;  // asked to stop
    const int64_t expected =
        recorded != nullptr && recorded->expected_weight > 0
            ? recorded->expected_weight
            : ExpectedWeight(cohort.size(), std::max<int64_t>(*expected_examples, 1));
    TRIB_RETURN_IF_ERROR(aggregator_ != nullptr ? aggregator_->Init(expected)
                                                : strategy_->Init(global_, expected));
    {
      std::lock_guard lock(mu_);
      round_bytes_down_ = 0;
      round_largest_download_ = 0;
      round_resyncs_ = 0;
      round_increments_ = 0;
      round_grid_catch_ups_ = 0;
      server_state_payload_.reset();
    }
    RoundMetrics metrics;
    metrics.round = round;
    metrics.expected_weight = expected;
    for (const auto& technique : techniques_) technique->OnRoundStart(cohort, metrics);
    RoundOutcome outcome;
    if (secagg_.has_value()) {
      secure_pattern_ = SecureInputPattern(*uplink_, config_.run.seed, round, global_.specs());
      absl::StatusOr<std::unique_ptr<SecAggRoundServer>> protocol =
          SecAggRoundServer::Create(*secagg_, cohort, secure_pattern_.indices.size(),
                                    SecAggGraphSeed(config_.run.seed, round));
      if (protocol.ok()) {
        secure_round_ = *std::move(protocol);
      } else {
        // A sampled cohort too small for the protocol (Poisson sampling): no client can take
        // part securely, so none trains.
        for (uint32_t client : cohort) {
          outcome.records.push_back({.client = client,
                                     .fate = ClientFate::kRejected,
                                     .error = std::string(protocol.status().message())});
        }
        metrics.secagg = SecureAggregationMetrics{.abandoned = true};
      }
    }
    if (!secagg_.has_value() || secure_round_ != nullptr) {
      TRIB_ASSIGN_OR_RETURN(outcome, channel.RunRound(round, *this));
    }
    if (secure_round_ != nullptr) TRIB_RETURN_IF_ERROR(FinishSecureRound(outcome, metrics));
    {
      std::lock_guard lock(mu_);
      metrics.bytes_down += round_bytes_down_;  // after the secure protocol's replies
      metrics.client_bytes_peak = round_largest_download_;
      metrics.downlink_resyncs = round_resyncs_;
      metrics.downlink_increments = round_increments_;
      metrics.downlink_grid_catch_ups = round_grid_catch_ups_;
    }
    Tally(outcome, metrics);
    const bool step = metrics.clients >= options_.quorum;
    if (step) {
      TRIB_ASSIGN_OR_RETURN(global_, aggregator_ != nullptr
                                         ? aggregator_->Finalize(std::move(global_))
                                         : strategy_->Finalize());
    }
    for (const auto& technique : techniques_) technique->OnRoundEnd(step, metrics);
    if (!step) {
      LogWarning("round %d: %d accepted updates, quorum %d: the model is unchanged", round,
                 metrics.clients, options_.quorum);
    }
    std::optional<ModelSpan> span;
    for (const auto& technique : techniques_) {
      if (!span) span = technique->DownlinkSpan(round, global_.num_elements());
    }
    TRIB_RETURN_IF_ERROR(downlink_->Publish(global_, config_.run.seed, round, span));
    bytes_up_total_ += metrics.bytes_up;
    bytes_down_total_ += metrics.bytes_down;
    metrics.bytes_up_total = bytes_up_total_;
    metrics.bytes_down_total = bytes_down_total_;
    if (IsTextRun(config_)) SetTrainingTotals(metrics);
    // The last round is evaluated, also when a technique ends the run early (a privacy budget).
    const bool last = round == config_.run.rounds || stop_before(round + 1).has_value();
    if (round % config_.run.eval_every == 0 || last) {
      if (options_.evaluate_model) TRIB_RETURN_IF_ERROR(Evaluate(metrics));
      TRIB_ASSIGN_OR_RETURN(metrics.client_accuracy, channel.EvaluateClients(global_));
    }
    metrics.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    TRIB_RETURN_IF_ERROR(on_round(metrics));
  }
  return absl::OkStatus();
}

}  // namespace tributary
