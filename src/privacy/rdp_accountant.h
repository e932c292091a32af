// Rényi-DP accounting of the sampled Gaussian mechanism: a query of L2 sensitivity 1, each record
// (here: each client) included independently with probability q, Gaussian noise of standard
// deviation `noise_multiplier`. RDP at integer orders uses the closed form and at fractional orders
// the two-sided series of Mironov, Talwar and Zhang (2019), "Rényi Differential Privacy of the
// Sampled Gaussian Mechanism", Sections 3.2-3.3; rounds compose by adding RDP; (epsilon, delta)
// comes from the conversion of Canonne, Kamath and Steinke (2020) / Balle et al. (2020):
// eps = rdp(a) + log((a - 1) / a) - (log delta + log a) / (a - 1), minimized over the orders.
// Everything is in log space, so large orders and tiny q neither overflow nor underflow.
#ifndef TRIBUTARY_PRIVACY_RDP_ACCOUNTANT_H_
#define TRIBUTARY_PRIVACY_RDP_ACCOUNTANT_H_

#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace tributary {

// The orders the accountant evaluates: 1.1, 1.2, ..., 10.9 (step 0.1), the integers 11 to 63,
// then 64, 128, 256, 512 and 1024 (175 orders; the same coverage as the reference libraries'
// defaults, extended upwards for very small epsilons).
const std::vector<double>& DefaultRdpOrders();

// RDP of one application of the sampled Gaussian mechanism at `order` (> 1). q in [0, 1],
// noise_multiplier >= 0 (0: no noise, infinite RDP unless q = 0).
double SampledGaussianRdp(double q, double noise_multiplier, double order);

struct PrivacySpent {
  double epsilon = 0.0;  // +inf when every order's RDP is infinite
  double order = 0.0;    // the order that gave it
};

// The smallest epsilon at `delta` (in (0, 1)) over `orders` for the composed `rdp` (same length).
PrivacySpent EpsilonFromRdp(std::span<const double> orders, std::span<const double> rdp,
                            double delta);

// Accumulates RDP over rounds, each with its own sampling rate and noise multiplier.
class RdpAccountant {
 public:
  explicit RdpAccountant(std::vector<double> orders = DefaultRdpOrders());

  // Adds `steps` applications of the sampled Gaussian mechanism.
  void Compose(double q, double noise_multiplier, int64_t steps = 1);
  PrivacySpent Spent(double delta) const;
  // What Spent would say after `steps` more applications, without recording them.
  PrivacySpent SpentAfter(double q, double noise_multiplier, int64_t steps, double delta) const;

  const std::vector<double>& orders() const { return orders_; }
  const std::vector<double>& rdp() const { return rdp_; }
  // Replaces the composed RDP (resume); false when the size does not match the orders.
  bool Restore(std::vector<double> rdp);

 private:
  std::vector<double> orders_;
  std::vector<double> rdp_;
};

// Epsilon at `delta` after `rounds` rounds at sampling rate q and `noise_multiplier`.
PrivacySpent EpsilonFor(double q, double noise_multiplier, int64_t rounds, double delta);

// The smallest noise multiplier (to relative 1e-6) whose epsilon after `rounds` rounds at rate q is
// at most `target_epsilon`; an error when none up to 1e6 is.
absl::StatusOr<double> NoiseMultiplierFor(double q, int64_t rounds, double delta,
                                          double target_epsilon);

}  // namespace tributary

#endif  // TRIBUTARY_PRIVACY_RDP_ACCOUNTANT_H_
