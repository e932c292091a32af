#include "run/simulation.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/huge_pages.h"
#include "common/log.h"
#include "common/status_util.h"
#include "compress/byte_stream.h"
#include "dist/client_ownership.h"
#include "dist/communicator.h"
#include "engine/checkpoint.h"
#include "engine/client_step.h"
#include "engine/experiment_data.h"
#include "engine/round_engine.h"
#include "engine/secure_aggregation.h"
#include "engine/techniques/streaming_fragments.h"
#include "run/checksummed_stream.h"
#include "run/client_state_spill.h"
#include "run/round_share.h"
#include "secagg/secagg_round.h"
#include "sim/system_model.h"

namespace tributary {
namespace {

// Per-client evaluation spreads the clients over this many tasks.
constexpr int kEvalChunks = 8;

// Whether a client's memory holds nothing (as when it never trained).
bool IsEmpty(const ClientMemory& memory) {
  return memory.codec.residual.empty() && memory.codec.low_rank_q.empty() &&
         memory.optimizer.first.empty() && memory.optimizer.second.empty() &&
         std::all_of(memory.techniques.begin(), memory.techniques.end(),
                     [](const auto& state) { return state == nullptr; });
}

// What a client's round costs to train, for balancing the ranks: the examples it processes.
double ExpectedTrainingCost(const TrainOptions& train, size_t examples) {
  if (train.steps > 0) return static_cast<double>(train.steps) * train.batch_size;
  return static_cast<double>(train.epochs) * static_cast<double>(examples);
}

}  // namespace

// The simulator's client channel: every client of the population lives here as its example list
// and its ClientMemory; a round's clients train on the engine's workers, one workspace each.
class Simulation::VirtualClients final : public ClientChannel {
 public:
  static absl::StatusOr<std::unique_ptr<VirtualClients>> Create(const ExperimentConfig& config,
                                                                const SimulationOptions& options);

  std::optional<int64_t> PrepareRound(int round, std::span<const uint32_t> cohort) override;
  absl::StatusOr<RoundOutcome> RunRound(int round, RoundServer& server) override;
  absl::StatusOr<std::optional<double>> EvaluateClients(const ModelState& global) override;

  std::optional<std::string> WhyNoCheckpoints() const;
  absl::Status WriteCheckpoint(const std::string& path, int round, uint64_t fingerprint) const;
  absl::StatusOr<int> Resume(const std::string& path, uint64_t fingerprint);

  RoundEngine& engine() { return *engine_; }
  const ClientPopulation& population() const { return *population_; }
  const ClientMemory& memory(uint32_t client) const { return memories_.at(client); }

 private:
  // More than one rank: this one trains only the clients it owns, and of the round's cohort the
  // positions it was given.
  bool distributed() const { return ranks_ != nullptr; }
  bool Owns(uint32_t client) const { return !distributed() || owner_[client] == ranks_->rank(); }
  bool TrainsPosition(size_t position) const {
    return !distributed() || cohort_owner_[position] == ranks_->rank();
  }
  // Distributed: shares this rank's records and uploads with the others, takes theirs, submits
  // every upload to the engine, then settles the memories of the clients this rank trained.
  absl::Status ExchangeAndSubmit(RoundServer& server, RoundOutcome& outcome);
  // Distributed: every rank's per-client evaluations of its own clients, on every rank.
  absl::Status GatherClientEvaluations(std::vector<absl::StatusOr<EvalResult>>& results);

  // The client at `position` of the cohort: its round on worker `worker`, written into
  // `record`; its memory keeps the round only if the upload was accepted (ClientStep::Settle).
  void TrainClient(int round, size_t position, int64_t downloaded_bytes, double ratio_scale,
                   RoundServer& server, int worker, ClientRecord& record);
  void RunClient(int round, size_t position, int64_t downloaded_bytes, double ratio_scale,
                 RoundServer& server, ClientWorkspace& workspace, ClientMemory& memory,
                 ClientRecord& record);
  // Resume() from one file (the newest or the previous one).
  absl::StatusOr<int> ResumeFrom(const std::string& path, uint64_t fingerprint);
  // The round of the checkpoint at `path`, once its checksum and header are checked.
  absl::StatusOr<int> CheckpointRound(const std::string& path, uint64_t fingerprint) const;

  // Hands an upload to the server: as it is, or under secure aggregation as the client's masked
  // input. Sets the record's fate, and bytes_up to what was sent.
  void SendUpload(int round, size_t position, ClientStepResult& step, int64_t downloaded_bytes,
                  RoundServer& server, ClientWorkspace& workspace, ClientRecord& record);

  // Secure aggregation: the stages before training (advertise and share keys) and after the
  // masked inputs (unmasking), each client's messages going through its own protocol client.
  void RunStagesBeforeTraining(int round, SecAggRoundServer& protocol, RoundOutcome& outcome);
  void RunUnmasking(int round, SecAggRoundServer& protocol, RoundOutcome& outcome);
  // Whether the client at `position` is still in the protocol; if not, records it as dropped.
  bool StillInProtocol(int round, size_t position, SecAggStage stage, ClientRecord& record);

  ExperimentConfig config_;
  std::shared_ptr<const TensorDataset> train_data_;
  std::unique_ptr<ClientPopulation> population_;
  std::vector<ClientIndices> holdout_;  // per client, when data.client_holdout > 0
  std::optional<SystemModel> system_;
  std::unique_ptr<RoundEngine> engine_;
  std::unique_ptr<ClientStep> step_;
  std::vector<ClientWorkspace> workspaces_;  // one per worker
  std::vector<ClientMemory> memories_;       // one per client
  std::unique_ptr<ClientStateSpill> spill_;  // keeps memories_ within compute.client_state_mb
  // The prepared round.
  std::vector<uint32_t> cohort_;
  std::vector<uint32_t> trained_here_;  // the cohort's clients this process trains
  std::vector<Availability> availability_;
  // Secure aggregation: each cohort member's protocol client, while it takes part.
  std::vector<std::optional<SecAggRoundClient>> secure_clients_;
  // Distributed simulation only.
  Communicator* ranks_ = nullptr;
  std::vector<int> owner_;  // per client, its rank
  // Clients keep no state between rounds (ClientStep::KeepsClientState): each round's cohort is
  // balanced over the ranks afresh instead of following owner_.
  bool balance_each_round_ = false;
  std::vector<int> cohort_owner_;  // per cohort position, the rank that trains it
  // Per cohort position, until the exchange: whether its upload awaits the engine (bytes, not
  // bits: workers set them concurrently), the upload, and the memory the client had before the
  // round (to settle once its fate is known). The upload and share buffers are reused round
  // after round: fresh pages cost more here than the copies themselves.
  std::vector<uint8_t> awaiting_;
  std::vector<ClientUpload> uploads_;
  std::vector<std::optional<ClientMemory>> rollback_;
  std::vector<uint8_t> share_;                  // this rank's
  std::vector<std::vector<uint8_t>> received_;  // the other ranks'
};

absl::StatusOr<std::unique_ptr<Simulation::VirtualClients>> Simulation::VirtualClients::Create(
    const ExperimentConfig& config, const SimulationOptions& options) {
  TRIB_RETURN_IF_ERROR(config.Validate());
  auto clients = std::make_unique<VirtualClients>();
  VirtualClients& v = *clients;
  v.config_ = config;
  TRIB_ASSIGN_OR_RETURN(ExperimentData data, LoadExperimentData(config));
  v.config_.model = data.model;
  if (config.data.client_holdout > 0.0) {
    v.holdout_ = SplitHoldout(data.partitions, config.data.client_holdout, config.run.seed);
  }
  v.population_ = std::make_unique<ClientPopulation>(std::move(data.partitions));
  SystemSpec system = config.system;
  system.overlap_transfers = config.plugins.Get<StreamingOptions>().overlap;
  TRIB_ASSIGN_OR_RETURN(v.system_,
                        SystemModel::Create(system, v.population_->size(), config.run.seed));
  v.train_data_ = std::move(data.train);
  TRIB_ASSIGN_OR_RETURN(
      v.engine_, RoundEngine::Create(v.config_,
                                     EngineOptions{.replay = options.replay,
                                                   .evaluate_model = options.ranks == nullptr ||
                                                                     options.ranks->rank() == 0},
                                     data.test));
  TRIB_ASSIGN_OR_RETURN(v.step_, ClientStep::Create(v.config_, v.engine_->global_model()));
  for (int w = 0; w < v.engine_->pool().size(); ++w) {
    TRIB_ASSIGN_OR_RETURN(ClientWorkspace workspace, v.step_->NewWorkspace());
    v.workspaces_.push_back(std::move(workspace));
  }
  v.memories_.resize(v.population_->size());
  if (!config.compute.spill_dir.empty() &&
      !std::filesystem::is_directory(config.compute.spill_dir)) {
    return absl::InvalidArgumentError(
        absl::StrCat("compute.spill_dir: ", config.compute.spill_dir, " is not a folder"));
  }
  v.spill_ = std::make_unique<ClientStateSpill>(config.compute.client_state_mb << 20,
                                                config.compute.spill_dir, v.memories_.size());
  if (options.ranks != nullptr && options.ranks->size() > 1) {
    if (config.plugins.Get<SecAggSpec>().enabled) {
      return absl::InvalidArgumentError(
          "secagg.enabled: secure aggregation does not run over several ranks yet (docs/scale.md)");
    }
    v.ranks_ = options.ranks;
    std::vector<double> costs(v.population_->size());
    for (uint32_t c = 0; c < costs.size(); ++c) {
      costs[c] = ExpectedTrainingCost(config.train, v.population_->examples(c).size());
    }
    v.owner_ = AssignClientsToRanks(costs, options.ranks->size());
    v.balance_each_round_ = !v.step_->KeepsClientState();
  }
  return clients;
}

std::optional<int64_t> Simulation::VirtualClients::PrepareRound(int round,
                                                                std::span<const uint32_t> cohort) {
  cohort_.assign(cohort.begin(), cohort.end());
  availability_.clear();
  int64_t expected_examples = 0;
  for (uint32_t c : cohort_) {
    expected_examples += static_cast<int64_t>(population_->examples(c).size());
    availability_.push_back(system_->Draw(c, round, config_.run.seed));
  }
  if (distributed()) {
    cohort_owner_.resize(cohort_.size());
    if (balance_each_round_) {
      std::vector<double> costs;
      for (uint32_t c : cohort_) {
        costs.push_back(ExpectedTrainingCost(config_.train, population_->examples(c).size()));
      }
      cohort_owner_ = AssignClientsToRanks(costs, ranks_->size());
    } else {
      for (size_t i = 0; i < cohort_.size(); ++i) cohort_owner_[i] = owner_[cohort_[i]];
    }
  }
  return expected_examples;
}

void Simulation::VirtualClients::TrainClient(int round, size_t position, int64_t downloaded_bytes,
                                             double ratio_scale, RoundServer& server, int worker,
                                             ClientRecord& record) {
  ClientWorkspace& workspace = workspaces_[worker];
  ClientMemory& memory = memories_[cohort_[position]];
  // A spilled client's state is read back while the round trains; RunRound reports a failure.
  if (!spill_->AwaitRestored(cohort_[position]).ok()) return;
  ClientMemory before = step_->CopyForRollback(memory);
  RunClient(round, position, downloaded_bytes, ratio_scale, server, workspace, memory, record);
  if (distributed()) {
    rollback_[position].emplace(std::move(before));  // settled after the exchange
    return;
  }
  step_->Settle(record.fate == ClientFate::kAccepted, std::move(before), memory);
}

void Simulation::VirtualClients::RunClient(int round, size_t position, int64_t downloaded_bytes,
                                           double ratio_scale, RoundServer& server,
                                           ClientWorkspace& workspace, ClientMemory& memory,
                                           ClientRecord& record) {
  const uint32_t client = cohort_[position];
  const ClientTaskInputs task{.round = round,
                              .server_state = server.ServerState(),
                              .ratio_scale = ratio_scale,
                              .clip_norm = server.ClipNorm()};
  absl::StatusOr<ClientStepResult> step =
      step_->Run(client, task, engine_->public_model(), train_data_.get(),
                 population_->examples(client), memory, workspace);
  if (!step.ok()) {
    record.fate = ClientFate::kRejected;
    record.error = std::string(step.status().message());
    return;
  }
  SendUpload(round, position, *step, downloaded_bytes, server, workspace, record);
}

void Simulation::VirtualClients::SendUpload(int round, size_t position, ClientStepResult& step,
                                            int64_t downloaded_bytes, RoundServer& server,
                                            ClientWorkspace& workspace, ClientRecord& record) {
  const uint32_t client = cohort_[position];
  const ClientUpload& upload = step.upload;
  SecAggRoundServer* protocol = server.secure_round();
  // Under secure aggregation what travels is the masked input, built from the shares the server
  // forwarded; the plain upload never leaves the client.
  Bytes masked;
  if (protocol != nullptr) {
    if (!StillInProtocol(round, position, SecAggStage::kMask, record)) return;
    SecAggRoundClient& secure = *secure_clients_[position];
    absl::StatusOr<Bytes> shares = protocol->Reply(SecAggStage::kShare, client);
    absl::StatusOr<std::vector<float>> input =
        shares.ok() ? step_->SecureInput(upload)
                    : absl::StatusOr<std::vector<float>>(shares.status());
    absl::StatusOr<Bytes> message =
        input.ok()
            ? secure.Mask(*shares, *input, SecAggRoundingKey(config_.run.seed, round, client))
            : absl::StatusOr<Bytes>(input.status());
    record.protocol_seconds = secure.seconds();
    if (!message.ok()) {
      secure_clients_[position].reset();
      record.fate = ClientFate::kDropped;  // it cannot go on with the protocol
      record.error = std::string(message.status().message());
      return;
    }
    masked = *std::move(message);
  }
  const int64_t upload_bytes =
      protocol != nullptr ? static_cast<int64_t>(masked.size()) : upload.bytes();
  if (availability_[position] == Availability::kCrashesMidUpload) {
    // Half of it is sent, then the link is gone.
    record.bytes_up +=
        protocol != nullptr ? upload_bytes / 2 : static_cast<int64_t>(upload.update.size()) / 2;
    if (protocol != nullptr) secure_clients_[position].reset();
    return;
  }
  record.report = upload.report;
  record.bytes_up += upload_bytes;
  record.finish_seconds = system_->RoundTrip(
      client, downloaded_bytes, step.train.examples_processed * step.compute_scale, upload_bytes);
  record.uploaded = true;
  if (system_->deadline_seconds() > 0.0 && record.finish_seconds > system_->deadline_seconds()) {
    record.fate = ClientFate::kStraggler;  // the server closed the round without it
    if (protocol != nullptr) secure_clients_[position].reset();
    return;
  }
  absl::Status accepted = absl::OkStatus();
  if (protocol != nullptr) {
    // The report is checked like any upload's: it goes into the round's loss in the clear.
    accepted = CheckClientReport(upload.report);
    if (accepted.ok()) accepted = protocol->Receive(SecAggStage::kMask, client, masked);
    if (!accepted.ok()) secure_clients_[position].reset();
  } else if (distributed()) {
    // Copied into the slot's kept capacity, not moved: the slot's pages stay mapped.
    ClientUpload& slot = uploads_[position];
    slot.report = step.upload.report;
    slot.update.assign(step.upload.update.begin(), step.upload.update.end());
    slot.attachment.assign(step.upload.attachment.begin(), step.upload.attachment.end());
    awaiting_[position] = 1;  // every rank submits it after the exchange
    return;
  } else {
    accepted = server.Submit(upload, &workspace.delta);
  }
  record.fate = accepted.ok() ? ClientFate::kAccepted : ClientFate::kRejected;
  if (!accepted.ok()) record.error = std::string(accepted.message());
}

bool Simulation::VirtualClients::StillInProtocol(int round, size_t position, SecAggStage stage,
                                                 ClientRecord& record) {
  if (!secure_clients_[position].has_value()) {
    record.fate = ClientFate::kDropped;
    return false;
  }
  if (DropsBeforeStage(config_.plugins.Get<SecAggSpec>(), config_.run.seed, round,
                       cohort_[position], stage)) {
    secure_clients_[position].reset();
    record.fate = ClientFate::kDropped;
    record.error = absl::StrCat("dropped out before the secure aggregation stage '",
                                SecAggStageName(stage), "'");
    return false;
  }
  return true;
}

void Simulation::VirtualClients::RunStagesBeforeTraining(int round, SecAggRoundServer& protocol,
                                                         RoundOutcome& outcome) {
  const SecAggSpec& spec = config_.plugins.Get<SecAggSpec>();
  const int n = static_cast<int>(cohort_.size());
  secure_clients_.assign(cohort_.size(), std::nullopt);
  const size_t length = protocol.params().vector_length;
  const uint64_t graph_seed = SecAggGraphSeed(config_.run.seed, round);
  for (size_t i = 0; i < cohort_.size(); ++i) {
    if (availability_[i] == Availability::kDropsOut) continue;  // never connects
    absl::StatusOr<SecAggRoundClient> secure =
        SecAggRoundClient::Create(spec, n, static_cast<uint32_t>(i), length, graph_seed);
    if (!secure.ok()) continue;
    const Bytes keys = secure->Advertise();
    outcome.records[i].bytes_up += static_cast<int64_t>(keys.size());
    if (protocol.Receive(SecAggStage::kAdvertise, cohort_[i], keys).ok()) {
      secure_clients_[i] = *std::move(secure);
    }
  }
  const bool advertised = protocol.Close(SecAggStage::kAdvertise).ok();
  for (size_t i = 0; i < cohort_.size(); ++i) {
    if (!advertised) secure_clients_[i].reset();
    if (!StillInProtocol(round, i, SecAggStage::kShare, outcome.records[i])) continue;
    absl::StatusOr<Bytes> keys = protocol.Reply(SecAggStage::kAdvertise, cohort_[i]);
    absl::StatusOr<Bytes> shares =
        keys.ok() ? secure_clients_[i]->Share(*keys) : absl::StatusOr<Bytes>(keys.status());
    if (!shares.ok()) {
      secure_clients_[i].reset();
      continue;
    }
    outcome.records[i].bytes_up += static_cast<int64_t>(shares->size());
    if (!protocol.Receive(SecAggStage::kShare, cohort_[i], *shares).ok()) {
      secure_clients_[i].reset();
    }
  }
  if (!protocol.Close(SecAggStage::kShare).ok()) {
    for (auto& secure : secure_clients_) secure.reset();
  }
}

void Simulation::VirtualClients::RunUnmasking(int round, SecAggRoundServer& protocol,
                                              RoundOutcome& outcome) {
  if (!protocol.Close(SecAggStage::kMask).ok()) return;  // abandoned: Finish() says why
  for (size_t i = 0; i < cohort_.size(); ++i) {
    ClientRecord& record = outcome.records[i];
    // Its input is in the sum whether or not it stays for the unmasking.
    if (record.fate != ClientFate::kAccepted || !secure_clients_[i].has_value()) continue;
    if (DropsBeforeStage(config_.plugins.Get<SecAggSpec>(), config_.run.seed, round, cohort_[i],
                         SecAggStage::kUnmask)) {
      continue;
    }
    SecAggRoundClient& secure = *secure_clients_[i];
    absl::StatusOr<Bytes> survivors = protocol.Reply(SecAggStage::kMask, cohort_[i]);
    absl::StatusOr<Bytes> shares =
        survivors.ok() ? secure.Unmask(*survivors) : absl::StatusOr<Bytes>(survivors.status());
    record.protocol_seconds = secure.seconds();
    if (!shares.ok()) continue;
    record.bytes_up += static_cast<int64_t>(shares->size());
    protocol.Receive(SecAggStage::kUnmask, cohort_[i], *shares).IgnoreError();
  }
}

absl::Status Simulation::VirtualClients::ExchangeAndSubmit(RoundServer& server,
                                                           RoundOutcome& outcome) {
  size_t bound = 0;  // the share's size at most
  for (size_t i = 0; i < cohort_.size(); ++i) {
    if (!TrainsPosition(i)) continue;
    bound += kSharedClientOverhead + outcome.records[i].error.size();
    if (awaiting_[i]) bound += uploads_[i].update.size() + uploads_[i].attachment.size();
  }
  share_.clear();
  if (share_.capacity() < bound) {
    share_.reserve(bound);
    AdviseHugePages(share_.data(), share_.capacity());
  }
  for (size_t i = 0; i < cohort_.size(); ++i) {
    if (!TrainsPosition(i)) continue;
    AppendSharedClient(static_cast<uint32_t>(i), outcome.records[i],
                       awaiting_[i] ? &uploads_[i] : nullptr, &share_);
  }
  TRIB_RETURN_IF_ERROR(ranks_->AllGather(share_, &received_));
  std::vector<bool> reported(cohort_.size(), false);
  for (size_t i = 0; i < cohort_.size(); ++i) reported[i] = TrainsPosition(i);
  for (int rank = 0; rank < ranks_->size(); ++rank) {
    if (rank == ranks_->rank()) continue;
    absl::StatusOr<std::vector<SharedClientView>> clients = ParseRoundShare(received_[rank]);
    if (!clients.ok()) {
      return absl::DataLossError(
          absl::StrCat("rank ", rank, "'s round share: ", clients.status().message()));
    }
    for (SharedClientView& c : *clients) {
      if (c.position >= cohort_.size() || reported[c.position] ||
          cohort_owner_[c.position] != rank || c.record.client != cohort_[c.position]) {
        return absl::DataLossError(absl::StrCat("rank ", rank, " reported client ", c.record.client,
                                                " at cohort position ", c.position,
                                                ", which is not its to report"));
      }
      reported[c.position] = true;
      outcome.records[c.position] = std::move(c.record);
      if (!c.has_upload) continue;
      ClientUpload& upload = uploads_[c.position];
      upload.report = outcome.records[c.position].report;
      upload.update.assign(c.update.begin(), c.update.end());
      upload.attachment.assign(c.attachment.begin(), c.attachment.end());
      awaiting_[c.position] = 1;
    }
  }
  for (size_t i = 0; i < cohort_.size(); ++i) {
    if (!reported[i]) {
      return absl::DataLossError(absl::StrCat("rank ", cohort_owner_[i], " did not report client ",
                                              cohort_[i], " of the round's cohort"));
    }
  }
  // Aggregation is order-invariant (tensor/order_invariant_sum.h): the workers may submit in
  // any order and every rank reaches the same sum.
  for (size_t i = 0; i < cohort_.size(); ++i) {
    if (!awaiting_[i]) continue;
    engine_->pool().Submit([&, i](int worker) {
      ClientRecord& record = outcome.records[i];
      const absl::Status accepted = server.Submit(uploads_[i], &workspaces_[worker].delta);
      record.fate = accepted.ok() ? ClientFate::kAccepted : ClientFate::kRejected;
      if (!accepted.ok()) record.error = std::string(accepted.message());
    });
  }
  engine_->pool().Wait();
  for (size_t i = 0; i < cohort_.size(); ++i) {
    if (!rollback_[i].has_value()) continue;
    ClientMemory& memory = memories_[cohort_[i]];
    step_->Settle(outcome.records[i].fate == ClientFate::kAccepted, *std::move(rollback_[i]),
                  memory);
    rollback_[i].reset();
    if (balance_each_round_ && !IsEmpty(memory)) {
      return absl::InternalError(
          absl::StrCat("client ", cohort_[i],
                       " kept state from its round although ClientStep said it keeps "
                       "none: a rank balancing each round would lose it"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RoundOutcome> Simulation::VirtualClients::RunRound(int round, RoundServer& server) {
  trained_here_.clear();
  for (size_t i = 0; i < cohort_.size(); ++i) {
    if (TrainsPosition(i)) trained_here_.push_back(cohort_[i]);
  }
  TRIB_RETURN_IF_ERROR(spill_->PrepareRound(trained_here_, memories_));
  RoundOutcome outcome;
  outcome.records.resize(cohort_.size());
  std::vector<int64_t> downloaded(cohort_.size(), 0);
  std::vector<double> uplink_bps(cohort_.size(), 0.0);  // 0 for clients that never connect
  for (size_t i = 0; i < cohort_.size(); ++i) {
    outcome.records[i].client = cohort_[i];
    if (availability_[i] == Availability::kDropsOut) continue;  // never connects
    downloaded[i] = server.Download(cohort_[i], std::nullopt, false).bytes;
    uplink_bps[i] = system_->client(cohort_[i]).uplink_bps;
  }
  const std::vector<double> ratio_scales = server.RatioScales(round, uplink_bps);
  SecAggRoundServer* protocol = server.secure_round();
  secure_clients_.clear();
  if (protocol != nullptr) RunStagesBeforeTraining(round, *protocol, outcome);
  if (distributed()) {
    awaiting_.assign(cohort_.size(), 0);
    uploads_.resize(cohort_.size());  // existing slots keep their capacity
    rollback_.clear();                // ClientMemory is move-only
    rollback_.resize(cohort_.size());
  }
  for (size_t i = 0; i < cohort_.size(); ++i) {
    if (availability_[i] == Availability::kDropsOut || !TrainsPosition(i)) continue;
    // A client that left the protocol before training has nothing to send.
    if (protocol != nullptr && !secure_clients_[i].has_value()) continue;
    engine_->pool().Submit([&, i](int worker) {
      TrainClient(round, i, downloaded[i], ratio_scales[i], server, worker, outcome.records[i]);
    });
  }
  engine_->pool().Wait();
  TRIB_RETURN_IF_ERROR(spill_->FinishReading());
  if (distributed()) TRIB_RETURN_IF_ERROR(ExchangeAndSubmit(server, outcome));
  if (protocol != nullptr) RunUnmasking(round, *protocol, outcome);
  double slowest = 0.0;
  bool cut_off = false;
  for (size_t i = 0; i < cohort_.size(); ++i) {
    ClientRecord& record = outcome.records[i];
    if (availability_[i] != Availability::kAvailable) {
      // Dropped before training, or crashed halfway through its upload (those bytes count).
      record.fate = ClientFate::kDropped;
      continue;
    }
    if (record.fate == ClientFate::kAccepted) slowest = std::max(slowest, record.finish_seconds);
    cut_off |= record.fate == ClientFate::kStraggler;
  }
  // The round ends when its slowest accepted client is in, or at the deadline if it cut anyone
  // off.
  outcome.virtual_seconds = cut_off ? system_->deadline_seconds() : slowest;
  return outcome;
}

// Every client's model (the global model with its own local layers) on its own held-out
// examples; the unweighted mean over clients that hold any.
absl::StatusOr<std::optional<double>> Simulation::VirtualClients::EvaluateClients(
    const ModelState& global) {
  if (holdout_.empty()) return std::nullopt;
  const size_t clients = holdout_.size();
  std::vector<absl::StatusOr<EvalResult>> results(clients, EvalResult{});
  for (int chunk = 0; chunk < kEvalChunks; ++chunk) {
    engine_->pool().Submit([&, chunk](int worker) {
      ClientWorkspace& workspace = workspaces_[worker];
      for (size_t c = clients * chunk / kEvalChunks; c < clients * (chunk + 1) / kEvalChunks; ++c) {
        if (holdout_[c].empty() || !Owns(static_cast<uint32_t>(c))) continue;
        const ModelState& model = step_->PersonalModel(global, memories_[c], workspace);
        results[c] = workspace.trainer->EvaluateExamples(model, *train_data_, holdout_[c]);
      }
    });
  }
  engine_->pool().Wait();
  if (distributed()) TRIB_RETURN_IF_ERROR(GatherClientEvaluations(results));
  double sum = 0.0;
  int counted = 0;
  for (const auto& result : results) {
    TRIB_RETURN_IF_ERROR(result.status());
    if (result->count == 0) continue;
    sum += result->accuracy();
    ++counted;
  }
  return std::optional<double>(counted > 0 ? sum / counted : 0.0);
}

absl::Status Simulation::VirtualClients::GatherClientEvaluations(
    std::vector<absl::StatusOr<EvalResult>>& results) {
  std::vector<uint8_t> mine;
  ByteWriter out(&mine);
  for (uint32_t c = 0; c < results.size(); ++c) {
    if (!Owns(c) || holdout_[c].empty()) continue;
    TRIB_RETURN_IF_ERROR(results[c].status());
    out.Put(c);
    out.Put(results[c]->count);
    out.Put(results[c]->correct);
    out.Put(results[c]->loss_sum);
  }
  std::vector<std::vector<uint8_t>> others;
  TRIB_RETURN_IF_ERROR(ranks_->AllGather(mine, &others));
  for (int rank = 0; rank < ranks_->size(); ++rank) {
    if (rank == ranks_->rank()) continue;
    ByteReader in(others[rank]);
    while (in.remaining() > 0) {
      TRIB_ASSIGN_OR_RETURN(uint32_t c, in.Get<uint32_t>());
      EvalResult result;
      TRIB_ASSIGN_OR_RETURN(result.count, in.Get<int64_t>());
      TRIB_ASSIGN_OR_RETURN(result.correct, in.Get<int64_t>());
      TRIB_ASSIGN_OR_RETURN(result.loss_sum, in.Get<double>());
      if (c >= results.size() || owner_[c] != rank || result.count < 0 || result.correct < 0 ||
          result.correct > result.count) {
        return absl::DataLossError(
            absl::StrCat("rank ", rank, " sent a bad evaluation of client ", c));
      }
      results[c] = result;
    }
  }
  return absl::OkStatus();
}

std::optional<std::string> Simulation::VirtualClients::WhyNoCheckpoints() const {
  if (step_->TechniquesKeepClientState()) {
    return "a technique keeps per-client state (SCAFFOLD's control variates, local layers, "
           "Streaming DiLoCo's worker models) that checkpoints do not hold yet";
  }
  return std::nullopt;
}

namespace {

constexpr char kSimulationCheckpointMagic[8] = {'T', 'R', 'I', 'B', 'S', 'I', 'M', 'C'};
constexpr uint32_t kSimulationCheckpointFormat = 1;
constexpr uint32_t kEndOfClients = ~uint32_t{0};

// A client's carried vectors, in the order a record holds them.
std::array<std::vector<float>*, 4> CarriedVectors(ClientMemory& memory) {
  return {&memory.codec.residual, &memory.codec.low_rank_q, &memory.optimizer.first,
          &memory.optimizer.second};
}
std::array<const std::vector<float>*, 4> CarriedVectors(const ClientMemory& memory) {
  return {&memory.codec.residual, &memory.codec.low_rank_q, &memory.optimizer.first,
          &memory.optimizer.second};
}

absl::Status PutSection(ChecksummedWriter& out, std::span<const uint8_t> bytes) {
  TRIB_RETURN_IF_ERROR(out.Put<uint64_t>(bytes.size()));
  return out.Write(bytes);
}

// Magic, format and the config fingerprint; errors name the file.
absl::Status ReadCheckpointHeader(ChecksummedReader& in, uint64_t fingerprint) {
  const std::string& path = in.path();
  char magic[sizeof(kSimulationCheckpointMagic)];
  TRIB_RETURN_IF_ERROR(in.Read({reinterpret_cast<uint8_t*>(magic), sizeof(magic)}));
  if (std::memcmp(magic, kSimulationCheckpointMagic, sizeof(magic)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a simulation checkpoint"));
  }
  TRIB_ASSIGN_OR_RETURN(const uint32_t format, in.Get<uint32_t>());
  if (format != kSimulationCheckpointFormat) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": checkpoint format ", format, "; this build reads ", kSimulationCheckpointFormat));
  }
  TRIB_ASSIGN_OR_RETURN(const uint64_t stored_fingerprint, in.Get<uint64_t>());
  if (stored_fingerprint != fingerprint) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " belongs to another config; resume with the run's own config.toml"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> GetSection(ChecksummedReader& in) {
  TRIB_ASSIGN_OR_RETURN(const uint64_t size, in.Get<uint64_t>());
  if (size > static_cast<uint64_t>(in.remaining())) {
    return absl::DataLossError(absl::StrCat(in.path(), ": a section runs past the end"));
  }
  std::vector<uint8_t> bytes(size);
  TRIB_RETURN_IF_ERROR(in.Read(bytes));
  return bytes;
}

}  // namespace

// The file: magic, format, config fingerprint, round; the engine's checkpoint
// (engine/checkpoint.h) and simulation state (RoundEngine::SaveSimulationState) as sections;
// then one record per client with carried state (id, optimizer step, its four vectors), an end
// mark, and the checksum (run/checksummed_stream.h).
absl::Status Simulation::VirtualClients::WriteCheckpoint(const std::string& path, int round,
                                                         uint64_t fingerprint) const {
  if (std::optional<std::string> why = WhyNoCheckpoints()) {
    return absl::FailedPreconditionError(*why);
  }
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<ChecksummedWriter> out, ChecksummedWriter::Create(path));
  TRIB_RETURN_IF_ERROR(out->Write({reinterpret_cast<const uint8_t*>(kSimulationCheckpointMagic),
                                   sizeof(kSimulationCheckpointMagic)}));
  TRIB_RETURN_IF_ERROR(out->Put<uint32_t>(kSimulationCheckpointFormat));
  TRIB_RETURN_IF_ERROR(out->Put<uint64_t>(fingerprint));
  TRIB_RETURN_IF_ERROR(out->Put<int32_t>(round));
  TRIB_RETURN_IF_ERROR(PutSection(*out, SerializeCheckpoint(engine_->MakeCheckpoint(round))));
  TRIB_RETURN_IF_ERROR(PutSection(*out, engine_->SaveSimulationState()));
  TRIB_RETURN_IF_ERROR(out->Put<uint64_t>(memories_.size()));
  for (uint32_t c = 0; c < memories_.size(); ++c) {
    // A spilled client's vectors come from the spill file, without disturbing it.
    ClientMemory spilled;
    if (spill_->IsSpilled(c)) TRIB_RETURN_IF_ERROR(spill_->ReadSpilled(c, spilled));
    const ClientMemory& memory = spill_->IsSpilled(c) ? spilled : memories_[c];
    const auto vectors = CarriedVectors(memory);
    const bool carries = memory.optimizer.step != 0 ||
                         std::any_of(vectors.begin(), vectors.end(),
                                     [](const std::vector<float>* v) { return !v->empty(); });
    if (!carries) continue;
    TRIB_RETURN_IF_ERROR(out->Put<uint32_t>(c));
    TRIB_RETURN_IF_ERROR(out->Put<int64_t>(memories_[c].optimizer.step));
    for (const std::vector<float>* vector : vectors) {
      TRIB_RETURN_IF_ERROR(out->Put<uint64_t>(vector->size()));
      TRIB_RETURN_IF_ERROR(out->Write(
          {reinterpret_cast<const uint8_t*>(vector->data()), vector->size() * sizeof(float)}));
    }
  }
  TRIB_RETURN_IF_ERROR(out->Put<uint32_t>(kEndOfClients));
  return out->Commit();
}

absl::StatusOr<int> Simulation::VirtualClients::Resume(const std::string& path,
                                                       uint64_t fingerprint) {
  if (std::optional<std::string> why = WhyNoCheckpoints()) {
    return absl::FailedPreconditionError(absl::StrCat("--resume: ", *why));
  }
  const std::string previous = PreviousVersionPath(path);
  if (distributed()) {
    // Each rank has its own file and the one before it; a crash while they were being written
    // can leave ranks one round apart. The newest round every rank holds is resumed.
    std::vector<uint8_t> mine;
    ByteWriter out(&mine);
    absl::Status refused = absl::OkStatus();  // another config: after the exchange, not before
    for (const std::string& candidate : {path, previous}) {
      absl::StatusOr<int> round = CheckpointRound(candidate, fingerprint);
      if (!round.ok() && absl::IsFailedPrecondition(round.status())) refused = round.status();
      out.Put<int32_t>(round.ok() ? *round : -1);
    }
    std::vector<std::vector<uint8_t>> others;
    TRIB_RETURN_IF_ERROR(ranks_->AllGather(mine, &others));
    TRIB_RETURN_IF_ERROR(refused);
    others[ranks_->rank()] = mine;
    const auto holds = [](const std::vector<uint8_t>& rounds, int32_t round) {
      for (size_t at = 0; at + sizeof(int32_t) <= rounds.size(); at += sizeof(int32_t)) {
        int32_t held;
        std::memcpy(&held, rounds.data() + at, sizeof(held));
        if (held == round) return true;
      }
      return false;
    };
    for (size_t at = 0; at < 2; ++at) {
      int32_t round;
      std::memcpy(&round, mine.data() + at * sizeof(int32_t), sizeof(round));
      if (round < 0) continue;
      const bool everywhere = std::all_of(others.begin(), others.end(),
                                          [&](const auto& theirs) { return holds(theirs, round); });
      if (everywhere) return ResumeFrom(at == 0 ? path : previous, fingerprint);
    }
    return absl::FailedPreconditionError(
        absl::StrCat("--resume: the ranks hold no checkpoint of a common round (", path, " and ",
                     previous, " on each rank; resume with as many ranks as the run had)"));
  }
  absl::StatusOr<int> resumed = ResumeFrom(path, fingerprint);
  if (resumed.ok() || absl::IsFailedPrecondition(resumed.status())) return resumed;
  if (!std::filesystem::exists(previous)) return resumed;
  LogWarning("%s; resuming from the checkpoint before it, %s", resumed.status().message(),
             previous);
  return ResumeFrom(previous, fingerprint);
}

absl::StatusOr<int> Simulation::VirtualClients::CheckpointRound(const std::string& path,
                                                                uint64_t fingerprint) const {
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<ChecksummedReader> in, ChecksummedReader::Open(path));
  TRIB_RETURN_IF_ERROR(ReadCheckpointHeader(*in, fingerprint));
  return in->Get<int32_t>();
}

absl::StatusOr<int> Simulation::VirtualClients::ResumeFrom(const std::string& path,
                                                           uint64_t fingerprint) {
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<ChecksummedReader> in, ChecksummedReader::Open(path));
  TRIB_RETURN_IF_ERROR(ReadCheckpointHeader(*in, fingerprint));
  TRIB_ASSIGN_OR_RETURN(const int32_t round, in->Get<int32_t>());
  TRIB_ASSIGN_OR_RETURN(std::vector<uint8_t> engine_bytes, GetSection(*in));
  TRIB_ASSIGN_OR_RETURN(Checkpoint checkpoint,
                        ParseCheckpoint(engine_bytes, path, engine_->global_model().specs()));
  if (checkpoint.round != round) {
    return absl::DataLossError(absl::StrCat(path, ": the engine's round differs from the file's"));
  }
  TRIB_ASSIGN_OR_RETURN(std::vector<uint8_t> simulation_bytes, GetSection(*in));
  TRIB_ASSIGN_OR_RETURN(const uint64_t clients, in->Get<uint64_t>());
  if (clients != memories_.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " has ", clients, " clients; this run ", memories_.size()));
  }
  // Everything is checked before the engine changes; a client record's failure leaves only
  // client state behind, and the run stops.
  std::vector<bool> seen(memories_.size(), false);
  TRIB_RETURN_IF_ERROR(engine_->Restore(std::move(checkpoint)));
  TRIB_RETURN_IF_ERROR(engine_->RestoreSimulationState(simulation_bytes));
  while (true) {
    TRIB_ASSIGN_OR_RETURN(const uint32_t c, in->Get<uint32_t>());
    if (c == kEndOfClients) break;
    if (c >= memories_.size() || seen[c]) {
      return absl::DataLossError(absl::StrCat(path, ": a bad or repeated client ", c));
    }
    seen[c] = true;
    ClientMemory& memory = memories_[c];
    TRIB_ASSIGN_OR_RETURN(memory.optimizer.step, in->Get<int64_t>());
    for (std::vector<float>* vector : CarriedVectors(memory)) {
      TRIB_ASSIGN_OR_RETURN(const uint64_t count, in->Get<uint64_t>());
      if (count > static_cast<uint64_t>(in->remaining()) / sizeof(float)) {
        return absl::DataLossError(
            absl::StrCat(path, ": client ", c, "'s state runs past the end"));
      }
      vector->resize(count);
      TRIB_RETURN_IF_ERROR(
          in->Read({reinterpret_cast<uint8_t*>(vector->data()), count * sizeof(float)}));
    }
    TRIB_RETURN_IF_ERROR(spill_->Adopt(c, memories_));
  }
  if (in->remaining() != 0) return absl::DataLossError(absl::StrCat(path, ": trailing bytes"));
  return round;
}

Simulation::Simulation(std::unique_ptr<VirtualClients> clients) : clients_(std::move(clients)) {}
Simulation::~Simulation() = default;

absl::StatusOr<std::unique_ptr<Simulation>> Simulation::Create(const ExperimentConfig& config,
                                                               const SimulationOptions& options) {
  if (options.replay != nullptr &&
      (config.system.dropout > 0.0 || config.system.crash_upload > 0.0 ||
       config.system.deadline_seconds > 0.0 ||
       config.plugins.Get<SecAggSpec>().stage_dropout > 0.0)) {
    return absl::InvalidArgumentError(
        "--replay trains exactly the recorded clients: [system] dropout, crash_upload, "
        "deadline_seconds and secagg.stage_dropout must be 0");
  }
  TRIB_ASSIGN_OR_RETURN(std::unique_ptr<VirtualClients> clients,
                        VirtualClients::Create(config, options));
  return std::unique_ptr<Simulation>(new Simulation(std::move(clients)));
}

absl::Status Simulation::Run(const std::function<absl::Status(const RoundMetrics&)>& on_round) {
  return clients_->engine().Run(*clients_, on_round);
}

const ModelState& Simulation::global_model() const { return clients_->engine().global_model(); }
const ClientPopulation& Simulation::population() const { return clients_->population(); }
const ClientMemory& Simulation::client_memory(uint32_t client) const {
  return clients_->memory(client);
}
const ModelState* Simulation::server_state() const { return clients_->engine().ServerState(); }
std::optional<std::string> Simulation::WhyNoCheckpoints() const {
  return clients_->WhyNoCheckpoints();
}
absl::Status Simulation::WriteCheckpoint(const std::string& path, int round,
                                         uint64_t config_fingerprint) const {
  return clients_->WriteCheckpoint(path, round, config_fingerprint);
}
absl::StatusOr<int> Simulation::Resume(const std::string& path, uint64_t config_fingerprint) {
  return clients_->Resume(path, config_fingerprint);
}
int Simulation::num_workers() const { return clients_->engine().pool().size(); }

}  // namespace tributary
