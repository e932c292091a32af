// One round of secure aggregation as a federated round runs it: the protocol's server and client
// (secagg_protocol.h) behind the wire formats (secagg_messages.h), addressed by client id, with
// the update quantized into the ring on the way in and the sum mapped back to floats on the way
// out, and every byte and second counted by stage. A channel (the simulator's virtual clients,
// the deployed coordinator) only carries the bytes and decides when each stage closes, so a
// simulated and a deployed round run this same code.
//
// A round's clients are its cohort, numbered by their position in it; every party derives the
// same parameters from (SecAggSpec, cohort size, vector length, graph seed).
#ifndef TRIBUTARY_SECAGG_SECAGG_ROUND_H_
#define TRIBUTARY_SECAGG_SECAGG_ROUND_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "secagg/ring_quantizer.h"
#include "secagg/secagg_messages.h"
#include "secagg/secagg_params.h"
#include "secagg/secagg_protocol.h"

namespace tributary {

// The [secagg] keys of a run.
struct SecAggSpec {
  bool enabled = false;
  // k; 0: the complete graph for cohorts up to kCompleteGraphUpTo, else 4 ceil(log2 n)
  // (SecAgg+'s O(log n)).
  int neighbors = 0;
  // t; 0: floor(k / 2) + 1, the smallest the protocol's condition t > k / 2 allows (it tolerates
  // the most dropouts).
  int threshold = 0;
  int bits = 16;             // levels per value: 2^bits
  double clip_range = 0.05;  // values are clipped to [-clip_range, clip_range]
  // Simulation only: the probability that a client still in the protocol drops out before
  // each of the stages after the first (share keys, masked input, unmasking).
  double stage_dropout = 0.0;
};

inline constexpr int kCompleteGraphUpTo = 64;

// The protocol's parameters for a cohort of `cohort_size` and vectors of `length` values.
// Fails with the condition that does not hold (ValidateSecAggParams).
absl::StatusOr<SecAggParams> ResolveSecAggParams(const SecAggSpec& spec, int cohort_size,
                                                 size_t length, uint64_t graph_seed);

enum class SecAggStage { kAdvertise = 0, kShare = 1, kMask = 2, kUnmask = 3 };
inline constexpr int kSecAggStages = 4;
const char* SecAggStageName(SecAggStage stage);

// What a round's protocol cost. Up: what clients sent in each stage (accepted or not). Down: the
// server's replies after each of the first three stages (keys, shares, survivors).
struct SecAggCosts {
  std::array<int64_t, kSecAggStages> bytes_up{};
  std::array<int64_t, kSecAggStages> bytes_down{};
  std::array<double, kSecAggStages> server_seconds{};
  std::array<int, kSecAggStages> accepted{};  // clients whose message the stage took
  int refused = 0;                            // malformed or unexpected messages
};

// The unmasked result: the float sum of the survivors' (quantized) updates.
struct SecureSum {
  std::vector<float> sum;
  std::vector<uint32_t> clients;  // whose inputs it holds (U3), by id
};

// The server's side. Thread-safe.
class SecAggRoundServer {
 public:
  static absl::StatusOr<std::unique_ptr<SecAggRoundServer>> Create(const SecAggSpec& spec,
                                                                   std::span<const uint32_t> cohort,
                                                                   size_t length,
                                                                   uint64_t graph_seed);

  // A client's message in `stage`. A malformed, unexpected or late one is refused (counted):
  // that client is then out of the protocol, the others carry on.
  absl::Status Receive(SecAggStage stage, uint32_t client, std::span<const uint8_t> message);
  // Closes a stage (advertise, share or mask). Fails, abandoning the round, with fewer than t
  // clients left; nothing is revealed then.
  absl::Status Close(SecAggStage stage);
  // After Close(stage): what `client` receives for the next stage (counted as sent). Clients
  // that are out of the protocol get an error.
  absl::StatusOr<Bytes> Reply(SecAggStage stage, uint32_t client);
  // After the unmasking messages: the survivors' sum, or why the round was abandoned (at this
  // stage or an earlier one).
  absl::StatusOr<SecureSum> Finish();

  const SecAggParams& params() const { return params_; }
  SecAggCosts costs() const;
  // Whether the server ever held a share of both secrets of one client (tests).
  bool HeldBothSecretsOfAClient() const;

 private:
  SecAggRoundServer(const SecAggParams& params, std::vector<uint32_t> cohort,
                    RingQuantizer quantizer, SecAggServer server);
  std::optional<uint32_t> IndexOf(uint32_t client) const;

  const SecAggParams params_;
  const std::vector<uint32_t> cohort_;  // index -> client id
  std::map<uint32_t, uint32_t> index_;  // client id -> index
  const RingQuantizer quantizer_;
  mutable std::mutex mu_;
  SecAggServer server_;
  std::vector<uint32_t> survivors_;  // U3 (indices), once the mask stage closed
  absl::Status abandoned_;           // why the round was abandoned at a stage's close
  SecAggCosts costs_;
};

// A client's side of one round.
class SecAggRoundClient {
 public:
  // `index`: the client's position in the cohort.
  static absl::StatusOr<SecAggRoundClient> Create(const SecAggSpec& spec, int cohort_size,
                                                  uint32_t index, size_t length,
                                                  uint64_t graph_seed);

  Bytes Advertise() const;
  // From its neighbours' keys: its shares for them.
  absl::StatusOr<Bytes> Share(std::span<const uint8_t> key_list);
  // From the shares addressed to it and its update (clipped to the range, quantized with
  // unbiased stochastic rounding drawn from `rounding_key`'s stream): its masked input. The
  // rounding needs no secrecy (the masks hide the input), so a run may derive the key from its
  // seed and be reproducible.
  absl::StatusOr<Bytes> Mask(std::span<const uint8_t> shares, std::span<const float> update,
                             const SymmetricKey& rounding_key);
  // From the survivor list: its unmasking shares.
  absl::StatusOr<Bytes> Unmask(std::span<const uint8_t> survivors);

  const SecAggParams& params() const { return params_; }
  // Seconds this client spent in each stage's computation.
  const std::array<double, kSecAggStages>& seconds() const { return seconds_; }

 private:
  SecAggRoundClient(const SecAggParams& params, RingQuantizer quantizer, SecAggClient client)
      : params_(params), quantizer_(quantizer), client_(std::move(client)) {}

  SecAggParams params_;
  RingQuantizer quantizer_;
  SecAggClient client_;
  std::array<double, kSecAggStages> seconds_{};
};

}  // namespace tributary

#endif  // TRIBUTARY_SECAGG_SECAGG_ROUND_H_
