#include "engine/client_side.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/seeded_rng.h"
#include "common/status_util.h"

namespace tributary {

std::vector<ClientIndices> SplitHoldout(std::vector<ClientIndices>& partitions, double fraction,
                                        uint64_t seed) {
  std::vector<ClientIndices> holdout(partitions.size());
  for (size_t c = 0; c < partitions.size(); ++c) {
    ClientIndices& examples = partitions[c];
    size_t count = static_cast<size_t>(fraction * examples.size());
    if (count == 0 && examples.size() >= 2) count = 1;
    Rng rng(DeriveSeed(seed, 0, c, RngPurpose::kHoldout));
    Shuffle(examples.data(), examples.size(), rng);
    holdout[c].assign(examples.begin(), examples.begin() + count);
    examples.erase(examples.begin(), examples.begin() + count);
    std::sort(holdout[c].begin(), holdout[c].end());
    std::sort(examples.begin(), examples.end());
  }
  return holdout;
}

std::vector<bool> ChooseSmallClients(size_t clients, double fraction, uint64_t seed) {
  std::vector<uint32_t> order(clients);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(DeriveSeed(seed, 0, 0, RngPurpose::kCapacity));
  Shuffle(order.data(), order.size(), rng);
  std::vector<bool> small(clients, false);
  const size_t count = static_cast<size_t>(std::llround(fraction * clients));
  for (size_t i = 0; i < count; ++i) small[order[i]] = true;
  return small;
}

const ModelState& ExtractSlice(const ModelState& full, const ModelSlice& slice,
                               ModelState& scratch) {
  slice.Extract(full.flat(), scratch.flat());
  return scratch;
}

const ModelState& PersonalModel(const ModelState& shared, const LocalLayers& layers,
                                const std::vector<float>& client_local,
                                const std::vector<float>& initial_local, ModelState& scratch) {
  std::copy(shared.flat().begin(), shared.flat().end(), scratch.flat().begin());
  layers.ScatterLocal(client_local.empty() ? initial_local : client_local, scratch.flat());
  return scratch;
}

void KeepLocalLayers(const ModelState& delta, const LocalLayers& layers,
                     const std::vector<float>& initial_local, std::vector<float>& client_local) {
  std::vector<float> change;
  layers.GatherLocal(delta.flat(), &change);
  if (client_local.empty()) client_local = initial_local;
  for (size_t j = 0; j < change.size(); ++j) client_local[j] += change[j];
}

double ScaffoldStepSize(const TrainOptions& train) {
  if (train.optimizer == OptimizerKind::kSgd) return train.learning_rate / (1.0 - train.momentum);
  return train.learning_rate;
}

void PrepareControlCorrection(const ModelState& server_control, ModelState& client_control,
                              ModelState& correction) {
  if (!client_control.SameLayout(server_control)) client_control = server_control.ZerosLike();
  std::span<const float> c = server_control.flat();
  std::span<const float> ci = client_control.flat();
  std::span<float> out = correction.flat();
  for (size_t i = 0; i < out.size(); ++i) out[i] = c[i] - ci[i];
}

absl::StatusOr<Payload> SendControlDelta(const Pipeline& uplink, const ModelState& server_control,
                                         const ModelState& delta, int64_t steps, double step,
                                         uint64_t seed, ModelState& client_control,
                                         ModelState& control_delta) {
  const float inverse = static_cast<float>(1.0 / (static_cast<double>(steps) * step));
  std::span<const float> c = server_control.flat();
  std::span<const float> d = delta.flat();
  std::span<float> dc = control_delta.flat();
  for (size_t i = 0; i < dc.size(); ++i) dc[i] = -c[i] - d[i] * inverse;
  const Payload payload = uplink.Encode(dc, CodecContext{.seed = seed, .layout = delta.specs()});
  TRIB_ASSIGN_OR_RETURN(Update decoded, uplink.Decode(payload, dc.size(), delta.specs()));
  std::fill(dc.begin(), dc.end(), 0.0f);
  decoded.AddTo(dc);
  std::span<float> ci = client_control.flat();
  for (size_t i = 0; i < ci.size(); ++i) ci[i] += dc[i];
  return payload;
}

}  // namespace tributary
