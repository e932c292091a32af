// HeteroFL (Diao et al. 2021): a seeded fraction of the clients (model.small_fraction) has the
// capacity for a slice of width model.small_width only. Such a client trains and uploads the
// slice of the public model; the server scatters it back into the full model's coordinates and
// averages each coordinate over the clients that hold it (mask-aware averaging). On the virtual
// clock a slice of width w costs w^2 of the full model's compute.
#ifndef TRIBUTARY_ENGINE_TECHNIQUES_HETERO_FL_H_
#define TRIBUTARY_ENGINE_TECHNIQUES_HETERO_FL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config_field.h"
#include "engine/experiment.h"
#include "engine/technique.h"

namespace tributary {

// model.small_fraction and model.small_width, owned by this technique.
struct HeteroFlOptions {
  double small_fraction = 0.0;  // of the clients, in [0, 1]; 0: off
  double small_width = 0.5;     // width of their slice, in (0, 1]
};
std::vector<ConfigField<ExperimentConfig>> HeteroFlFields();
// HeteroFL needs a FedAvg-family strategy, no local layers, no sketch uplink and image data.
absl::Status ValidateHeteroFl(const ExperimentConfig& config);

absl::StatusOr<std::unique_ptr<Technique>> CreateHeteroFl(const ExperimentConfig& config,
                                                          const ModelState& global);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_TECHNIQUES_HETERO_FL_H_
