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

std::vector<ConfigField<ExperimentConfig>> ProximalTermFields() {
  return {FloatField<ExperimentConfig>(
      "strategy.mu", "FedProx proximal strength",
      [](ExperimentConfig& c) -> double& { return c.plugins.Mutable<ProximalTermOptions>().mu; })};
}

absl::Status ValidateProximalTerm(const ExperimentConfig& config) {
  const double mu = config.plugins.Get<ProximalTermOptions>().mu;
  if (!(mu >= 0.0 && mu <= 1e6))
    return absl::InvalidArgumentError("strategy.mu must be in [0, 1e6]");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Technique>> CreateProximalTerm(const ExperimentConfig& config,
                                                              const ModelState& global) {
  if (config.strategy.name != "fedprox") return nullptr;
  return std::make_unique<ProximalTerm>(config.plugins.Get<ProximalTermOptions>().mu);
}

}  // namespace tributary
