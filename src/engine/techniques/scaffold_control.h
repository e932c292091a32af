// SCAFFOLD's control variates as a technique (the server side is the `scaffold` strategy,
// aggregate/scaffold.h): the server sends c with the model (as fp32, counted); the client
// corrects every local gradient by c - c_i, then sends dc_i through the uplink codec as the
// upload's attachment and keeps c_i + dc_i (as decoded, so it stays in step with the server).
// Enabled by strategy.name = scaffold.
#ifndef TRIBUTARY_ENGINE_TECHNIQUES_SCAFFOLD_CONTROL_H_
#define TRIBUTARY_ENGINE_TECHNIQUES_SCAFFOLD_CONTROL_H_

#include <memory>

#include "absl/status/statusor.h"
#include "engine/experiment.h"
#include "engine/technique.h"

namespace tributary {

absl::StatusOr<std::unique_ptr<Technique>> CreateScaffoldControl(const ExperimentConfig& config,
                                                                 const ModelState& global);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_TECHNIQUES_SCAFFOLD_CONTROL_H_
