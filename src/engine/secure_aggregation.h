// Secure aggregation in a federated round (the [secagg] section): which configs it composes
// with, and how a round's protocol is set up. The protocol itself is secagg/secagg_round.h; the
// round engine opens one per round and the channels carry its messages.
//
// What the server sums under the masks is each client's update as its uplink codec produces it,
// decoded by the client itself: the codec must send plain values at coordinates that are the
// same for every client (fp32: all of them; random-k: the k drawn from a seed the round's
// clients share). Each client weighs 1 in the sum (the server cannot see who contributed what),
// so the mean is uniform over the clients in the sum.
#ifndef TRIBUTARY_ENGINE_SECURE_AGGREGATION_H_
#define TRIBUTARY_ENGINE_SECURE_AGGREGATION_H_

#include <vector>

#include "absl/status/status.h"
#include "common/config_field.h"
#include "compress/pipeline.h"
#include "engine/experiment.h"
#include "engine/technique.h"
#include "secagg/secagg_round.h"

namespace tributary {

// The [secagg] keys (stored as a SecAggSpec in ExperimentConfig::plugins).
std::vector<ConfigField<ExperimentConfig>> SecAggFields();

// The [secagg] keys against the rest of the config: the uplink codec, the strategy and its
// weighting, and the protocol's parameters for the largest cohort the run can sample.
absl::Status ValidateSecureAggregation(const ExperimentConfig& config);

// The techniques a secure round can run with: those that only shape a client's update before it
// is encoded (FedProx's proximal term, an attack).
// Others attach data to the upload or decode it per client, which a masked sum cannot carry.
absl::Status CheckSecureAggregationTechniques(const TechniqueSet& techniques);

// The keys of a round's protocol: its neighbourhood graph (public) and the stochastic rounding
// of one client's update (needs no secrecy: the masks hide the input).
uint64_t SecAggGraphSeed(uint64_t run_seed, int round);
SymmetricKey SecAggRoundingKey(uint64_t run_seed, int round, uint32_t client);
// The seed every client of a secure round encodes its update with, so that a random-k uplink
// keeps the same coordinates on every client.
uint64_t SecAggCodecSeed(uint64_t run_seed, int round);
// The coordinates a secure round sums (what each client's masked vector holds, in order) and the
// factor each gets when the mean is formed: clients encode unscaled (their values must fit the
// ring's clip range), so random-k's d / k is applied to the sum instead. For a count sketch
// uplink: the entries of its table (dimension: the table's size), each with factor 1.
Update SecureInputPattern(const Pipeline& uplink, uint64_t run_seed, int round,
                          std::span<const TensorSpec> layout);

// Simulation: whether `client` drops out before `stage` (secagg.stage_dropout).
bool DropsBeforeStage(const SecAggSpec& spec, uint64_t run_seed, int round, uint32_t client,
                      SecAggStage stage);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_SECURE_AGGREGATION_H_
