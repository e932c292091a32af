// What a client does around its local training for the techniques that need client work:
// held-out splits (per-client evaluation), HeteroFL's model slices, personalization's local
// layers and SCAFFOLD's control variates. ClientStep (client_step.h) calls these per client.
#ifndef TRIBUTARY_ENGINE_CLIENT_SIDE_H_
#define TRIBUTARY_ENGINE_CLIENT_SIDE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "compress/pipeline.h"
#include "data/partition.h"
#include "engine/local_layers.h"
#include "tensor/model_slice.h"
#include "tensor/model_state.h"
#include "train/train_options.h"

namespace tributary {

// Each client's held-out examples: a seeded `fraction` of its partition (at least one when it
// has two or more), removed from the examples it trains on.
std::vector<ClientIndices> SplitHoldout(std::vector<ClientIndices>& partitions, double fraction,
                                        uint64_t seed);

// round(fraction * clients) clients, chosen by the seed, train a narrower slice of the model.
std::vector<bool> ChooseSmallClients(size_t clients, double fraction, uint64_t seed);

// A small client's model: its slice of the shared model, built in `scratch`.
const ModelState& ExtractSlice(const ModelState& full, const ModelSlice& slice,
                               ModelState& scratch);

// A client's model: the shared model with its own local layers (their initial values until it
// first trains), built in `scratch`.
const ModelState& PersonalModel(const ModelState& shared, const LocalLayers& layers,
                                const std::vector<float>& client_local,
                                const std::vector<float>& initial_local, ModelState& scratch);

// After training, the client keeps its local layers as trained (start + delta).
void KeepLocalLayers(const ModelState& delta, const LocalLayers& layers,
                     const std::vector<float>& initial_local, std::vector<float>& client_local);

// The step size SCAFFOLD divides the client's delta by: with heavy-ball momentum m, SGD's steps
// are about lr / (1 - m) long once the momentum has built up.
double ScaffoldStepSize(const TrainOptions& train);

// SCAFFOLD: the gradient correction c - c_i (c_i starts at zero).
void PrepareControlCorrection(const ModelState& server_control, ModelState& client_control,
                              ModelState& correction);

// SCAFFOLD after K steps of size `step`: dc_i = -c - delta / (K step) goes through the uplink
// codec; the server and the client both use the decoded value (left in `control_delta`), so c_i
// stays in step with what the server decodes. Returns the payload to send.
absl::StatusOr<Payload> SendControlDelta(const Pipeline& uplink, const ModelState& server_control,
                                         const ModelState& delta, int64_t steps, double step,
                                         uint64_t seed, ModelState& client_control,
                                         ModelState& control_delta);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_CLIENT_SIDE_H_
