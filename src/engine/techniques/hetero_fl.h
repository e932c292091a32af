// HeteroFL (Diao et al. 2021): a seeded fraction of the clients (model.small_fraction) has the
// capacity for a slice of width model.small_width only. Such a client trains and uploads the
// slice of the public model; the server scatters it back into the full model's coordinates and
// averages each coordinate over the clients that hold it (mask-aware averaging). On the virtual
// clock a slice of width w costs w^2 of the full model's compute.
#ifndef TRIBUTARY_ENGINE_TECHNIQUES_HETERO_FL_H_
#define TRIBUTARY_ENGINE_TECHNIQUES_HETERO_FL_H_

#include <memory>

#include "absl/status/statusor.h"
#include "engine/experiment.h"
#include "engine/technique.h"

namespace tributary {

absl::StatusOr<std::unique_ptr<Technique>> CreateHeteroFl(const ExperimentConfig& config,
                                                          const ModelState& global);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_TECHNIQUES_HETERO_FL_H_
