#include "engine/server_side.h"

#include "common/status_util.h"

namespace tributary {

absl::Status AccumulateUpdate(const Pipeline& uplink, const Payload& payload,
                              const ClientUpdate& update, const LocalLayers& layers,
                              const ModelSlice* slice, ModelState& scratch, Strategy& strategy,
                              std::mutex& strategy_mutex) {
  ClientUpdate with_mask = update;
  if (slice != nullptr) {
    TRIB_ASSIGN_OR_RETURN(Update decoded,
                          uplink.Decode(payload, slice->narrow_size(), slice->narrow_layout()));
    std::vector<float> narrow(slice->narrow_size(), 0.0f);
    decoded.AddTo(narrow);
    slice->ScatterInto(narrow, scratch.flat());
    std::vector<uint32_t> sent;
    if (decoded.sparse) {
      for (uint32_t i : decoded.indices) sent.push_back(slice->covered()[i]);
    }
    with_mask.sent = decoded.sparse ? &sent : &slice->covered();
    std::lock_guard<std::mutex> lock(strategy_mutex);
    return strategy.Accumulate(with_mask);
  }
  if (layers.any()) {
    TRIB_ASSIGN_OR_RETURN(Update decoded,
                          uplink.Decode(payload, layers.shared_size(), layers.shared_layout()));
    std::vector<float> shared(layers.shared_size(), 0.0f);
    decoded.AddTo(shared);
    layers.ScatterShared(shared, scratch.flat());
    std::lock_guard<std::mutex> lock(strategy_mutex);
    return strategy.Accumulate(with_mask);
  }
  TRIB_ASSIGN_OR_RETURN(Update decoded,
                        uplink.Decode(payload, scratch.num_elements(), scratch.specs()));
  std::fill(scratch.flat().begin(), scratch.flat().end(), 0.0f);
  decoded.AddTo(scratch.flat());
  if (decoded.sparse) with_mask.sent = &decoded.indices;
  std::lock_guard<std::mutex> lock(strategy_mutex);
  return strategy.Accumulate(with_mask);
}

absl::Status AccumulateSketch(const Pipeline& uplink, const Payload& payload,
                              const ClientUpdate& update, SketchedFedAvg& sketched,
                              std::mutex& strategy_mutex) {
  TRIB_ASSIGN_OR_RETURN(std::vector<float> table,
                        uplink.DecodeSketchTable(payload, update.delta->num_elements()));
  std::lock_guard<std::mutex> lock(strategy_mutex);
  return sketched.Accumulate(update.client_id, table, update.num_examples);
}

}  // namespace tributary
