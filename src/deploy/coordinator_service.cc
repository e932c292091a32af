#include "deploy/coordinator_service.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "deploy/transfer.h"

namespace tributary {
namespace {

std::string_view Metadata(const grpc::ServerContext& context, const char* key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  if (it == metadata.end()) return {};
  return {it->second.data(), it->second.size()};
}

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

v1::DownloadKind KindOf(const Downlink::Transfer& transfer) {
  switch (transfer.kind) {
    case Downlink::Kind::kFull:
      return v1::DOWNLOAD_FULL;
    case Downlink::Kind::kCatchUp:
      return transfer.from_initial ? v1::DOWNLOAD_CATCH_UP_INITIAL : v1::DOWNLOAD_CATCH_UP;
    case Downlink::Kind::kIncrements:
      return transfer.from_initial ? v1::DOWNLOAD_INCREMENTS_INITIAL : v1::DOWNLOAD_INCREMENTS;
    case Downlink::Kind::kGridCatchUp:
      return transfer.from_initial ? v1::DOWNLOAD_GRID_CATCH_UP_INITIAL
                                   : v1::DOWNLOAD_GRID_CATCH_UP;
  }
  return v1::DOWNLOAD_FULL;
}

}  // namespace

CoordinatorService::CoordinatorService(Coordinator& coordinator, const ClientTokens& tokens,
                                       const ServerLimits& limits)
    : coordinator_(coordinator),
      tokens_(tokens),
      limits_(limits),
      admission_(limits.max_calls_per_client,
                 limits.MaxCallsTotal(coordinator.config().data.partition.num_clients)) {}

grpc::Status CoordinatorService::Reject(CallRejection why, grpc::StatusCode code,
                                        const std::string& message) {
  coordinator_.counters().Reject(why);
  return grpc::Status(code, message);
}

grpc::Status CoordinatorService::Invalid(const std::string& message) {
  return Reject(CallRejection::kInvalid, grpc::StatusCode::INVALID_ARGUMENT, message);
}

grpc::Status CoordinatorService::WrongClient(uint32_t caller, uint32_t claimed) {
  return Reject(CallRejection::kWrongClient, grpc::StatusCode::PERMISSION_DENIED,
                absl::StrCat("authenticated as client ", caller, ", not ", claimed));
}

grpc::Status CoordinatorService::Admit(const grpc::ServerContext& context, uint32_t* caller,
                                       std::optional<CallAdmission::Slot>* slot) {
  const std::string_view id_text = Metadata(context, kClientIdMetadata);
  const std::string_view authorization = Metadata(context, kAuthorizationMetadata);
  uint32_t id = 0;
  constexpr std::string_view kBearer = "Bearer ";
  if (!absl::SimpleAtoi(absl::string_view(id_text.data(), id_text.size()), &id) ||
      !authorization.starts_with(kBearer) ||
      !tokens_.Check(id, authorization.substr(kBearer.size()))) {
    LogWarning("rejected a call from %s: unknown client id or wrong token", context.peer().c_str());
    return Reject(CallRejection::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED,
                  "unknown client id or wrong token");
  }
  slot->emplace(admission_.Admit(id));
  switch ((*slot)->refusal()) {
    case CallAdmission::Refusal::kNone:
      break;
    case CallAdmission::Refusal::kClientBusy:
      LogWarning("refused a call from client %u: it holds %d calls already", id,
                 limits_.max_calls_per_client);
      return Reject(
          CallRejection::kClientBusy, grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("client ", id, " holds ", limits_.max_calls_per_client, " calls already"));
    case CallAdmission::Refusal::kServerBusy:
      LogWarning("refused a call from client %u: the server is at its call limit", id);
      return Reject(CallRejection::kServerBusy, grpc::StatusCode::RESOURCE_EXHAUSTED,
                    "the server is at its call limit; retry later");
  }
  *caller = id;
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Register(grpc::ServerContext* context,
                                          const v1::RegisterRequest* request,
                                          v1::RegisterReply* reply) {
  uint32_t caller = 0;
  std::optional<CallAdmission::Slot> slot;
  if (grpc::Status admitted = Admit(*context, &caller, &slot); !admitted.ok()) return admitted;
  if (caller != request->client_id()) return WrongClient(caller, request->client_id());
  absl::StatusOr<Coordinator::Registration> registration = coordinator_.Register(
      request->client_id(), request->num_examples(), request->capabilities().uplink_mbps());
  if (!registration.ok()) return Invalid(std::string(registration.status().message()));
  reply->set_config_toml(coordinator_.config_toml());
  reply->set_initial_model_checksum(registration->initial_model_checksum);
  reply->set_rounds_completed(registration->rounds_completed);
  reply->set_heartbeat_seconds(registration->heartbeat_seconds);
  LogInfo("client %u registered from %s (%lld examples)", request->client_id(),
          context->peer().c_str(), static_cast<long long>(request->num_examples()));
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Heartbeat(grpc::ServerContext* context,
                                           const v1::HeartbeatRequest* request,
                                           v1::HeartbeatReply* reply) {
  uint32_t caller = 0;
  std::optional<CallAdmission::Slot> slot;
  if (grpc::Status admitted = Admit(*context, &caller, &slot); !admitted.ok()) return admitted;
  if (caller != request->client_id()) return WrongClient(caller, request->client_id());
  return ToGrpc(coordinator_.Heartbeat(caller));
}

grpc::Status CoordinatorService::SecureAggregation(grpc::ServerContext* context,
                                                   const v1::SecAggRequest* request,
                                                   v1::SecAggReply* reply) {
  uint32_t caller = 0;
  std::optional<CallAdmission::Slot> slot;
  if (grpc::Status admitted = Admit(*context, &caller, &slot); !admitted.ok()) return admitted;
  if (caller != request->client_id()) return WrongClient(caller, request->client_id());
  const std::string& message = request->message();
  absl::StatusOr<std::vector<uint8_t>> next = coordinator_.SecureMessage(
      caller, request->round(), static_cast<int>(request->stage()),
      std::span(reinterpret_cast<const uint8_t*>(message.data()), message.size()),
      std::span(request->client_seconds().data(), request->client_seconds().size()),
      [context] { return context->IsCancelled(); });
  if (!next.ok()) return ToGrpc(next.status());
  reply->set_message(next->data(), next->size());
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::NextRound(grpc::ServerContext* context,
                                           const v1::NextRoundRequest* request,
                                           grpc::ServerWriter<v1::RoundMessage>* writer) {
  uint32_t caller = 0;
  std::optional<CallAdmission::Slot> slot;
  if (grpc::Status admitted = Admit(*context, &caller, &slot); !admitted.ok()) return admitted;
  if (caller != request->client_id()) return WrongClient(caller, request->client_id());
  const uint32_t client = request->client_id();
  // Tells the client its poll was admitted (it may wait long for a task).
  writer->SendInitialMetadata();
  absl::StatusOr<std::optional<ClientTask>> task = coordinator_.WaitForTask(
      client, request->held_version(), [context] { return context->IsCancelled(); });
  if (!task.ok()) return ToGrpc(task.status());
  v1::RoundMessage message;
  if (!task->has_value()) {
    message.mutable_finished()->set_rounds(coordinator_.config().run.rounds);
    writer->Write(message);
    return grpc::Status::OK;
  }
  const ClientTask& t = **task;
  // A technique's server state (SCAFFOLD's c) follows the model in the same transfer.
  Payload with_state;
  if (t.server_state) {
    with_state.reserve(t.download.payload->size() + t.server_state->size());
    with_state = *t.download.payload;
    with_state.insert(with_state.end(), t.server_state->begin(), t.server_state->end());
  }
  const Payload& payload = t.server_state ? with_state : *t.download.payload;
  v1::RoundTask* header = message.mutable_task();
  header->set_round(t.round);
  header->set_model_version(t.download.version);
  header->set_kind(KindOf(t.download));
  header->set_payload_bytes(static_cast<int64_t>(payload.size()));
  header->set_payload_checksum(PayloadChecksum(payload));
  header->set_counted_bytes(t.download.bytes);
  header->set_server_state_bytes(t.server_state ? static_cast<int64_t>(t.server_state->size()) : 0);
  header->set_ratio_scale(t.ratio_scale);
  header->set_clip_norm(t.clip_norm);
  header->set_secagg_cohort(t.secagg_cohort);
  header->set_secagg_position(t.secagg_position);
  header->set_secagg_length(t.secagg_length);
  // The first chunk rides with the task. Each message goes out once the next is ready, so the
  // last one can close the stream with it.
  const size_t first = std::min(kChunkBytes, payload.size());
  header->set_first_chunk(payload.data(), first);
  // A client that stops reading blocks Write: the watchdog cancels the call, which wakes it.
  std::atomic<bool> silent{false};
  Watchdog::Timer silence = watchdog_.Arm(limits_.stream_idle_seconds, [context, &silent] {
    silent = true;
    context->TryCancel();
  });
  bool sent = true;
  for (size_t offset = first; sent && offset < payload.size(); offset += kChunkBytes) {
    silence.Rearm(limits_.stream_idle_seconds);
    sent = writer->Write(message);
    message.set_chunk(payload.data() + offset, std::min(kChunkBytes, payload.size() - offset));
  }
  // Sent with the call's status as the handler returns; a client lost at that point is dropped
  // at the round's deadline.
  if (sent) {
    silence.Rearm(limits_.stream_idle_seconds);
    writer->WriteLast(message, grpc::WriteOptions());
  }
  silence = Watchdog::Timer();
  if (!sent) {
    coordinator_.ClientFailed(client, t.round, 0,
                              silent ? "download stalled" : "download interrupted");
    if (silent) coordinator_.counters().Reject(CallRejection::kStreamIdle);
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "download interrupted");
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Upload(grpc::ServerContext* context,
                                        grpc::ServerReader<v1::UploadMessage>* reader,
                                        v1::UploadReply* reply) {
  // The caller is authenticated from the call's metadata before anything is read: a stream
  // without credentials is closed at once instead of holding a server thread while it waits.
  uint32_t caller = 0;
  std::optional<CallAdmission::Slot> slot;
  if (grpc::Status admitted = Admit(*context, &caller, &slot); !admitted.ok()) return admitted;
  // A stream that stays silent is cancelled, which wakes the Read below.
  std::atomic<bool> silent{false};
  Watchdog::Timer silence = watchdog_.Arm(limits_.first_message_seconds, [context, &silent] {
    silent = true;
    context->TryCancel();
  });
  v1::UploadMessage message;
  if (!reader->Read(&message) || !message.has_header()) {
    if (silent) {
      return Reject(CallRejection::kFirstMessageTimeout, grpc::StatusCode::DEADLINE_EXCEEDED,
                    "no upload header in time");
    }
    return Invalid("an upload starts with its header");
  }
  const v1::UploadHeader header = message.header();
  if (header.client_id() != caller) return WrongClient(caller, header.client_id());
  silence.Rearm(limits_.stream_idle_seconds);
  // Admitted before its buffer is reserved; cut off if the round closes while it is in flight.
  if (absl::Status admitted = coordinator_.BeginUpload(header.client_id(), header.round(),
                                                       [context] { context->TryCancel(); });
      !admitted.ok()) {
    coordinator_.counters().Reject(UploadRejection::kNotExpected);
    reply->set_accepted(false);
    reply->set_reason(std::string(admitted.message()));
    return grpc::Status::OK;
  }
  ReceiveBuffers& buffers = coordinator_.receive_buffers();
  absl::StatusOr<PayloadAssembler> assembler = PayloadAssembler::Start(
      header.payload_bytes(), header.payload_checksum(), coordinator_.max_upload_bytes(),
      BufferPages::kOrdinary, buffers.Take());
  if (!assembler.ok()) {
    coordinator_.ClientFailed(header.client_id(), header.round(), 0,
                              absl::StrCat("upload refused: ", assembler.status().message()));
    return Invalid(std::string(assembler.status().message()));
  }
  std::string failure;
  const auto receive_start = std::chrono::steady_clock::now();
  if (absl::Status first = assembler->AddFirst(header.first_chunk()); !first.ok()) {
    failure = std::string(first.message());
  }
  while (failure.empty() && reader->Read(&message)) {
    silence.Rearm(limits_.stream_idle_seconds);
    if (!message.has_chunk()) {
      failure = "upload message after the header is not a chunk";
      break;
    }
    if (absl::Status added = assembler->Add(message.chunk()); !added.ok()) {
      failure = std::string(added.message());
      break;
    }
  }
  silence = Watchdog::Timer();  // decoding and aggregating are the server's own time
  if (silent) {
    coordinator_.ClientFailed(header.client_id(), header.round(), assembler->received(),
                              "upload stalled");
    buffers.Give(std::move(*assembler).Release());
    return Reject(CallRejection::kStreamIdle, grpc::StatusCode::DEADLINE_EXCEEDED,
                  absl::StrCat("no upload chunk for ", limits_.stream_idle_seconds, " s"));
  }
  const int64_t received = assembler->received();
  absl::StatusOr<Payload> payload =
      failure.empty() ? std::move(*assembler).Finish() : absl::DataLossError(failure);
  if (!payload.ok()) {
    coordinator_.ClientFailed(header.client_id(), header.round(), received,
                              absl::StrCat("upload not used: ", payload.status().message()));
    buffers.Give(std::move(*assembler).Release());
    return grpc::Status(grpc::StatusCode::DATA_LOSS, std::string(payload.status().message()));
  }
  CoordinatorCounters& counters = coordinator_.counters();
  counters.last_upload_bytes = static_cast<int64_t>(payload->size());
  counters.last_upload_receive_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - receive_start).count();
  absl::StatusOr<ClientUpload> upload = UploadFromMessages(header, std::move(*payload));
  if (!upload.ok()) {
    coordinator_.ClientFailed(header.client_id(), header.round(), received,
                              absl::StrCat("upload not used: ", upload.status().message()));
    return Invalid(std::string(upload.status().message()));
  }
  absl::Status accepted = coordinator_.SubmitUpdate(*upload);
  buffers.Give(std::move(upload->update));
  reply->set_accepted(accepted.ok());
  if (!accepted.ok()) reply->set_reason(std::string(accepted.message()));
  return grpc::Status::OK;
}

}  // namespace tributary
