// SCAFFOLD (Karimireddy et al. 2020), option II, whose model aggregation is FedAvg's
// (strategy.name = scaffold): clients correct every local gradient by c - c_i, the server's and
// their own control variates, which cancels the client drift that non-IID data causes. After K
// steps at learning rate lr, client i sets c_i+ = c_i - c - delta / (K lr) and sends dc_i =
// c_i+ - c_i through the uplink codec as its upload's attachment, keeping c_i + dc_i as decoded
// (so it stays in step with the server) once the server accepted the upload: a straggler's or a
// refused client's c_i stays as it was (ClientStep::Settle), as the server's c leaves it out. The
// server sends c with the model (fp32, counted) and, when the model steps, sets c += sum(dc_i) / N
// over the N clients of the federation, summing in any order to the same bits (OrderInvariantSum).
// c is checkpointed.
//
// Memory: c and an fp64 sum for the dc_i on the server (12 B/param); each client keeps c_i.
#ifndef TRIBUTARY_ENGINE_TECHNIQUES_SCAFFOLD_CONTROL_H_
#define TRIBUTARY_ENGINE_TECHNIQUES_SCAFFOLD_CONTROL_H_

#include <memory>

#include "absl/status/statusor.h"
#include "engine/experiment.h"
#include "engine/technique.h"

namespace tributary {

// A client's c_i from its technique state; null before it first trained or for another technique's
// state.
const ModelState* ScaffoldClientControl(const TechniqueState& state);

absl::StatusOr<std::unique_ptr<Technique>> CreateScaffoldControl(const ExperimentConfig& config,
                                                                 const ModelState& global);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_TECHNIQUES_SCAFFOLD_CONTROL_H_
