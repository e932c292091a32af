#include "sim/client_population.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/seeded_rng.h"

namespace tributary {

absl::StatusOr<std::vector<uint32_t>> ClientPopulation::Sample(int count, uint64_t seed,
                                                               int round) const {
  return SampleClients(partitions_.size(), count, seed, round);
}

absl::StatusOr<std::vector<uint32_t>> SampleClients(size_t population, int count, uint64_t seed,
                                                    int round) {
  if (count < 1 || static_cast<size_t>(count) > population) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot sample ", count, " clients out of ", population));
  }
  Rng rng = MakeRng(seed, static_cast<uint64_t>(round), 0, RngPurpose::kClientSampling);
  std::vector<uint32_t> ids(population);
  std::iota(ids.begin(), ids.end(), 0u);
  // Partial Fisher-Yates: the first `count` slots become a uniform sample.
  for (int i = 0; i < count; ++i) {
    const size_t j = i + UniformBelow(rng, ids.size() - i);
    std::swap(ids[i], ids[j]);
  }
  ids.resize(count);
  std::sort(ids.begin(), ids.end());
  return ids;
}

absl::StatusOr<ClientSampling> ParseClientSampling(std::string_view name) {
  if (name == "auto") return ClientSampling::kAuto;
  if (name == "fixed") return ClientSampling::kFixed;
  if (name == "poisson") return ClientSampling::kPoisson;
  return absl::InvalidArgumentError(
      absl::StrCat("run.sampling must be auto, fixed or poisson, got '", std::string(name), "'"));
}

std::string_view ClientSamplingName(ClientSampling sampling) {
  switch (sampling) {
    case ClientSampling::kAuto:
      return "auto";
    case ClientSampling::kFixed:
      return "fixed";
    case ClientSampling::kPoisson:
      return "poisson";
  }
  return "auto";
}

std::vector<uint32_t> SamplePoisson(size_t population, double q, uint64_t seed, int round) {
  Rng rng = MakeRng(seed, static_cast<uint64_t>(round), 0, RngPurpose::kClientSampling);
  std::vector<uint32_t> cohort;
  for (size_t c = 0; c < population; ++c) {
    if (UniformUnit(rng) < q) cohort.push_back(static_cast<uint32_t>(c));
  }
  return cohort;
}

}  // namespace tributary
