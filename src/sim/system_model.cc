#include "sim/system_model.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"

namespace tributary {
namespace {

constexpr double kMbit = 1e6;

double LogUniform(Rng& rng, double low, double high) {
  return low * std::pow(high / low, UniformUnit(rng));
}
double Uniform(Rng& rng, double low, double high) { return low + (high - low) * UniformUnit(rng); }

absl::StatusOr<std::vector<ClientSystem>> ReadTrace(const std::string& path, size_t num_clients) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("system trace '", path, "' cannot be read"));
  std::vector<ClientSystem> clients;
  std::string line;
  std::getline(in, line);  // header
  int line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream fields(line);
    int64_t id = -1;
    double down = 0, up = 0, latency_ms = 0, speed = 0;
    std::string rest;
    const auto where = [&] { return absl::StrCat(path, ":", line_number, ": "); };
    if (!(fields >> id >> down >> up >> latency_ms >> speed) || (fields >> rest)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "expected client,downlink_mbps,uplink_mbps,latency_ms,speed"));
    }
    if (id != static_cast<int64_t>(clients.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "client ids must run 0, 1, 2, ... in order; got ", id));
    }
    const auto positive = [](double v) { return std::isfinite(v) && v > 0.0; };
    if (!positive(down) || !positive(up) || !positive(speed) || !std::isfinite(latency_ms) ||
        latency_ms < 0.0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "bandwidths and speed must be positive, latency non-negative"));
    }
    clients.push_back({down * kMbit, up * kMbit, latency_ms / 1e3, speed});
  }
  if (clients.size() < num_clients) {
    return absl::InvalidArgumentError(absl::StrCat("system trace '", path, "' describes ",
                                                   clients.size(), " clients; the run has ",
                                                   num_clients));
  }
  clients.resize(num_clients);
  return clients;
}

}  // namespace

absl::Status SystemSpec::Validate() const {
  if (profile != "uniform" && profile != "datacenter" && profile != "edge" && profile != "mobile" &&
      profile != "trace") {
    return absl::InvalidArgumentError(absl::StrCat(
        "system.profile '", profile, "': one of uniform, datacenter, edge, mobile, trace"));
  }
  if ((profile == "trace") != !trace_path.empty()) {
    return absl::InvalidArgumentError(
        "system.trace is required with, and only with, profile = trace");
  }
  const auto probability = [](double p) { return p >= 0.0 && p < 1.0; };
  if (!probability(dropout) || !probability(crash_upload) || dropout + crash_upload >= 1.0) {
    return absl::InvalidArgumentError(
        "system.dropout and system.crash_upload must be in [0, 1) and sum below 1");
  }
  if (!(seconds_per_example >= 0.0 && seconds_per_example < 1e3) ||
      !(deadline_seconds >= 0.0 && deadline_seconds < 1e9)) {
    return absl::InvalidArgumentError(
        "system.seconds_per_example must be in [0, 1000), system.deadline in [0, 1e9)");
  }
  return absl::OkStatus();
}

absl::StatusOr<SystemModel> SystemModel::Create(const SystemSpec& spec, size_t num_clients,
                                                uint64_t seed) {
  TRIB_RETURN_IF_ERROR(spec.Validate());
  SystemModel model;
  model.spec_ = spec;
  if (spec.profile == "trace") {
    TRIB_ASSIGN_OR_RETURN(model.clients_, ReadTrace(spec.trace_path, num_clients));
    return model;
  }
  Rng rng(DeriveSeed(seed, 0, 0, RngPurpose::kSystem));
  model.clients_.resize(num_clients);
  for (ClientSystem& c : model.clients_) {
    if (spec.profile == "uniform") {
      c = {100 * kMbit, 100 * kMbit, 0.010, 1.0};
    } else if (spec.profile == "datacenter") {
      c.downlink_bps = LogUniform(rng, 1000 * kMbit, 10000 * kMbit);
      c.uplink_bps = LogUniform(rng, 1000 * kMbit, 10000 * kMbit);
      c.latency_seconds = 0.0005;
    } else if (spec.profile == "edge") {
      c.downlink_bps = LogUniform(rng, 8 * kMbit, 1000 * kMbit);
      c.uplink_bps = c.downlink_bps / 4;
      c.latency_seconds = Uniform(rng, 0.005, 0.050);
      c.speed = LogUniform(rng, 0.5, 2.0);
    } else {  // mobile
      c.downlink_bps = LogUniform(rng, 5 * kMbit, 100 * kMbit);
      c.uplink_bps = LogUniform(rng, 1 * kMbit, 20 * kMbit);
      c.latency_seconds = Uniform(rng, 0.030, 0.150);
      c.speed = LogUniform(rng, 0.1, 1.0);
    }
  }
  return model;
}

Availability SystemModel::Draw(uint32_t client, int round, uint64_t seed) const {
  if (spec_.dropout == 0.0 && spec_.crash_upload == 0.0) return Availability::kAvailable;
  Rng rng(DeriveSeed(seed, round, client, RngPurpose::kAvailability));
  const double u = UniformUnit(rng);
  if (u < spec_.dropout) return Availability::kDropsOut;
  if (u < spec_.dropout + spec_.crash_upload) return Availability::kCrashesMidUpload;
  return Availability::kAvailable;
}

double SystemModel::RoundTrip(uint32_t client, int64_t bytes_down, double examples,
                              int64_t bytes_up) const {
  const ClientSystem& c = clients_[client];
  const double transfers =
      2 * c.latency_seconds + 8.0 * bytes_down / c.downlink_bps + 8.0 * bytes_up / c.uplink_bps;
  const double compute = examples * spec_.seconds_per_example / c.speed;
  return spec_.overlap_transfers ? std::max(transfers, compute) : transfers + compute;
}

}  // namespace tributary
