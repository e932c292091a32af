#include "sim/byzantine.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/seeded_rng.h"
#include "common/status_util.h"

namespace tributary {
namespace {

absl::StatusOr<AttackKind> ParseAttackKind(const std::string& name) {
  if (name == "signflip") return AttackKind::kSignFlip;
  if (name == "scale") return AttackKind::kScale;
  if (name == "random") return AttackKind::kRandom;
  if (name == "nan") return AttackKind::kNan;
  return absl::InvalidArgumentError(
      absl::StrCat("attack.kind '", name, "': one of signflip, scale, random, nan"));
}

}  // namespace

absl::Status AttackSpec::Validate() const {
  if (!(fraction >= 0.0 && fraction < 1.0)) {
    return absl::InvalidArgumentError("attack.fraction must be in [0, 1)");
  }
  if (!(std::isfinite(scale) && scale > 0.0 && scale <= 1e6)) {
    return absl::InvalidArgumentError("attack.scale must be in (0, 1e6]");
  }
  return ParseAttackKind(kind).status();
}

absl::StatusOr<ByzantineClients> ByzantineClients::Create(const AttackSpec& spec,
                                                          size_t num_clients, uint64_t seed) {
  TRIB_RETURN_IF_ERROR(spec.Validate());
  ByzantineClients clients;
  TRIB_ASSIGN_OR_RETURN(clients.kind_, ParseAttackKind(spec.kind));
  clients.scale_ = spec.scale;
  clients.attacker_.assign(num_clients, false);
  std::vector<uint32_t> order(num_clients);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(DeriveSeed(seed, 0, 0, RngPurpose::kAttackers));
  Shuffle(order.data(), order.size(), rng);
  const size_t count = static_cast<size_t>(std::llround(spec.fraction * num_clients));
  for (size_t i = 0; i < count; ++i) clients.attacker_[order[i]] = true;
  return clients;
}

size_t ByzantineClients::count() const {
  return static_cast<size_t>(std::count(attacker_.begin(), attacker_.end(), true));
}

void ByzantineClients::Attack(std::span<float> delta, uint64_t seed) const {
  const float scale = static_cast<float>(scale_);
  switch (kind_) {
    case AttackKind::kSignFlip:
      for (float& v : delta) v = -scale * v;
      return;
    case AttackKind::kScale:
      for (float& v : delta) v *= scale;
      return;
    case AttackKind::kRandom: {
      double squared = 0.0;
      for (float v : delta) squared += static_cast<double>(v) * v;
      const double per_value = std::sqrt(squared / std::max<size_t>(1, delta.size()));
      Rng rng(seed);
      std::normal_distribution<double> normal(0.0, per_value * scale_);
      for (float& v : delta) v = static_cast<float>(normal(rng));
      return;
    }
    case AttackKind::kNan:
      for (float& v : delta) v = std::numeric_limits<float>::quiet_NaN();
      return;
  }
}

}  // namespace tributary
