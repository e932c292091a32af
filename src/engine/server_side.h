// The simulated server's side of one upload: validate and decode the payload, shape it as the
// strategy expects (full coordinates, the coordinates the client sent), and fold it into the
// round. Callers serialize strategy access through `strategy_mutex`; decoding runs outside it.
#ifndef TRIBUTARY_ENGINE_SERVER_SIDE_H_
#define TRIBUTARY_ENGINE_SERVER_SIDE_H_

#include <mutex>

#include "aggregate/sketched_fedavg.h"
#include "aggregate/strategy.h"
#include "compress/pipeline.h"
#include "engine/local_layers.h"
#include "tensor/model_slice.h"

namespace tributary {

// With local layers the payload holds only the shared part, expanded with zeros where the local
// layers are. With a model slice (a small client) the payload is the slice's update, scattered
// into the full model's coordinates and marked as covering only those. `scratch` (the full
// model's layout) receives the decoded update; `update.delta` must point to it.
absl::Status AccumulateUpdate(const Pipeline& uplink, const Payload& payload,
                              const ClientUpdate& update, const LocalLayers& layers,
                              const ModelSlice* slice, ModelState& scratch, Strategy& strategy,
                              std::mutex& strategy_mutex);

// The same for a count sketch: the table itself is what gets averaged.
absl::Status AccumulateSketch(const Pipeline& uplink, const Payload& payload,
                              const ClientUpdate& update, SketchedFedAvg& sketched,
                              std::mutex& strategy_mutex);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_SERVER_SIDE_H_
