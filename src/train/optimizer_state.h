// A client's local optimizer state carried from one round to the next (DiLoCo's inner AdamW,
// Photon-style local training): without it every round restarts the moments from zero.
// Torch-free: the simulator keeps one per client.
#ifndef TRIBUTARY_TRAIN_OPTIMIZER_STATE_H_
#define TRIBUTARY_TRAIN_OPTIMIZER_STATE_H_

#include <cstdint>
#include <vector>

namespace tributary {

struct OptimizerState {
  int64_t step = 0;           // optimizer steps taken so far (AdamW's bias correction, warmup)
  std::vector<float> first;   // AdamW: first moment; SGD: momentum buffer. Model-sized once used.
  std::vector<float> second;  // AdamW: second moment; empty for SGD
};

}  // namespace tributary

#endif  // TRIBUTARY_TRAIN_OPTIMIZER_STATE_H_
