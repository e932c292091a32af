// Exact aggregation of LoRA adapters ("lora_exact"). Averaging A and B separately (FedIT) does
// not give the average of the clients' products B_k A_k, which is the update they actually
// made to each weight. This strategy forms P = sum_k w_k B_k A_k / sum_k w_k for every adapted
// layer, adds what earlier rounds could not represent, and re-factorizes by SVD:
//   P + R = U S V^T;  B = U_r S_r^(1/2);  A = S_r^(1/2) V_r^T;  R = (P + R) - B A
// so B A is the best rank-r approximation and the remainder R stays on the server for the
// next round (zero whenever the clients' products fit in rank r). Tensors other than pairs
// "<layer>.lora_A" / "<layer>.lora_B" are averaged as in FedAvg.
// Memory: keeps every accepted update until Finalize (adapters are small), and R, one dense
// [out, in] matrix per adapted layer.
#ifndef TRIBUTARY_AGGREGATE_LORA_EXACT_H_
#define TRIBUTARY_AGGREGATE_LORA_EXACT_H_

#include <vector>

#include "aggregate/strategy.h"

namespace tributary {

class LoraExact : public Strategy {
 public:
  absl::Status Init(const ModelState& global, int64_t expected_examples) override;
  absl::Status Accumulate(const ClientUpdate& update) override;
  absl::StatusOr<ModelState> Finalize() override;
  std::vector<std::vector<float>*> carried_state() override { return {&remainder_}; }

  // The part of the last rounds' averaged products that rank r could not hold (all layers,
  // concatenated); for tests and checkpoints.
  const std::vector<float>& remainder() const { return remainder_; }

 private:
  struct Pair {
    size_t a = 0, b = 0;  // tensor indices of lora_A [r, in] and lora_B [out, r]
  };
  struct Held {
    uint32_t client_id;
    int64_t weight;
    ModelState delta;
  };

  ModelState global_;
  int64_t expected_examples_ = 0;
  bool in_round_ = false;
  std::vector<Pair> pairs_;
  std::vector<Held> held_;
  std::vector<float> remainder_;
};

}  // namespace tributary

#endif  // TRIBUTARY_AGGREGATE_LORA_EXACT_H_
