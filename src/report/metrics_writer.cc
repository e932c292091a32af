#include "report/metrics_writer.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/status_util.h"

namespace tributary {

namespace {
nlohmann::ordered_json OrNull(const std::optional<double>& value) {
  return value.has_value() ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}
}  // namespace

std::string RoundMetricsToJson(const RoundMetrics& m) {
  nlohmann::ordered_json j;
  j["round"] = m.round;
  j["clients"] = m.clients;
  j["clients_rejected"] = m.clients_rejected;
  j["train_loss"] = m.train_loss;
  j["test_accuracy"] = OrNull(m.test_accuracy);
  j["test_loss"] = OrNull(m.test_loss);
  if (m.test_perplexity.has_value()) j["test_perplexity"] = *m.test_perplexity;
  if (m.tokens_trained_total.has_value()) j["tokens_trained_total"] = *m.tokens_trained_total;
  if (m.forward_passes_total.has_value()) j["forward_passes_total"] = *m.forward_passes_total;
  if (m.backward_passes_total.has_value()) j["backward_passes_total"] = *m.backward_passes_total;
  if (m.dp_epsilon.has_value()) j["dp_epsilon"] = *m.dp_epsilon;
  if (m.dp_clip_norm.has_value()) j["dp_clip_norm"] = *m.dp_clip_norm;
  if (m.secagg.has_value()) {
    const SecureAggregationMetrics& s = *m.secagg;
    j["secagg"] = {{"abandoned", s.abandoned},
                   {"clients_summed", s.clients_summed},
                   {"messages_refused", s.messages_refused},
                   {"bytes_up", s.bytes_up},
                   {"bytes_down", s.bytes_down},
                   {"server_seconds", s.server_seconds},
                   {"client_seconds", s.client_seconds}};
  }
  j["bytes_up"] = m.bytes_up;
  j["bytes_down"] = m.bytes_down;
  j["uplink_compression"] = m.uplink_compression;
  j["downlink_resyncs"] = m.downlink_resyncs;
  j["downlink_increments"] = m.downlink_increments;
  j["downlink_grid_catch_ups"] = m.downlink_grid_catch_ups;
  j["client_bytes_peak"] = m.client_bytes_peak;
  j["client_accuracy"] = OrNull(m.client_accuracy);
  j["byzantine_clients"] = m.byzantine_clients;
  j["clients_dropped"] = m.clients_dropped;
  j["stragglers"] = m.stragglers;
  j["full_clients_trained"] = m.full_clients_trained;
  j["small_clients_trained"] = m.small_clients_trained;
  j["train_seconds_full"] = m.train_seconds_full;
  j["train_seconds_small"] = m.train_seconds_small;
  j["bytes_up_per_full_client"] = m.bytes_up_per_full_client;
  j["bytes_up_per_small_client"] = m.bytes_up_per_small_client;
  j["sim_seconds"] = m.sim_seconds;
  j["sim_time_seconds"] = m.sim_time_seconds;
  j["bytes_up_total"] = m.bytes_up_total;
  j["bytes_down_total"] = m.bytes_down_total;
  j["accepted_clients"] = m.accepted_clients;
  j["expected_weight"] = m.expected_weight;
  j["wall_seconds"] = m.wall_seconds;
  j["eval_seconds"] = m.eval_seconds;
  return j.dump();
}

absl::StatusOr<std::unique_ptr<MetricsWriter>> MetricsWriter::Open(const std::string& path,
                                                                   int keep_rounds) {
  if (keep_rounds > 0) {
    // Keep the lines of rounds 1..keep_rounds (written before an interruption), drop the rest.
    // A last line without its newline is a write the interruption cut short: dropped too.
    std::ifstream in(path);
    std::string line, kept;
    while (std::getline(in, line)) {
      if (in.eof()) {
        LogWarning("%s: dropping an incomplete last line (%zu bytes)", path, line.size());
        break;
      }
      nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.contains("round") || !j["round"].is_number_integer()) {
        return absl::DataLossError(absl::StrCat(path, ": a line is not a round's metrics"));
      }
      if (j["round"].get<int>() <= keep_rounds) kept += line + "\n";
    }
    TRIB_RETURN_IF_ERROR(WriteFileAtomically(path, kept));
  }
  std::FILE* file = std::fopen(path.c_str(), keep_rounds > 0 ? "a" : "w");
  if (file == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<MetricsWriter>(new MetricsWriter(file, path));
}

MetricsWriter::~MetricsWriter() { std::fclose(file_); }

absl::Status MetricsWriter::Write(const RoundMetrics& metrics) {
  const std::string line = RoundMetricsToJson(metrics) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    return absl::DataLossError(absl::StrCat("cannot write ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace tributary
