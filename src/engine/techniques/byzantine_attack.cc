#include "engine/techniques/byzantine_attack.h"

#include "common/seeded_rng.h"
#include "common/status_util.h"
#include "sim/byzantine.h"

namespace tributary {
namespace {

class ByzantineAttack final : public Technique {
 public:
  explicit ByzantineAttack(ByzantineClients attackers) : attackers_(std::move(attackers)) {}
  std::string_view name() const override { return "attack"; }

  absl::Status AfterTrain(ClientRound& round) const override {
    if (attackers_.is_attacker(round.client)) {
      attackers_.Attack(round.trained->flat(), DeriveSeed(round.run_seed, round.task->round,
                                                          round.client, RngPurpose::kAttack));
    }
    return absl::OkStatus();
  }

  void OnRoundStart(std::span<const uint32_t> cohort, RoundMetrics& metrics) override {
    for (uint32_t c : cohort) metrics.byzantine_clients += attackers_.is_attacker(c);
  }

 private:
  ByzantineClients attackers_;
};

}  // namespace

std::vector<ConfigField<ExperimentConfig>> ByzantineAttackFields() {
  using C = ExperimentConfig;
  return {
      FloatField<C>("attack.fraction", "fraction of clients that are Byzantine",
                    [](C& c) -> double& { return c.plugins.Mutable<AttackSpec>().fraction; }),
      StringField<C>("attack.kind", "Byzantine update: signflip scale random nan",
                     [](C& c) -> std::string& { return c.plugins.Mutable<AttackSpec>().kind; }),
      FloatField<C>("attack.scale", "attack magnitude (signflip: -scale * delta)",
                    [](C& c) -> double& { return c.plugins.Mutable<AttackSpec>().scale; }),
  };
}

absl::Status ValidateByzantineAttack(const ExperimentConfig& config) {
  return config.plugins.Get<AttackSpec>().Validate();
}

absl::StatusOr<std::unique_ptr<Technique>> CreateByzantineAttack(const ExperimentConfig& config,
                                                                 const ModelState& global) {
  const AttackSpec& spec = config.plugins.Get<AttackSpec>();
  if (spec.fraction <= 0.0) return nullptr;
  TRIB_ASSIGN_OR_RETURN(
      ByzantineClients attackers,
      ByzantineClients::Create(spec, config.data.partition.num_clients, config.run.seed));
  return std::make_unique<ByzantineAttack>(std::move(attackers));
}

}  // namespace tributary
