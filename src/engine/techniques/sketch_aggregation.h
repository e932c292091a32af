// A count-sketch uplink (compress.uplink = sketch:...) aggregated as FetchSGD does
// (aggregate/sketched_fedavg.h): the server averages the clients' tables, not decoded updates,
// and keeps the error table S_e across rounds (checkpointed with the strategy's state). Clients
// are stateless: they encode their delta with the sketch codec and nothing else.
#ifndef TRIBUTARY_ENGINE_TECHNIQUES_SKETCH_AGGREGATION_H_
#define TRIBUTARY_ENGINE_TECHNIQUES_SKETCH_AGGREGATION_H_

#include <memory>

#include "absl/status/statusor.h"
#include "engine/experiment.h"
#include "engine/technique.h"

namespace tributary {

absl::StatusOr<std::unique_ptr<Technique>> CreateSketchAggregation(const ExperimentConfig& config,
                                                                   const ModelState& global);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_TECHNIQUES_SKETCH_AGGREGATION_H_
