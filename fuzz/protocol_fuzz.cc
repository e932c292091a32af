// Fuzz target: every protocol message the server or the client parses, taken through the
// checks each side applies to it (proto/tributary.proto, docs/deploy.md). The first byte picks
// the message; for the streamed transfers the rest is a sequence of messages, each after its
// length (2 bytes, little-endian).
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "compress/pipeline.h"
#include "deploy/protocol_checks.h"
#include "deploy/transfer.h"
#include "fuzz_seeds.h"
#include "google/protobuf/stubs/logging.h"
#include "tributary.pb.h"

namespace {

using namespace tributary;

constexpr size_t kDimension = 200;

// The input after its first byte, message by message.
class Messages {
 public:
  explicit Messages(std::string_view rest) : rest_(rest) {}
  bool done() const { return rest_.size() < 2; }
  std::string Next() {
    const size_t length =
        static_cast<uint8_t>(rest_[0]) | static_cast<size_t>(static_cast<uint8_t>(rest_[1])) << 8;
    rest_.remove_prefix(2);
    const std::string_view message = rest_.substr(0, length);
    rest_.remove_prefix(message.size());
    return std::string(message);
  }

 private:
  std::string_view rest_;
};

void Frame(std::string& out, const std::string& message) {
  out.push_back(static_cast<char>(message.size() & 0xff));
  out.push_back(static_cast<char>(message.size() >> 8));
  out += message;
}
constexpr int64_t kMaxPayload = 1 << 16;

const Pipeline& Uplink() {
  static const std::unique_ptr<Pipeline> pipeline = *Pipeline::Parse("topk:ratio=0.1|fp16");
  return *pipeline;
}
const Pipeline& CatchUp() {
  static const std::unique_ptr<Pipeline> pipeline = *Pipeline::Parse("sparse");
  return *pipeline;
}
const Pipeline& Full() {
  static const std::unique_ptr<Pipeline> pipeline = *Pipeline::Parse("fp32");
  return *pipeline;
}

// The server's side of Upload: a header, then chunks, reassembled and checksummed, split into
// update and attachment, the report checked, the update decoded.
void Upload(Messages in) {
  v1::UploadMessage first;
  if (in.done() || !first.ParseFromString(in.Next()) || !first.has_header()) return;
  const v1::UploadHeader& header = first.header();
  (void)CheckRegistration(header.client_id(), header.num_examples(), 0.0, 100);
  auto assembler =
      PayloadAssembler::Start(header.payload_bytes(), header.payload_checksum(), kMaxPayload);
  if (!assembler.ok() || !assembler->AddFirst(header.first_chunk()).ok()) return;
  while (!in.done()) {
    v1::UploadMessage message;
    if (!message.ParseFromString(in.Next())) return;
    if (!message.has_chunk() || !assembler->Add(message.chunk()).ok()) return;
  }
  auto payload = std::move(*assembler).Finish();
  if (!payload.ok()) return;
  auto upload = UploadFromMessages(header, std::move(*payload));
  if (!upload.ok() || !CheckClientReport(upload->report).ok()) return;
  (void)Uplink().Decode(upload->update, kDimension);
}

// The client's side of NextRound: a task (or RunFinished), then chunks, reassembled and
// decoded as the task's kind says.
void Download(Messages in) {
  v1::RoundMessage first;
  if (in.done() || !first.ParseFromString(in.Next()) || !first.has_task()) return;
  const v1::RoundTask& task = first.task();
  auto assembler = PayloadAssembler::Start(task.payload_bytes(), task.payload_checksum(),
                                           MaxPayloadBytes(kDimension * sizeof(float)));
  if (!assembler.ok() || !assembler->AddFirst(task.first_chunk()).ok()) return;
  while (!in.done()) {
    v1::RoundMessage message;
    if (!message.ParseFromString(in.Next())) return;
    if (!message.has_chunk() || !assembler->Add(message.chunk()).ok()) return;
  }
  auto payload = std::move(*assembler).Finish();
  if (!payload.ok()) return;
  const int64_t state_bytes = task.server_state_bytes();
  if (state_bytes < 0 || state_bytes > static_cast<int64_t>(payload->size())) return;
  payload->resize(payload->size() - static_cast<size_t>(state_bytes));
  const Pipeline& pipeline = task.kind() == v1::DOWNLOAD_FULL ? Full() : CatchUp();
  (void)pipeline.Decode(*payload, kDimension);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Protobuf logs every string field that is not UTF-8; the parse failing is what matters.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string message(rest);
  switch (data[0] % 7) {
    case 0: {
      v1::RegisterRequest request;
      if (request.ParseFromString(message)) {
        (void)CheckRegistration(request.client_id(), request.num_examples(),
                                request.capabilities().uplink_mbps(), 100);
      }
      break;
    }
    case 1: {
      v1::RegisterReply reply;
      (void)reply.ParseFromString(message);
      break;
    }
    case 2: {
      v1::NextRoundRequest request;
      (void)request.ParseFromString(message);
      break;
    }
    case 3: {
      v1::HeartbeatRequest request;
      (void)request.ParseFromString(message);
      break;
    }
    case 4:
      Upload(Messages(rest));
      break;
    case 5:
      Download(Messages(rest));
      break;
    case 6: {
      v1::UploadReply reply;
      (void)reply.ParseFromString(message);
      break;
    }
  }
  return 0;
}

// Real messages: a registration, a poll, a heartbeat, an upload (header and two chunks of a
// real top-k payload) and a download (task and chunks of a real catch-up and a full model).
std::vector<std::string> TributaryFuzzSeeds() {
  std::vector<std::string> seeds;
  auto single = [&](char kind, const google::protobuf::MessageLite& m) {
    seeds.push_back(std::string(1, kind) + m.SerializeAsString());
  };
  v1::RegisterRequest registration;
  registration.set_client_id(3);
  registration.set_num_examples(800);
  registration.mutable_capabilities()->set_uplink_mbps(20);
  single(0, registration);
  v1::RegisterReply reply;
  reply.set_config_toml("[run]\nrounds = 3\n");
  reply.set_initial_model_checksum(42);
  reply.set_heartbeat_seconds(15);
  single(1, reply);
  v1::NextRoundRequest poll;
  poll.set_client_id(3);
  poll.set_held_version(2);
  single(2, poll);
  v1::HeartbeatRequest heartbeat;
  heartbeat.set_client_id(3);
  single(3, heartbeat);

  std::vector<float> x(kDimension);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 13) - 6.0f;
  const Payload update = Uplink().Encode(x, 5);
  v1::UploadMessage header;
  v1::UploadHeader* h = header.mutable_header();
  h->set_client_id(3);
  h->set_round(1);
  h->set_payload_bytes(static_cast<int64_t>(update.size()));
  h->set_payload_checksum(PayloadChecksum(update));
  h->set_num_examples(800);
  h->set_mean_loss(0.7);
  h->set_steps(25);
  h->set_examples_processed(800);
  h->set_train_seconds(1.5);
  const size_t half = update.size() / 2;
  h->set_first_chunk(update.data(), half);
  std::string upload(1, 4);
  Frame(upload, header.SerializeAsString());
  v1::UploadMessage chunk;
  chunk.set_chunk(update.data() + half, update.size() - half);
  Frame(upload, chunk.SerializeAsString());
  seeds.push_back(upload);

  for (v1::DownloadKind kind : {v1::DOWNLOAD_CATCH_UP, v1::DOWNLOAD_FULL}) {
    const Payload model = (kind == v1::DOWNLOAD_FULL ? Full() : CatchUp()).Encode(x, 0);
    v1::RoundMessage task;
    v1::RoundTask* t = task.mutable_task();
    t->set_round(2);
    t->set_model_version(2);
    t->set_kind(kind);
    t->set_payload_bytes(static_cast<int64_t>(model.size()));
    t->set_payload_checksum(PayloadChecksum(model));
    t->set_counted_bytes(static_cast<int64_t>(model.size()));
    const size_t first = model.size() / 3;
    t->set_first_chunk(model.data(), first);
    std::string download(1, 5);
    Frame(download, task.SerializeAsString());
    v1::RoundMessage rest;
    rest.set_chunk(model.data() + first, model.size() - first);
    Frame(download, rest.SerializeAsString());
    seeds.push_back(download);
  }
  return seeds;
}
