#include "run/round_share.h"

#include <string>

#include "absl/status/status.h"
#include "common/status_util.h"
#include "compress/byte_stream.h"

namespace tributary {
namespace {

constexpr uint8_t kLastFate = static_cast<uint8_t>(ClientFate::kStraggler);

void PutBlob(ByteWriter& out, std::span<const uint8_t> bytes) {
  out.PutVarint(bytes.size());
  out.PutBytes(bytes);
}

absl::StatusOr<std::span<const uint8_t>> GetBlob(ByteReader& in) {
  TRIB_ASSIGN_OR_RETURN(uint64_t size, in.GetVarint());
  if (size > in.remaining()) {
    return absl::InvalidArgumentError("round share: a length runs past the end");
  }
  return in.GetBytes(size);
}

void PutReport(ByteWriter& out, const ClientReport& report) {
  out.Put(report.client);
  out.Put(static_cast<int32_t>(report.round));
  out.Put(report.num_examples);
  out.Put(report.mean_loss);
  out.Put(report.train_seconds);
  out.Put(report.examples_processed);
}

absl::StatusOr<ClientReport> GetReport(ByteReader& in) {
  ClientReport report;
  TRIB_ASSIGN_OR_RETURN(report.client, in.Get<uint32_t>());
  TRIB_ASSIGN_OR_RETURN(report.round, in.Get<int32_t>());
  TRIB_ASSIGN_OR_RETURN(report.num_examples, in.Get<int64_t>());
  TRIB_ASSIGN_OR_RETURN(report.mean_loss, in.Get<double>());
  TRIB_ASSIGN_OR_RETURN(report.train_seconds, in.Get<double>());
  TRIB_ASSIGN_OR_RETURN(report.examples_processed, in.Get<int64_t>());
  return report;
}

}  // namespace

void AppendSharedClient(uint32_t position, const ClientRecord& record, const ClientUpload* upload,
                        std::vector<uint8_t>* share) {
  ByteWriter out(share);
  out.PutVarint(position);
  out.Put(record.client);
  out.Put(static_cast<uint8_t>(record.fate));
  out.Put(static_cast<uint8_t>(record.uploaded));
  out.Put(record.bytes_up);
  out.Put(record.finish_seconds);
  PutBlob(out, {reinterpret_cast<const uint8_t*>(record.error.data()), record.error.size()});
  PutReport(out, record.report);
  out.Put(static_cast<uint8_t>(upload != nullptr));
  if (upload != nullptr) {
    PutBlob(out, upload->update);
    PutBlob(out, upload->attachment);
  }
}

absl::StatusOr<std::vector<SharedClientView>> ParseRoundShare(std::span<const uint8_t> bytes) {
  ByteReader in(bytes);
  std::vector<SharedClientView> clients;
  while (in.remaining() > 0) {
    SharedClientView& c = clients.emplace_back();
    ClientRecord& r = c.record;
    TRIB_ASSIGN_OR_RETURN(uint64_t position, in.GetVarint());
    if (position > UINT32_MAX) return absl::InvalidArgumentError("round share: bad position");
    c.position = static_cast<uint32_t>(position);
    TRIB_ASSIGN_OR_RETURN(r.client, in.Get<uint32_t>());
    TRIB_ASSIGN_OR_RETURN(uint8_t fate, in.Get<uint8_t>());
    if (fate > kLastFate) return absl::InvalidArgumentError("round share: unknown client fate");
    r.fate = static_cast<ClientFate>(fate);
    TRIB_ASSIGN_OR_RETURN(uint8_t uploaded, in.Get<uint8_t>());
    if (uploaded > 1) return absl::InvalidArgumentError("round share: bad flag");
    r.uploaded = uploaded == 1;
    TRIB_ASSIGN_OR_RETURN(r.bytes_up, in.Get<int64_t>());
    if (r.bytes_up < 0) return absl::InvalidArgumentError("round share: negative byte count");
    TRIB_ASSIGN_OR_RETURN(r.finish_seconds, in.Get<double>());
    TRIB_ASSIGN_OR_RETURN(std::span<const uint8_t> error, GetBlob(in));
    r.error.assign(error.begin(), error.end());
    TRIB_ASSIGN_OR_RETURN(r.report, GetReport(in));
    TRIB_ASSIGN_OR_RETURN(uint8_t has_upload, in.Get<uint8_t>());
    if (has_upload > 1) return absl::InvalidArgumentError("round share: bad flag");
    c.has_upload = has_upload == 1;
    if (c.has_upload) {
      TRIB_ASSIGN_OR_RETURN(c.update, GetBlob(in));
      TRIB_ASSIGN_OR_RETURN(c.attachment, GetBlob(in));
    }
  }
  return clients;
}

}  // namespace tributary
