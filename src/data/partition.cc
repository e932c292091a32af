#include "data/partition.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "common/seeded_rng.h"

namespace tributary {
namespace {

// Redraws allowed before a Dirichlet partition that leaves some client empty is an error.
constexpr int kMaxDirichletDraws = 1000;

std::vector<std::vector<uint32_t>> IndicesByClass(std::span<const uint8_t> labels,
                                                  int num_classes) {
  std::vector<std::vector<uint32_t>> by_class(num_classes);
  for (uint32_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(i);
  return by_class;
}

double StandardNormal(Rng& rng) {
  // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
  const double u = 1.0 - UniformUnit(rng);
  const double v = UniformUnit(rng);
  return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * M_PI * v);
}

// Gamma(shape, 1) by Marsaglia and Tsang (2000); for shape < 1, Gamma(shape + 1) * U^(1/shape).
double SampleGamma(double shape, Rng& rng) {
  if (shape < 1.0) {
    const double u = 1.0 - UniformUnit(rng);
    return SampleGamma(shape + 1.0, rng) * std::pow(u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    double x, v;
    do {
      x = StandardNormal(rng);
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = 1.0 - UniformUnit(rng);
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

std::vector<ClientIndices> PartitionIid(size_t num_examples, int num_clients, Rng& rng) {
  std::vector<uint32_t> order(num_examples);
  std::iota(order.begin(), order.end(), 0u);
  Shuffle(order.data(), order.size(), rng);
  std::vector<ClientIndices> clients(num_clients);
  for (int c = 0; c < num_clients; ++c) {
    const size_t begin = num_examples * c / num_clients;
    const size_t end = num_examples * (c + 1) / num_clients;
    clients[c].assign(order.begin() + begin, order.begin() + end);
  }
  return clients;
}

absl::StatusOr<std::vector<ClientIndices>> PartitionDirichlet(std::span<const uint8_t> labels,
                                                              int num_classes, int num_clients,
                                                              double alpha, Rng& rng) {
  std::vector<std::vector<uint32_t>> by_class = IndicesByClass(labels, num_classes);
  for (int draw = 0; draw < kMaxDirichletDraws; ++draw) {
    std::vector<ClientIndices> clients(num_clients);
    for (std::vector<uint32_t>& members : by_class) {
      Shuffle(members.data(), members.size(), rng);
      std::vector<double> share(num_clients);
      double total = 0.0;
      for (double& s : share) total += (s = SampleGamma(alpha, rng));
      // Cut points from the cumulative shares; the last client takes the remainder.
      double cumulative = 0.0;
      size_t begin = 0;
      for (int c = 0; c < num_clients; ++c) {
        cumulative += share[c];
        const size_t end =
            c + 1 == num_clients
                ? members.size()
                : std::min(members.size(),
                           static_cast<size_t>(std::llround(cumulative / total * members.size())));
        clients[c].insert(clients[c].end(), members.begin() + begin, members.begin() + end);
        begin = std::max(begin, end);
      }
    }
    bool any_empty = false;
    for (const ClientIndices& c : clients) any_empty |= c.empty();
    if (!any_empty) return clients;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("Dirichlet partition with alpha ", alpha, " left a client without examples in ",
                   kMaxDirichletDraws, " draws; use fewer clients or a larger alpha"));
}

absl::StatusOr<std::vector<ClientIndices>> PartitionShards(std::span<const uint8_t> labels,
                                                           int num_classes, int num_clients,
                                                           int classes_per_client, Rng& rng) {
  if (classes_per_client < 1 || classes_per_client > num_classes) {
    return absl::InvalidArgumentError(absl::StrCat("shards_per_client must be in [1, ", num_classes,
                                                   "], got ", classes_per_client));
  }
  // Client c holds classes order[(c * k + j) mod C] for j < k: k distinct classes each, and
  // every class held by the same number of clients (within one).
  std::vector<int> order(num_classes);
  std::iota(order.begin(), order.end(), 0);
  Shuffle(order.data(), order.size(), rng);
  std::vector<std::vector<int>> holders(num_classes);
  for (int c = 0; c < num_clients; ++c) {
    for (int j = 0; j < classes_per_client; ++j) {
      holders[order[(static_cast<int64_t>(c) * classes_per_client + j) % num_classes]].push_back(c);
    }
  }
  std::vector<std::vector<uint32_t>> by_class = IndicesByClass(labels, num_classes);
  std::vector<ClientIndices> clients(num_clients);
  for (int k = 0; k < num_classes; ++k) {
    std::vector<uint32_t>& members = by_class[k];
    const size_t n = holders[k].size();
    if (n == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("shards: class ", k, " would be held by no client; use at least ",
                       (num_classes + classes_per_client - 1) / classes_per_client, " clients"));
    }
    if (members.size() < n) {
      return absl::InvalidArgumentError(absl::StrCat("shards: class ", k, " has ", members.size(),
                                                     " examples for ", n, " clients"));
    }
    Shuffle(members.data(), members.size(), rng);
    for (size_t h = 0; h < n; ++h) {
      ClientIndices& dst = clients[holders[k][h]];
      dst.insert(dst.end(), members.begin() + members.size() * h / n,
                 members.begin() + members.size() * (h + 1) / n);
    }
  }
  return clients;
}

// Owner indices of any width, grouped as PartitionByOwner describes.
template <typename Owner>
absl::StatusOr<std::vector<ClientIndices>> PartitionNatural(std::span<const Owner> labels,
                                                            int num_owners, int num_clients) {
  std::vector<ClientIndices> by_owner(num_owners);
  for (uint32_t i = 0; i < labels.size(); ++i) by_owner[labels[i]].push_back(i);
  std::erase_if(by_owner, [](const ClientIndices& owned) { return owned.empty(); });
  const int owners = static_cast<int>(by_owner.size());
  if (num_clients > owners) {
    return absl::InvalidArgumentError(
        absl::StrCat("natural partition: ", num_clients, " clients but only ", owners, " owners"));
  }
  std::vector<ClientIndices> clients(num_clients);
  int64_t remaining = static_cast<int64_t>(labels.size()), current = 0;
  int client = 0;
  for (int o = 0; o < owners; ++o) {
    clients[client].insert(clients[client].end(), by_owner[o].begin(), by_owner[o].end());
    current += static_cast<int64_t>(by_owner[o].size());
    remaining -= static_cast<int64_t>(by_owner[o].size());
    const int groups_left = num_clients - client;
    const int owners_left = owners - o - 1;
    // Close the group at its fair share of what is left, or when each later group needs one of
    // the remaining owners.
    if (groups_left > 1 &&
        (current * groups_left >= current + remaining || owners_left == groups_left - 1)) {
      ++client;
      current = 0;
    }
  }
  return clients;
}

}  // namespace

absl::StatusOr<PartitionScheme> ParsePartitionScheme(const std::string& name) {
  if (name == "iid") return PartitionScheme::kIid;
  if (name == "dirichlet") return PartitionScheme::kDirichlet;
  if (name == "shards") return PartitionScheme::kShards;
  if (name == "natural") return PartitionScheme::kNatural;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown partition '", name, "' (expected iid, dirichlet, shards or natural)"));
}

const char* PartitionSchemeName(PartitionScheme scheme) {
  switch (scheme) {
    case PartitionScheme::kIid:
      return "iid";
    case PartitionScheme::kDirichlet:
      return "dirichlet";
    case PartitionScheme::kShards:
      return "shards";
    case PartitionScheme::kNatural:
      return "natural";
  }
  return "unknown";
}

absl::StatusOr<std::vector<ClientIndices>> PartitionExamples(std::span<const uint8_t> labels,
                                                             int num_classes,
                                                             const PartitionOptions& options,
                                                             uint64_t seed) {
  if (options.num_clients < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("number of clients must be at least 1, got ", options.num_clients));
  }
  if (static_cast<size_t>(options.num_clients) > labels.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.num_clients, " clients but only ", labels.size(), " examples"));
  }
  for (uint8_t label : labels) {
    if (label >= num_classes) {
      return absl::InvalidArgumentError(
          absl::StrCat("label ", int{label}, " outside [0, ", num_classes, ")"));
    }
  }
  Rng rng = MakeRng(seed, 0, 0, RngPurpose::kPartition);
  switch (options.scheme) {
    case PartitionScheme::kIid:
      return PartitionIid(labels.size(), options.num_clients, rng);
    case PartitionScheme::kDirichlet:
      if (!(options.alpha > 0.0) || !std::isfinite(options.alpha)) {
        return absl::InvalidArgumentError(
            absl::StrCat("Dirichlet alpha must be positive and finite, got ", options.alpha));
      }
      return PartitionDirichlet(labels, num_classes, options.num_clients, options.alpha, rng);
    case PartitionScheme::kShards:
      return PartitionShards(labels, num_classes, options.num_clients, options.shards_per_client,
                             rng);
    case PartitionScheme::kNatural:
      return PartitionNatural<uint8_t>(labels, num_classes, options.num_clients);
  }
  return absl::InvalidArgumentError("unknown partition scheme");
}

std::vector<int64_t> LabelHistogram(std::span<const uint8_t> labels, int num_classes,
                                    std::span<const uint32_t> indices) {
  std::vector<int64_t> histogram(num_classes, 0);
  for (uint32_t i : indices) histogram[labels[i]]++;
  return histogram;
}

std::vector<ClientIndices> SplitHoldout(std::vector<ClientIndices>& partitions, double fraction,
                                        uint64_t seed) {
  std::vector<ClientIndices> holdout(partitions.size());
  for (size_t c = 0; c < partitions.size(); ++c) {
    ClientIndices& examples = partitions[c];
    size_t count = static_cast<size_t>(fraction * examples.size());
    if (count == 0 && examples.size() >= 2) count = 1;
    Rng rng(DeriveSeed(seed, 0, c, RngPurpose::kHoldout));
    Shuffle(examples.data(), examples.size(), rng);
    holdout[c].assign(examples.begin(), examples.begin() + count);
    examples.erase(examples.begin(), examples.begin() + count);
    std::sort(holdout[c].begin(), holdout[c].end());
    std::sort(examples.begin(), examples.end());
  }
  return holdout;
}

absl::StatusOr<std::vector<ClientIndices>> PartitionByOwner(std::span<const uint32_t> owners,
                                                            int num_owners, int num_clients) {
  if (num_clients < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("number of clients must be at least 1, got ", num_clients));
  }
  for (uint32_t owner : owners) {
    if (owner >= static_cast<uint32_t>(num_owners)) {
      return absl::InvalidArgumentError(
          absl::StrCat("owner ", owner, " outside [0, ", num_owners, ")"));
    }
  }
  return PartitionNatural<uint32_t>(owners, num_owners, num_clients);
}

void KeepOnlyPartition(std::vector<ClientIndices>& partitions, uint32_t client) {
  for (uint32_t c = 0; c < partitions.size(); ++c) {
    if (c == client) {
      std::iota(partitions[c].begin(), partitions[c].end(), 0u);
    } else {
      ClientIndices().swap(partitions[c]);
    }
  }
}

}  // namespace tributary
