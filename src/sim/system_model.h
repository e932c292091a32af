// System heterogeneity for the simulator's virtual clock: every virtual client gets a downlink
// and uplink bandwidth, a one-way latency and a compute speed, drawn once (seeded) from a named
// profile or read from a CSV trace. A client's round time is
//   latency + download bytes / downlink + examples * seconds_per_example / speed
//   + latency + upload bytes / uplink
// with the codecs' real payload sizes. The round lasts as long as its slowest accepted client,
// or the deadline when one is set; clients past the deadline are stragglers and are dropped.
//
// Profiles (bandwidths in bit/s; "log-uniform" draws the exponent uniformly):
//   uniform     every client 100 Mbit/s both ways, 10 ms, speed 1
//   datacenter  1-10 Gbit/s log-uniform both ways, 0.5 ms, speed 1
//   edge        8 Mbit/s-1 Gbit/s log-uniform (uplink a quarter of it), 5-50 ms, speed 0.5-2
//   mobile      downlink 5-100 Mbit/s, uplink 1-20 Mbit/s log-uniform, 30-150 ms, speed 0.1-1
// CSV trace: a header line, then `client,downlink_mbps,uplink_mbps,latency_ms,speed` for every
// client id from 0 up.
//
// Availability: each round, a sampled client drops out before training with probability
// `dropout`, or crashes halfway through its upload with probability `crash_upload` (the bytes
// it sent are counted; nothing is aggregated).
#ifndef TRIBUTARY_SIM_SYSTEM_MODEL_H_
#define TRIBUTARY_SIM_SYSTEM_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tributary {

struct SystemSpec {
  std::string profile = "uniform";    // or "trace"
  std::string trace_path;             // CSV, with profile = "trace"
  double seconds_per_example = 1e-3;  // local training cost at speed 1
  double deadline_seconds = 0.0;      // 0: none
  double dropout = 0.0;               // per sampled client and round
  double crash_upload = 0.0;          // per sampled client and round
  // A client's transfers run while it trains (Streaming DiLoCo's overlap), so a round takes the
  // longer of the two instead of their sum. Set by the run from strategy.fragment_overlap, not
  // a key of its own: only a method that trains on while it communicates may claim it.
  bool overlap_transfers = false;

  absl::Status Validate() const;
};

struct ClientSystem {
  double downlink_bps = 0.0;
  double uplink_bps = 0.0;
  double latency_seconds = 0.0;
  double speed = 1.0;
};

// What befalls a sampled client in one round.
enum class Availability { kAvailable, kDropsOut, kCrashesMidUpload };

class SystemModel {
 public:
  static absl::StatusOr<SystemModel> Create(const SystemSpec& spec, size_t num_clients,
                                            uint64_t seed);
  const ClientSystem& client(uint32_t id) const { return clients_[id]; }
  Availability Draw(uint32_t client, int round, uint64_t seed) const;
  // Virtual seconds from the round's start until the client's upload has arrived.
  // `examples` may be fractional: examples of a cheaper model count for less.
  double RoundTrip(uint32_t client, int64_t bytes_down, double examples, int64_t bytes_up) const;
  double deadline_seconds() const { return spec_.deadline_seconds; }

 private:
  SystemSpec spec_;
  std::vector<ClientSystem> clients_;
};

}  // namespace tributary

#endif  // TRIBUTARY_SIM_SYSTEM_MODEL_H_
