// Streaming DiLoCo (Douillard et al. 2025, "Streaming DiLoCo with overlapping communication"):
// the model is split into P fragments, each synchronized every H inner steps, fragment p at
// offset p * H / P, so a link carries 1/P of the model at a time instead of all of it every H
// steps. A round here is H / P inner steps (train.steps) and synchronizes one fragment,
// (round - 1) mod P. Every worker keeps its own model across rounds; after a round it uploads
// its fragment's outer gradient's negation (its fragment minus the global fragment of that
// fragment's previous synchronization), the server's DiLoCo step moves that fragment only
// (mask-aware averaging leaves the others and their momentum alone), and the worker merges the
// new global fragment into its model: at once (replacing its fragment), or with
// strategy.fragment_overlap after one more round of inner steps that run while the fragment
// travels, as theta = mixing * theta + (1 - mixing) * global (the paper's merge, mixing 0.5).
// The virtual clock then charges a round max(compute, transfers) instead of their sum.
//
// Deviations from the paper, all stated in docs/llm.md: fragments are equal contiguous slices of
// the flat parameter vector, not groups of transformer blocks (a small GPT's tied embedding
// alone is over half its parameters, so layer groups cannot be equal); the overlap is one round
// (tau = H / P inner steps), not a few steps; 4-bit outer gradients use the uplink codec
// (e.g. compress.uplink = "qsgd:bits=4"), not the paper's 4-bit floats. A worker that missed a
// round starts its next one from the public model. Workers' models are not in checkpoints.
#ifndef TRIBUTARY_ENGINE_TECHNIQUES_STREAMING_FRAGMENTS_H_
#define TRIBUTARY_ENGINE_TECHNIQUES_STREAMING_FRAGMENTS_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config_field.h"
#include "engine/experiment.h"
#include "engine/technique.h"

namespace tributary {

// strategy.fragments, fragment_overlap, fragment_mixing, owned by this technique.
struct StreamingOptions {
  int fragments = 0;     // P; 0: off (plain DiLoCo)
  bool overlap = false;  // merge one round after the upload (the transfers overlap compute)
  double mixing = 0.5;   // with overlap: the worker's own share of a merged fragment
};
std::vector<ConfigField<ExperimentConfig>> StreamingFields();
absl::Status ValidateStreaming(const ExperimentConfig& config);

// The [begin, end) coordinates of fragment p of P over a model of n parameters.
ModelSpan Fragment(size_t n, int fragments, int p);
// The fragment that round `round` (1-based) synchronizes.
int FragmentOfRound(int round, int fragments);

absl::StatusOr<std::unique_ptr<Technique>> CreateStreaming(const ExperimentConfig& config,
                                                           const ModelState& global);

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_TECHNIQUES_STREAMING_FRAGMENTS_H_
