#include "deploy/coordinator.h"

#include <xxhash.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "deploy/transfer.h"
#include "engine/experiment_data.h"

namespace tributary {
namespace {

using Clock = std::chrono::steady_clock;

// glibc's largest mmap threshold: buffers from this size up are fresh pages on every allocation.
constexpr size_t kPrepareUploadBuffersFromBytes = size_t{32} << 20;

}  // namespace

const char* CallRejectionName(CallRejection rejection) {
  switch (rejection) {
    case CallRejection::kUnauthenticated:
      return "unauthenticated";
    case CallRejection::kWrongClient:
      return "wrong_client";
    case CallRejection::kInvalid:
      return "invalid";
    case CallRejection::kClientBusy:
      return "client_busy";
    case CallRejection::kServerBusy:
      return "server_busy";
    case CallRejection::kFirstMessageTimeout:
      return "first_message_timeout";
    case CallRejection::kStreamIdle:
      return "stream_idle";
    case CallRejection::kCount:
      break;
  }
  return "unknown";
}

const char* UploadRejectionName(UploadRejection rejection) {
  switch (rejection) {
    case UploadRejection::kNotExpected:
      return "not_expected";
    case UploadRejection::kExamplesMismatch:
      return "examples_mismatch";
    case UploadRejection::kInvalid:
      return "invalid";
    case UploadRejection::kCount:
      break;
  }
  return "unknown";
}

absl::Status CoordinatorOptions::Validate(const ExperimentConfig& config) const {
  if (quorum < 1 || quorum > config.run.clients_per_round) {
    return absl::InvalidArgumentError(
        absl::StrCat("--quorum must be in [1, clients_per_round = ", config.run.clients_per_round,
                     "], got ", quorum));
  }
  if (!(over_selection >= 0.0 && over_selection <= 10.0)) {
    return absl::InvalidArgumentError("--over-selection must be in [0, 10]");
  }
  if (!(round_deadline_seconds > 0.0)) {
    return absl::InvalidArgumentError("--round-deadline must be > 0 seconds");
  }
  if (wait_for_clients < 0 || wait_for_clients > config.data.partition.num_clients) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--wait-for-clients must be in [0, data.num_clients = ", config.data.partition.num_clients,
        "]"));
  }
  if (!(wait_timeout_seconds > 0.0)) {
    return absl::InvalidArgumentError("--wait-timeout must be > 0 seconds");
  }
  if (!(liveness_seconds > 0.0)) {
    return absl::InvalidArgumentError("--liveness-timeout must be > 0 seconds");
  }
  if (!(secagg_stage_seconds > 0.0)) {
    return absl::InvalidArgumentError("--secagg-stage-deadline must be > 0 seconds");
  }
  return absl::OkStatus();
}

absl::Status CheckDeployable(const ExperimentConfig& config) {
  // Per-client evaluation asks every client of the federation for its held-out accuracy on each
  // evaluation round; the coordinator protocol has no evaluation task yet (docs/architecture.md).
  if (config.data.client_holdout > 0.0) {
    return absl::UnimplementedError(
        "tributary server does not run data.client_holdout (per-client evaluation) yet: it needs "
        "an evaluation task for every client (simulation only; docs/architecture.md)");
  }
  return absl::OkStatus();
}

Coordinator::Coordinator(const ExperimentConfig& config, std::string config_toml,
                         const CoordinatorOptions& options)
    : config_(config), config_toml_(std::move(config_toml)), options_(options) {}

Coordinator::~Coordinator() { Stop(); }

const ModelState& Coordinator::global_model() const { return engine_->global_model(); }

absl::StatusOr<std::unique_ptr<Coordinator>> Coordinator::Create(const ExperimentConfig& config,
                                                                 std::string config_toml,
                                                                 const CoordinatorOptions& options,
                                                                 const std::string& resume_from) {
  TRIB_RETURN_IF_ERROR(config.Validate());
  TRIB_RETURN_IF_ERROR(CheckDeployable(config));
  TRIB_RETURN_IF_ERROR(options.Validate(config));
  if (const SecAggSpec& secagg = config.plugins.Get<SecAggSpec>();
      secagg.enabled && secagg.stage_dropout > 0.0) {
    LogWarning(
        "secagg.stage_dropout = %g is a simulation setting: the server ignores it (clients started "
        "with --chaos-secagg-dropout kill themselves where the simulator would drop them)",
        secagg.stage_dropout);
  }
  auto coordinator =
      std::unique_ptr<Coordinator>(new Coordinator(config, std::move(config_toml), options));
  Coordinator& c = *coordinator;
  // The server evaluates on the test set and keeps no training examples.
  TRIB_ASSIGN_OR_RETURN(ExperimentData data, LoadExperimentData(config, DataScope::Server()));
  c.config_.model = data.model;
  TRIB_ASSIGN_OR_RETURN(c.engine_,
                        RoundEngine::Create(c.config_,
                                            EngineOptions{.quorum = options.quorum,
                                                          .over_selection = options.over_selection},
                                            std::move(data.test)));
  c.config_fingerprint_ = XXH64(c.config_toml_.data(), c.config_toml_.size(), 0);
  c.max_upload_bytes_ = MaxPayloadBytes(c.engine_->global_model().num_bytes());
  if (!resume_from.empty()) {
    TRIB_ASSIGN_OR_RETURN(
        Checkpoint checkpoint,
        ReadNewestValidCheckpoint(resume_from, c.engine_->global_model().specs()));
    if (checkpoint.config_fingerprint != c.config_fingerprint_) {
      return absl::FailedPreconditionError(
          "the checkpoint belongs to another config; resume with the run's own config.toml");
    }
    const int round = checkpoint.round;
    TRIB_RETURN_IF_ERROR(c.engine_->Restore(std::move(checkpoint)));
    c.counters_.rounds_completed = round;
  }
  return coordinator;
}

absl::StatusOr<Coordinator::Registration> Coordinator::Register(uint32_t client,
                                                                int64_t num_examples,
                                                                double uplink_mbps) {
  TRIB_RETURN_IF_ERROR(
      CheckRegistration(client, num_examples, uplink_mbps, config_.data.partition.num_clients));
  std::lock_guard lock(mu_);
  Registered& registered = registered_[client];
  registered.examples = num_examples;
  registered.uplink_bps = uplink_mbps * 1e6;
  registered.last_seen = Clock::now();
  // A client registers again only after losing its connection, and with it the round's work
  // (under secure aggregation, its protocol secrets).
  auto it = participants_.find(client);
  if (round_open_ && it != participants_.end() && it->second.stage == Stage::kTraining) {
    it->second.stage = Stage::kFailed;
    LogInfo("round %d: client %u dropped: reconnected mid-round", round_, client);
  }
  if (secure_ != nullptr && it != participants_.end() && it->second.stage == Stage::kAccepted) {
    it->second.secure_gone = true;
  }
  counters_.registrations++;
  counters_.registered_clients = static_cast<int>(registered_.size());
  progress_.notify_all();
  return Registration{.initial_model_checksum = engine_->initial_checksum(),
                      .rounds_completed = static_cast<int>(counters_.rounds_completed),
                      .heartbeat_seconds = options_.heartbeat_seconds()};
}

absl::Status Coordinator::Heartbeat(uint32_t client) {
  std::lock_guard lock(mu_);
  auto it = registered_.find(client);
  if (it == registered_.end()) return absl::NotFoundError("register first");
  it->second.last_seen = Clock::now();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ClientTask>> Coordinator::WaitForTask(
    uint32_t client, int64_t held_version, const std::function<bool()>& cancelled) {
  std::unique_lock lock(mu_);
  if (!registered_.contains(client)) {
    return absl::FailedPreconditionError("register before asking for a round");
  }
  // A client asking for its next round has given up on the open one (under secure
  // aggregation, a protocol step of its own failed): the round need not wait for it.
  if (auto open = participants_.find(client); round_open_ && open != participants_.end()) {
    if (open->second.stage == Stage::kTraining) {
      open->second.stage = Stage::kFailed;
      open->second.error = "it gave up the round";
      LogInfo("round %d: client %u dropped: it gave up the round", round_, client);
      progress_.notify_all();
    } else if (open->second.stage == Stage::kAccepted) {
      open->second.secure_gone = true;
      progress_.notify_all();
    }
  }
  // While it waits here the client is alive; when it leaves, it was last seen then.
  registered_[client].polling++;
  absl::Cleanup seen = [&] {
    Registered& r = registered_[client];
    r.polling--;
    r.last_seen = Clock::now();
  };
  while (true) {
    if (finished_) {
      told_finished_.insert(client);
      progress_.notify_all();
      return std::optional<ClientTask>();
    }
    auto it = participants_.find(client);
    // Under secure aggregation a client can join only while the keys are being advertised.
    if (round_open_ && it != participants_.end() && it->second.stage == Stage::kSelected &&
        (secure_ == nullptr || secure_stage_ == 0)) {
      it->second.stage = Stage::kTraining;
      ClientTask task{.round = round_,
                      .download = engine_->Download(client, held_version, true),
                      .server_state = engine_->ServerStatePayload(),
                      .ratio_scale = it->second.ratio_scale,
                      .clip_norm = engine_->ClipNorm()};
      if (secure_ != nullptr) {
        task.secagg_cohort = static_cast<int>(cohort_.size());
        task.secagg_position = it->second.position;
        task.secagg_length = static_cast<int64_t>(secure_->params().vector_length);
      }
      return std::optional<ClientTask>(std::move(task));
    }
    if (cancelled()) return absl::CancelledError("the client went away");
    round_opened_.wait_for(lock, std::chrono::milliseconds(100));
  }
}

absl::Status Coordinator::BeginUpload(uint32_t client, int round, std::function<void()> cancel) {
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
  it->second.cancel_upload = std::move(cancel);
  if (auto r = registered_.find(client); r != registered_.end()) r->second.last_seen = Clock::now();
  return absl::OkStatus();
}

absl::Status Coordinator::SubmitUpdate(const ClientUpload& upload) {
  const auto start = Clock::now();
  // The example count weighs the update: it must be the one the client registered (and the
  // round's expected total was computed from), not whatever the upload asserts.
  int64_t registered_examples = 0;
  SecAggRoundServer* secure = nullptr;
  {
    std::lock_guard lock(mu_);
    secure = secure_;
    auto it = registered_.find(upload.report.client);
    if (it != registered_.end()) registered_examples = it->second.examples;
    auto p = participants_.find(upload.report.client);
    if (!round_open_ || upload.report.round != round_ || p == participants_.end() ||
        p->second.stage != Stage::kUploading) {
      // The round closed (its deadline passed) while the bytes were on their way.
      counters_.Reject(UploadRejection::kNotExpected);
      return absl::DeadlineExceededError(absl::StrCat("the upload for round ", upload.report.round,
                                                      " arrived after the round closed"));
    }
    p->second.stage = Stage::kSubmitting;
    p->second.cancel_upload = nullptr;
    ++submitting_;
  }
  // The round waits for submissions in progress before closing, so the strategy is still
  // collecting this round.
  const bool examples_match = upload.report.num_examples == registered_examples;
  absl::Status accepted = examples_match
                              ? absl::OkStatus()
                              : absl::InvalidArgumentError(absl::StrCat(
                                    "the upload claims ", upload.report.num_examples,
                                    " examples; the client registered ", registered_examples));
  bool refused_by_protocol = false;
  if (accepted.ok() && secure == nullptr) {
    accepted = engine_->Submit(upload, nullptr);
  } else if (accepted.ok()) {
    // The masked input: the report goes into the round's loss in the clear, so it is checked
    // like any upload's; the protocol checks the rest.
    accepted = CheckClientReport(upload.report);
    if (accepted.ok() && !upload.attachment.empty()) {
      accepted = absl::InvalidArgumentError("a masked input carries no attachment");
    }
    if (accepted.ok()) {
      accepted = secure->Receive(SecAggStage::kMask, upload.report.client, upload.update);
      refused_by_protocol = !accepted.ok();
    }
  }
  std::unique_lock lock(mu_);
  // Before the round can close on it, so that the round's report sees this upload's figure.
  counters_.last_upload_submit_seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  Participant& participant = participants_[upload.report.client];
  if (secure != nullptr && accepted.ok()) participant.secure_stages = 3;
  if (refused_by_protocol) counters_.secagg_refused++;
  participant.uploaded_bytes += upload.bytes();
  participant.report = upload.report;
  participant.stage = accepted.ok() ? Stage::kAccepted : Stage::kRejected;
  if (!accepted.ok()) {
    participant.error = std::string(accepted.message());
    counters_.Reject(examples_match ? UploadRejection::kInvalid
                                    : UploadRejection::kExamplesMismatch);
  }
  // The reply acknowledges the upload: not before the rounds before it are checkpointed.
  progress_.wait(lock, [&] {
    return unreported_.empty() || *unreported_.begin() >= upload.report.round || finished_ ||
           stop_requested_;
  });
  --submitting_;
  progress_.notify_all();
  return accepted;
}

void Coordinator::HoldAcknowledgementsUntilReported() {
  std::lock_guard lock(mu_);
  hold_acknowledgements_ = true;
}

void Coordinator::ReportedRound(int round) {
  std::lock_guard lock(mu_);
  unreported_.erase(round);
  progress_.notify_all();
}

void Coordinator::ClientFailed(uint32_t client, int round, int64_t bytes,
                               const std::string& reason) {
  std::lock_guard lock(mu_);
  auto it = participants_.find(client);
  if (round != round_ || it == participants_.end()) return;
  const Stage stage = it->second.stage;
  if (stage == Stage::kAccepted || stage == Stage::kRejected || stage == Stage::kSubmitting ||
      stage == Stage::kCutOff || stage == Stage::kFailed) {
    return;
  }
  if (stage == Stage::kUploading) counters_.partial_uploads++;
  it->second.cancel_upload = nullptr;
  it->second.stage = Stage::kFailed;
  it->second.uploaded_bytes += bytes;
  LogInfo("round %d: client %u dropped: %s", round, client, reason.c_str());
  progress_.notify_all();
}

bool Coordinator::InSecureStage(const Participant& p, int stage) const {
  if (secure_ == nullptr || !secure_abandoned_.ok()) return false;
  switch (stage) {
    case 0:  // a client that has not taken its task yet may still come
      return (p.stage == Stage::kSelected || p.stage == Stage::kTraining) && p.secure_stages == 0;
    case 1:
      return p.stage == Stage::kTraining && p.secure_stages == 1;
    case 2:  // its masked input was taken; it waits for the survivor list
    case 3:
      return p.stage == Stage::kAccepted && !p.secure_gone && p.secure_stages == 3;
  }
  return false;
}

void Coordinator::EndSecureRound(const absl::Status& why) {
  if (secure_abandoned_.ok()) {
    secure_abandoned_ = why;
    counters_.secagg_abandoned++;
  }
  LogWarning("round %d: secure aggregation abandoned: %s", round_,
             std::string(why.message()).c_str());
  for (auto& [client, p] : participants_) {
    if (p.stage == Stage::kSelected || p.stage == Stage::kTraining) {
      p.stage = Stage::kFailed;
      p.error = std::string(why.message());
    }
  }
  progress_.notify_all();
  stage_closed_.notify_all();
}

absl::StatusOr<std::vector<uint8_t>> Coordinator::SecureMessage(
    uint32_t client, int round, int stage, std::span<const uint8_t> message,
    std::span<const double> client_seconds, const std::function<bool()>& cancelled) {
  if (stage < 0 || stage >= kSecAggStages) {
    return absl::InvalidArgumentError(absl::StrCat("no secure aggregation stage ", stage));
  }
  const SecAggStage which = static_cast<SecAggStage>(stage);
  std::unique_lock lock(mu_);
  auto found = participants_.find(client);
  if (secure_ == nullptr || round != round_ || found == participants_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("client ", client, " is in no secure aggregation round ", round, " (round ",
                     round_, secure_ != nullptr ? " is open)" : " runs none)"));
  }
  if (!secure_abandoned_.ok()) {
    return absl::AbortedError(
        absl::StrCat("round ", round, " was abandoned: ", secure_abandoned_.message()));
  }
  Participant& p = found->second;
  if (!InSecureStage(p, stage) || (which != SecAggStage::kMask && secure_stage_ != stage)) {
    return absl::FailedPreconditionError(absl::StrCat("client ", client, " is not in the stage '",
                                                      SecAggStageName(which), "' of round ", round,
                                                      " (out of the protocol, or too late)"));
  }
  if (auto r = registered_.find(client); r != registered_.end()) r->second.last_seen = Clock::now();
  if (which != SecAggStage::kMask) {
    p.uploaded_bytes += static_cast<int64_t>(message.size());
    absl::Status received = secure_->Receive(which, client, message);
    if (!received.ok()) {
      // Out of the protocol; an input already in the sum stays there.
      counters_.secagg_refused++;
      if (p.stage == Stage::kAccepted) {
        p.secure_gone = true;
      } else {
        p.stage = Stage::kFailed;
        p.error = std::string(received.message());
      }
      LogInfo("round %d: client %u dropped from secure aggregation: %s", round, client,
              std::string(received.message()).c_str());
      progress_.notify_all();
      return absl::InvalidArgumentError(received.message());
    }
    p.secure_stages = stage + 1;
    // A client's word on its own timing weighs on nothing but the cost figures; bounded still.
    if (client_seconds.size() == kSecAggStages &&
        std::all_of(client_seconds.begin(), client_seconds.end(),
                    [](double s) { return s >= 0.0 && s <= 3600.0; })) {
      std::copy(client_seconds.begin(), client_seconds.end(), p.protocol_seconds.begin());
    }
    progress_.notify_all();
    if (which == SecAggStage::kUnmask) return std::vector<uint8_t>();
  }
  while (secure_closed_ <= stage && secure_ != nullptr && round_ == round &&
         secure_abandoned_.ok()) {
    if (cancelled()) {
      // Its call broke off: it can take no further part.
      auto it = participants_.find(client);
      if (it != participants_.end() && it->second.stage == Stage::kTraining) {
        it->second.stage = Stage::kFailed;
        it->second.error = "its secure aggregation call broke off";
      } else if (it != participants_.end()) {
        it->second.secure_gone = true;
      }
      progress_.notify_all();
      return absl::CancelledError("the client went away");
    }
    stage_closed_.wait_for(lock, std::chrono::milliseconds(100));
  }
  if (!secure_abandoned_.ok()) {
    return absl::AbortedError(
        absl::StrCat("round ", round, " was abandoned: ", secure_abandoned_.message()));
  }
  found = participants_.find(client);
  if (secure_ == nullptr || round_ != round || found == participants_.end()) {
    return absl::AbortedError(absl::StrCat("round ", round, " is over"));
  }
  // Still in the protocol once its stage closed: it was not left out for a late message.
  const Participant& after = found->second;
  const bool still_in = which == SecAggStage::kMask
                            ? InSecureStage(after, 3)
                            : after.stage == Stage::kTraining && after.secure_stages == stage + 1;
  if (!still_in) {
    return absl::FailedPreconditionError(absl::StrCat("client ", client,
                                                      " is out of the secure aggregation of round ",
                                                      round, " (its stage closed without it)"));
  }
  absl::StatusOr<std::vector<uint8_t>> reply = secure_->Reply(which, client);
  if (!reply.ok()) return absl::FailedPreconditionError(reply.status().message());
  return reply;
}

absl::Status Coordinator::RunSecureStage(int stage, std::unique_lock<std::mutex>& lock) {
  const SecAggStage which = static_cast<SecAggStage>(stage);
  secure_stage_ = stage;
  round_opened_.notify_all();
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(options_.secagg_stage_seconds));
  const auto check_every = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::min(1.0, options_.liveness_seconds / 4.0)));
  auto waiting_for_some = [&] {
    for (const auto& [client, p] : participants_) {
      if (InSecureStage(p, stage)) return true;
    }
    return false;
  };
  // The masked inputs came as uploads, over the round's deadline: that stage only closes.
  const bool collects = which != SecAggStage::kMask;
  while (collects && waiting_for_some() && !stop_requested_ && Clock::now() < deadline) {
    progress_.wait_until(lock, std::min(deadline, Clock::now() + check_every));
    DropSilentParticipants();
    for (auto& [client, p] : participants_) {
      auto r = registered_.find(client);
      if (InSecureStage(p, stage) && p.stage == Stage::kAccepted &&
          (r == registered_.end() || !Alive(r->second))) {
        p.secure_gone = true;
      }
    }
  }
  secure_stage_ = -1;
  // Those still expected sent nothing in time: out of the protocol.
  int missing = 0;
  for (auto& [client, p] : participants_) {
    if (!collects || !InSecureStage(p, stage)) continue;
    ++missing;
    if (p.stage == Stage::kAccepted) {
      p.secure_gone = true;
    } else {
      p.stage = Stage::kFailed;
      p.error = absl::StrCat("sent no '", SecAggStageName(which), "' message in time");
    }
  }
  LogInfo("round %d: secure aggregation stage '%s' closed%s", round_, SecAggStageName(which),
          missing > 0 ? absl::StrCat(" without ", missing, " client(s)").c_str() : "");
  absl::Status closed = absl::OkStatus();
  if (which != SecAggStage::kUnmask) closed = secure_->Close(which);
  secure_closed_ = stage + 1;
  if (!closed.ok()) EndSecureRound(closed);
  stage_closed_.notify_all();
  return closed;
}

bool Coordinator::RoundSettled() const {
  int accepted = 0;
  bool all_answered = true;
  for (const auto& [client, p] : participants_) {
    accepted += p.stage == Stage::kAccepted;
    all_answered &=
        p.stage == Stage::kAccepted || p.stage == Stage::kRejected || p.stage == Stage::kFailed;
  }
  // A Poisson cohort is taken whole (its size is part of the sampling); a fixed one closes once
  // K updates are in (over-selection).
  const bool poisson = config_.ResolvedSampling() == ClientSampling::kPoisson;
  return all_answered || (!poisson && accepted >= config_.run.clients_per_round);
}

absl::Status Coordinator::WaitForClients() {
  const int wanted =
      options_.wait_for_clients > 0 ? options_.wait_for_clients : config_.run.clients_per_round;
  const auto until =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(options_.wait_timeout_seconds));
  std::unique_lock lock(mu_);
  LogInfo("waiting for %d clients to register", wanted);
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

Checkpoint Coordinator::MakeCheckpoint(int round) const {
  Checkpoint checkpoint = engine_->MakeCheckpoint(round);
  checkpoint.config_fingerprint = config_fingerprint_;
  return checkpoint;
}

void Coordinator::WaitUntilClientsHeardTheEnd(double timeout_seconds) {
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(timeout_seconds));
  std::unique_lock lock(mu_);
  progress_.wait_until(lock, until, [&] { return told_finished_.size() >= registered_.size(); });
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
  // Round 1's upload memory is made while clients connect; joined by round 1, or here.
  if (!config_.plugins.Get<SecAggSpec>().enabled) {
    startup_preparation_ = PrepareUploadMemory(engine_->first_round(),
                                               static_cast<size_t>(config_.run.clients_per_round));
  }
  absl::Cleanup join_preparation = [this] {
    if (startup_preparation_.valid()) startup_preparation_.wait();
  };
  TRIB_RETURN_IF_ERROR(WaitForClients());
  return engine_->Run(*this, [&](const RoundMetrics& metrics) {
    {
      std::lock_guard lock(mu_);
      if (hold_acknowledgements_) unreported_.insert(metrics.round);
    }
    if (metrics.round > 0) {
      counters_.rounds_completed = metrics.round;
      counters_.bytes_up_total = metrics.bytes_up_total;
      counters_.bytes_down_total = metrics.bytes_down_total;
      counters_.last_round_seconds = metrics.wall_seconds;
    }
    return on_round(metrics, MakeCheckpoint(metrics.round));
  });
}

std::shared_future<void> Coordinator::PrepareUploadMemory(int round, size_t uploads) {
  if (uploads == 0 || engine_->global_model().num_bytes() < kPrepareUploadBuffersFromBytes) {
    return {};
  }
  const auto receive_bytes = static_cast<size_t>(engine_->LosslessUploadBytes());
  std::shared_future<void> earlier = startup_preparation_;
  return std::async(std::launch::async,
                    [this, round, uploads, receive_bytes, earlier = std::move(earlier)] {
                      // After the start-up preparation, which may have made all that is needed.
                      if (earlier.valid()) earlier.wait();
                      const auto start = Clock::now();
                      engine_->PrepareSubmitBuffers(uploads);
                      if (receive_bytes > 0) receive_buffers_.Prepare(receive_bytes, uploads);
                      const double seconds =
                          std::chrono::duration<double>(Clock::now() - start).count();
                      if (seconds >= 0.01) {
                        LogInfo("round %d: upload memory made ready in %.2f s", round, seconds);
                      }
                    })
      .share();
}

std::optional<int64_t> Coordinator::PrepareRound(int round, std::span<const uint32_t> cohort) {
  std::lock_guard lock(mu_);
  if (stop_requested_) return std::nullopt;
  cohort_.assign(cohort.begin(), cohort.end());
  participants_.clear();
  int64_t expected_examples = 0;
  std::vector<double> uplink_bps(cohort_.size(), 0.0);
  for (size_t i = 0; i < cohort_.size(); ++i) {
    auto it = registered_.find(cohort_[i]);
    Participant& p = participants_[cohort_[i]];
    p.position = static_cast<int>(i);
    if (it == registered_.end() || !Alive(it->second)) {
      p.stage = Stage::kFailed;  // not connected: out of this round
    } else {
      expected_examples += it->second.examples;
      uplink_bps[i] = it->second.uplink_bps;
    }
  }
  const std::vector<double> scales = engine_->RatioScales(round, uplink_bps);
  for (size_t i = 0; i < cohort_.size(); ++i) participants_[cohort_[i]].ratio_scale = scales[i];
  round_ = round;
  return expected_examples;
}

void Coordinator::DropSilentParticipants() {
  for (auto& [client, p] : participants_) {
    if (p.stage != Stage::kSelected && p.stage != Stage::kTraining) continue;
    auto it = registered_.find(client);
    if (it != registered_.end() && Alive(it->second)) continue;
    p.stage = Stage::kFailed;
    LogInfo("round %d: client %u dropped: not heard from for %.3g s", round_, client,
            options_.liveness_seconds);
  }
}

bool Coordinator::Alive(const Registered& client) const {
  return client.polling > 0 || Clock::now() - client.last_seen <
                                   std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(options_.liveness_seconds));
}

Coordinator::Progress Coordinator::CurrentProgress() {
  std::lock_guard lock(mu_);
  Progress progress{.round = counters_.current_round, .round_open = round_open_};
  for (uint32_t client : cohort_) {
    auto participant = participants_.find(client);
    if (participant == participants_.end()) continue;
    ++progress.selected;
    switch (participant->second.stage) {
      case Stage::kSelected:
      case Stage::kTraining:
        ++progress.training;
        break;
      case Stage::kUploading:
      case Stage::kSubmitting:
        ++progress.uploading;
        break;
      case Stage::kAccepted:
        ++progress.accepted;
        break;
      case Stage::kRejected:
        ++progress.rejected;
        break;
      case Stage::kCutOff:
      case Stage::kFailed:
        ++progress.dropped;
        break;
    }
  }
  progress.registered = static_cast<int>(registered_.size());
  for (const auto& [client, registered] : registered_) progress.connected += Alive(registered);
  return progress;
}

absl::StatusOr<RoundOutcome> Coordinator::RunRound(int round, RoundServer& server) {
  const auto start = Clock::now();
  std::unique_lock lock(mu_);
  std::vector<uint32_t> absent;
  for (uint32_t c : cohort_) {
    if (participants_[c].stage == Stage::kFailed) absent.push_back(c);
  }
  secure_ = server.secure_round();
  secure_stage_ = secure_ != nullptr ? 0 : -1;
  secure_closed_ = 0;
  secure_abandoned_ = absl::OkStatus();
  round_open_ = true;
  counters_.current_round = round;
  round_opened_.notify_all();
  LogInfo("round %d: selected %s%s", round, absl::StrJoin(cohort_, " ").c_str(),
          absent.empty()
              ? ""
              : absl::StrCat(" (not connected: ", absl::StrJoin(absent, " "), ")").c_str());
  std::shared_future<void> buffers_ready;
  if (secure_ == nullptr)
    buffers_ready = PrepareUploadMemory(round, cohort_.size() - absent.size());
  // Secure aggregation: keys are advertised and shared before anyone trains.
  if (secure_ != nullptr && RunSecureStage(0, lock).ok()) RunSecureStage(1, lock).IgnoreError();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(options_.round_deadline_seconds));
  // Wakes at least a few times per liveness period to drop clients that went silent.
  const auto check_every = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::min(1.0, options_.liveness_seconds / 4.0)));
  bool timed_out = false;
  while (!RoundSettled() && !stop_requested_) {
    if (Clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    progress_.wait_until(lock, std::min(deadline, Clock::now() + check_every));
    DropSilentParticipants();
  }
  round_open_ = false;
  // Nothing late is aggregated: transfers still in flight are cut off (their clients are
  // stragglers); uploads that arrived whole are being aggregated and finish first.
  for (auto& [client, p] : participants_) {
    if (p.stage != Stage::kUploading) continue;
    counters_.late_uploads++;
    p.stage = Stage::kCutOff;  // a straggler, whatever its broken transfer reports next
    if (p.cancel_upload) p.cancel_upload();
    p.cancel_upload = nullptr;
  }
  progress_.wait(lock, [&] { return submitting_ == 0; });
  if (secure_ != nullptr && secure_abandoned_.ok()) {
    // The masked inputs are in: the survivors learn who they are and send their unmasking
    // shares; the engine then asks the protocol for the sum.
    if (RunSecureStage(2, lock).ok()) RunSecureStage(3, lock).IgnoreError();
  }
  secure_ = nullptr;
  secure_stage_ = -1;
  stage_closed_.notify_all();
  RoundOutcome outcome;
  std::vector<uint32_t> joined, dropped;
  for (uint32_t client : cohort_) {
    Participant& p = participants_[client];
    ClientRecord record{
        .client = client, .bytes_up = p.uploaded_bytes, .protocol_seconds = p.protocol_seconds};
    switch (p.stage) {
      case Stage::kAccepted:
      case Stage::kRejected:
        record.fate = p.stage == Stage::kAccepted ? ClientFate::kAccepted : ClientFate::kRejected;
        record.uploaded = true;
        record.report = p.report;
        record.error = p.error;
        if (p.stage == Stage::kAccepted) joined.push_back(client);
        break;
      case Stage::kFailed:
        record.fate = ClientFate::kDropped;
        dropped.push_back(client);
        break;
      case Stage::kSelected:
      case Stage::kTraining:
      case Stage::kUploading:
      case Stage::kCutOff:
      case Stage::kSubmitting:  // not reached: the round waited for submissions
        // Still working when the round closed (deadline, or enough updates in).
        record.fate = ClientFate::kStraggler;
        dropped.push_back(client);
        p.stage = Stage::kFailed;
        break;
    }
    outcome.records.push_back(std::move(record));
  }
  LogInfo("round %d: %zu accepted [%s], %zu dropped [%s]%s", round, joined.size(),
          absl::StrJoin(joined, " ").c_str(), dropped.size(), absl::StrJoin(dropped, " ").c_str(),
          timed_out ? " (deadline)" : "");
  lock.unlock();
  if (buffers_ready.valid()) buffers_ready.wait();  // it reads the model the engine now steps
  startup_preparation_ = {};
  return outcome;
}

}  // namespace tributary
