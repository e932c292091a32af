// Labelled examples read from a user's files (npz, CSV, image folders), before they become
// tensors: one float feature block per example, an integer label, and optionally the client
// that owns it (a natural partition).
#ifndef TRIBUTARY_DATA_LABELED_ARRAYS_H_
#define TRIBUTARY_DATA_LABELED_ARRAYS_H_

#include <cstdint>
#include <vector>

namespace tributary {

struct LabeledArrays {
  std::vector<int64_t> example_shape;  // e.g. {features} or {channels, height, width}
  std::vector<float> features;         // size() examples of product(example_shape) values
  std::vector<int64_t> labels;         // one per example
  std::vector<int64_t> clients;        // one per example, or empty: no owner column

  size_t size() const { return labels.size(); }
  int64_t example_size() const {
    int64_t n = 1;
    for (int64_t d : example_shape) n *= d;
    return n;
  }
};

}  // namespace tributary

#endif  // TRIBUTARY_DATA_LABELED_ARRAYS_H_
