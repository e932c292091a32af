#include "deploy/federated_client.h"

#include <grpcpp/grpcpp.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "compress/pipeline.h"
#include "deploy/coordinator_service.h"
#include "deploy/token_bucket.h"
#include "deploy/transfer.h"
#include "deploy/transport_settings.h"
#include "engine/client_step.h"
#include "engine/downlink.h"
#include "engine/experiment_data.h"
#include "engine/secure_aggregation.h"
#include "secagg/secagg_round.h"
#include "train/compute_threads.h"
#include "train/local_trainer.h"
#include "tributary.grpc.pb.h"

namespace tributary {
namespace {

using Clock = std::chrono::steady_clock;

absl::Status FromGrpc(const grpc::Status& status, const char* what) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

// Errors that another attempt would only repeat.
bool IsPermanent(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kNotFound:
      return true;
    default:
      return false;
  }
}

// The server left this client out of a secure aggregation round (a refused message, a stage
// that closed without it, an abandoned round), or its own side of the protocol failed: the
// client waits for its next round rather than reconnecting.
bool OutOfTheSecureRound(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

}  // namespace

// What the client keeps between rounds and across reconnects.
struct FederatedClient::Session {
  ExperimentConfig config;
  std::string config_toml;  // as received, to notice a server that changed its run
  std::unique_ptr<ClientStep> step;
  ClientWorkspace workspace;
  ClientMemory memory;
  std::optional<DownlinkReceiver> downlink;
  std::unique_ptr<Pipeline> full;  // a technique's server state
  uint64_t initial_checksum = 0;   // of the seeded initial model, checked against the server's
  ModelState held;
  int64_t held_version = 0;   // 0: holds nothing yet
  bool holds_initial = true;  // `held` is still the seeded initial model: no transfer applied
  ModelState server_state;    // a technique's (SCAFFOLD's c), as last received
  // The last round whose upload the server acknowledged, and the state from before it: a server
  // that resumes from the checkpoint before that round asks for it again, and the client then
  // trains it from the same state as the first time.
  int settled_round = 0;
  ClientMemory before_settled;
};

FederatedClient::FederatedClient(FederatedClientOptions options) : options_(std::move(options)) {}
FederatedClient::~FederatedClient() = default;

namespace {

class Connection {
 public:
  Connection(const FederatedClientOptions& options,
             std::shared_ptr<grpc::ChannelCredentials> credentials)
      : options_(options) {
    grpc::ChannelArguments args;
    // Notice a server that vanished without closing the connection.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    // Connection attempts to a server not up yet: every 100 ms at first, at most every 2 s.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    // A connection of its own, even beside other clients in one process (benchmarks, tests):
    // gRPC would otherwise share one TCP connection among identical channels, and the server's
    // per-connection stream limit (ServerLimits) would then hold one client's calls behind the
    // others' long polls.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    ApplyTransportSettings(args);
    if (!options.tls.server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls.server_name);
    }
    stub_ = v1::Coordinator::NewStub(
        grpc::CreateCustomChannel(options.server_address, credentials, args));
  }

  void Prepare(grpc::ClientContext& context) const {
    context.AddMetadata(kClientIdMetadata, std::to_string(options_.client_id));
    context.AddMetadata(kAuthorizationMetadata, "Bearer " + options_.token);
  }
  v1::Coordinator::Stub& stub() { return *stub_; }

 private:
  const FederatedClientOptions& options_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

// Tells the server, every `seconds`, that this client is alive, from its own thread so that
// long training or a slow upload does not look like a dead client. Failures are left to the
// calls that matter: a lost connection shows there first.
class HeartbeatSender {
 public:
  HeartbeatSender(Connection& connection, uint32_t client, double seconds) {
    // A server that names no period (or an absurd one) gets none.
    if (!(seconds >= 0.01 && seconds <= 3600.0)) return;
    thread_ = std::thread([this, &connection, client, seconds] {
      const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(seconds));
      std::unique_lock lock(mu_);
      while (!stop_.wait_for(lock, period, [this] { return stopping_; })) {
        lock.unlock();
        grpc::ClientContext context;
        connection.Prepare(context);
        context.set_deadline(std::chrono::system_clock::now() + period);
        v1::HeartbeatRequest request;
        request.set_client_id(client);
        v1::HeartbeatReply reply;
        connection.stub().Heartbeat(&context, request, &reply);
        lock.lock();
      }
    });
  }
  ~HeartbeatSender() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    stop_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread thread_;
};

// Hands the whole free pages inside malloc's heap back before a round trains: the last round's
// download, parsing and upload left holes between live blocks that its training does not
// always reuse, and they stayed resident (a client's heap otherwise grows round after round).
// The holes are model-sized, so a small model's are not worth it: the trim walks every arena of
// the process, and the pages it returns are faulted in again by the training. For deploy_bench's
// 25 KB model (ten clients in one process) it put 2-4 ms on every round (docs/deploy.md).
void ReturnFreedHeapPages(int64_t model_bytes) {
#if defined(__GLIBC__)
  constexpr int64_t kSmallestModelWorthTrimming = 256 << 10;
  if (model_bytes >= kSmallestModelWorthTrimming) malloc_trim(0);
#endif
}

absl::StatusOr<std::unique_ptr<FederatedClient::Session>> StartSession(
    const FederatedClientOptions& options, const std::string& config_toml,
    const ModelSpec& data_shape) {
  auto session = std::make_unique<FederatedClient::Session>();
  session->config_toml = config_toml;
  TRIB_ASSIGN_OR_RETURN(session->config, options.resolve_config(config_toml));
  ExperimentConfig& config = session->config;
  config.model.input_channels = data_shape.input_channels;
  config.model.input_height = data_shape.input_height;
  config.model.input_width = data_shape.input_width;
  config.model.num_classes = data_shape.num_classes;
  ConfigureComputeThreads(config.ResolvedThreadsPerWorker());
  TRIB_ASSIGN_OR_RETURN(session->full, Pipeline::Parse("fp32"));
  TRIB_ASSIGN_OR_RETURN(ModelState initial, InitialGlobalModel(config));
  session->initial_checksum = initial.Checksum();
  // The initial model is made again only for a catch-up from it after this client fell out of
  // the server's history: kept for the whole session, it would be one more copy of the model.
  TRIB_ASSIGN_OR_RETURN(session->downlink,
                        DownlinkReceiver::Create(
                            initial.specs(), [config] { return InitialGlobalModel(config); },
                            config.compress.downlink));
  TRIB_ASSIGN_OR_RETURN(session->step, ClientStep::Create(config, initial));
  session->held = std::move(initial);
  TRIB_ASSIGN_OR_RETURN(session->workspace, session->step->NewWorkspace());
  return session;
}

// This client's side of the round's secure aggregation, from its task.
absl::StatusOr<SecAggRoundClient> StartSecureRound(const ExperimentConfig& config,
                                                   const v1::RoundTask& task,
                                                   size_t model_elements) {
  const SecAggSpec& spec = config.plugins.Get<SecAggSpec>();
  if (!spec.enabled) {
    return absl::InvalidArgumentError(
        "the server runs secure aggregation, which the run's config does not enable");
  }
  if (task.secagg_position() < 0 || task.secagg_position() >= task.secagg_cohort() ||
      task.secagg_length() < 1 || task.secagg_length() > static_cast<int64_t>(model_elements)) {
    return absl::InvalidArgumentError(
        "the task's secure aggregation position, cohort or vector length is out of range");
  }
  return SecAggRoundClient::Create(
      spec, task.secagg_cohort(), static_cast<uint32_t>(task.secagg_position()),
      static_cast<size_t>(task.secagg_length()), SecAggGraphSeed(config.run.seed, task.round()));
}

// One stage's message; the server answers when the stage closes.
absl::StatusOr<Bytes> SecureCall(Connection& connection, uint32_t client, int round,
                                 SecAggStage stage, std::span<const uint8_t> message,
                                 std::span<const double> client_seconds = {}) {
  grpc::ClientContext context;
  connection.Prepare(context);
  v1::SecAggRequest request;
  request.set_client_id(client);
  request.set_round(round);
  request.set_stage(static_cast<v1::SecAggStage>(stage));
  request.set_message(message.data(), message.size());
  for (double seconds : client_seconds) request.add_client_seconds(seconds);
  v1::SecAggReply reply;
  grpc::Status status = connection.stub().SecureAggregation(&context, request, &reply);
  if (!status.ok()) return FromGrpc(status, SecAggStageName(stage));
  const std::string& bytes = reply.message();
  return Bytes(bytes.begin(), bytes.end());
}

// Brings the held model to the task's version.
absl::Status ApplyDownload(FederatedClient::Session& s, const v1::RoundTask& task,
                           std::span<const uint8_t> payload) {
  Downlink::Kind kind = Downlink::Kind::kFull;
  bool from_initial = false;
  switch (task.kind()) {
    case v1::DOWNLOAD_FULL:
      break;
    case v1::DOWNLOAD_CATCH_UP_INITIAL:
      from_initial = true;
      [[fallthrough]];
    case v1::DOWNLOAD_CATCH_UP:
      kind = Downlink::Kind::kCatchUp;
      break;
    case v1::DOWNLOAD_INCREMENTS_INITIAL:
      from_initial = true;
      [[fallthrough]];
    case v1::DOWNLOAD_INCREMENTS:
      kind = Downlink::Kind::kIncrements;
      break;
    case v1::DOWNLOAD_GRID_CATCH_UP_INITIAL:
      from_initial = true;
      [[fallthrough]];
    case v1::DOWNLOAD_GRID_CATCH_UP:
      kind = Downlink::Kind::kGridCatchUp;
      break;
    default:
      return absl::DataLossError(absl::StrCat("download of unknown kind ", task.kind()));
  }
  if (kind != Downlink::Kind::kFull && !from_initial && s.held_version == 0) {
    return absl::DataLossError("a catch-up from a version this client does not hold");
  }
  // Before its first transfer the client holds the initial model: a transfer from it applies to
  // `held` as is; later ones need the initial model made again.
  const bool from_regenerated_initial = from_initial && !s.holds_initial;
  TRIB_RETURN_IF_ERROR(s.downlink->Apply(kind, from_regenerated_initial, payload, s.held));
  s.holds_initial = false;
  s.held_version = task.model_version();
  return absl::OkStatus();
}

// A technique's server state (SCAFFOLD's c), sent after the model.
absl::Status ApplyServerState(FederatedClient::Session& s, std::span<const uint8_t> payload) {
  TRIB_ASSIGN_OR_RETURN(Update update,
                        s.full->Decode(payload, s.held.num_elements(), s.held.specs()));
  if (!s.server_state.SameLayout(s.held)) s.server_state = s.held.ZerosLike();
  std::fill(s.server_state.flat().begin(), s.server_state.flat().end(), 0.0f);
  update.AddTo(s.server_state.flat());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LocalTrainResult> FederatedClient::TrainWithEngine(const ModelState& start,
                                                                  ModelState* delta) {
  if (!session_ || current_round_ < 0 || train_data_ == nullptr) {
    return absl::FailedPreconditionError(
        "training with the engine needs local data (a data config) and a round in progress");
  }
  Session& s = *session_;
  return s.workspace.trainer->Train(
      start, *train_data_, examples_,
      DeriveSeed(s.config.run.seed, current_round_, options_.client_id, RngPurpose::kLocalShuffle),
      delta, nullptr, s.config.train.keep_optimizer_state ? &s.memory.optimizer : nullptr);
}

absl::StatusOr<std::vector<TensorSpec>> FederatedClient::model_layout() const {
  if (!session_) return absl::FailedPreconditionError("not registered yet");
  return session_->held.specs();
}

absl::Status FederatedClient::Run() {
  TRIB_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                        MakeChannelCredentials(options_.tls));
  // The client's own partition, from its local data config, before it registers with its size.
  if (options_.declared_examples > 0) {
    if (!options_.external_train) {
      return absl::InvalidArgumentError("a client without local data needs its own train function");
    }
    registered_examples_ = options_.declared_examples;
    data_shape_ = options_.data_config.model;
  } else {
    const ExperimentConfig& local = options_.data_config;
    if (options_.client_id >= static_cast<uint32_t>(local.data.partition.num_clients)) {
      return absl::InvalidArgumentError(absl::StrCat("--client-id ", options_.client_id,
                                                     " >= data.num_clients ",
                                                     local.data.partition.num_clients));
    }
    if (options_.shared_data.train != nullptr) {
      train_data_ = options_.shared_data.train;
      examples_ = options_.shared_data.examples;
      data_shape_ = options_.shared_data.shape;
    } else {
      TRIB_ASSIGN_OR_RETURN(ExperimentData data,
                            LoadExperimentData(local, DataScope::Client(options_.client_id)));
      train_data_ = std::move(data.train);
      examples_ = std::move(data.partitions[options_.client_id]);
      data_shape_ = data.model;
    }
    if (examples_.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("client ", options_.client_id, "'s partition is empty"));
    }
    registered_examples_ = static_cast<int64_t>(examples_.size());
  }
  TokenBucket uplink_bucket(options_.uplink_mbps), downlink_bucket(options_.downlink_mbps);
  auto last_contact = Clock::now();
  double backoff = 0.5;
  const uint32_t id = options_.client_id;
  int last_round = 0;
  auto progress = [&](ClientPhase phase, int round, int64_t done = 0, int64_t total = 0,
                      Clock::time_point since = {}) {
    if (!options_.on_progress) return;
    options_.on_progress(
        {.client = id,
         .round = round,
         .phase = phase,
         .bytes_done = done,
         .bytes_total = total,
         .phase_seconds = since == Clock::time_point{}
                              ? 0.0
                              : std::chrono::duration<double>(Clock::now() - since).count()});
  };

  // One connection's worth of rounds; returns OK when the run is over.
  auto run_connection = [&]() -> absl::Status {
    Connection connection(options_, credentials);
    v1::RegisterRequest request;
    request.set_client_id(id);
    request.set_num_examples(registered_examples_);
    request.mutable_capabilities()->set_uplink_mbps(options_.uplink_mbps);
    request.mutable_capabilities()->set_downlink_mbps(options_.downlink_mbps);
    v1::RegisterReply reply;
    grpc::ClientContext context;
    connection.Prepare(context);
    // A server launched together with its clients may not listen yet: the call waits for the
    // connection (retried every 100 ms, GRPC_ARG_*_RECONNECT_BACKOFF_MS) instead of failing at
    // once into the 0.5 s back-off, so a client registers as soon as the server is up.
    context.set_wait_for_ready(true);
    context.set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::duration<double>(std::clamp(options_.give_up_seconds, 1.0, 30.0))));
    grpc::Status status = connection.stub().Register(&context, request, &reply);
    if (!status.ok()) return FromGrpc(status, "register");
    last_contact = Clock::now();
    backoff = 0.5;
    // From registration on: building a large model takes long enough (over a minute for 1 GiB on
    // a busy machine) for the server to drop a client that said nothing meanwhile.
    HeartbeatSender heartbeat(connection, id, reply.heartbeat_seconds());
    if (!session_) {
      TRIB_ASSIGN_OR_RETURN(session_, StartSession(options_, reply.config_toml(), data_shape_));
      if (session_->initial_checksum != reply.initial_model_checksum()) {
        return absl::FailedPreconditionError(
            "this client's seeded initial model differs from the server's (another build or "
            "libtorch version?)");
      }
      session_->workspace.external_train = options_.external_train;
      LogInfo("client %u: registered, %lld examples, model %zu parameters", id,
              static_cast<long long>(registered_examples_), session_->held.num_elements());
    } else if (reply.config_toml() != session_->config_toml) {
      return absl::FailedPreconditionError("the server now runs another config");
    }
    Session& s = *session_;
    while (true) {
      progress(ClientPhase::kWaiting, last_round);
      grpc::ClientContext context;
      connection.Prepare(context);
      v1::NextRoundRequest next;
      next.set_client_id(id);
      next.set_held_version(s.held_version);
      std::unique_ptr<grpc::ClientReader<v1::RoundMessage>> reader =
          connection.stub().NextRound(&context, next);
      v1::RoundMessage message;
      if (!reader->Read(&message)) return FromGrpc(reader->Finish(), "next round");
      last_contact = Clock::now();
      if (message.has_finished()) {
        reader->Finish();
        LogInfo("client %u: the run is over (%d rounds)", id, message.finished().rounds());
        return absl::OkStatus();
      }
      if (!message.has_task()) return absl::DataLossError("next round: expected a task");
      v1::RoundTask task = std::move(*message.mutable_task());
      const auto download_start = Clock::now();
      absl::StatusOr<PayloadAssembler> assembler =
          PayloadAssembler::Start(task.payload_bytes(), task.payload_checksum(),
                                  MaxPayloadBytes(s.held.num_bytes()), BufferPages::kHuge);
      TRIB_RETURN_IF_ERROR(assembler.status());
      TRIB_RETURN_IF_ERROR(assembler->AddFirst(task.first_chunk()));
      task.clear_first_chunk();  // in the assembler now; not held through the round
      progress(ClientPhase::kDownload, task.round(), assembler->received(), task.payload_bytes(),
               download_start);
      while (reader->Read(&message)) {
        if (!message.has_chunk()) return absl::DataLossError("download: expected a chunk");
        downlink_bucket.Consume(static_cast<int64_t>(message.chunk().size()));
        TRIB_RETURN_IF_ERROR(assembler->Add(message.chunk()));
        progress(ClientPhase::kDownload, task.round(), assembler->received(), task.payload_bytes(),
                 download_start);
      }
      grpc::Status download_status = reader->Finish();
      if (!download_status.ok()) return FromGrpc(download_status, "download");
      const auto apply_start = Clock::now();
      RoundLog log{
          .round = task.round(),
          .download_bytes = assembler->received(),
          .download_seconds = std::chrono::duration<double>(apply_start - download_start).count()};
      const int64_t state_bytes = task.server_state_bytes();
      {  // the download is applied and freed before training
        TRIB_ASSIGN_OR_RETURN(const Payload download, std::move(*assembler).Finish());
        if (state_bytes < 0 || state_bytes > static_cast<int64_t>(download.size()) ||
            !(task.ratio_scale() > 0.0 && task.ratio_scale() < 1e6) ||
            !(task.clip_norm() >= 0.0 && task.clip_norm() <= 1e6)) {
          return absl::DataLossError(
              "download: server_state_bytes, ratio_scale or clip_norm out of range");
        }
        const std::span<const uint8_t> received(download);
        const size_t model_bytes = download.size() - static_cast<size_t>(state_bytes);
        TRIB_RETURN_IF_ERROR(ApplyDownload(s, task, received.first(model_bytes)));
        if (state_bytes > 0) {
          TRIB_RETURN_IF_ERROR(ApplyServerState(s, received.subspan(model_bytes)));
        }
      }
      log.apply_seconds = std::chrono::duration<double>(Clock::now() - apply_start).count();

      const int round = task.round();
      // Secure aggregation: the keys are advertised and shared before training.
      std::optional<SecAggRoundClient> secure;
      Bytes shares_for_me;
      auto die_before = [&](SecAggStage stage) {
        if (options_.chaos_secagg_dropout &&
            DropsBeforeStage(s.config.plugins.Get<SecAggSpec>(), s.config.run.seed, round, id,
                             stage)) {
          LogWarning("client %u: round %d: --chaos-secagg-dropout: killed before the stage '%s'",
                     id, round, SecAggStageName(stage));
          std::raise(SIGKILL);
        }
      };
      if (task.secagg_cohort() > 0) {
        progress(ClientPhase::kSecureAggregation, round);
        absl::Status joined = [&]() -> absl::Status {
          TRIB_ASSIGN_OR_RETURN(secure, StartSecureRound(s.config, task, s.held.num_elements()));
          TRIB_ASSIGN_OR_RETURN(
              const Bytes keys,
              SecureCall(connection, id, round, SecAggStage::kAdvertise, secure->Advertise()));
          die_before(SecAggStage::kShare);
          TRIB_ASSIGN_OR_RETURN(const Bytes shares, secure->Share(keys));
          TRIB_ASSIGN_OR_RETURN(shares_for_me,
                                SecureCall(connection, id, round, SecAggStage::kShare, shares));
          return absl::OkStatus();
        }();
        if (!joined.ok()) {
          if (!OutOfTheSecureRound(joined)) return joined;
          LogWarning("client %u: round %d: out of the secure aggregation: %s", id, round,
                     std::string(joined.message()).c_str());
          continue;
        }
      }
      if (round == s.settled_round) {
        // A server resumed from the checkpoint before a round it had acknowledged: that round
        // again, from the state the client had before it.
        LogWarning("client %u: round %d again (the server resumed): its state is rolled back", id,
                   round);
        s.step->Settle(false, std::move(s.before_settled), s.memory);
        s.settled_round = 0;
      } else if (round < s.settled_round) {
        LogWarning(
            "client %u: round %d after round %d: the server resumed from further back than "
            "this client can roll back; its error-feedback state is ahead",
            id, round, s.settled_round);
      }
      // Until the server accepts the upload, the round's changes to the client's memory may be
      // rolled back (ClientStep::Settle), so a retried round starts from the same state.
      ClientMemory memory_before = s.step->CopyForRollback(s.memory);
      const ClientTaskInputs inputs{.round = round,
                                    .server_state = state_bytes > 0 ? &s.server_state : nullptr,
                                    .ratio_scale = task.ratio_scale(),
                                    .clip_norm = task.clip_norm()};
      current_round_ = round;
      progress(ClientPhase::kTrain, round);
      ReturnFreedHeapPages(static_cast<int64_t>(s.held.num_elements() * sizeof(float)));
      absl::StatusOr<ClientStepResult> stepped =
          s.step->Run(id, inputs, s.held, train_data_.get(), examples_, s.memory, s.workspace);
      if (!stepped.ok()) {
        s.step->Settle(false, std::move(memory_before), s.memory);
        return stepped.status();
      }
      ClientStepResult& step = *stepped;
      const LocalTrainResult& result = step.train;
      const double train_seconds = step.upload.report.train_seconds;
      // Under secure aggregation the upload is the masked input; the update never leaves.
      Payload masked;
      if (secure.has_value()) {
        die_before(SecAggStage::kMask);
        absl::StatusOr<std::vector<float>> input = s.step->SecureInput(step.upload);
        absl::StatusOr<Bytes> message =
            input.ok() ? secure->Mask(shares_for_me, *input,
                                      SecAggRoundingKey(s.config.run.seed, round, id))
                       : absl::StatusOr<Bytes>(input.status());
        if (!message.ok()) {
          s.step->Settle(false, std::move(memory_before), s.memory);
          LogWarning("client %u: round %d: out of the secure aggregation: %s", id, round,
                     std::string(message.status().message()).c_str());
          continue;
        }
        masked = *std::move(message);
      }
      // A technique's attachment (SCAFFOLD's control variate change) follows the update.
      const Payload no_attachment;
      const Payload& attachment = secure.has_value() ? no_attachment : step.upload.attachment;
      Payload with_attachment;
      if (!attachment.empty()) {
        with_attachment = step.upload.update;
        with_attachment.insert(with_attachment.end(), attachment.begin(), attachment.end());
      }
      const Payload& payload = secure.has_value()   ? masked
                               : attachment.empty() ? step.upload.update
                                                    : with_attachment;
      log.train_seconds = train_seconds;
      const auto upload_start = Clock::now();
      grpc::ClientContext upload_context;
      connection.Prepare(upload_context);
      v1::UploadReply upload_reply;
      std::unique_ptr<grpc::ClientWriter<v1::UploadMessage>> writer =
          connection.stub().Upload(&upload_context, &upload_reply);
      v1::UploadMessage upload;
      v1::UploadHeader* header = upload.mutable_header();
      header->set_client_id(id);
      header->set_round(round);
      header->set_payload_bytes(static_cast<int64_t>(payload.size()));
      header->set_payload_checksum(PayloadChecksum(payload));
      header->set_attachment_bytes(static_cast<int64_t>(attachment.size()));
      header->set_num_examples(result.num_examples);
      header->set_mean_loss(result.mean_loss);
      header->set_steps(result.steps);
      header->set_examples_processed(result.examples_processed);
      header->set_train_seconds(train_seconds);
      if (options_.uplink_mbps > 0.0) {
        LogInfo("client %u: round %d: uploading %zu bytes at %.3g Mbit/s (about %.1f s)", id, round,
                payload.size(), options_.uplink_mbps,
                payload.size() * 8.0 / (options_.uplink_mbps * 1e6));
      }
      // As for downloads: the first chunk rides with the header, the last message ends the stream.
      const size_t chunk_bytes = uplink_bucket.ChunkBytes(kChunkBytes);
      const size_t first = std::min(chunk_bytes, payload.size());
      uplink_bucket.Consume(static_cast<int64_t>(first));
      header->set_first_chunk(payload.data(), first);
      progress(ClientPhase::kUpload, round, 0, static_cast<int64_t>(payload.size()), upload_start);
      bool sent = true;
      for (size_t offset = first; sent && offset < payload.size(); offset += chunk_bytes) {
        progress(ClientPhase::kUpload, round, static_cast<int64_t>(offset),
                 static_cast<int64_t>(payload.size()), upload_start);
        sent = writer->Write(upload);
        const size_t n = std::min(chunk_bytes, payload.size() - offset);
        uplink_bucket.Consume(static_cast<int64_t>(n));
        upload.set_chunk(payload.data() + offset, n);
      }
      if (sent) writer->WriteLast(upload, grpc::WriteOptions());
      log.upload_send_seconds = std::chrono::duration<double>(Clock::now() - upload_start).count();
      grpc::Status upload_status = writer->Finish();
      const bool acknowledged = upload_status.ok() && upload_reply.accepted();
      if (acknowledged) {
        s.settled_round = round;
        s.before_settled = std::move(memory_before);
      } else {
        s.step->Settle(false, std::move(memory_before), s.memory);
      }
      if (!upload_status.ok()) return FromGrpc(upload_status, "upload");
      last_contact = Clock::now();
      if (secure.has_value() && upload_reply.accepted()) {
        // The survivors' list, then this client's unmasking shares.
        die_before(SecAggStage::kUnmask);
        absl::Status unmasked = [&]() -> absl::Status {
          TRIB_ASSIGN_OR_RETURN(const Bytes survivors,
                                SecureCall(connection, id, round, SecAggStage::kMask, {}));
          TRIB_ASSIGN_OR_RETURN(const Bytes shares, secure->Unmask(survivors));
          return SecureCall(connection, id, round, SecAggStage::kUnmask, shares, secure->seconds())
              .status();
        }();
        if (!unmasked.ok() && !OutOfTheSecureRound(unmasked)) return unmasked;
        const std::array<double, kSecAggStages>& seconds = secure->seconds();
        LogInfo(
            "client %u: round %d: secure aggregation %s; computing %.3f s (share keys), %.3f s "
            "(masked input), %.3f s (unmasking)",
            id, round, unmasked.ok() ? "done" : absl::StrCat("left: ", unmasked.message()).c_str(),
            seconds[1], seconds[2], seconds[3]);
      }
      log.upload_bytes = static_cast<int64_t>(payload.size());
      log.upload_seconds = std::chrono::duration<double>(Clock::now() - upload_start).count();
      rounds_.push_back(log);
      last_round = round;
      progress(ClientPhase::kWaiting, last_round);
      LogInfo(
          "client %u: round %d: %lld bytes down in %.3f s, trained %.2f s (%lld examples, loss "
          "%.4f), %zu bytes up in %.3f s, %s%s",
          id, round, static_cast<long long>(log.download_bytes), log.download_seconds,
          train_seconds, static_cast<long long>(result.num_examples), result.mean_loss,
          payload.size(), log.upload_seconds,
          upload_reply.accepted() ? "accepted" : "refused: ", upload_reply.reason().c_str());
    }
  };

  while (true) {
    absl::Status status = run_connection();
    if (status.ok()) return status;
    if (IsPermanent(status)) return status;
    const double silent = std::chrono::duration<double>(Clock::now() - last_contact).count();
    if (silent > options_.give_up_seconds) {
      return absl::DeadlineExceededError(absl::StrCat("no contact with the server for ",
                                                      static_cast<int>(silent),
                                                      " s; last error: ", status.message()));
    }
    LogWarning("client %u: %s; reconnecting in %.1f s", id, std::string(status.message()).c_str(),
               backoff);
    std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
    backoff = std::min(backoff * 2.0, options_.max_backoff_seconds);
  }
}

}  // namespace tributary
