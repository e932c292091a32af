// Byzantine clients in simulation: a fixed, seeded fraction of the population replaces its
// honest update (client side, before encoding) with an attack:
//   signflip  -scale * delta           (scale 1: the plain sign flip)
//   scale     scale * delta
//   random    Gaussian noise with the honest update's L2 norm times scale
//   nan       every value NaN (the server must reject it under every strategy)
#ifndef TRIBUTARY_SIM_BYZANTINE_H_
#define TRIBUTARY_SIM_BYZANTINE_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tributary {

enum class AttackKind { kSignFlip, kScale, kRandom, kNan };

struct AttackSpec {
  double fraction = 0.0;  // of the population, in [0, 1)
  std::string kind = "signflip";
  double scale = 1.0;

  absl::Status Validate() const;
};

class ByzantineClients {
 public:
  // The attackers: round(fraction * num_clients) clients, chosen by `seed`.
  static absl::StatusOr<ByzantineClients> Create(const AttackSpec& spec, size_t num_clients,
                                                 uint64_t seed);
  bool is_attacker(uint32_t client) const { return attacker_[client]; }
  size_t count() const;
  // Overwrites `delta` (an honest update) with the attack; `seed` drives the random attack.
  void Attack(std::span<float> delta, uint64_t seed) const;

 private:
  AttackKind kind_ = AttackKind::kSignFlip;
  double scale_ = 1.0;
  std::vector<bool> attacker_;
};

}  // namespace tributary

#endif  // TRIBUTARY_SIM_BYZANTINE_H_
