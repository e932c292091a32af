#include "engine/techniques/proximal_term.h"

namespace tributary {
namespace {

class ProximalTerm final : public Technique {
 public:
  explicit ProximalTerm(double mu) : mu_(mu) {}
  std::string_view name() const override { return "fedprox"; }
  void AdjustTrainOptions(TrainOptions& train) const override { train.proximal_mu = mu_; }

 private:
  double mu_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Technique>> CreateProximalTerm(const ExperimentConfig& config,
                                                              const ModelState& global) {
  if (config.strategy.name != "fedprox") return nullptr;
  return std::make_unique<ProximalTerm>(config.strategy.proximal_mu);
}

}  // namespace tributary
