#include "privacy/rdp_accountant.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace tributary {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A real number as sign and log of its magnitude, so sums of terms with huge or tiny magnitudes
// (some negative: binomial coefficients of a fractional order) stay exact enough.
struct SignedLog {
  double log_abs = -kInf;
  int sign = 1;

  void Add(int term_sign, double log_term) {
    if (log_term == -kInf) return;
    if (log_abs == -kInf) {
      log_abs = log_term;
      sign = term_sign;
      return;
    }
    const double hi = std::max(log_abs, log_term), lo = std::min(log_abs, log_term);
    if (term_sign == sign) {
      log_abs = hi + std::log1p(std::exp(lo - hi));
      return;
    }
    if (log_abs == log_term) {
      log_abs = -kInf;
      sign = 1;
      return;
    }
    if (log_term > log_abs) sign = term_sign;  // the larger magnitude decides the sign
    log_abs = hi + std::log1p(-std::exp(lo - hi));
  }
};

double LogAddExp(double a, double b) {
  if (a == -kInf) return b;
  if (b == -kInf) return a;
  const double hi = std::max(a, b);
  return hi + std::log1p(std::exp(std::min(a, b) - hi));
}

// log(erfc(x)), also where erfc underflows (x above ~26): the asymptotic expansion
// erfc(x) = exp(-x^2) / (x sqrt(pi)) * (1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6) + ...).
double LogErfc(double x) {
  if (x < 25.0) return std::log(std::erfc(x));
  const double inv2 = 1.0 / (x * x);
  return -x * x - std::log(x) - 0.5 * std::log(M_PI) +
         std::log1p(inv2 * (-0.5 + inv2 * (0.75 - inv2 * 1.875)));
}

// log A_a for an integer order: A_a = sum_k C(a, k) (1 - q)^(a - k) q^k exp((k^2 - k) / (2 s^2)).
double LogAIntegerOrder(double q, double sigma, int64_t order) {
  double log_a = -kInf;
  const double log_q = std::log(q), log_1mq = std::log1p(-q);
  const double lgamma_order = std::lgamma(static_cast<double>(order) + 1.0);
  for (int64_t k = 0; k <= order; ++k) {
    const double kd = static_cast<double>(k);
    const double log_binomial =
        lgamma_order - std::lgamma(kd + 1.0) - std::lgamma(static_cast<double>(order - k) + 1.0);
    const double term = log_binomial + kd * log_q + static_cast<double>(order - k) * log_1mq +
                        (kd * kd - kd) / (2.0 * sigma * sigma);
    log_a = LogAddExp(log_a, term);
  }
  return log_a;
}

// log A_a for a fractional order: A_a = A_0 + A_1, two series over i = 0, 1, ... that split the
// integral at z0 = s^2 log(1/q - 1) + 1/2 (Mironov, Talwar, Zhang 2019, Section 3.3). Terms
// carry the sign of the generalized binomial coefficient C(a, i); the series stop once every
// remaining term is below e^-30 of the first.
double LogAFractionalOrder(double q, double sigma, double order) {
  SignedLog a0, a1;
  const double z0 = sigma * sigma * std::log(1.0 / q - 1.0) + 0.5;
  const double log_q = std::log(q), log_1mq = std::log1p(-q);
  const double sqrt2_sigma = std::sqrt(2.0) * sigma;
  double log_abs_binomial = 0.0;  // log |C(a, 0)|
  int binomial_sign = 1;
  for (int64_t i = 0; i < 1000000; ++i) {
    const double id = static_cast<double>(i);
    if (i > 0) {  // C(a, i) = C(a, i - 1) (a - i + 1) / i
      const double factor = order - id + 1.0;
      if (factor == 0.0) break;  // unreachable for a fractional order
      if (factor < 0.0) binomial_sign = -binomial_sign;
      log_abs_binomial += std::log(std::fabs(factor)) - std::log(id);
    }
    const double j = order - id;
    const double log_t0 = log_abs_binomial + id * log_q + j * log_1mq;
    const double log_t1 = log_abs_binomial + j * log_q + id * log_1mq;
    const double log_e0 = std::log(0.5) + LogErfc((id - z0) / sqrt2_sigma);
    const double log_e1 = std::log(0.5) + LogErfc((z0 - j) / sqrt2_sigma);
    const double log_s0 = log_t0 + (id * id - id) / (2.0 * sigma * sigma) + log_e0;
    const double log_s1 = log_t1 + (j * j - j) / (2.0 * sigma * sigma) + log_e1;
    a0.Add(binomial_sign, log_s0);
    a1.Add(binomial_sign, log_s1);
    if (id > order && std::max(log_s0, log_s1) < -30.0) break;
  }
  SignedLog total = a0;
  total.Add(a1.sign, a1.log_abs);
  return total.log_abs;
}

}  // namespace

const std::vector<double>& DefaultRdpOrders() {
  static const std::vector<double> orders = [] {
    std::vector<double> o;
    for (int x = 11; x < 110; ++x) o.push_back(x / 10.0);
    for (int x = 11; x <= 64; ++x) o.push_back(x);
    for (double x : {128.0, 256.0, 512.0, 1024.0}) o.push_back(x);
    return o;
  }();
  return orders;
}

double SampledGaussianRdp(double q, double noise_multiplier, double order) {
  if (q <= 0.0) return 0.0;
  if (noise_multiplier <= 0.0 || std::isinf(order)) return kInf;
  if (std::isinf(noise_multiplier)) return 0.0;
  if (q >= 1.0) return order / (2.0 * noise_multiplier * noise_multiplier);  // plain Gaussian
  const double log_a = order == std::floor(order)
                           ? LogAIntegerOrder(q, noise_multiplier, static_cast<int64_t>(order))
                           : LogAFractionalOrder(q, noise_multiplier, order);
  return std::max(0.0, log_a / (order - 1.0));
}

PrivacySpent EpsilonFromRdp(std::span<const double> orders, std::span<const double> rdp,
                            double delta) {
  PrivacySpent best{.epsilon = kInf, .order = 0.0};
  const double log_delta = std::log(delta);
  for (size_t i = 0; i < orders.size() && i < rdp.size(); ++i) {
    const double a = orders[i];
    if (a <= 1.0 || !std::isfinite(rdp[i])) continue;
    const double epsilon = rdp[i] + std::log1p(-1.0 / a) - (log_delta + std::log(a)) / (a - 1.0);
    if (epsilon < best.epsilon) best = {.epsilon = epsilon, .order = a};
  }
  best.epsilon = std::max(0.0, best.epsilon);
  return best;
}

RdpAccountant::RdpAccountant(std::vector<double> orders)
    : orders_(std::move(orders)), rdp_(orders_.size(), 0.0) {}

void RdpAccountant::Compose(double q, double noise_multiplier, int64_t steps) {
  for (size_t i = 0; i < orders_.size(); ++i) {
    rdp_[i] += static_cast<double>(steps) * SampledGaussianRdp(q, noise_multiplier, orders_[i]);
  }
}

PrivacySpent RdpAccountant::Spent(double delta) const {
  return EpsilonFromRdp(orders_, rdp_, delta);
}

PrivacySpent RdpAccountant::SpentAfter(double q, double noise_multiplier, int64_t steps,
                                       double delta) const {
  RdpAccountant next = *this;
  next.Compose(q, noise_multiplier, steps);
  return next.Spent(delta);
}

bool RdpAccountant::Restore(std::vector<double> rdp) {
  if (rdp.size() != orders_.size()) return false;
  rdp_ = std::move(rdp);
  return true;
}

PrivacySpent EpsilonFor(double q, double noise_multiplier, int64_t rounds, double delta) {
  RdpAccountant accountant;
  accountant.Compose(q, noise_multiplier, rounds);
  return accountant.Spent(delta);
}

absl::StatusOr<double> NoiseMultiplierFor(double q, int64_t rounds, double delta,
                                          double target_epsilon) {
  auto epsilon = [&](double z) { return EpsilonFor(q, z, rounds, delta).epsilon; };
  double hi = 1.0;
  while (epsilon(hi) > target_epsilon) {
    hi *= 2.0;
    if (hi > 1e6) {
      return absl::InvalidArgumentError(absl::StrCat(
          "no noise multiplier up to 1e6 reaches epsilon ", target_epsilon, " at delta ", delta));
    }
  }
  double lo = hi / 2.0;
  if (epsilon(lo) <= target_epsilon) lo = 0.0;  // hi = 1 was already enough
  while (hi - lo > 1e-6 * hi) {
    const double mid = 0.5 * (lo + hi);
    (epsilon(mid) <= target_epsilon ? hi : lo) = mid;
  }
  return hi;
}

}  // namespace tributary
